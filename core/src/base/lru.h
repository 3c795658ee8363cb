/*
 * lru.h - a bounded, thread-safe cache of byte strings, least recently used
 * evicted first.
 *
 * Bounds: at most max_entries entries and max_bytes bytes of keys and values
 * together (an entry larger than max_bytes is never stored).  Nothing else
 * grows: the hash table is sized once from max_entries.
 *
 * Staleness is the caller's to decide, with two tools:
 *   - an entry older than the max_age given to wp_lru_get is absent (and
 *     dropped): a bound for what no notification reaches;
 *   - the generation: read it with wp_lru_generation() before reading the
 *     source of truth, and hand it to wp_lru_put().  Every wp_lru_clear() and
 *     wp_lru_remove() bumps it, so a value read from the source before an
 *     invalidation is never stored after it (a reader racing an invalidation
 *     cannot put back what was just dropped).
 *
 * Ownership: keys and values are copied in and copied out; the cache owns its
 * copies and overwrites them when it lets them go (values may be secrets).  Times are the caller's (monotonic seconds), so tests drive them.
 */
#ifndef WP_LRU_H
#define WP_LRU_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct wp_lru wp_lru;

typedef struct wp_lru_stats {
    uint64_t hits, misses, evictions, expired;
    size_t entries, bytes;
} wp_lru_stats;

/* max_entries 0: a cache that stores nothing (every get misses). */
wp_status wp_lru_new(size_t max_entries, size_t max_bytes, wp_lru **out);
void wp_lru_free(wp_lru *c);

/* The current generation (see above). */
uint64_t wp_lru_generation(wp_lru *c);

/*
 * Copies the value of key into out (at most cap bytes; *len receives its full
 * length) and returns 1 when present and stored at most max_age seconds before
 * now; 0 otherwise.  max_age < 0: no age limit.  A value longer than cap is
 * reported (return 1, *len > cap) but only cap bytes are copied.
 */
int wp_lru_get(wp_lru *c, const void *key, size_t klen, double now, double max_age, void *out, size_t cap,
               size_t *len);

/*
 * Stores key -> value stamped with now, unless gen is older than the current
 * generation (then nothing happens: an invalidation came in between).
 * Evicts least recently used entries to stay within the bounds.  WP_ENOMEM
 * when memory runs out (the cache is left as it was).
 */
wp_status wp_lru_put(wp_lru *c, const void *key, size_t klen, const void *val, size_t vlen, uint64_t gen, double now);

/* Drops key (when present) and bumps the generation. */
void wp_lru_remove(wp_lru *c, const void *key, size_t klen);

/* Drops every entry and bumps the generation. */
void wp_lru_clear(wp_lru *c);

void wp_lru_stats_get(wp_lru *c, wp_lru_stats *out);

#endif
