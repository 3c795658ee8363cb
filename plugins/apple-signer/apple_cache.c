/* apple_cache.c - see apple_cache.h. */
#include "apple_cache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t built = PTHREAD_COND_INITIALIZER;
static uint64_t tick;
static apple_cache_stats stats;

/* ---- identities ------------------------------------------------------------ */

typedef struct cred_slot {
    apple_cred pub;
    char account[64];
    int refs;               /* users, plus one while it is in the table */
    uint64_t used;
} cred_slot;

static cred_slot **creds;
static size_t ncreds_max;

static void cred_unref_locked(cred_slot *s)
{
    if (--s->refs == 0) {
        apple_identity_free(&s->pub.id);
        free(s);
    }
}

wp_status apple_cred_acquire(const char *account_id, const char *hash_hex, const char *cert_pem, const char *key_pem,
                             const char *wwdr_pem, apple_cred **out, char *msg, size_t msglen)
{
    *out = NULL;
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < ncreds_max; i++) {
        cred_slot *s = creds[i];
        if (s && strcmp(s->account, account_id) == 0 && strcmp(s->pub.hash_hex, hash_hex) == 0) {
            s->refs++;
            s->used = ++tick;
            pthread_mutex_unlock(&mu);
            *out = &s->pub;
            return WP_OK;
        }
    }
    pthread_mutex_unlock(&mu);

    cred_slot *n = calloc(1, sizeof *n);
    if (!n) {
        snprintf(msg, msglen, "out of memory");
        return WP_ENOMEM;
    }
    wp_status st = apple_identity_parse(cert_pem, key_pem, wwdr_pem, &n->pub.id, msg, msglen);
    if (st != WP_OK) {
        free(n);
        return st;
    }
    snprintf(n->pub.hash_hex, sizeof n->pub.hash_hex, "%s", hash_hex);
    snprintf(n->account, sizeof n->account, "%s", account_id);
    n->refs = 1; /* the caller's */

    pthread_mutex_lock(&mu);
    /* Drop the account's older credentials, then take a free or the least recently used slot. */
    size_t pick = ncreds_max;
    for (size_t i = 0; i < ncreds_max; i++) {
        if (creds[i] && strcmp(creds[i]->account, account_id) == 0) {
            cred_unref_locked(creds[i]);
            creds[i] = NULL;
        }
    }
    for (size_t i = 0; i < ncreds_max && pick == ncreds_max; i++)
        if (!creds[i]) pick = i;
    if (pick == ncreds_max)
        for (size_t i = 0; i < ncreds_max; i++)
            if (pick == ncreds_max || creds[i]->used < creds[pick]->used) pick = i;
    if (pick < ncreds_max) {
        if (creds[pick]) cred_unref_locked(creds[pick]);
        n->refs++;
        n->used = ++tick;
        creds[pick] = n;
    }
    pthread_mutex_unlock(&mu);
    *out = &n->pub;
    return WP_OK;
}

void apple_cred_release(apple_cred *c)
{
    if (!c) return;
    pthread_mutex_lock(&mu);
    cred_unref_locked((cred_slot *)c); /* pub is the first member */
    pthread_mutex_unlock(&mu);
}

/* ---- bundles ------------------------------------------------------------------ */

enum { B_BUILDING, B_READY, B_FAILED };
/* Two indexes over the same entries, by key and by pass, and a list of the ready ones in the
 * order of use: a download's lookup, the drop of a pass's older versions and an eviction each
 * touch a few entries, never the whole cache (which holds tens of thousands of bundles). */
#define NBUCKETS 16384

struct apple_bundle_ref {
    char *key;
    char pass_id[64];
    unsigned char *data;
    size_t len;
    int state;
    int refs;               /* users, plus one while it is in the table */
    int in_table;
    wp_status st;
    int http_status;
    char code[48];
    char msg[300];
    struct apple_bundle_ref *next;           /* same key bucket */
    struct apple_bundle_ref *pnext;          /* same pass bucket */
    struct apple_bundle_ref *newer, *older;  /* the ready list, most recently used first */
};

static struct apple_bundle_ref *buckets[NBUCKETS], *pbuckets[NBUCKETS];
static struct apple_bundle_ref *lru_newest, *lru_oldest;
static size_t max_bytes;

static unsigned hash_str(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h % NBUCKETS;
}

static void bundle_unref_locked(struct apple_bundle_ref *b)
{
    if (--b->refs == 0) {
        free(b->data);
        free(b->key);
        free(b);
    }
}

static void lru_remove(struct apple_bundle_ref *b)
{
    if (b->newer) b->newer->older = b->older;
    else lru_newest = b->older;
    if (b->older) b->older->newer = b->newer;
    else lru_oldest = b->newer;
    b->newer = b->older = NULL;
}

static void lru_push(struct apple_bundle_ref *b)
{
    b->older = lru_newest;
    b->newer = NULL;
    if (lru_newest) lru_newest->newer = b;
    lru_newest = b;
    if (!lru_oldest) lru_oldest = b;
}

static void unlink_locked(struct apple_bundle_ref *b)
{
    if (!b->in_table) return;
    struct apple_bundle_ref **pp = &buckets[hash_str(b->key)];
    while (*pp && *pp != b) pp = &(*pp)->next;
    if (*pp) *pp = b->next;
    pp = &pbuckets[hash_str(b->pass_id)];
    while (*pp && *pp != b) pp = &(*pp)->pnext;
    if (*pp) *pp = b->pnext;
    b->in_table = 0;
    if (b->state == B_READY) {
        lru_remove(b);
        stats.bytes -= b->len;
        stats.entries--;
    }
    bundle_unref_locked(b);
}

/* Evicts least recently used ready bundles until the total fits. */
static void evict_locked(void)
{
    while (stats.bytes > max_bytes && lru_oldest) {
        unlink_locked(lru_oldest);
        stats.evictions++;
    }
}

wp_status apple_bundle_peek(const char *key, apple_bundle_ref **ref, const unsigned char **data, size_t *len)
{
    *ref = NULL;
    pthread_mutex_lock(&mu);
    struct apple_bundle_ref *b = buckets[hash_str(key)];
    while (b && strcmp(b->key, key) != 0) b = b->next;
    if (b) {
        b->refs++;
        if (b->state == B_BUILDING) stats.waits++;
        while (b->state == B_BUILDING) pthread_cond_wait(&built, &mu);
    }
    if (!b || b->state != B_READY) {
        if (b) bundle_unref_locked(b);
        pthread_mutex_unlock(&mu);
        return WP_ENOTFOUND;
    }
    stats.hits++;
    lru_remove(b);
    lru_push(b);
    pthread_mutex_unlock(&mu);
    *ref = b;
    *data = b->data;
    *len = b->len;
    return WP_OK;
}

wp_status apple_bundle_get(const char *key, const char *pass_id, apple_build_fn fn, void *ud, apple_bundle_ref **ref,
                           const unsigned char **data, size_t *len, int *http_status, char *code, size_t codelen,
                           char *msg, size_t msglen)
{
    *ref = NULL;
    pthread_mutex_lock(&mu);
    unsigned h = hash_str(key);
    struct apple_bundle_ref *b = buckets[h];
    while (b && strcmp(b->key, key) != 0) b = b->next;
    if (b) {
        b->refs++;
        if (b->state == B_BUILDING) stats.waits++;
        while (b->state == B_BUILDING) pthread_cond_wait(&built, &mu);
        if (b->state == B_READY) {
            stats.hits++;
            lru_remove(b);
            lru_push(b);
        }
    } else {
        b = calloc(1, sizeof *b);
        if (!b || !(b->key = strdup(key))) {
            free(b);
            pthread_mutex_unlock(&mu);
            snprintf(msg, msglen, "out of memory");
            *http_status = 503;
            return WP_ENOMEM;
        }
        snprintf(b->pass_id, sizeof b->pass_id, "%s", pass_id);
        b->state = B_BUILDING;
        b->refs = 2; /* the table's and ours */
        b->in_table = 1;
        b->next = buckets[h];
        buckets[h] = b;
        unsigned ph = hash_str(b->pass_id);
        b->pnext = pbuckets[ph];
        pbuckets[ph] = b;
        stats.builds++;
        pthread_mutex_unlock(&mu);

        unsigned char *d = NULL;
        size_t l = 0;
        int hs = 500;
        char c[48] = "", m[300] = "";
        wp_status st = fn(ud, &d, &l, &hs, c, sizeof c, m, sizeof m);

        pthread_mutex_lock(&mu);
        if (st == WP_OK) {
            b->data = d;
            b->len = l;
            b->state = B_READY;
            lru_push(b);
            stats.bytes += l;
            stats.entries++;
            /* Older versions of this pass will not be asked for again. */
            struct apple_bundle_ref *o = pbuckets[hash_str(b->pass_id)], *nx;
            for (; o; o = nx) {
                nx = o->pnext;
                if (o != b && o->state == B_READY && strcmp(o->pass_id, b->pass_id) == 0) unlink_locked(o);
            }
            evict_locked();
        } else {
            free(d);
            b->state = B_FAILED;
            b->st = st;
            b->http_status = hs;
            snprintf(b->code, sizeof b->code, "%s", c);
            snprintf(b->msg, sizeof b->msg, "%s", m);
            unlink_locked(b); /* the next request tries again */
        }
        pthread_cond_broadcast(&built);
    }
    if (b->state != B_READY) {
        wp_status st = b->st ? b->st : WP_EINTERNAL;
        *http_status = b->http_status ? b->http_status : 500;
        snprintf(code, codelen, "%s", b->code);
        snprintf(msg, msglen, "%s", b->msg);
        bundle_unref_locked(b);
        pthread_mutex_unlock(&mu);
        return st;
    }
    pthread_mutex_unlock(&mu);
    *ref = b;
    *data = b->data;
    *len = b->len;
    return WP_OK;
}

void apple_bundle_release(apple_bundle_ref *ref)
{
    if (!ref) return;
    pthread_mutex_lock(&mu);
    bundle_unref_locked(ref);
    pthread_mutex_unlock(&mu);
}

void apple_cache_stats_get(apple_cache_stats *out)
{
    pthread_mutex_lock(&mu);
    *out = stats;
    pthread_mutex_unlock(&mu);
}

void apple_cache_init(size_t max_bundle_bytes, size_t max_accounts)
{
    pthread_mutex_lock(&mu);
    max_bytes = max_bundle_bytes;
    ncreds_max = max_accounts ? max_accounts : 1;
    creds = calloc(ncreds_max, sizeof *creds);
    if (!creds) ncreds_max = 0;
    pthread_mutex_unlock(&mu);
}

void apple_cache_shutdown(void)
{
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < NBUCKETS; i++)
        while (buckets[i]) unlink_locked(buckets[i]);
    for (size_t i = 0; i < ncreds_max; i++)
        if (creds[i]) cred_unref_locked(creds[i]);
    free(creds);
    creds = NULL;
    ncreds_max = 0;
    pthread_mutex_unlock(&mu);
}
