/* keycache.c - see keycache.h. */
#include "keycache.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lru.h"
#include "sha256.h"

struct wp_keycache {
    wp_lru *lru;
    double ttl_s;
};

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

wp_status wp_keycache_new(size_t max_entries, int ttl_ms, wp_keycache **out)
{
    *out = NULL;
    wp_keycache *kc = calloc(1, sizeof *kc);
    if (!kc) return WP_ENOMEM;
    /* bytes: each entry is a 32-byte digest and one wp_apikey_auth; the entry bound is the real one */
    if (wp_lru_new(max_entries, max_entries * (32 + sizeof(wp_apikey_auth)) + 1, &kc->lru) != WP_OK) {
        free(kc);
        return WP_ENOMEM;
    }
    kc->ttl_s = ttl_ms / 1000.0;
    *out = kc;
    return WP_OK;
}

void wp_keycache_free(wp_keycache *kc)
{
    if (!kc) return;
    wp_lru_free(kc->lru);
    free(kc);
}

wp_status wp_keycache_verify(wp_keycache *kc, const char *token, wp_keycache_conn_fn conn, void *ud,
                             wp_apikey_auth *out, wp_err *err)
{
    if (!kc) {
        PGconn *db = conn(ud, err);
        return db ? wp_apikey_verify(db, token, out, err) : err ? err->status : WP_EUNAVAIL;
    }
    unsigned char digest[32];
    if (wp_sha256(token, strlen(token), digest) != WP_OK) return wp_err_set(err, WP_ECRYPTO, "SHA-256 failed");
    size_t len = 0;
    if (wp_lru_get(kc->lru, digest, sizeof digest, mono_now(), kc->ttl_s, out, sizeof *out, &len) &&
        len == sizeof *out)
        return WP_OK;
    /* read before the database: an invalidation from now on keeps this answer out of the cache */
    uint64_t gen = wp_lru_generation(kc->lru);
    PGconn *db = conn(ud, err);
    if (!db) return err ? err->status : WP_EUNAVAIL;
    wp_status st = wp_apikey_verify(db, token, out, err);
    if (st == WP_OK) wp_lru_put(kc->lru, digest, sizeof digest, out, sizeof *out, gen, mono_now());
    return st;
}

void wp_keycache_forget_all(wp_keycache *kc)
{
    if (kc) wp_lru_clear(kc->lru);
}

void wp_keycache_on_notify(void *kc, const char *payload)
{
    (void)payload;
    wp_keycache_forget_all(kc);
}

void wp_keycache_stats(wp_keycache *kc, unsigned long long *hits, unsigned long long *misses, size_t *entries)
{
    wp_lru_stats s;
    wp_lru_stats_get(kc->lru, &s);
    *hits = s.hits;
    *misses = s.misses;
    *entries = s.entries;
}
