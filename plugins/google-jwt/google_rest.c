/*
 * google_rest.c - libcurl calls to the Wallet API and the OAuth2 token endpoint.
 *
 * Connections and DNS answers are shared across threads through one CURLSH
 * (guarded by mutexes), so successive calls reuse keep-alive connections.
 */
#include "google_rest.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/sha.h>

#include "google_jwt.h"
#include "wpc_hex.h"

#define MAX_BODY (4u << 20)  /* larger answers are cut: no Wallet response is near it */
#define REFRESH_MARGIN 300   /* seconds before expiry a token is renewed */

typedef struct token {
    struct token *next;
    char *key;          /* account "|" client_email "|" private_key_id "|" sha256(key) "|" token url */
    char *access;       /* NULL until fetched */
    time_t expires;
    int fetching;       /* one caller fetches; the others wait on cond */
} token;

typedef struct bucket {
    struct bucket *next;
    char *issuer;
    double next_slot;   /* monotonic seconds of the next free request slot */
    double paused_until;/* monotonic seconds: Google's Retry-After (429, 503) for this issuer */
    int inflight;       /* background jobs holding the issuer's gate (grest_issuer_enter) */
} bucket;

struct grest {
    char *api_base, *token_url;
    long timeout_s;
    int rate;
    int processes;        /* sharing rate (grest_set_processes); under mu */
    CURLSH *share;
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
    pthread_mutex_t mu;   /* tokens, buckets, fetches */
    pthread_cond_t cond;
    token *tokens;
    bucket *buckets;
    long fetches;
};

static void share_lock(CURL *h, curl_lock_data d, curl_lock_access a, void *ud)
{
    (void)h;
    (void)a;
    pthread_mutex_lock(&((grest *)ud)->share_locks[d]);
}

static void share_unlock(CURL *h, curl_lock_data d, void *ud)
{
    (void)h;
    pthread_mutex_unlock(&((grest *)ud)->share_locks[d]);
}

wp_status grest_new(const grest_cfg *cfg, grest **out, char *errbuf, size_t errlen)
{
    *out = NULL;
    grest *c = calloc(1, sizeof *c);
    if (!c) return WP_ENOMEM;
    const char *base = cfg->api_base && *cfg->api_base ? cfg->api_base : GREST_DEFAULT_API;
    c->api_base = strdup(base);
    if (c->api_base) {
        size_t n = strlen(c->api_base);
        while (n > 0 && c->api_base[n - 1] == '/') c->api_base[--n] = '\0';
    }
    c->token_url = cfg->token_url && *cfg->token_url ? strdup(cfg->token_url) : NULL;
    c->timeout_s = cfg->timeout_s > 0 ? cfg->timeout_s : 10;
    c->rate = cfg->rate_per_s > 0 ? cfg->rate_per_s : 20;
    c->processes = 1;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cond, NULL);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) pthread_mutex_init(&c->share_locks[i], NULL);
    c->share = curl_share_init();
    if (!c->api_base || !c->share) {
        grest_free(c);
        snprintf(errbuf, errlen, "out of memory");
        return WP_ENOMEM;
    }
    curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    *out = c;
    return WP_OK;
}

void grest_free(grest *c)
{
    if (!c) return;
    if (c->share) curl_share_cleanup(c->share);
    for (token *t = c->tokens, *n; t; t = n) {
        n = t->next;
        free(t->key);
        free(t->access);
        free(t);
    }
    for (bucket *b = c->buckets, *n; b; b = n) {
        n = b->next;
        free(b->issuer);
        free(b);
    }
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) pthread_mutex_destroy(&c->share_locks[i]);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->mu);
    free(c->api_base);
    free(c->token_url);
    free(c);
}

long grest_token_fetches(grest *c)
{
    pthread_mutex_lock(&c->mu);
    long n = c->fetches;
    pthread_mutex_unlock(&c->mu);
    return n;
}

void grest_set_processes(grest *c, int processes)
{
    pthread_mutex_lock(&c->mu);
    c->processes = processes > 1 ? processes : 1;
    pthread_mutex_unlock(&c->mu);
}

int grest_retryable(long status) { return status == 429 || status >= 500 || status == 0; }

/* ---- rate limit: one slot every 1/rate seconds per issuer ----------------- */

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The budget of grest_budget_begin on this thread (monotonic seconds); 0: none. */
static __thread double budget_deadline;

void grest_budget_begin(long budget_ms) { budget_deadline = mono_now() + (double)budget_ms / 1000.0; }
void grest_budget_end(void) { budget_deadline = 0; }

/* Milliseconds left of this thread's budget (at most cap_ms); cap_ms without one. */
static long budget_left_ms(long cap_ms)
{
    if (budget_deadline <= 0) return cap_ms;
    double left = (budget_deadline - mono_now()) * 1000.0;
    return left < (double)cap_ms ? (long)left : cap_ms;
}

/* The issuer's bucket, created on first use; NULL on out of memory.  Under c->mu. */
static bucket *bucket_of(grest *c, const char *issuer)
{
    bucket *b = c->buckets;
    while (b && strcmp(b->issuer, issuer) != 0) b = b->next;
    if (!b && (b = calloc(1, sizeof *b)) != NULL) {
        if (!(b->issuer = strdup(issuer))) {
            free(b);
            return NULL;
        }
        b->next = c->buckets;
        c->buckets = b;
    }
    return b;
}

/* Longest Retry-After pause a call waits out in place; a longer one fails the call at once. */
#define MAX_INLINE_WAIT 2.0

/* 1 when the slot came; 0 when it would come after this thread's budget, -1 when
 * the issuer is paused longer than MAX_INLINE_WAIT (nothing is waited then). */
static int rate_wait(grest *c, const char *issuer)
{
    double now = mono_now(), slot;
    pthread_mutex_lock(&c->mu);
    bucket *b = bucket_of(c, issuer);
    if (!b) {
        pthread_mutex_unlock(&c->mu);
        return 1;
    }
    slot = b->next_slot > now ? b->next_slot : now;
    if (b->paused_until > slot) slot = b->paused_until;
    if (budget_deadline > 0 && slot >= budget_deadline) {
        pthread_mutex_unlock(&c->mu);
        return 0;
    }
    if (b->paused_until - now > MAX_INLINE_WAIT) { /* the rate limit's own waits stay in place, as before */
        pthread_mutex_unlock(&c->mu);
        return -1;
    }
    b->next_slot = slot + (double)c->processes / c->rate; /* this process's share of the issuer's rate */
    pthread_mutex_unlock(&c->mu);
    if (slot > now) {
        double d = slot - now;
        struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
    }
    return 1;
}

long grest_issuer_paused_ms(grest *c, const char *issuer)
{
    long ms = 0;
    pthread_mutex_lock(&c->mu);
    bucket *b = c->buckets;
    while (b && strcmp(b->issuer, issuer) != 0) b = b->next;
    double left = b ? b->paused_until - mono_now() : 0;
    if (left > 0) ms = (long)(left * 1000) + 1;
    pthread_mutex_unlock(&c->mu);
    return ms;
}

int grest_issuer_enter(grest *c, const char *issuer, int cap, long *wait_ms)
{
    *wait_ms = 0;
    pthread_mutex_lock(&c->mu);
    bucket *b = bucket_of(c, issuer);
    int ok = 1;
    if (b) {
        double left = b->paused_until - mono_now();
        if (left > 0) {
            *wait_ms = (long)(left * 1000) + 1;
            ok = 0;
        } else if (b->inflight >= cap) {
            ok = 0;
        } else {
            b->inflight++;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return ok;
}

void grest_issuer_leave(grest *c, const char *issuer)
{
    pthread_mutex_lock(&c->mu);
    bucket *b = c->buckets;
    while (b && strcmp(b->issuer, issuer) != 0) b = b->next;
    if (b && b->inflight > 0) b->inflight--;
    pthread_mutex_unlock(&c->mu);
}

/* ---- one HTTP exchange ----------------------------------------------------- */

typedef struct buf {
    char *p;
    size_t n;
} buf;

static size_t on_data(char *d, size_t sz, size_t nm, void *ud)
{
    buf *b = ud;
    size_t n = sz * nm;
    if (b->n + n > MAX_BODY) return 0;
    char *p = realloc(b->p, b->n + n + 1);
    if (!p) return 0;
    memcpy(p + b->n, d, n);
    b->n += n;
    p[b->n] = '\0';
    b->p = p;
    return n;
}

static wp_status http(grest *c, const char *method, const char *url, const char *ctype, const char *bearer,
                      const char *body, long *status, long *retry_after_s, buf *resp, char *errbuf, size_t errlen)
{
    if (retry_after_s) *retry_after_s = 0;
    if (budget_left_ms(1) < 1) {
        snprintf(errbuf, errlen, "%s %s: not sent, the time this request may spend on Google calls is used up", method,
                 url);
        return WP_EUNAVAIL;
    }
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(errbuf, errlen, "out of memory");
        return WP_ENOMEM;
    }
    struct curl_slist *hdrs = NULL;
    char line[4200];
    if (ctype) {
        snprintf(line, sizeof line, "Content-Type: %s", ctype);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (bearer) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", bearer);
        hdrs = curl_slist_append(hdrs, line);
    }
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_SHARE, c->share);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body) curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    long tmo_ms = budget_left_ms(c->timeout_s * 1000);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, tmo_ms > 0 ? tmo_ms : 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, tmo_ms > 0 ? tmo_ms : 1L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    CURLcode rc = curl_easy_perform(h);
    *status = 0;
    if (rc == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    if (rc == CURLE_OK && retry_after_s && (*status == 429 || *status == 503)) {
        curl_off_t ra = 0; /* curl reads both forms: seconds, or an HTTP date as seconds from now */
        if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
            *retry_after_s = ra > GREST_RETRY_AFTER_MAX ? GREST_RETRY_AFTER_MAX : (long)ra;
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    if (rc != CURLE_OK) {
        snprintf(errbuf, errlen, "%s %s: %s", method, url, *cerr ? cerr : curl_easy_strerror(rc));
        return WP_EUNAVAIL;
    }
    return WP_OK;
}

/* ---- OAuth2 tokens ----------------------------------------------------------- */

/* The operator's token endpoint, never the service account's token_uri (a
 * tenant could point it at an internal address). */
static const char *token_url_for(grest *c) { return c->token_url ? c->token_url : GREST_DEFAULT_TOKEN; }

/* The OAuth "error" code of an answer when it is one (RFC 6749: a short
 * ASCII word); the rest of the body is never copied into a message. */
static const char *oauth_error_code(json_object *j)
{
    json_object *e = NULL;
    if (!j || !json_object_object_get_ex(j, "error", &e) || !json_object_is_type(e, json_type_string)) return NULL;
    const char *s = json_object_get_string(e);
    size_t n = strlen(s);
    if (n == 0 || n > 40 || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n)
        return NULL;
    return s;
}

static wp_status fetch_token(grest *c, const grest_creds *cr, const char *url, char **access, time_t *expires,
                             char *errbuf, size_t errlen)
{
    EVP_PKEY *key = NULL;
    wp_status st = gj_key_load(cr->private_key_pem, &key, errbuf, errlen);
    if (st != WP_OK) return WP_EAUTH;
    char *assertion = NULL;
    /* iat a little in the past: Google refuses assertions "from the future" on skewed clocks. */
    st = gj_oauth_assertion(key, cr->client_email, GREST_SCOPE, url, time(NULL) - 30, &assertion, errbuf, errlen);
    EVP_PKEY_free(key);
    if (st != WP_OK) return WP_EAUTH;
    size_t blen = strlen(assertion) + 128;
    char *body = malloc(blen);
    if (!body) {
        free(assertion);
        return WP_ENOMEM;
    }
    /* A JWS is base64url and dots: nothing to percent-encode. */
    snprintf(body, blen, "grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Ajwt-bearer&assertion=%s", assertion);
    free(assertion);
    buf resp = {0};
    long status = 0;
    st = http(c, "POST", url, "application/x-www-form-urlencoded", NULL, body, &status, NULL, &resp, errbuf, errlen);
    free(body);
    pthread_mutex_lock(&c->mu);
    c->fetches++;
    pthread_mutex_unlock(&c->mu);
    if (st != WP_OK) {
        free(resp.p);
        return st;
    }
    json_object *j = resp.p ? json_tokener_parse(resp.p) : NULL;
    json_object *at = NULL, *ei = NULL;
    if (status != 200 || !j || !json_object_object_get_ex(j, "access_token", &at) ||
        !json_object_is_type(at, json_type_string)) {
        const char *code = oauth_error_code(j);
        snprintf(errbuf, errlen, "the token endpoint %s answered %ld%s%s", url, status,
                 code ? ": " : (status == 200 ? " without an access_token" : ""), code ? code : "");
        json_object_put(j);
        free(resp.p);
        return grest_retryable(status) ? WP_EUNAVAIL : WP_EAUTH;
    }
    long ttl = json_object_object_get_ex(j, "expires_in", &ei) ? (long)json_object_get_int64(ei) : 3600;
    *access = strdup(json_object_get_string(at));
    *expires = time(NULL) + (ttl > 0 ? ttl : 60);
    json_object_put(j);
    free(resp.p);
    return *access ? WP_OK : WP_ENOMEM;
}

/* Copies a valid token into out (single flight per key). */
static wp_status get_token(grest *c, const grest_creds *cr, int drop_cached, char *out, size_t outlen, char *errbuf,
                           size_t errlen)
{
    const char *url = token_url_for(c);
    unsigned char kh[32];
    char khex[65];
    SHA256((const unsigned char *)cr->private_key_pem, strlen(cr->private_key_pem), kh);
    wpc_hex(kh, 32, khex);
    char key[1400];
    int kn = snprintf(key, sizeof key, "%s|%s|%s|%s|%s", cr->account_id ? cr->account_id : "", cr->client_email,
                      cr->private_key_id ? cr->private_key_id : "", khex, url);
    if (kn < 0 || (size_t)kn >= sizeof key) {
        snprintf(errbuf, errlen, "the service account's email, key id or token URL is too long");
        return WP_EAUTH;
    }
    pthread_mutex_lock(&c->mu);
    token *t = c->tokens;
    while (t && strcmp(t->key, key) != 0) t = t->next;
    if (!t) {
        t = calloc(1, sizeof *t);
        if (t) t->key = strdup(key);
        if (!t || !t->key) {
            if (t) free(t);
            pthread_mutex_unlock(&c->mu);
            return WP_ENOMEM;
        }
        t->next = c->tokens;
        c->tokens = t;
    }
    if (drop_cached && t->access && !t->fetching) {
        free(t->access);
        t->access = NULL;
    }
    for (;;) {
        if (t->access && t->expires - REFRESH_MARGIN > time(NULL)) {
            snprintf(out, outlen, "%s", t->access);
            pthread_mutex_unlock(&c->mu);
            return WP_OK;
        }
        if (!t->fetching) break;
        pthread_cond_wait(&c->cond, &c->mu);
        if (!t->fetching && !(t->access && t->expires - REFRESH_MARGIN > time(NULL))) break; /* the fetch failed: try ourselves */
    }
    t->fetching = 1;
    pthread_mutex_unlock(&c->mu);

    char *access = NULL;
    time_t expires = 0;
    wp_status st = fetch_token(c, cr, url, &access, &expires, errbuf, errlen);

    pthread_mutex_lock(&c->mu);
    t->fetching = 0;
    if (st == WP_OK) {
        free(t->access);
        t->access = access;
        t->expires = expires;
        snprintf(out, outlen, "%s", access);
    }
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
    return st;
}

/* ---- API calls ------------------------------------------------------------------ */

static void api_error(json_object *j, long status, const char *method, const char *path, char *errbuf, size_t errlen)
{
    json_object *e = NULL, *m = NULL;
    const char *msg = j && json_object_object_get_ex(j, "error", &e) && json_object_object_get_ex(e, "message", &m)
                          ? json_object_get_string(m) : "";
    snprintf(errbuf, errlen, "Google Wallet API %s %s answered %ld%s%s", method, path, status, *msg ? ": " : "", msg);
}

wp_status grest_call(grest *c, const grest_creds *cr, const char *method, const char *path, const json_object *body,
                     long *status, json_object **resp, char *errbuf, size_t errlen)
{
    if (resp) *resp = NULL;
    *status = 0;
    char tok[4096];
    size_t ulen = strlen(c->api_base) + strlen(path) + 1;
    char *url = malloc(ulen);
    if (!url) return WP_ENOMEM;
    snprintf(url, ulen, "%s%s", c->api_base, path);
    const char *payload = body ? json_object_to_json_string_ext((json_object *)body, JSON_C_TO_STRING_PLAIN |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE) : NULL;
    wp_status st = WP_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        st = get_token(c, cr, attempt > 0, tok, sizeof tok, errbuf, errlen);
        if (st != WP_OK) break;
        const char *issuer = cr->issuer_id ? cr->issuer_id : "";
        int slot = rate_wait(c, issuer);
        if (slot <= 0) {
            if (slot == 0)
                snprintf(errbuf, errlen, "%s %s: not sent, the issuer's rate limit leaves no slot within this request's "
                         "time for Google calls", method, path);
            else
                snprintf(errbuf, errlen, "%s %s: not sent, Google asked this issuer to wait (Retry-After) for %ld s more",
                         method, path, grest_issuer_paused_ms(c, issuer) / 1000 + 1);
            st = WP_EUNAVAIL;
            break;
        }
        buf b = {0};
        long ra = 0;
        st = http(c, method, url, payload ? "application/json" : NULL, tok, payload, status, &ra, &b, errbuf, errlen);
        if (st != WP_OK) {
            free(b.p);
            break;
        }
        if (ra > 0) { /* the whole issuer waits: every call of it would be refused meanwhile */
            pthread_mutex_lock(&c->mu);
            bucket *bk = bucket_of(c, issuer);
            double until = mono_now() + (double)ra;
            if (bk && until > bk->paused_until) bk->paused_until = until;
            pthread_mutex_unlock(&c->mu);
        }
        json_object *j = b.p ? json_tokener_parse(b.p) : NULL;
        free(b.p);
        if (*status == 401 && attempt == 0) { /* revoked or expired early: one fresh token */
            json_object_put(j);
            continue;
        }
        if (*status >= 300) api_error(j, *status, method, path, errbuf, errlen);
        if (resp) *resp = j;
        else json_object_put(j);
        break;
    }
    free(url);
    return st;
}

wp_status grest_upsert(grest *c, const grest_creds *cr, const char *resource, const json_object *res, long *status,
                       char *errbuf, size_t errlen)
{
    char path[1024];
    snprintf(path, sizeof path, "/%s", resource);
    wp_status st = grest_call(c, cr, "POST", path, res, status, NULL, errbuf, errlen);
    if (st != WP_OK || *status != 409) return st;
    /* Already there (ids are permanent): read it, then patch in our fields. */
    json_object *id = NULL;
    json_object_object_get_ex(res, "id", &id);
    snprintf(path, sizeof path, "/%s/%s", resource, id ? json_object_get_string(id) : "");
    st = grest_call(c, cr, "GET", path, NULL, status, NULL, errbuf, errlen);
    if (st != WP_OK || *status >= 300) return st;
    return grest_call(c, cr, "PATCH", path, res, status, NULL, errbuf, errlen);
}
