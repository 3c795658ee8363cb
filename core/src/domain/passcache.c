/*
 * passcache.c - see passcache.h.
 *
 * A row is stored as its fields one after the other: for each, the name,
 * the type and the value with its length (-1: NULL), so a hit is rebuilt as
 * the PGresult the query would have given (libpq's PQsetResultAttrs and
 * PQsetvalue) and the code reading it does not know the difference.
 */
#include "passcache.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fence.h"
#include "metrics.h"

/* The key: "account\npass". */
static int key_of(const char *account_id, const char *pass_id, char *out, size_t len)
{
    size_t a = strlen(account_id), p = strlen(pass_id);
    if (a + 1 + p > len) return -1;
    memcpy(out, account_id, a);
    out[a] = '\n';
    memcpy(out + a + 1, pass_id, p);
    return (int)(a + 1 + p);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void count(wp_domain *dom, int hit)
{
    if (!dom->metrics) return;
    if (hit)
        wp_metrics_counter_add(dom->metrics, "walletpass_pass_cache_hits_total",
                               "pass reads answered from the process's memory", 1);
    else
        wp_metrics_counter_add(dom->metrics, "walletpass_pass_cache_misses_total",
                               "pass reads that went to the database while the cache could serve", 1);
}

static void put_u32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static PGresult *decode(const unsigned char *b, size_t len)
{
    if (len < 4) return NULL;
    uint32_t nf = get_u32(b);
    if (nf == 0 || nf > 64) return NULL;
    size_t at = 4;
    PGresAttDesc attrs[64];
    memset(attrs, 0, sizeof attrs);
    const unsigned char *vals[64];
    int lens[64];
    for (uint32_t i = 0; i < nf; i++) {
        if (at + 12 > len) return NULL;
        uint32_t nl = get_u32(b + at), typ = get_u32(b + at + 4), vl = get_u32(b + at + 8);
        at += 12;
        size_t vlen = vl == UINT32_MAX ? 0 : vl;
        if (nl > len - at || vlen > len - at - nl) return NULL;
        attrs[i].name = (char *)(b + at); /* NUL-terminated when stored */
        attrs[i].typid = typ;
        attrs[i].typlen = -1;
        attrs[i].atttypmod = -1;
        at += nl;
        vals[i] = b + at;
        lens[i] = vl == UINT32_MAX ? -1 : (int)vl;
        at += vlen;
    }
    PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    if (!r) return NULL;
    if (!PQsetResultAttrs(r, (int)nf, attrs)) {
        PQclear(r);
        return NULL;
    }
    for (uint32_t i = 0; i < nf; i++)
        if (!PQsetvalue(r, 0, (int)i, lens[i] < 0 ? NULL : (char *)vals[i], lens[i])) {
            PQclear(r);
            return NULL;
        }
    return r;
}

int wp_passcache_get(wp_domain *dom, const char *account_id, const char *pass_id, PGresult **out)
{
    *out = NULL;
    if (!dom->passcache || !wp_fence_leased(dom->fence)) return 0;
    char key[160];
    int kl = key_of(account_id, pass_id, key, sizeof key);
    if (kl < 0) return 0;
    unsigned char small[16384];
    unsigned char *buf = small;
    size_t cap = sizeof small, len = 0;
    int got = wp_lru_get(dom->passcache, key, (size_t)kl, mono_s(), -1, buf, cap, &len);
    if (got && len > cap) { /* a larger row: fetched again whole (it may have gone meanwhile) */
        buf = malloc(len);
        cap = len;
        got = buf && wp_lru_get(dom->passcache, key, (size_t)kl, mono_s(), -1, buf, cap, &len) && len <= cap;
    }
    PGresult *r = got ? decode(buf, len) : NULL;
    if (buf != small) free(buf);
    count(dom, r != NULL);
    *out = r;
    return r != NULL;
}

uint64_t wp_passcache_generation(wp_domain *dom) { return dom->passcache ? wp_lru_generation(dom->passcache) : 0; }

void wp_passcache_put(wp_domain *dom, const char *account_id, const char *pass_id, const PGresult *r, uint64_t gen)
{
    if (!dom->passcache || !dom->fence || PQntuples(r) != 1) return;
    char key[160];
    int kl = key_of(account_id, pass_id, key, sizeof key);
    int nf = PQnfields(r);
    if (kl < 0 || nf < 1 || nf > 64) return;
    size_t len = 4;
    for (int i = 0; i < nf; i++)
        len += 12 + strlen(PQfname(r, i)) + 1 + (PQgetisnull(r, 0, i) ? 0 : (size_t)PQgetlength(r, 0, i));
    unsigned char *b = malloc(len);
    if (!b) return; /* not kept: the next read goes to the database */
    put_u32(b, (uint32_t)nf);
    size_t at = 4;
    for (int i = 0; i < nf; i++) {
        const char *name = PQfname(r, i);
        size_t nl = strlen(name) + 1;
        int null = PQgetisnull(r, 0, i);
        uint32_t vl = null ? UINT32_MAX : (uint32_t)PQgetlength(r, 0, i);
        put_u32(b + at, (uint32_t)nl);
        put_u32(b + at + 4, (uint32_t)PQftype(r, i));
        put_u32(b + at + 8, vl);
        at += 12;
        memcpy(b + at, name, nl);
        at += nl;
        if (!null) {
            memcpy(b + at, PQgetvalue(r, 0, i), vl);
            at += vl;
        }
    }
    wp_lru_put(dom->passcache, key, (size_t)kl, b, len, gen, mono_s());
    free(b);
}

/* A memo's key: the row's, then "\n" and the slot as two digits. */
static int memo_key(int slot, const char *account_id, const char *pass_id, char *out, size_t len)
{
    if (slot < 0 || slot >= WP_PASSCACHE_MEMO_SLOTS) return -1;
    int kl = key_of(account_id, pass_id, out, len);
    if (kl < 0 || (size_t)kl + 3 > len) return -1;
    out[kl] = '\n';
    out[kl + 1] = (char)('0' + slot / 10);
    out[kl + 2] = (char)('0' + slot % 10);
    return kl + 3;
}

int wp_passcache_memo_get(wp_domain *dom, int slot, const char *account_id, const char *pass_id, void *out, size_t cap,
                          size_t *len)
{
    *len = 0;
    if (!dom->passcache || !wp_fence_leased(dom->fence)) return 0;
    char key[176];
    int kl = memo_key(slot, account_id, pass_id, key, sizeof key);
    if (kl < 0) return 0;
    int got = wp_lru_get(dom->passcache, key, (size_t)kl, mono_s(), -1, out, cap, len);
    if (dom->metrics)
        wp_metrics_counter_add(dom->metrics,
                               got ? "walletpass_pass_memo_hits_total" : "walletpass_pass_memo_misses_total",
                               got ? "what plugins read about a pass, answered from the process's memory"
                                   : "what plugins read about a pass, read from the database while it could be kept",
                               1);
    return got;
}

void wp_passcache_memo_put(wp_domain *dom, int slot, const char *account_id, const char *pass_id, const void *val,
                           size_t len, uint64_t gen)
{
    if (!dom->passcache || !dom->fence) return;
    char key[176];
    int kl = memo_key(slot, account_id, pass_id, key, sizeof key);
    if (kl < 0) return;
    (void)wp_lru_put(dom->passcache, key, (size_t)kl, val, len, gen, mono_s()); /* not kept: read again */
}

void wp_passcache_forget(wp_domain *dom, const char *account_id, const char *pass_id)
{
    char what[160];
    int n = snprintf(what, sizeof what, "%s/%s", account_id, pass_id);
    /* an id too long for a key was never kept */
    if (dom->passcache && n > 0 && (size_t)n < sizeof what && account_id[0] && pass_id[0])
        wp_passcache_on_notify(dom->passcache, what);
}

/* ---- pages of lists ----------------------------------------------------------- */

/* Under "account\n#lists" (no pass id starts with '#') an account's page token; its pages under
 * "account\n#lists\n<token>\n<query>".  Dropping the token forgets every page at once: the old
 * ones are no longer found and age out of the cache. */
#define PAGE_TOKEN "\n#lists"
static _Atomic unsigned long long page_tokens;

static int page_token_key(const char *account_id, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s" PAGE_TOKEN, account_id);
    return n > 0 && (size_t)n < cap ? n : -1;
}

/* The page's key into *out (malloc'd): token key, '\n', token, '\n', query. */
static char *page_key(const char *tkey, size_t tkl, const unsigned char tok[8], const char *query, size_t *klen)
{
    size_t ql = strlen(query), n = tkl + 1 + 16 + 1 + ql;
    char *k = malloc(n);
    if (!k) return NULL;
    memcpy(k, tkey, tkl);
    k[tkl] = '\n';
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 8; i++) {
        k[tkl + 1 + 2 * i] = hex[tok[i] >> 4];
        k[tkl + 2 + 2 * i] = hex[tok[i] & 15];
    }
    k[tkl + 17] = '\n';
    memcpy(k + tkl + 18, query, ql);
    *klen = n;
    return k;
}

int wp_passcache_page_get(wp_domain *dom, const char *account_id, const char *query, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (!dom->passcache || !wp_fence_leased(dom->fence)) return 0;
    char tkey[96];
    int tkl = page_token_key(account_id, tkey, sizeof tkey);
    unsigned char tok[8];
    size_t tl = 0;
    double now = mono_s();
    if (tkl < 0 || !wp_lru_get(dom->passcache, tkey, (size_t)tkl, now, -1, tok, sizeof tok, &tl) || tl != sizeof tok) {
        count(dom, 0);
        return 0;
    }
    size_t klen = 0;
    char *key = page_key(tkey, (size_t)tkl, tok, query, &klen);
    if (!key) return 0;
    size_t cap = 16384, pl = 0;
    char *page = malloc(cap);
    int got = page && wp_lru_get(dom->passcache, key, klen, now, WP_PASSCACHE_PAGE_MAX_AGE_S, page, cap, &pl);
    if (got && pl > cap) { /* a longer page: fetched again whole (it may have gone meanwhile) */
        char *bigger = realloc(page, pl);
        cap = pl;
        got = bigger && wp_lru_get(dom->passcache, key, klen, now, WP_PASSCACHE_PAGE_MAX_AGE_S, bigger, cap, &pl) &&
              pl <= cap;
        page = bigger ? bigger : page;
    }
    free(key);
    count(dom, got && pl > 0);
    if (!got || pl == 0) {
        free(page);
        return 0;
    }
    *out = page;
    *len = pl;
    return 1;
}

void wp_passcache_page_put(wp_domain *dom, const char *account_id, const char *query, const char *page, size_t len,
                           uint64_t gen)
{
    if (!dom->passcache || !dom->fence || len == 0) return;
    char tkey[96];
    int tkl = page_token_key(account_id, tkey, sizeof tkey);
    if (tkl < 0) return;
    unsigned char tok[8];
    size_t tl = 0;
    double now = mono_s();
    if (!wp_lru_get(dom->passcache, tkey, (size_t)tkl, now, -1, tok, sizeof tok, &tl) || tl != sizeof tok) {
        unsigned long long t = ++page_tokens;
        memcpy(tok, &t, sizeof tok);
        /* not kept when a notification came after gen; nor is the page then */
        (void)wp_lru_put(dom->passcache, tkey, (size_t)tkl, tok, sizeof tok, gen, now);
    }
    size_t klen = 0;
    char *key = page_key(tkey, (size_t)tkl, tok, query, &klen);
    if (!key) return;
    (void)wp_lru_put(dom->passcache, key, klen, page, len, gen, now); /* not kept: built again */
    free(key);
}

void wp_passcache_on_notify(void *ud, const char *what)
{
    wp_lru *c = ud;
    if (!c) return;
    /* "account/pass" forgets one row and its memos, and the account's pages; anything
     * else ("*", or NULL: notifications lost) all */
    const char *slash = what ? strchr(what, '/') : NULL;
    if (slash && slash != what && slash[1] && slash[1] != '*' && strlen(what) < 160) {
        char key[176];
        size_t n = strlen(what);
        memcpy(key, what, n);
        key[slash - what] = '\n';
        wp_lru_remove(c, key, n);
        size_t an = (size_t)(slash - what);
        memcpy(key + an, PAGE_TOKEN, sizeof PAGE_TOKEN - 1);
        wp_lru_remove(c, key, an + sizeof PAGE_TOKEN - 1);
        memcpy(key, what, n); /* back to "account\npass" for its memos */
        key[an] = '\n';
        key[n] = '\n';
        for (int s = 0; s < WP_PASSCACHE_MEMO_SLOTS; s++) {
            key[n + 1] = (char)('0' + s / 10);
            key[n + 2] = (char)('0' + s % 10);
            wp_lru_remove(c, key, n + 3);
        }
        return;
    }
    wp_lru_clear(c);
}
