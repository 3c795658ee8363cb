/*
 * lru.c - see lru.h.  Chained hash buckets (FNV-1a over the key) for lookup,
 * one doubly linked list in recency order for eviction; one mutex around
 * both.  Keys are compared whole with CRYPTO_memcmp: callers key by digests of
 * secrets (an API key's SHA-256), and a lookup's time should not tell how much
 * of a digest matched.
 */
#include "lru.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    struct entry *next_in_bucket;
    struct entry *prev, *next; /* recency: head is the most recent */
    uint64_t hash;
    double stamp;
    size_t klen, vlen;
    unsigned char data[]; /* key, then value */
} entry;

struct wp_lru {
    pthread_mutex_t mu;
    entry **buckets;
    size_t nbuckets;
    entry *head, *tail;
    size_t max_entries, max_bytes;
    size_t entries, bytes;
    uint64_t generation;
    uint64_t hits, misses, evictions, expired;
};

static uint64_t fnv1a(const void *key, size_t n)
{
    const unsigned char *p = key;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

wp_status wp_lru_new(size_t max_entries, size_t max_bytes, wp_lru **out)
{
    *out = NULL;
    wp_lru *c = calloc(1, sizeof *c);
    if (!c) return WP_ENOMEM;
    /* about one entry per bucket when full; a power of two for the mask */
    c->nbuckets = 16;
    while (c->nbuckets < max_entries && c->nbuckets < ((size_t)1 << 24)) c->nbuckets <<= 1;
    c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
    if (!c->buckets) {
        free(c);
        return WP_ENOMEM;
    }
    c->max_entries = max_entries;
    c->max_bytes = max_bytes;
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return WP_OK;
}

static size_t entry_bytes(const entry *e) { return e->klen + e->vlen; }

static void unlink_recency(wp_lru *c, entry *e)
{
    if (e->prev) e->prev->next = e->next;
    else c->head = e->next;
    if (e->next) e->next->prev = e->prev;
    else c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void push_front(wp_lru *c, entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head) c->head->prev = e;
    c->head = e;
    if (!c->tail) c->tail = e;
}

/* Unlinks e from its bucket and the recency list and frees it. */
static void drop(wp_lru *c, entry *e)
{
    entry **pp = &c->buckets[e->hash & (c->nbuckets - 1)];
    while (*pp && *pp != e) pp = &(*pp)->next_in_bucket;
    if (*pp) *pp = e->next_in_bucket;
    unlink_recency(c, e);
    c->entries--;
    c->bytes -= entry_bytes(e);
    OPENSSL_cleanse(e->data, entry_bytes(e)); /* values may be secrets (decrypted credentials) */
    free(e);
}

static entry *find(wp_lru *c, const void *key, size_t klen, uint64_t h)
{
    for (entry *e = c->buckets[h & (c->nbuckets - 1)]; e; e = e->next_in_bucket)
        if (e->hash == h && e->klen == klen && CRYPTO_memcmp(e->data, key, klen) == 0) return e;
    return NULL;
}

void wp_lru_free(wp_lru *c)
{
    if (!c) return;
    while (c->head) drop(c, c->head);
    free(c->buckets);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

uint64_t wp_lru_generation(wp_lru *c)
{
    pthread_mutex_lock(&c->mu);
    uint64_t g = c->generation;
    pthread_mutex_unlock(&c->mu);
    return g;
}

int wp_lru_get(wp_lru *c, const void *key, size_t klen, double now, double max_age, void *out, size_t cap,
               size_t *len)
{
    uint64_t h = fnv1a(key, klen);
    pthread_mutex_lock(&c->mu);
    entry *e = find(c, key, klen, h);
    if (e && max_age >= 0 && now - e->stamp > max_age) {
        drop(c, e);
        c->expired++;
        e = NULL;
    }
    if (!e) {
        c->misses++;
        pthread_mutex_unlock(&c->mu);
        return 0;
    }
    c->hits++;
    unlink_recency(c, e);
    push_front(c, e);
    if (len) *len = e->vlen;
    if (out) memcpy(out, e->data + e->klen, e->vlen < cap ? e->vlen : cap);
    pthread_mutex_unlock(&c->mu);
    return 1;
}

wp_status wp_lru_put(wp_lru *c, const void *key, size_t klen, const void *val, size_t vlen, uint64_t gen, double now)
{
    if (c->max_entries == 0 || klen + vlen > c->max_bytes) return WP_OK; /* never stored: not an error */
    entry *n = malloc(sizeof *n + klen + vlen);
    if (!n) return WP_ENOMEM;
    memset(n, 0, sizeof *n);
    n->hash = fnv1a(key, klen);
    n->stamp = now;
    n->klen = klen;
    n->vlen = vlen;
    memcpy(n->data, key, klen);
    if (vlen) memcpy(n->data + klen, val, vlen);
    pthread_mutex_lock(&c->mu);
    if (gen != c->generation) {
        /* invalidated since the caller read its source: what it read may be the old value */
        pthread_mutex_unlock(&c->mu);
        OPENSSL_cleanse(n->data, klen + vlen);
        free(n);
        return WP_OK;
    }
    entry *old = find(c, key, klen, n->hash);
    if (old) drop(c, old);
    while (c->tail && (c->entries + 1 > c->max_entries || c->bytes + klen + vlen > c->max_bytes)) {
        drop(c, c->tail);
        c->evictions++;
    }
    size_t b = n->hash & (c->nbuckets - 1);
    n->next_in_bucket = c->buckets[b];
    c->buckets[b] = n;
    push_front(c, n);
    c->entries++;
    c->bytes += klen + vlen;
    pthread_mutex_unlock(&c->mu);
    return WP_OK;
}

void wp_lru_remove(wp_lru *c, const void *key, size_t klen)
{
    uint64_t h = fnv1a(key, klen);
    pthread_mutex_lock(&c->mu);
    entry *e = find(c, key, klen, h);
    if (e) drop(c, e);
    c->generation++;
    pthread_mutex_unlock(&c->mu);
}

void wp_lru_clear(wp_lru *c)
{
    pthread_mutex_lock(&c->mu);
    while (c->head) drop(c, c->head);
    c->generation++;
    pthread_mutex_unlock(&c->mu);
}

void wp_lru_stats_get(wp_lru *c, wp_lru_stats *out)
{
    pthread_mutex_lock(&c->mu);
    out->hits = c->hits;
    out->misses = c->misses;
    out->evictions = c->evictions;
    out->expired = c->expired;
    out->entries = c->entries;
    out->bytes = c->bytes;
    pthread_mutex_unlock(&c->mu);
}
