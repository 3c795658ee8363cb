/* google_cache.c - see google_cache.h. */
#include "google_cache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    char *key, *value;
} slot;

struct gcache {
    pthread_mutex_t mu;
    size_t n;
    slot *slots;
    unsigned long hits, misses;
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

gcache *gc_new(size_t slots)
{
    gcache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->n = slots ? slots : 4096;
    c->slots = calloc(c->n, sizeof *c->slots);
    if (!c->slots) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

void gc_free(gcache *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->slots[i].key);
        free(c->slots[i].value);
    }
    free(c->slots);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

char *gc_get(gcache *c, const char *key)
{
    slot *s = &c->slots[fnv1a(key) % c->n];
    char *out = NULL;
    pthread_mutex_lock(&c->mu);
    if (s->key && strcmp(s->key, key) == 0) out = strdup(s->value);
    if (out) c->hits++;
    else c->misses++;
    pthread_mutex_unlock(&c->mu);
    return out;
}

void gc_put(gcache *c, const char *key, const char *value)
{
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return;
    }
    slot *s = &c->slots[fnv1a(key) % c->n];
    pthread_mutex_lock(&c->mu);
    char *ok = s->key, *ov = s->value;
    s->key = k;
    s->value = v;
    pthread_mutex_unlock(&c->mu);
    free(ok);
    free(ov);
}

void gc_stats(gcache *c, unsigned long *hits, unsigned long *misses)
{
    pthread_mutex_lock(&c->mu);
    *hits = c->hits;
    *misses = c->misses;
    pthread_mutex_unlock(&c->mu);
}
