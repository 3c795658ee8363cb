/*
 * google_cache.h - a bounded in-process cache of strings by key (save links
 * per pass version; parsed keys are not kept here).
 *
 * Direct-mapped: a new entry replaces whatever shared its slot, so memory
 * stays bounded with no eviction bookkeeping.  Safe to lose (every gateway
 * process rebuilds its own).  Thread-safe: one mutex, held only to copy.
 * Keys and values are copied in; gc_get copies out.
 */
#ifndef GOOGLE_CACHE_H
#define GOOGLE_CACHE_H

#include <stddef.h>

typedef struct gcache gcache;

gcache *gc_new(size_t slots); /* NULL when out of memory; slots 0: 4096 */
void gc_free(gcache *c);
/* A malloc'd copy of the value under key, or NULL. */
char *gc_get(gcache *c, const char *key);
void gc_put(gcache *c, const char *key, const char *value);
/* Hits and misses since gc_new. */
void gc_stats(gcache *c, unsigned long *hits, unsigned long *misses);

#endif
