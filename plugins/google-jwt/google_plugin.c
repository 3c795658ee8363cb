/*
 * google_plugin.c - the google-jwt plugin: Google Wallet save links and live
 * object updates.
 *
 *   filter  pass.links (WP_PRIO_DEFAULT): adds google_pass_type (the Wallet
 *           class type), google_save_url when the account has a Google
 *           credential (vault "google"), else null, and the share page's
 *           button for Android phones.
 *           The link is cached per (account, pass, version, key).  A JWT
 *           longer than 1,800 characters is replaced by a skinny one after
 *           the class and object are inserted over the REST API.
 *   filter  pass.notify.validate: Google Wallet's limit of 3 notifying
 *           messages per object and day: the 4th notification of a pass in
 *           one UTC day is refused, 429 notification_limit_reached.
 *   hook    pass.render.google: {schema 1, pass, type, class, object} runs
 *           before every JWT and REST write; filters may change class/object.
 *   events  pass.updated, pass.voided -> the object as the pass is now (the
 *           class through a class job when its rendering changed);
 *           pass.notify -> addMessage (TEXT_AND_NOTIFY, TEXT past 3 per pass
 *           per 24 h; none for a voided pass); pass.created/updated with a
 *           future expiration_date -> the object EXPIRED at that time.  Each
 *           enqueues a google-jwt.sync job under the pass's serial key (ABI
 *           1.4: one job of a pass at a time, in order), which renders the
 *           pass as it is when it runs and retries 429/5xx on its backoff
 *           schedule (README.md, "Ordering").
 *   route   GET /google/images/default-logo.png (public): the logo Google
 *           fetches when a pass has none (programLogo is required).
 *   route   GET /api/v1/passes/:id/google (API key): the pass's object as
 *           this plugin knows it (state, at Google, last sync, up to date).
 *   credential kind "google": PUT/GET/DELETE /api/v1/credentials/google,
 *           checked by google_credcheck.h, sealed and stored by the gateway.
 *
 * Config (all optional): api_base_url, token_url, origins [..], public_url,
 * language, rate_limit_per_second (per issuer, in the whole deployment: each of N live
 * gateway processes takes 1/N of it; default 20), timeout_seconds
 * (10), max_jwt_length (1800), cache_slots (4096), credentials_ttl_seconds (5),
 * request_rest_timeout_ms (5000: the Google calls made while a request waits, together),
 * issuer_concurrency (2: sync jobs of one issuer in flight per process), defer_ms (500).
 *
 * Threads: everything set in init is read-only afterwards and plain C data
 * (no json_object outlives a call or is seen by two threads); the REST
 * client, the link cache and the key cache guard their own state.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
/* credential_kind_register (1.6): the plugin owns the "google" credential kind; newer slots are probed. */
#define WP_REQUIRE_ABI_MINOR 6
#include <walletpass/plugin.h>
#include <walletpass/plugin_config.h>

#include "default_logo.h"
#include "google_credcheck.h"
#include "google_cache.h"
#include "google_jwt.h"
#include "google_render.h"
#include "google_rest.h"
#include "wpc_hex.h"
#include "wpc_cred.h"
#include "wpc_json.h"
#include "wpc_time.h"

#define JOB_KIND "google-jwt.sync"
#define LOGO_PATH "/google/images/default-logo.png"
#define NOTIFY_CAP 3

static const wp_host *host;
static wp_plugin *self;
static grest *rest;

/*
 * The live gateway processes, which share rate_limit_per_second: read at most once a second
 * from the core's registry (wp_live_gateways(), core migration 0016) through the host's
 * database access, before the calls that spend the issuer's rate.
 */
static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static double live_checked;
static int live_warned;

static double live_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void live_refresh(void)
{
    double now = live_now();
    pthread_mutex_lock(&live_mu);
    int due = now - live_checked >= 1.0;
    if (due) live_checked = now;
    pthread_mutex_unlock(&live_mu);
    if (!due) return;
    json_object *rows = NULL;
    if (host->db_query(self, NULL, "SELECT wp_live_gateways() AS n", 0, NULL, &rows) != WP_OK) {
        pthread_mutex_lock(&live_mu);
        int warn = !live_warned;
        live_warned = 1;
        pthread_mutex_unlock(&live_mu);
        if (warn)
            host->log(self, WP_LOG_WARN, "live gateway count not read (%s): the issuer rate limit counts this "
                      "process alone", host->last_error());
        return;
    }
    json_object *row = json_object_array_length(rows) ? json_object_array_get_idx(rows, 0) : NULL;
    int64_t n = row ? wpc_json_int64(row, "n", 1) : 1;
    json_object_put(rows);
    grest_set_processes(rest, n < 1 ? 1 : n > 100000 ? 100000 : (int)n);
}

static wp_status gcall(grest *c, const grest_creds *cr, const char *method, const char *path, const json_object *body,
                       long *status, json_object **resp, char *errbuf, size_t errlen)
{
    live_refresh();
    return grest_call(c, cr, method, path, body, status, resp, errbuf, errlen);
}
static gcache *links;
/* config.origins, serialised once at init: every save link parses its own array from it.
 * Never a shared json_object: json-c's reference counts and print buffers are not
 * thread-safe, and request threads sign links concurrently. */
static char *origins_json;           /* owned; immutable after init */
static char public_url[512] = "http://localhost:8080";
static char language[32] = "en-US";
static char default_logo_url[600];
static int max_jwt = GJ_MAX_JWT;
static int request_rest_ms = 5000;   /* Google calls made while a request waits, in all */
static int issuer_cap = 2;           /* sync jobs of one issuer in flight at once, per process */
static int defer_ms = 500;           /* a sync job that finds its issuer's gate closed runs again this much later */
/* The sync jobs' schedule: seconds before attempt 2, 3, ... (7 attempts in all). */
static const uint32_t sync_backoff[] = {1, 5, 30, 120, 600, 1800};
#define SYNC_ATTEMPTS (1 + (int)(sizeof sync_backoff / sizeof sync_backoff[0]))

/* ---- parsed private keys, by SHA-256 of the PEM (parsing costs more than signing) ---- */

#define KEYS 32
static struct {
    unsigned char id[32];
    EVP_PKEY *key;
} keys[KEYS];
static unsigned key_next;
static pthread_mutex_t keys_mu = PTHREAD_MUTEX_INITIALIZER;

/* A new reference to the parsed key (EVP_PKEY_free it). */
static wp_status key_get(const char *pem, EVP_PKEY **out, char *errbuf, size_t errlen)
{
    unsigned char id[32];
    SHA256((const unsigned char *)pem, strlen(pem), id);
    pthread_mutex_lock(&keys_mu);
    for (int i = 0; i < KEYS; i++)
        if (keys[i].key && memcmp(keys[i].id, id, 32) == 0) {
            EVP_PKEY_up_ref(keys[i].key);
            *out = keys[i].key;
            pthread_mutex_unlock(&keys_mu);
            return WP_OK;
        }
    pthread_mutex_unlock(&keys_mu);
    wp_status st = gj_key_load(pem, out, errbuf, errlen);
    if (st != WP_OK) return st;
    pthread_mutex_lock(&keys_mu);
    unsigned i = key_next++ % KEYS;
    if (keys[i].key) EVP_PKEY_free(keys[i].key);
    memcpy(keys[i].id, id, 32);
    EVP_PKEY_up_ref(*out);
    keys[i].key = *out;
    pthread_mutex_unlock(&keys_mu);
    return WP_OK;
}

/* ---- credentials ------------------------------------------------------------- */

typedef struct creds {
    json_object *doc; /* owned: the vault's answer */
    char account[80]; /* the tenant the credential belongs to (c.account_id points here) */
    grest_creds c;
} creds;

/*
 * The request path asks for the credential of every pass it answers (a list
 * of 100 passes: 100 reads).  A short-lived per-process cache of the vault's
 * answer (the serialised credential, or "none") keeps that to about one read
 * per account per credentials_ttl_seconds; a replaced or deleted credential
 * is seen after at most that long.  Jobs always read the vault.
 */
#define CRED_SLOTS 256
static struct {
    char account[80];
    char *json;      /* NULL: the account had none */
    time_t at;
} cred_cache[CRED_SLOTS];
static pthread_mutex_t cred_mu = PTHREAD_MUTEX_INITIALIZER;
static int cred_ttl = 5;

static unsigned cred_slot(const char *account)
{
    unsigned h = 2166136261u;
    for (const char *c = account; *c; c++) h = (h ^ (unsigned char)*c) * 16777619u;
    return h % CRED_SLOTS;
}

static void cred_clear(unsigned i)
{
    if (cred_cache[i].json) {
        OPENSSL_cleanse(cred_cache[i].json, strlen(cred_cache[i].json));
        free(cred_cache[i].json);
    }
    cred_cache[i].json = NULL;
    cred_cache[i].account[0] = '\0';
}

/* 1 and *doc (transferred, NULL for "none") on a fresh hit; 0 on a miss. */
static int cred_lookup(const char *account, json_object **doc)
{
    *doc = NULL;
    if (cred_ttl <= 0 || strlen(account) >= sizeof cred_cache[0].account) return 0;
    unsigned i = cred_slot(account);
    char *copy = NULL;
    int hit = 0;
    pthread_mutex_lock(&cred_mu);
    if (strcmp(cred_cache[i].account, account) == 0 && time(NULL) - cred_cache[i].at < cred_ttl) {
        hit = 1;
        if (cred_cache[i].json) copy = strdup(cred_cache[i].json);
        if (cred_cache[i].json && !copy) hit = 0;
    }
    pthread_mutex_unlock(&cred_mu);
    if (copy) {
        *doc = json_tokener_parse(copy);
        OPENSSL_cleanse(copy, strlen(copy));
        free(copy);
        if (!*doc) hit = 0;
    }
    return hit;
}

static void cred_store(const char *account, const json_object *doc)
{
    if (cred_ttl <= 0 || strlen(account) >= sizeof cred_cache[0].account) return;
    char *json = doc ? strdup(json_object_to_json_string_ext((json_object *)doc, JSON_C_TO_STRING_PLAIN)) : NULL;
    if (doc && !json) return;
    unsigned i = cred_slot(account);
    pthread_mutex_lock(&cred_mu);
    cred_clear(i);
    snprintf(cred_cache[i].account, sizeof cred_cache[i].account, "%s", account);
    cred_cache[i].json = json;
    cred_cache[i].at = time(NULL);
    pthread_mutex_unlock(&cred_mu);
}

/* WP_ENOTFOUND when the account has no Google credential (the link stays null).
 * cached: may answer from the request-path cache. */
static wp_status creds_read_ex(const char *account_id, creds *out, int cached)
{
    memset(out, 0, sizeof *out);
    if (!account_id || !*account_id || !WP_HOST_HAS(host, vault_read)) return WP_ENOTFOUND;
    if (strlen(account_id) >= sizeof out->account) {
        host->log(self, WP_LOG_WARN, "account id \"%.80s...\" is too long for a Google credential", account_id);
        return WP_EINVAL;
    }
    if (cached && cred_lookup(account_id, &out->doc)) {
        if (!out->doc) return WP_ENOTFOUND;
    } else {
        wp_status st = host->vault_read(self, account_id, "google", &out->doc);
        if (st == WP_ENOTFOUND) cred_store(account_id, NULL);
        if (st != WP_OK) return st;
        cred_store(account_id, out->doc);
    }
    out->c.issuer_id = wpc_json_str(out->doc, "issuer_id");
    out->c.client_email = wpc_json_str(out->doc, "client_email");
    out->c.private_key_pem = wpc_json_str(out->doc, "private_key_pem");
    if (!out->c.private_key_pem) out->c.private_key_pem = wpc_json_str(out->doc, "private_key");
    out->c.private_key_id = wpc_json_str(out->doc, "private_key_id");
    snprintf(out->account, sizeof out->account, "%s", account_id);
    out->c.account_id = out->account;
    if (!out->c.issuer_id || !out->c.client_email || !out->c.private_key_pem) {
        host->log(self, WP_LOG_WARN, "account %s: the Google credential lacks issuer_id, client_email or private key",
                  account_id);
        json_object_put(out->doc);
        out->doc = NULL;
        return WP_ECONFIG;
    }
    return WP_OK;
}

static wp_status creds_read(const char *account_id, creds *out) { return creds_read_ex(account_id, out, 0); }

/* Drops the credential, overwriting the key material first. */
static void creds_free(creds *c)
{
    wpc_cred_wipe_put(c->doc);
    c->doc = NULL;
}

/* ---- rendering -------------------------------------------------------------- */

/*
 * Images.  An https URL in the pass is used as is.  A base64 PNG is served by
 * this plugin at <public_url>/google/images/passes/<pass id>/<capability>/<hash>/<name>.png
 * (ABI 1.4: pass_cap_token with the purpose IMG_PURPOSE): public, since
 * Google fetches it without credentials, yet not guessable from the pass id;
 * <hash> names the content, so a changed image gets a new URL and an old one
 * can be cached for a day.  The capability opens this pass's images and
 * nothing else: not the pkpass link (whose capability carries the Apple
 * authentication token), which has a capability of its own.
 */
#define IMG_PREFIX "/google/images/passes/"
#define IMG_PURPOSE "pass-image"

typedef struct img_ctx {
    const char *account, *pass_id;
    char token[160];
    int token_state; /* 0 not fetched, 1 ok, -1 unavailable */
    char urls[6][900];
    int n;
} img_ctx;

static void content_hash(const char *b64, char out[17])
{
    unsigned char d[32];
    SHA256((const unsigned char *)b64, strlen(b64), d);
    wpc_hex(d, 8, out);
}

static const char *image_for(void *ud, const char *name, const char *value)
{
    img_ctx *c = ud;
    if (strncmp(value, "https://", 8) == 0) return value;
    if (!c || !c->account || !c->pass_id || c->n >= 6) return NULL;
    if (c->token_state == 0) {
        c->token_state = WP_HOST_HAS(host, pass_cap_token) &&
                                 host->pass_cap_token(self, IMG_PURPOSE, c->account, c->pass_id, c->token,
                                                      sizeof c->token) == WP_OK
                             ? 1 : -1;
    }
    if (c->token_state != 1) return NULL;
    char h[17];
    content_hash(value, h);
    char *u = c->urls[c->n++];
    snprintf(u, sizeof c->urls[0], "%s%s%s/%s/%s/%s.png", public_url, IMG_PREFIX, c->pass_id, c->token, h, name);
    return u;
}

/* A test-mode pass: the core's "livemode" is false (docs/plugins.md). */
static int test_pass(const json_object *pass)
{
    json_object *lm = wpc_pass_field(pass, "livemode");
    return lm && json_object_is_type(lm, json_type_boolean) && !json_object_get_boolean(lm);
}

/* Marks a test pass's object where the holder sees it: a first text module. */
static void mark_test(json_object *obj)
{
    json_object *tm = NULL, *m = json_object_new_object(), *all = json_object_new_array();
    json_object_object_add(m, "id", json_object_new_string("walletpass_test_mode"));
    json_object_object_add(m, "header", json_object_new_string("TEST"));
    json_object_object_add(m, "body", json_object_new_string("A test pass, made with a test API key: it is not valid."));
    json_object_array_add(all, m);
    if (json_object_object_get_ex(obj, "textModulesData", &tm) && json_object_is_type(tm, json_type_array))
        for (size_t i = 0; i < json_object_array_length(tm); i++)
            json_object_array_add(all, json_object_get(json_object_array_get_idx(tm, i)));
    json_object_object_add(obj, "textModulesData", all);
}

/*
 * Renders class and object and runs pass.render.google over them.
 * *doc transferred: {schema, pass, type, class, object}.
 */
static wp_status render(const json_object *pass, const creds *cr, const char *account_id, int notify, wp_req *req,
                        json_object **doc, char *errbuf, size_t errlen)
{
    *doc = NULL;
    img_ctx ic = {.account = account_id, .pass_id = wpc_pass_str(pass, "id")};
    gr_render_opts o = {.issuer_id = cr->c.issuer_id, .account_id = account_id, .language = language,
                        .default_logo_url = default_logo_url, .image = image_for, .image_ud = &ic,
                        .now = time(NULL), .notify = notify};
    json_object *cls = NULL, *obj = NULL;
    wp_status st = gr_render(pass, &o, &cls, &obj, errbuf, errlen);
    if (st != WP_OK) return st;
    if (test_pass(pass)) mark_test(obj);
    json_object *d = json_object_new_object();
    json_object_object_add(d, "schema", json_object_new_int(1));
    json_object_object_add(d, "pass", json_object_get((json_object *)pass));
    json_object_object_add(d, "type", json_object_new_string(gr_google_type(wpc_pass_str(pass, "pass_type"))));
    json_object_object_add(d, "class", cls);
    json_object_object_add(d, "object", obj);
    wp_err *err = host->err_new(req);
    if (err && host->hook_run("pass.render.google", d, req, err) == WP_FILTER_REJECT) {
        snprintf(errbuf, errlen, "pass.render.google refused the pass: %s", host->err_message(err));
        json_object_put(d);
        return WP_EINVAL;
    }
    *doc = d;
    return WP_OK;
}

/* ---- save links ---------------------------------------------------------------- */

static wp_status sign_payload(const creds *cr, json_object *payload, char **jwt, char *errbuf, size_t errlen)
{
    EVP_PKEY *key = NULL;
    wp_status st = key_get(cr->c.private_key_pem, &key, errbuf, errlen);
    if (st != WP_OK) return st;
    json_object *origins = json_tokener_parse(origins_json);
    if (!origins) {
        EVP_PKEY_free(key);
        snprintf(errbuf, errlen, "out of memory");
        return WP_ENOMEM;
    }
    json_object *claims = gj_save_claims(cr->c.client_email, time(NULL), origins, payload);
    json_object_put(origins);
    st = gj_save_jwt(key, claims, jwt, errbuf, errlen);
    json_object_put(claims);
    EVP_PKEY_free(key);
    return st;
}

static int ok_status(long s) { return s >= 200 && s < 300; }

/* Hex SHA-256 of a resource's compact JSON. */
static void json_hash(const json_object *o, char out[65])
{
    size_t n = 0;
    const char *js = json_object_to_json_string_length((json_object *)o, JSON_C_TO_STRING_PLAIN, &n);
    unsigned char d[32];
    SHA256((const unsigned char *)js, n, d);
    wpc_hex(d, 32, out);
}

/* ---- what Google has: objects and classes as last sent ----------------------------- */

/*
 * The fields that carry a change message, as {key: value}: a notifying update
 * is one that changes one of these values (what Apple shows a change message
 * for).  *out transferred.
 */
static json_object *notify_values(const json_object *pass)
{
    static const char *const groups[] = {"header_fields", "primary_fields", "secondary_fields", "auxiliary_fields",
                                         "back_fields", NULL};
    json_object *out = json_object_new_object();
    for (const char *const *g = groups; *g; g++) {
        json_object *arr = wpc_pass_field(pass, *g);
        if (!arr || !json_object_is_type(arr, json_type_array)) continue;
        for (size_t j = 0; j < json_object_array_length(arr); j++) {
            json_object *f = json_object_array_get_idx(arr, j), *v = NULL;
            const char *key = wpc_json_str(f, "key");
            if (!key || !wpc_json_str(f, "change_message")) continue;
            json_object_object_get_ex(f, "value", &v);
            json_object_object_add(out, key, json_object_new_string(v ? json_object_get_string(v) : ""));
        }
    }
    return out;
}

/* 1 when a value of cur differs from (or is missing in) sent. */
static int values_changed(json_object *cur, json_object *sent)
{
    json_object_object_foreach(cur, k, v) {
        json_object *s = NULL;
        if (!json_object_object_get_ex(sent, k, &s) || !s ||
            strcmp(json_object_get_string(s), json_object_get_string(v)) != 0)
            return 1;
    }
    return 0;
}

/*
 * What this plugin last sent for the object: 1 and its content hash (""
 * when unknown) and *values (transferred, NULL when unknown); 0 when it never
 * sent it; -1 when the database did not answer.
 */
static int object_state(wp_req *req, const char *account, const char *object_id, char hash[65], json_object **values)
{
    hash[0] = '\0';
    if (values) *values = NULL;
    const char *params[] = {account, object_id};
    json_object *rows = NULL;
    if (host->db_query(self, req, "SELECT content_hash, notify_values FROM google_jwt_objects WHERE account_id = $1 "
                       "AND object_id = $2", 2, params, &rows) != WP_OK)
        return -1;
    json_object *row = json_object_array_get_idx(rows, 0);
    int n = row != NULL;
    if (row) {
        const char *h = wpc_json_str(row, "content_hash");
        if (h && strlen(h) == 64) memcpy(hash, h, 65);
        json_object *v = wpc_json_get(row, "notify_values");
        if (values && v && json_object_is_type(v, json_type_object)) *values = json_object_get(v);
    }
    json_object_put(rows);
    return n;
}

/*
 * Records what was sent for the object.  overwrite 0 (the request path, which
 * only ever inserts): keeps a row a sync job wrote.  hash/values may be NULL
 * (unknown: the next sync job patches).  With req, in the request's
 * transaction (no second pooled connection while it holds one).
 */
static wp_status object_record(wp_req *req, const char *account, const char *object_id, const char *hash,
                               json_object *values, int overwrite)
{
    const char *params[] = {account, object_id, hash,
                            values ? json_object_to_json_string_ext(values, JSON_C_TO_STRING_PLAIN) : NULL};
    wp_status st = host->db_query(
        self, req,
        overwrite ? "INSERT INTO google_jwt_objects (account_id, object_id, content_hash, notify_values, synced_at) "
                    "VALUES ($1, $2, $3, $4::jsonb, now()) ON CONFLICT (account_id, object_id) DO UPDATE SET "
                    "content_hash = $3, notify_values = $4::jsonb, synced_at = now()"
                  : "INSERT INTO google_jwt_objects (account_id, object_id, content_hash, notify_values, synced_at) "
                    "VALUES ($1, $2, $3, $4::jsonb, now()) ON CONFLICT DO NOTHING",
        4, params, NULL);
    if (st != WP_OK) host->log(self, WP_LOG_WARN, "recording object %s: %s", object_id, host->last_error());
    return st;
}

/* 1 when the class was last sent with exactly this content. */
static int class_current(wp_req *req, const char *account, const json_object *cls)
{
    char h[65];
    json_hash(cls, h);
    const char *params[] = {account, json_object_get_string(wpc_json_get((json_object *)cls, "id")), h};
    json_object *rows = NULL;
    if (host->db_query(self, req, "SELECT 1 AS x FROM google_jwt_classes WHERE account_id = $1 AND class_id = $2 "
                       "AND content_hash = $3", 3, params, &rows) != WP_OK)
        return 0;
    int n = (int)json_object_array_length(rows);
    json_object_put(rows);
    return n > 0;
}

/* overwrite 0: only when the class has no row yet (an insert that won; a class
 * job may have written a newer content meanwhile, and its record stands). */
static wp_status class_record(wp_req *req, const char *account, const json_object *cls, int overwrite)
{
    char h[65];
    json_hash(cls, h);
    const char *params[] = {account, json_object_get_string(wpc_json_get((json_object *)cls, "id")), h};
    wp_status st = host->db_query(
        self, req,
        overwrite ? "INSERT INTO google_jwt_classes (account_id, class_id, content_hash) VALUES ($1, $2, $3) "
                    "ON CONFLICT (account_id, class_id) DO UPDATE SET content_hash = $3, updated_at = now()"
                  : "INSERT INTO google_jwt_classes (account_id, class_id, content_hash) VALUES ($1, $2, $3) "
                    "ON CONFLICT DO NOTHING",
        3, params, NULL);
    if (st != WP_OK) host->log(self, WP_LOG_WARN, "recording a class: %s", host->last_error());
    return st;
}

/* ---- sync jobs: enqueueing ---------------------------------------------------------- */

/*
 * The serial key of a pass's sync jobs ("google-jwt:<account>:<pass>") or of a
 * class's ("google-jwt:<account>:class:<class id>"): the queue runs the jobs of
 * one key one at a time, in enqueue order.  A key the queue would refuse
 * (too long, other characters) is replaced by a hash of itself.
 */
static void serial_key(char out[256], const char *account, const char *what, const char *id)
{
    char k[1024];
    int n = snprintf(k, sizeof k, "google-jwt:%s:%s%s", account, what, id);
    size_t len = n > 0 ? (size_t)n : 0;
    if (n > 0 && len < 256 && len < sizeof k &&
        strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:*-/@") == len) {
        memcpy(out, k, len + 1);
        return;
    }
    unsigned char d[32];
    SHA256((const unsigned char *)k, n > 0 && len < sizeof k ? len : strlen(k), d);
    memcpy(out, "google-jwt:h:", 13);
    wpc_hex(d, 32, out + 13);
}

/* Enqueues a google-jwt.sync job under its serial key.  payload borrowed; req as for job_enqueue. */
static wp_status sync_enqueue(wp_req *req, const char *key, json_object *payload, int64_t run_at_ms)
{
    if (WP_HOST_HAS(host, job_enqueue_ex)) {
        wp_job_options o = WP_JOB_OPTIONS_INIT;
        o.run_at_ms = run_at_ms;
        o.serial_key = key;
        return host->job_enqueue_ex(self, req, JOB_KIND, payload, &o, NULL, 0);
    }
    return host->job_enqueue(self, req, JOB_KIND, payload, run_at_ms, NULL, 0);
}

/* A class job: brings class class_id to what pass_id renders for it (see class_sync). */
static wp_status class_enqueue(wp_req *req, const char *account, const char *pass_id, const char *class_id)
{
    json_object *p = json_object_new_object(), *pass = json_object_new_object();
    json_object_object_add(pass, "id", json_object_new_string(pass_id));
    json_object_object_add(p, "op", json_object_new_string("class"));
    json_object_object_add(p, "account_id", json_object_new_string(account));
    json_object_object_add(p, "pass", pass);
    json_object_object_add(p, "class_id", json_object_new_string(class_id));
    char key[256];
    serial_key(key, account, "class:", class_id);
    wp_status st = sync_enqueue(req, key, p, 0);
    json_object_put(p);
    if (st != WP_OK) host->log(self, WP_LOG_WARN, "enqueueing the sync of class %s: %s", class_id, host->last_error());
    return st;
}

/* A class job unless the class was last sent with this content. */
static wp_status class_check(wp_req *req, const char *account, const char *pass_id, const json_object *cls)
{
    if (class_current(req, account, cls)) return WP_OK;
    return class_enqueue(req, account, pass_id, json_object_get_string(wpc_json_get((json_object *)cls, "id")));
}

/*
 * Creates class and object at Google with this rendering (a skinny link, or a
 * pass Google does not have yet).  The class is inserted when missing; one that
 * exists is left to a class job when its content differs (class writes are
 * serialised per class: passes of a template share it).  The object is
 * inserted; when it exists, a sync job (which holds the pass's serial key)
 * patches it with this rendering, the request path leaves it to the jobs.
 * *status: the HTTP answer that decided (2xx: done).  WP_OK whenever Google
 * answered.
 */
static wp_status insert_both(const creds *cr, json_object *rdoc, const char *account, const char *pass_id, wp_req *req,
                             int job, long *status, char *errbuf, size_t errlen)
{
    const char *type = json_object_get_string(wpc_json_get(rdoc, "type"));
    json_object *cls = wpc_json_get(rdoc, "class"), *obj = wpc_json_get(rdoc, "object");
    const char *oid = json_object_get_string(wpc_json_get(obj, "id"));
    char path[700];
    snprintf(path, sizeof path, "/%sClass", type);
    wp_status st = gcall(rest, &cr->c, "POST", path, cls, status, NULL, errbuf, errlen);
    if (st != WP_OK) return st;
    if (ok_status(*status)) {
        class_record(req, account, cls, 0);
    } else if (*status == 409) {
        if (class_check(req, account, pass_id, cls) != WP_OK) {
            *status = 503; /* try again: the class would stay stale */
            return WP_OK;
        }
    } else {
        return WP_OK;
    }
    char h[65];
    json_hash(obj, h);
    json_object *vals = notify_values(wpc_json_get(rdoc, "pass"));
    snprintf(path, sizeof path, "/%sObject", type);
    st = gcall(rest, &cr->c, "POST", path, obj, status, NULL, errbuf, errlen);
    if (st == WP_OK && *status == 409) {
        if (job) {
            snprintf(path, sizeof path, "/%sObject/%s", type, oid);
            st = gcall(rest, &cr->c, "PATCH", path, obj, status, NULL, errbuf, errlen);
        } else {
            object_record(req, account, oid, NULL, NULL, 0); /* there already: the jobs keep it current */
            *status = 200;
            json_object_put(vals);
            return WP_OK;
        }
    }
    if (st == WP_OK && ok_status(*status) && object_record(req, account, oid, h, vals, job) != WP_OK && job)
        *status = 503; /* unrecorded: run again rather than trust a stale record */
    json_object_put(vals);
    return st;
}

/*
 * The save link of a pass, *url malloc'd.  REST only when the fat JWT is too
 * long and the object is not at Google yet: a skinny link names ids, which do
 * not change between versions, and the update job patches the content.
 */
static wp_status save_link(const json_object *pass, const creds *cr, const char *account_id, wp_req *req, char **url,
                           char *errbuf, size_t errlen)
{
    *url = NULL;
    json_object *rdoc = NULL;
    wp_status st = render(pass, cr, account_id, 0, req, &rdoc, errbuf, errlen);
    if (st != WP_OK) return st;
    const char *type = json_object_get_string(wpc_json_get(rdoc, "type"));
    char ck[64], ok[64];
    snprintf(ck, sizeof ck, "%sClasses", type);
    snprintf(ok, sizeof ok, "%sObjects", type);
    json_object *payload = json_object_new_object();
    json_object *ca = json_object_new_array(), *oa = json_object_new_array();
    json_object_array_add(ca, json_object_get(wpc_json_get(rdoc, "class")));
    json_object_array_add(oa, json_object_get(wpc_json_get(rdoc, "object")));
    json_object_object_add(payload, ck, ca);
    json_object_object_add(payload, ok, oa);
    char *jwt = NULL;
    st = sign_payload(cr, payload, &jwt, errbuf, errlen);
    json_object_put(payload);
    /* A test pass never reaches Google: its link stays a whole JWT however long. */
    if (st == WP_OK && (int)strlen(jwt) > max_jwt && !test_pass(pass)) {
        /* Too long for some browsers: create both at Google, link by id. */
        free(jwt);
        jwt = NULL;
        json_object *object = wpc_json_get(rdoc, "object");
        const char *oid = json_object_get_string(wpc_json_get(object, "id"));
        char sent[65];
        if (object_state(req, account_id, oid, sent, NULL) != 1) {
            /* Insert only: once the object exists, the sync jobs (one at a time per pass) keep it current.
             * A request waits for these calls on a server worker: they share one bound. */
            long status = 0;
            if (req) grest_budget_begin(request_rest_ms);
            st = insert_both(cr, rdoc, account_id, wpc_pass_str(pass, "id"), req, 0, &status, errbuf, errlen);
            if (req) grest_budget_end();
            if (st == WP_OK && !ok_status(status)) st = WP_EUNAVAIL; /* errbuf says what Google answered */
        }
        if (st == WP_OK) {
            json_object *ref = json_object_new_object();
            json_object_object_add(ref, "id", json_object_get(wpc_json_get(object, "id")));
            json_object_object_add(ref, "classId", json_object_get(wpc_json_get(object, "classId")));
            payload = json_object_new_object();
            oa = json_object_new_array();
            json_object_array_add(oa, ref);
            json_object_object_add(payload, ok, oa);
            st = sign_payload(cr, payload, &jwt, errbuf, errlen);
            json_object_put(payload);
            host->metrics_add(self, "skinny_links_total", "Save links that link to objects inserted over REST", 1);
        }
    }
    json_object_put(rdoc);
    if (st != WP_OK) return st;
    size_t n = strlen(GJ_SAVE_PREFIX) + strlen(jwt) + 1;
    *url = malloc(n);
    if (*url) snprintf(*url, n, "%s%s", GJ_SAVE_PREFIX, jwt);
    free(jwt);
    return *url ? WP_OK : WP_ENOMEM;
}

/* Cache key: a new pass version, its expiry (the state changes with no new version), another key (id
 * or the key itself) or issuer each make a new link. */
static int link_key(char *out, size_t len, const char *account_id, const json_object *pass, const creds *cr)
{
    json_object *ver = wpc_pass_field(pass, "version");
    const char *id = wpc_pass_str(pass, "id");
    if (!ver || !id) return -1;
    unsigned char kh[32];
    char khex[17];
    SHA256((const unsigned char *)cr->c.private_key_pem, strlen(cr->c.private_key_pem), kh);
    wpc_hex(kh, 8, khex);
    int n = snprintf(out, len, "%s|%s|%s|%s|%s|%s|%s|%s", account_id, id, json_object_get_string(ver),
                     gr_state(pass, time(NULL)), cr->c.issuer_id, cr->c.client_email,
                     cr->c.private_key_id ? cr->c.private_key_id : "", khex);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

static wp_filter_result links_filter(void *ud, wp_req *req, json_object *doc, wp_err *err)
{
    (void)ud;
    (void)err;
    json_object *pass = wpc_json_get(doc, "pass");
    if (!pass || !json_object_is_type(pass, json_type_object)) return WP_FILTER_CONTINUE;
    const char *gtype = gr_google_type(wpc_pass_str(pass, "pass_type"));
    json_object_object_add(doc, "google_pass_type", gtype ? json_object_new_string(gtype) : NULL);
    json_object_object_add(doc, "google_save_url", NULL);
    json_object *buttons = wpc_json_get(doc, "share_buttons");
    if (buttons && json_object_is_type(buttons, json_type_array)) {
        json_object *b = json_object_new_object(), *devs = json_object_new_array();
        json_object_array_add(devs, json_object_new_string("android"));
        json_object_object_add(b, "link", json_object_new_string("google_save_url"));
        json_object_object_add(b, "label", json_object_new_string("Add to Google Wallet"));
        json_object_object_add(b, "wallet", json_object_new_string("Google Wallet"));
        json_object_object_add(b, "devices", devs);
        json_object_array_add(buttons, b);
    }
    json_object *want = wpc_json_get(doc, "want_links");
    if (want && !json_object_get_boolean(want)) return WP_FILTER_MODIFIED;
    /* The tenant: the request's account, else an "account_id" the caller put in the document. */
    const char *account = req ? host->req_account_id(req) : NULL;
    if (!account || !*account) account = wpc_json_str(doc, "account_id");
    creds cr;
    if (creds_read_ex(account, &cr, 1) != WP_OK) return WP_FILTER_MODIFIED;
    char key[1024];
    int cacheable = link_key(key, sizeof key, account, pass, &cr) == 0;
    char *url = cacheable ? gc_get(links, key) : NULL;
    if (!url) {
        char msg[512] = "";
        wp_status st = save_link(pass, &cr, account, req, &url, msg, sizeof msg);
        if (st != WP_OK) {
            /* A missing link beats a broken one (docs/api.md): log, leave null. */
            host->log(self, WP_LOG_WARN, "pass %s: no Google save link: %s", wpc_pass_str(pass, "id"), msg);
            creds_free(&cr);
            return WP_FILTER_MODIFIED;
        }
        if (cacheable) gc_put(links, key, url);
        host->metrics_add(self, "save_links_signed_total", "Google save links signed", 1);
    }
    creds_free(&cr);
    json_object_object_add(doc, "google_save_url", json_object_new_string(url));
    free(url);
    return WP_FILTER_MODIFIED;
}

/* ---- live updates: events -> jobs -> REST ---------------------------------------- */

/*
 * Every change of a pass enqueues a google-jwt.sync job under the pass's serial
 * key.  The payload names the pass and the event; the job reads the pass as it
 * is when it runs (pass_get), so a job that runs late or after a later one never
 * writes an older version (see job_sync).
 */
static wp_status enqueue_op(const wp_plugin_event *ev, const char *op, int64_t run_at_ms)
{
    json_object *pass = wpc_json_get((json_object *)ev->data, "pass");
    const char *pass_id = pass ? wpc_pass_str(pass, "id") : NULL;
    if (!pass_id) {
        host->log(self, WP_LOG_WARN, "event %s (%s) carries no pass: ignored", ev->id, ev->type);
        return WP_OK;
    }
    if (test_pass(pass)) return WP_OK; /* no call to Google for a test pass */
    creds cr;
    wp_status st = creds_read(ev->account_id, &cr);
    if (st == WP_ENOTFOUND || st == WP_ECONFIG) return WP_OK; /* no Google for this account */
    if (st != WP_OK) {
        host->log(self, WP_LOG_WARN, "reading the Google credential: %s", host->last_error());
        return WP_RETRY;
    }
    creds_free(&cr);
    json_object *p = json_object_new_object(), *ref = json_object_new_object(), *extra;
    json_object_object_add(ref, "id", json_object_new_string(pass_id));
    if (json_object_object_get_ex(pass, "version", &extra)) json_object_object_add(ref, "version", json_object_get(extra));
    json_object_object_add(p, "op", json_object_new_string(op));
    json_object_object_add(p, "account_id", json_object_new_string(ev->account_id));
    json_object_object_add(p, "event_id", json_object_new_string(ev->id));
    json_object_object_add(p, "pass", ref);
    if (json_object_object_get_ex((json_object *)ev->data, "changed", &extra))
        json_object_object_add(p, "changed", json_object_get(extra));
    if (json_object_object_get_ex((json_object *)ev->data, "message", &extra))
        json_object_object_add(p, "message", json_object_get(extra));
    char key[256];
    serial_key(key, ev->account_id, "", pass_id);
    st = sync_enqueue(NULL, key, p, run_at_ms);
    json_object_put(p);
    if (st != WP_OK) {
        host->log(self, WP_LOG_WARN, "enqueueing %s: %s", JOB_KIND, host->last_error());
        return WP_RETRY;
    }
    return WP_OK;
}

/* Unix ms of the pass's expiration_date when it is in the future, else 0. */
static int64_t expiry_ms(const json_object *pass)
{
    long long t = wpc_time_iso_parse(wpc_pass_str(pass, "expiration_date"));
    return t > (long long)time(NULL) ? (int64_t)t * 1000 : 0;
}

/* Schedules the switch to EXPIRED for the pass's expiration_date (a later date schedules a later job;
 * the job checks the pass as it is then). */
static wp_status enqueue_expiry(const wp_plugin_event *ev)
{
    json_object *pass = wpc_json_get((json_object *)ev->data, "pass");
    int64_t at = pass ? expiry_ms(pass) : 0;
    return at ? enqueue_op(ev, "expire", at + 1000) : WP_OK;
}

static wp_status on_created(void *ud, const wp_plugin_event *ev) { (void)ud; return enqueue_expiry(ev); }

static wp_status on_updated(void *ud, const wp_plugin_event *ev)
{
    (void)ud;
    wp_status st = enqueue_op(ev, "update", 0);
    return st == WP_OK ? enqueue_expiry(ev) : st;
}
static wp_status on_voided(void *ud, const wp_plugin_event *ev) { (void)ud; return enqueue_op(ev, "void", 0); }
static wp_status on_notify(void *ud, const wp_plugin_event *ev) { (void)ud; return enqueue_op(ev, "notify", 0); }

/* ---- pass.notify.validate: Google Wallet's three notifications a day -------------- */

/*
 * {schema: 1, account_id, pass, message, notifications_today, day_ends_in_s}:
 * the core counts the notifications it accepted for the pass since 00:00 UTC;
 * a 4th in one day is refused (429 notification_limit_reached, Retry-After:
 * the seconds to the next UTC day), as Google Wallet allows 3 notifying
 * messages per object and day.
 */
static wp_filter_result notify_limit_filter(void *ud, wp_req *req, json_object *doc, wp_err *err)
{
    (void)ud;
    json_object *n = wpc_json_get(doc, "notifications_today"), *ends = wpc_json_get(doc, "day_ends_in_s");
    if (!n || json_object_get_int(n) < NOTIFY_CAP) return WP_FILTER_CONTINUE;
    if (req) {
        char ra[24];
        int wait = ends ? json_object_get_int(ends) : 0;
        snprintf(ra, sizeof ra, "%d", wait > 0 ? wait : 1);
        host->resp_header(req, "Retry-After", ra);
    }
    host->error_set(err, WP_ELIMIT, "notification_limit_reached", "id",
                    "this pass has had %d notifications today (UTC), the most Google Wallet allows; try again tomorrow",
                    NOTIFY_CAP);
    return WP_FILTER_REJECT;
}

/* ---- notifications: the three-a-day rule, at most once each ----------------------- */

/* Notifying messages and updates of the pass in the last 24 h, sent or possibly sent. */
static int notifications_today(const char *account, const char *pass_id)
{
    const char *params[] = {account, pass_id};
    json_object *rows = NULL;
    if (host->db_query(self, NULL, "SELECT count(*) AS n FROM google_jwt_notifications WHERE account_id = $1 AND "
                       "pass_id = $2 AND loud AND sent_at > now() - interval '24 hours'", 2, params, &rows) != WP_OK) {
        host->log(self, WP_LOG_WARN, "counting notifications: %s", host->last_error());
        return NOTIFY_CAP; /* unknown: stay silent rather than exceed Google's cap */
    }
    int n = (int)json_object_get_int(wpc_json_get(json_object_array_get_idx(rows, 0), "n"));
    json_object_put(rows);
    return n;
}

/*
 * Claims the notification of one event before it is sent, so that it is sent
 * at most once whatever the retries.  1: claimed now (state "sending");
 * 0: claimed before: *state ("sending": an earlier attempt's outcome is
 * unknown; "sent") and *loud are filled; -1: the database did not answer.
 */
static int notification_claim(const char *account, const char *pass_id, const char *event_id, const char *kind,
                              int loud, char state[16], int *was_loud)
{
    const char *params[] = {account, pass_id, event_id, kind, loud ? "true" : "false"};
    json_object *rows = NULL;
    if (host->db_query(self, NULL, "INSERT INTO google_jwt_notifications (account_id, pass_id, event_id, kind, state, "
                       "loud) VALUES ($1, $2, $3, $4, 'sending', $5::boolean) ON CONFLICT DO NOTHING RETURNING 1 AS x",
                       5, params, &rows) != WP_OK)
        return -1;
    int claimed = json_object_array_length(rows) > 0;
    json_object_put(rows);
    if (claimed) return 1;
    if (host->db_query(self, NULL, "SELECT state, loud FROM google_jwt_notifications WHERE account_id = $1 AND "
                       "pass_id = $2 AND event_id = $3", 3, params, &rows) != WP_OK)
        return -1;
    json_object *row = json_object_array_get_idx(rows, 0);
    snprintf(state, 16, "%s", row && wpc_json_str(row, "state") ? wpc_json_str(row, "state") : "sending");
    *was_loud = row ? json_object_get_boolean(wpc_json_get(row, "loud")) : 1;
    json_object_put(rows);
    return 0;
}

/* After an answer: sent, as loud or not; or not sent (Google refused it), which frees the claim. */
static void notification_done(const char *account, const char *pass_id, const char *event_id, int sent, int loud)
{
    const char *params[] = {account, pass_id, event_id, loud ? "true" : "false"};
    if ((sent ? host->db_query(self, NULL, "UPDATE google_jwt_notifications SET state = 'sent', loud = $4::boolean "
                               "WHERE account_id = $1 AND pass_id = $2 AND event_id = $3", 4, params, NULL)
              : host->db_query(self, NULL, "DELETE FROM google_jwt_notifications WHERE account_id = $1 AND "
                               "pass_id = $2 AND event_id = $3", 3, params, NULL)) != WP_OK)
        host->log(self, WP_LOG_WARN, "recording a notification: %s", host->last_error());
}

/* Whether a changed field carries a change message (when what was sent before is unknown). */
static int wants_notification(const json_object *pass, json_object *changed)
{
    if (!changed || !json_object_is_type(changed, json_type_array)) return 0;
    static const char *const groups[] = {"header_fields", "primary_fields", "secondary_fields", "auxiliary_fields",
                                         "back_fields", NULL};
    for (size_t i = 0; i < json_object_array_length(changed); i++) {
        const char *ch = json_object_get_string(json_object_array_get_idx(changed, i));
        if (!ch) continue;
        for (const char *const *g = groups; *g; g++) {
            json_object *arr = wpc_pass_field(pass, *g);
            if (!arr || !json_object_is_type(arr, json_type_array)) continue;
            for (size_t j = 0; j < json_object_array_length(arr); j++) {
                json_object *f = json_object_array_get_idx(arr, j);
                const char *key = wpc_json_str(f, "key");
                /* "changed" names body keys ("primary_fields") or field keys ("points"). */
                if (wpc_json_str(f, "change_message") && (strcmp(ch, *g) == 0 || (key && strcmp(ch, key) == 0))) return 1;
            }
        }
    }
    return 0;
}

/* A REST outcome as a job result. */
static wp_status outcome(wp_status st, long status, const char *what, const char *msg)
{
    if (st == WP_OK && ok_status(status)) return WP_OK;
    host->log(self, WP_LOG_WARN, "%s: %s", what, *msg ? msg : "failed");
    if (st != WP_OK) return st == WP_EAUTH || st == WP_ECRYPTO || st == WP_EINVAL ? WP_FAIL : WP_RETRY;
    return grest_retryable(status) ? WP_RETRY : WP_FAIL;
}

/* ---- sync jobs: running ------------------------------------------------------------ */

/* One run of a google-jwt.sync job on a pass, as it is now. */
typedef struct sync_ctx {
    const wp_plugin_job *job;
    json_object *payload;              /* borrowed */
    const char *op, *account, *pass_id;
    const char *event_id;              /* the event, else the job id: names notifications */
    json_object *pass;                 /* owned: pass_get's answer, secrets removed */
    creds cr;
    json_object *rdoc;                 /* owned: {schema, pass, type, class, object} */
    const char *type;                  /* borrowed from rdoc */
    json_object *object, *cls;         /* borrowed from rdoc */
    const char *object_id;
    int voided;
    int absent;                        /* Google has no object for it, and needs none */
    char path[700], what[160], msg[600];
} sync_ctx;

/*
 * Brings the object at Google to the current rendering (state included): one
 * PATCH, or an insert when Google does not have it (a voided or expired pass
 * nobody saved needs none: its links render that state).  Nothing is sent when
 * Google already has exactly this content (google_jwt_objects), so a burst of
 * updates costs one PATCH per content actually different.  may_notify: an
 * update whose fields with a change message now differ from what was sent
 * carries notifyPreference (claimed first; within the three-a-day rule).
 */
static wp_status sync_object(sync_ctx *x, int may_notify)
{
    char h[65], sent[65];
    json_hash(x->object, h);
    json_object *sent_vals = NULL;
    int known = object_state(NULL, x->account, x->object_id, sent, &sent_vals);
    if (known == 1 && strcmp(sent, h) == 0) {
        json_object_put(sent_vals);
        return WP_OK;
    }
    json_object *vals = notify_values(x->pass);
    int notify = 0;
    if (may_notify && gr_type_has_notify(x->type)) {
        int changed = sent_vals ? values_changed(vals, sent_vals)
                                : wants_notification(x->pass, wpc_json_get(x->payload, "changed"));
        char state[16];
        int was_loud;
        if (changed && notifications_today(x->account, x->pass_id) < NOTIFY_CAP)
            notify = notification_claim(x->account, x->pass_id, x->event_id, "update", 1, state, &was_loud) == 1;
    }
    json_object_put(sent_vals);
    if (notify) json_object_object_add(x->object, "notifyPreference", json_object_new_string("NOTIFY_ON_UPDATE"));
    long status = 0;
    wp_status st = gcall(rest, &x->cr.c, "PATCH", x->path, x->object, &status, NULL, x->msg, sizeof x->msg);
    json_object_object_del(x->object, "notifyPreference");
    /* Answered: notified, or refused (a 404 included: the insert below notifies nobody).
     * No answer at all: it may have gone out, so the claim stays (counted, never sent again). */
    if (notify && st == WP_OK) notification_done(x->account, x->pass_id, x->event_id, ok_status(status), 1);
    if (st == WP_OK && status == 404) {
        if (x->voided || strcmp(gr_state(x->pass, time(NULL)), "ACTIVE") != 0) {
            status = 200; /* nothing to create: its links already render this state */
            x->absent = 1;
        } else {
            st = insert_both(&x->cr, x->rdoc, x->account, x->pass_id, NULL, 1, &status, x->msg, sizeof x->msg);
        }
    } else if (st == WP_OK && ok_status(status) && object_record(NULL, x->account, x->object_id, h, vals, 1) != WP_OK) {
        status = 503; /* unrecorded: run again rather than trust a stale record */
    }
    json_object_put(vals);
    return outcome(st, status, x->what, x->msg);
}

/* 1 when the object at Google carries the message id (an earlier attempt's addMessage got through). */
static int message_there(sync_ctx *x, const char *mid, long *status)
{
    json_object *obj = NULL;
    if (gcall(rest, &x->cr.c, "GET", x->path, NULL, status, &obj, x->msg, sizeof x->msg) != WP_OK) {
        *status = 0;
        return 0;
    }
    json_object *msgs = wpc_json_get(obj, "messages");
    int there = 0;
    for (size_t i = 0; msgs && json_object_is_type(msgs, json_type_array) && i < json_object_array_length(msgs); i++) {
        const char *id = wpc_json_str(json_object_array_get_idx(msgs, i), "id");
        there |= id && strcmp(id, mid) == 0;
    }
    json_object_put(obj);
    return there;
}

/*
 * A notification: addMessage, TEXT_AND_NOTIFY within the three-a-day rule,
 * else TEXT; the object is created first when Google does not have it.  At
 * most once: the event is claimed before the call; a claim left "sending" by
 * an attempt whose outcome is unknown (no answer, process killed) is settled
 * by reading the object's messages first.
 */
static wp_status send_message(sync_ctx *x)
{
    json_object *m = wpc_json_get(x->payload, "message");
    const char *header = NULL, *body = NULL;
    if (m && json_object_is_type(m, json_type_object)) {
        header = wpc_json_str(m, "header");
        body = wpc_json_str(m, "body");
        if (!body) body = wpc_json_str(m, "message");
    } else if (m) {
        body = json_object_get_string(m);
    }
    if (!header) header = wpc_pass_str(x->pass, "organization_name");
    char mid[160];
    snprintf(mid, sizeof mid, "%s", x->event_id);
    for (char *c = mid; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' ||
              *c == '-'))
            *c = '_';
    long status = 0;
    char state[16] = "";
    int loud = notifications_today(x->account, x->pass_id) < NOTIFY_CAP;
    int c = notification_claim(x->account, x->pass_id, x->event_id, "message", loud, state, &loud);
    if (c < 0) {
        host->log(self, WP_LOG_WARN, "%s: the notification could not be claimed: %s", x->what, host->last_error());
        return WP_RETRY;
    }
    if (c == 0 && strcmp(state, "sent") == 0) return WP_OK;
    if (c == 0) { /* an earlier attempt may have got through */
        if (message_there(x, mid, &status)) {
            notification_done(x->account, x->pass_id, x->event_id, 1, loud);
            return WP_OK;
        }
        if (status != 200 && status != 404) return outcome(WP_OK, status ? status : 503, x->what, x->msg);
    }
    json_object *msgobj = json_object_new_object();
    json_object_object_add(msgobj, "header", json_object_new_string(header ? header : "Update"));
    json_object_object_add(msgobj, "body", json_object_new_string(body ? body : ""));
    json_object_object_add(msgobj, "id", json_object_new_string(mid));
    json_object_object_add(msgobj, "messageType", json_object_new_string(loud ? "TEXT_AND_NOTIFY" : "TEXT"));
    json_object *req = json_object_new_object();
    json_object_object_add(req, "message", msgobj);
    char mpath[760];
    snprintf(mpath, sizeof mpath, "%s/addMessage", x->path);
    wp_status st = gcall(rest, &x->cr.c, "POST", mpath, req, &status, NULL, x->msg, sizeof x->msg);
    if (st == WP_OK && status == 404) { /* not at Google yet: create it as it is now, then add the message */
        st = insert_both(&x->cr, x->rdoc, x->account, x->pass_id, NULL, 1, &status, x->msg, sizeof x->msg);
        if (st == WP_OK && ok_status(status))
            st = gcall(rest, &x->cr.c, "POST", mpath, req, &status, NULL, x->msg, sizeof x->msg);
    }
    if (st == WP_OK && loud && (status == 429 || (status >= 400 && strstr(x->msg, "uota")))) {
        /* Google's own count says the cap is reached: send it silently. */
        json_object_object_add(msgobj, "messageType", json_object_new_string("TEXT"));
        loud = 0;
        st = gcall(rest, &x->cr.c, "POST", mpath, req, &status, NULL, x->msg, sizeof x->msg);
    }
    json_object_put(req);
    if (st == WP_OK) notification_done(x->account, x->pass_id, x->event_id, ok_status(status), loud);
    return outcome(st, status, x->what, x->msg);
}

/*
 * A class job (serial key per class): brings the class to what the pass renders
 * for it now.  The pass is read again after the write: a version that moved
 * meanwhile is rendered and sent again, so a class job that read the pass just
 * before a change never leaves that older content behind.
 */
static wp_status sync_class(sync_ctx *x)
{
    const char *want = wpc_json_str(x->payload, "class_id");
    for (int round = 0; round < 3; round++) {
        if (x->voided) return WP_OK; /* left its template behind: the active passes speak for the class */
        json_object *cls = wpc_json_get(x->rdoc, "class");
        const char *cid = json_object_get_string(wpc_json_get(cls, "id"));
        if (!want || strcmp(cid, want) != 0) return WP_OK; /* the pass moved to another class: its own job sees to it */
        if (class_current(NULL, x->account, cls)) return WP_OK;
        char cpath[700];
        long status = 0;
        snprintf(cpath, sizeof cpath, "/%sClass/%s", x->type, cid);
        wp_status st = gcall(rest, &x->cr.c, "PATCH", cpath, cls, &status, NULL, x->msg, sizeof x->msg);
        if (st == WP_OK && status == 404) {
            snprintf(cpath, sizeof cpath, "/%sClass", x->type);
            st = gcall(rest, &x->cr.c, "POST", cpath, cls, &status, NULL, x->msg, sizeof x->msg);
            if (st == WP_OK && status == 409) continue; /* created meanwhile: patch it */
        }
        if (st != WP_OK || !ok_status(status)) return outcome(st, status, x->what, x->msg);
        if (class_record(NULL, x->account, cls, 1) != WP_OK) return WP_RETRY;
        json_object *again = NULL;
        if (host->pass_get(self, x->account, x->pass_id, &again) != WP_OK) return WP_OK;
        json_object *v0 = wpc_pass_field(x->pass, "version"), *v1 = wpc_pass_field(again, "version");
        int moved = !v0 || !v1 || json_object_get_int64(v0) != json_object_get_int64(v1);
        if (!moved) {
            json_object_put(again);
            return WP_OK;
        }
        json_object_object_del(again, "authentication_token");
        json_object_object_del(again, "owner_account_id");
        json_object_put(x->pass);
        x->pass = again;
        x->voided = strcmp(wpc_pass_str(x->pass, "status") ? wpc_pass_str(x->pass, "status") : "", "voided") == 0;
        json_object_put(x->rdoc);
        x->rdoc = NULL;
        if (render(x->pass, &x->cr, x->account, 0, NULL, &x->rdoc, x->msg, sizeof x->msg) != WP_OK) {
            host->log(self, WP_LOG_ERROR, "pass %s: %s", x->pass_id, x->msg);
            return WP_FAIL;
        }
        x->type = json_object_get_string(wpc_json_get(x->rdoc, "type"));
        x->object = wpc_json_get(x->rdoc, "object");
        x->cls = wpc_json_get(x->rdoc, "class");
    }
    return WP_OK;
}

static int64_t unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int payload_int(json_object *p, const char *k)
{
    json_object *v = NULL;
    return json_object_object_get_ex(p, k, &v) && json_object_is_type(v, json_type_int) ? json_object_get_int(v) : 0;
}

/*
 * The same work again at run_at_ms, as a new job under the same serial key:
 * for a job that found its issuer's gate closed (deferred: not an attempt),
 * and for the retries of a job that was deferred before (the queue's own
 * retry counter starts again with each job).  tries: the attempts the jobs
 * of this chain have made; deferred: how often in a row it was put off.
 */
static wp_status sync_again(const sync_ctx *x, int tries, int deferred, int64_t run_at_ms)
{
    json_object *p = NULL;
    if (json_object_deep_copy(x->payload, &p, NULL) != 0 || !p) return WP_ENOMEM;
    json_object_object_add(p, "tries", json_object_new_int(tries));
    json_object_object_add(p, "deferred", json_object_new_int(deferred));
    char key[256];
    int cls = strcmp(x->op, "class") == 0;
    const char *cid = cls ? wpc_json_str(x->payload, "class_id") : NULL;
    serial_key(key, x->account, cls ? "class:" : "", cls ? (cid ? cid : "") : x->pass_id);
    wp_status st = sync_enqueue(NULL, key, p, run_at_ms);
    json_object_put(p);
    if (st != WP_OK) host->log(self, WP_LOG_WARN, "%s: not queued again: %s", x->what, host->last_error());
    return st;
}

/* How long a job waits for its issuer's gate: the Retry-After pause when there is one, else
 * defer_ms, doubling with each deferral in a row up to 32 times, plus up to defer_ms of jitter
 * (the deferred jobs of one issuer do not all come back at the same moment). */
static int64_t defer_delay_ms(long paused_ms, int deferred)
{
    int64_t base = paused_ms > 0 ? paused_ms : (int64_t)defer_ms << (deferred < 5 ? deferred : 5);
    unsigned char r[2] = {0, 0};
    RAND_bytes(r, 2);
    return base + (int64_t)((r[0] << 8 | r[1]) % (unsigned)(defer_ms + 1));
}

static wp_status job_sync_admitted(sync_ctx *x);

/*
 * A google-jwt.sync job.  Whatever its op, it works from the pass as it is now
 * (pass_get), never from the copy in the event: jobs of one pass run one at a
 * time in enqueue order (serial key), and each renders the latest version, so
 * the last one leaves Google with the latest version, state included, and a
 * voided pass is never made active again by an older job.
 *   update, void  the object (and, through a class job, the class) to now;
 *   expire        the same, when the pass as it is now has expired;
 *   notify        addMessage; for a voided pass no message, the object to now
 *                 (INACTIVE) instead;
 *   class         the class to what the pass renders for it (sync_class).
 */
static wp_status job_sync(void *ud, const wp_plugin_job *job)
{
    (void)ud;
    sync_ctx x = {.job = job, .payload = (json_object *)job->payload};
    x.op = wpc_json_str(x.payload, "op");
    x.account = wpc_json_str(x.payload, "account_id");
    x.event_id = wpc_json_str(x.payload, "event_id");
    if (!x.event_id) x.event_id = job->id;
    json_object *ref = wpc_json_get(x.payload, "pass");
    x.pass_id = ref ? wpc_pass_str(ref, "id") : NULL;
    if (!x.op || !x.account || !x.pass_id) {
        host->log(self, WP_LOG_ERROR, "job %s: malformed payload", job->id);
        return WP_FAIL;
    }
    if (!WP_HOST_HAS(host, pass_get)) {
        host->log(self, WP_LOG_ERROR, "job %s: this gateway has no pass_get (ABI 1.2)", job->id);
        return WP_FAIL;
    }
    snprintf(x.what, sizeof x.what, "%s of pass %s", x.op, x.pass_id);
    int tries = payload_int(x.payload, "tries"), deferred = payload_int(x.payload, "deferred");
    wp_status st = creds_read(x.account, &x.cr);
    if (st != WP_OK) return st == WP_ENOTFOUND || st == WP_ECONFIG ? WP_OK /* credential removed meanwhile */ : WP_RETRY;
    /* One issuer that hangs, answers slowly or asked to wait (Retry-After) holds at most
     * issuer_concurrency workers; its other jobs come back later and the workers serve the others. */
    const char *issuer = x.cr.c.issuer_id;
    long paused_ms = 0;
    if (!grest_issuer_enter(rest, issuer, issuer_cap, &paused_ms)) {
        st = sync_again(&x, tries + (int)job->attempt - 1, deferred + 1, unix_ms() + defer_delay_ms(paused_ms, deferred));
        creds_free(&x.cr);
        if (st != WP_OK) return WP_RETRY;
        host->metrics_add(self, "sync_deferred_total", "Google sync jobs put off: their issuer's gate was closed", 1);
        return WP_OK;
    }
    st = job_sync_admitted(&x);
    grest_issuer_leave(rest, issuer);
    creds_free(&x.cr);
    if (st == WP_RETRY && tries > 0) {
        /* a chain that was deferred: the queue's counter started again, so this schedule is ours */
        int made = tries + (int)job->attempt;
        if (made >= SYNC_ATTEMPTS) {
            host->log(self, WP_LOG_WARN, "%s: given up after %d attempts", x.what, made);
            return WP_FAIL;
        }
        st = sync_again(&x, made, 0, unix_ms() + (int64_t)sync_backoff[made - 1] * 1000) == WP_OK ? WP_OK : WP_RETRY;
    }
    return st;
}

/* job_sync once its issuer's gate admitted it; x->cr is read, x->pass not yet. */
static wp_status job_sync_admitted(sync_ctx *x)
{
    wp_status st = host->pass_get(self, x->account, x->pass_id, &x->pass);
    if (st == WP_ENOTFOUND) return WP_OK; /* gone with its account: nothing to sync */
    if (st != WP_OK || !x->pass) {
        host->log(self, WP_LOG_WARN, "job %s: reading pass %s: %s", x->job->id, x->pass_id, host->last_error());
        return WP_RETRY;
    }
    json_object_object_del(x->pass, "authentication_token"); /* never needed here */
    json_object_object_del(x->pass, "owner_account_id");     /* the tenant: not a pass field */
    st = render(x->pass, &x->cr, x->account, 0, NULL, &x->rdoc, x->msg, sizeof x->msg);
    if (st != WP_OK) {
        host->log(self, WP_LOG_ERROR, "pass %s: %s", x->pass_id, x->msg);
        json_object_put(x->pass);
        x->pass = NULL;
        return WP_FAIL;
    }
    x->type = json_object_get_string(wpc_json_get(x->rdoc, "type"));
    x->object = wpc_json_get(x->rdoc, "object");
    x->cls = wpc_json_get(x->rdoc, "class");
    x->object_id = json_object_get_string(wpc_json_get(x->object, "id"));
    x->voided = strcmp(wpc_pass_str(x->pass, "status") ? wpc_pass_str(x->pass, "status") : "", "voided") == 0;
    snprintf(x->path, sizeof x->path, "/%sObject/%s", x->type, x->object_id);

    int synced = 1;
    if (strcmp(x->op, "class") == 0) {
        st = sync_class(x);
        synced = 0;
    } else if (strcmp(x->op, "expire") == 0) {
        /* Only when the pass, as it is now, has expired: its date may have moved since. */
        if (strcmp(gr_state(x->pass, time(NULL)), "EXPIRED") == 0) st = sync_object(x, 0);
        else synced = 0;
    } else if (strcmp(x->op, "update") == 0 || strcmp(x->op, "void") == 0) {
        st = sync_object(x, strcmp(x->op, "update") == 0 && !x->voided);
    } else if (strcmp(x->op, "notify") == 0) {
        st = x->voided ? sync_object(x, 0) : send_message(x); /* never a notification after a void */
    } else {
        host->log(self, WP_LOG_ERROR, "job %s: unknown op \"%s\"", x->job->id, x->op);
        st = WP_FAIL;
        synced = 0;
    }
    /* Class-level fields (a loyalty programName or colour, an event's venue) live on the
     * class, which the passes of a template share: its own serial key orders its writes.
     * A voided pass no longer follows its template, so it never writes the class. */
    if (st == WP_OK && synced && !x->absent && !x->voided && class_check(NULL, x->account, x->pass_id, x->cls) != WP_OK)
        st = WP_RETRY;
    if (st == WP_OK) host->metrics_add(self, "object_syncs_total", "Google Wallet objects updated", 1);
    json_object_put(x->rdoc);
    x->rdoc = NULL;
    json_object_put(x->pass);
    x->pass = NULL;
    return st;
}

/* ---- route -------------------------------------------------------------------- */

static int b64val(int ch)
{
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+') return 62;
    if (ch == '/') return 63;
    return -1;
}

/* GET /google/images/passes/:pass_id/:token/:hash/:file: a pass's own base64 image. */
static void serve_pass_image(wp_req *req, void *ud)
{
    (void)ud;
    const char *pass_id = host->req_param(req, "pass_id"), *token = host->req_param(req, "token");
    const char *hash = host->req_param(req, "hash"), *file = host->req_param(req, "file");
    static const char *const names[] = {"logo", "icon", "hero", "strip", "thumbnail", "background", NULL};
    char name[16] = "";
    size_t fl = file ? strlen(file) : 0;
    if (fl > 4 && fl - 4 < sizeof name && strcmp(file + fl - 4, ".png") == 0) memcpy(name, file, fl - 4);
    int known = 0;
    for (const char *const *n = names; *n; n++) known |= strcmp(*n, name) == 0;
    char account[64];
    json_object *pass = NULL, *imgs, *v = NULL;
    if (!known || !WP_HOST_HAS(host, pass_cap_verify) ||
        host->pass_cap_verify(self, IMG_PURPOSE, pass_id, token, account, sizeof account) != WP_OK ||
        host->pass_get(self, account, pass_id, &pass) != WP_OK) {
        host->resp_error(req, 404, "resource_missing", NULL, "no such image");
        json_object_put(pass);
        return;
    }
    imgs = wpc_pass_field(pass, "images");
    const char *b64 = imgs && json_object_object_get_ex(imgs, name, &v) && json_object_is_type(v, json_type_string)
                          ? json_object_get_string(v) : NULL;
    if (b64 && strncmp(b64, "data:", 5) == 0 && strchr(b64, ',')) b64 = strchr(b64, ',') + 1;
    if (!b64 || strncmp(b64, "https://", 8) == 0) {
        host->resp_error(req, 404, "resource_missing", NULL, "the pass has no %s image stored here", name);
        json_object_put(pass);
        return;
    }
    size_t n = strlen(b64), o = 0;
    unsigned char *png = malloc(n / 4 * 3 + 3);
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; png && i < n && b64[i] != '='; i++) {
        int d = b64val((unsigned char)b64[i]);
        if (d < 0) continue;
        acc = (acc << 6) | (unsigned)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            png[o++] = (unsigned char)(acc >> bits);
        }
    }
    char h[17];
    content_hash(b64, h);
    json_object_put(pass);
    if (!png) {
        host->resp_error(req, 503, "service_unavailable", NULL, "out of memory");
        return;
    }
    /* The URL names the content: cache it long when it still matches, else briefly. */
    host->resp_header(req, "Cache-Control", hash && strcmp(hash, h) == 0 ? "public, max-age=86400" : "public, max-age=60");
    host->resp_raw(req, 200, "image/png", png, o);
    free(png);
}

#define TSQ(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/*
 * GET /api/v1/passes/:id/google (API key, read-only): what this plugin knows
 * of the pass's Google Wallet object: the state its rendering has now, whether
 * Google has the object (inserted, last synced), whether what Google has is
 * the pass as it is now (a sync job may still be on its way or have failed),
 * and the notifications of the last 24 hours.  Another account's pass is 404.
 */
static void api_object(wp_req *req, void *ud)
{
    (void)ud;
    const char *account = host->req_account_id(req), *id = host->req_param(req, "id");
    json_object *pass = NULL, *rows = NULL, *rdoc = NULL;
    wp_status st = host->pass_get(self, account, id, &pass);
    if (st == WP_ENOTFOUND) {
        host->resp_error(req, 404, "resource_missing", "id", "no such pass: %s", id);
        return;
    }
    if (st != WP_OK) {
        host->resp_error(req, 503, "service_unavailable", NULL, "the pass could not be read: %s", host->last_error());
        return;
    }
    json_object_object_del(pass, "authentication_token");
    json_object_object_del(pass, "owner_account_id");
    json_object *out = json_object_new_object();
    json_object_object_add(out, "object", json_object_new_string("google_object"));
    json_object_object_add(out, "pass_id", json_object_new_string(id));
    const char *gtype = gr_google_type(wpc_pass_str(pass, "pass_type"));
    json_object_object_add(out, "type", gtype ? json_object_new_string(gtype) : NULL);
    json_object_object_add(out, "state", json_object_new_string(gr_state(pass, time(NULL))));
    creds cr;
    char oid[512] = "", cid[512] = "", sent[65] = "", now[65] = "", msg[600] = "";
    int have_creds = creds_read_ex(account, &cr, 1) == WP_OK;
    gr_render_opts o = {.issuer_id = have_creds ? cr.c.issuer_id : NULL, .account_id = account};
    if (have_creds && (gr_object_id(oid, sizeof oid, pass, &o) != 0 || gr_class_id(cid, sizeof cid, pass, &o) != 0))
        oid[0] = cid[0] = '\0';
    json_object_object_add(out, "credentials", json_object_new_boolean(have_creds));
    json_object_object_add(out, "object_id", oid[0] ? json_object_new_string(oid) : NULL);
    json_object_object_add(out, "class_id", cid[0] ? json_object_new_string(cid) : NULL);
    json_object *row = NULL;
    if (oid[0]) {
        if (host->db_query(self, req,
                           "SELECT " TSQ("inserted_at") " AS inserted_at, " TSQ("synced_at") " AS synced_at, content_hash"
                           " FROM google_jwt_objects WHERE account_id = $1 AND object_id = $2",
                           2, (const char *const[]){account, oid}, &rows) != WP_OK) {
            host->resp_error(req, 503, "service_unavailable", NULL, "the object's record could not be read: %s",
                             host->last_error());
            goto done;
        }
        row = json_object_array_get_idx(rows, 0);
    }
    const char *ins = row ? wpc_json_str(row, "inserted_at") : NULL, *syn = row ? wpc_json_str(row, "synced_at") : NULL;
    const char *h = row ? wpc_json_str(row, "content_hash") : NULL;
    if (h && strlen(h) == 64) memcpy(sent, h, 65);
    json_object_object_add(out, "inserted_at", ins ? json_object_new_string(ins) : NULL);
    json_object_object_add(out, "synced_at", syn ? json_object_new_string(syn) : NULL);
    /* Up to date: Google's copy is the rendering of the pass as it is now (null: Google has none, or
     * its content is unknown, e.g. inserted by a save link before any sync). */
    json_object *current = NULL;
    if (sent[0] && render(pass, &cr, account, 0, req, &rdoc, msg, sizeof msg) == WP_OK) {
        json_hash(wpc_json_get(rdoc, "object"), now);
        current = json_object_new_boolean(strcmp(now, sent) == 0);
    }
    json_object_object_add(out, "up_to_date", current);
    json_object_put(rows);
    rows = NULL;
    if (host->db_query(self, req,
                       "SELECT count(*) AS n FROM google_jwt_notifications WHERE account_id = $1 AND pass_id = $2"
                       " AND loud AND sent_at > now() - interval '24 hours'",
                       2, (const char *const[]){account, id}, &rows) != WP_OK) {
        host->resp_error(req, 503, "service_unavailable", NULL, "the notifications could not be read: %s",
                         host->last_error());
        goto done;
    }
    json_object_object_add(out, "notifications_24h",
                           json_object_new_int((int)json_object_get_int(wpc_json_get(json_object_array_get_idx(rows, 0), "n"))));
    json_object_object_add(out, "notifications_limit", json_object_new_int(NOTIFY_CAP));
    host->resp_json(req, 200, out);
done:
    if (have_creds) creds_free(&cr);
    json_object_put(rdoc);
    json_object_put(rows);
    json_object_put(out);
    json_object_put(pass);
}

static void serve_logo(wp_req *req, void *ud)
{
    (void)ud;
    /* Google fetches images itself and wants no redirect: serve the bytes, cacheable. */
    host->resp_header(req, "Cache-Control", "public, max-age=86400");
    host->resp_raw(req, 200, "image/png", google_default_logo, sizeof google_default_logo);
}

/* ---- init / shutdown ---------------------------------------------------------- */

/* The configuration ("config" of the plugin entry; the keys are listed at the top of this file). */
typedef struct google_settings {
    char api_base_url[512], token_url[512], public_url[512], language[32];
    char **origins;
    int rate_limit_per_second, timeout_seconds, max_jwt_length, cache_slots, credentials_ttl_seconds,
        request_rest_timeout_ms, issuer_concurrency, defer_ms;
} google_settings;

static const wp_cfg_key google_keys[] = {
    WP_CFG_STRING("api_base_url", google_settings, api_base_url, "", WP_CFG_HTTP_URL),
    WP_CFG_STRING("token_url", google_settings, token_url, "", WP_CFG_HTTP_URL),
    WP_CFG_STRINGS("origins", google_settings, origins, 100, WP_CFG_HTTP_URL),
    WP_CFG_STRING("public_url", google_settings, public_url, "", WP_CFG_HTTP_URL),
    WP_CFG_STRING("language", google_settings, language, "en-US", WP_CFG_NONEMPTY),
    WP_CFG_INT("rate_limit_per_second", google_settings, rate_limit_per_second, 20, 1, 1000),
    WP_CFG_INT("timeout_seconds", google_settings, timeout_seconds, 10, 1, 120),
    WP_CFG_INT("max_jwt_length", google_settings, max_jwt_length, GJ_MAX_JWT, 200, 100000),
    WP_CFG_INT("cache_slots", google_settings, cache_slots, 4096, 1, 1 << 20),
    WP_CFG_INT("credentials_ttl_seconds", google_settings, credentials_ttl_seconds, 5, 0, 300),
    WP_CFG_INT("request_rest_timeout_ms", google_settings, request_rest_timeout_ms, 5000, 100, 120000),
    WP_CFG_INT("issuer_concurrency", google_settings, issuer_concurrency, 2, 1, 256),
    WP_CFG_INT("defer_ms", google_settings, defer_ms, 500, 10, 60000),
    WP_CFG_END,
};

/* config.origins as the JSON text every save link parses its own array from (owned by the caller). */
static char *origins_text(char **origins)
{
    json_object *arr = json_object_new_array();
    if (!arr) return NULL;
    for (char **o = origins; o && *o; o++) json_object_array_add(arr, json_object_new_string(*o));
    char *text = strdup(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
    json_object_put(arr);
    return text;
}

/* The "google" credential kind's check (HTTP worker threads). */
static wp_status credential_validate(void *ud, wp_req *req, const json_object *body, json_object **secret,
                                     json_object **meta, wp_err *err)
{
    (void)ud, (void)req;
    google_credcheck_err e;
    memset(&e, 0, sizeof e);
    wp_status st = google_credcheck(body, secret, meta, &e);
    if (st != WP_OK) host->error_set(err, e.status, e.code, e.param[0] ? e.param : NULL, "%s", e.msg);
    return st;
}

static wp_status google_init(const wp_host *h, wp_plugin *p, const json_object *cfg)
{
    host = h;
    self = p;
    if (!WP_HOST_HAS(host, vault_read)) {
        host->init_error(self, "this gateway has no vault_read (ABI 1.1 is required)");
        return WP_EABI;
    }
    if (!WP_HOST_HAS(host, credential_kind_register)) {
        host->init_error(self, "this gateway has no credential_kind_register (ABI 1.6 is required)");
        return WP_EABI;
    }
    google_settings set;
    memset(&set, 0, sizeof set);
    char why[300];
    wp_status st = wp_cfg_parse(google_keys, cfg, &set, why, sizeof why);
    if (st != WP_OK) {
        wp_cfg_free(google_keys, &set);
        host->init_error(self, "%s", why);
        return st;
    }
    const char *api = set.api_base_url, *tok = set.token_url;
    int rate = set.rate_limit_per_second, timeout = set.timeout_seconds, slots = set.cache_slots;
    max_jwt = set.max_jwt_length;
    cred_ttl = set.credentials_ttl_seconds;
    request_rest_ms = set.request_rest_timeout_ms;
    issuer_cap = set.issuer_concurrency;
    defer_ms = set.defer_ms;
    snprintf(language, sizeof language, "%s", set.language);
    /* The gateway's public_url (ABI 1.2), else the environment; config.public_url overrides both. */
    const char *env_public = getenv("WALLETPASS_PUBLIC_URL");
    if (set.public_url[0])
        snprintf(public_url, sizeof public_url, "%s", set.public_url);
    else if (WP_HOST_HAS(host, public_url) && host->public_url(self) && *host->public_url(self))
        snprintf(public_url, sizeof public_url, "%s", host->public_url(self));
    else if (env_public && *env_public)
        snprintf(public_url, sizeof public_url, "%s", env_public);
    /* A copy of config.origins, not a reference: the configuration object stays the host's. */
    origins_json = origins_text(set.origins);
    wp_cfg_free(google_keys, &set);
    size_t pl = strlen(public_url);
    while (pl > 0 && public_url[pl - 1] == '/') public_url[--pl] = '\0';
    snprintf(default_logo_url, sizeof default_logo_url, "%s%s", public_url, LOGO_PATH);

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        host->init_error(self, "libcurl did not initialise");
        free(origins_json);
        origins_json = NULL;
        return WP_EINTERNAL;
    }
    char msg[256] = "";
    grest_cfg rc = {.api_base = *api ? api : NULL, .token_url = *tok ? tok : NULL, .timeout_s = timeout,
                    .rate_per_s = rate};
    if (!origins_json || grest_new(&rc, &rest, msg, sizeof msg) != WP_OK || !(links = gc_new((size_t)slots))) {
        host->init_error(self, "out of memory");
        grest_free(rest);
        rest = NULL;
        free(origins_json);
        origins_json = NULL;
        curl_global_cleanup();
        return WP_ENOMEM;
    }

    wp_retry_policy retry = WP_RETRY_POLICY_INIT;
    retry.max_attempts = SYNC_ATTEMPTS;
    retry.backoff_s = sync_backoff;
    retry.nbackoff = sizeof sync_backoff / sizeof sync_backoff[0];
    /* The key file's strings (the PEM key) may exceed the gateway's limits.max_string_bytes. */
    static const char *const long_fields[] = {"service_account_json", NULL};
    wp_credential_kind kind = WP_CREDENTIAL_KIND_INIT;
    kind.name = "google";
    kind.display_name = "Google";
    kind.validate = credential_validate;
    kind.long_fields = long_fields;
    if ((st = host->credential_kind_register(self, &kind)) != WP_OK ||
        (st = host->filter_add(self, "pass.links", WP_PRIO_DEFAULT, links_filter, NULL)) != WP_OK ||
        (st = host->filter_add(self, "pass.notify.validate", WP_PRIO_DEFAULT, notify_limit_filter, NULL)) != WP_OK ||
        (st = host->subscribe(self, "pass.created", on_created, NULL, NULL)) != WP_OK ||
        (st = host->subscribe(self, "pass.updated", on_updated, NULL, NULL)) != WP_OK ||
        (st = host->subscribe(self, "pass.voided", on_voided, NULL, NULL)) != WP_OK ||
        (st = host->subscribe(self, "pass.notify", on_notify, NULL, NULL)) != WP_OK ||
        (st = host->job_register(self, JOB_KIND, job_sync, NULL, &retry)) != WP_OK ||
        (st = host->route_add(self, "GET", LOGO_PATH, WP_AUTH_PUBLIC, serve_logo, NULL)) != WP_OK ||
        (WP_HOST_HAS(host, pass_get) &&
         (st = host->route_add(self, "GET", "/api/v1/passes/:id/google", WP_AUTH_API_KEY, api_object, NULL)) != WP_OK) ||
        (WP_HOST_HAS(host, pass_get) && WP_HOST_HAS(host, pass_cap_verify) &&
         (st = host->route_add(self, "GET", IMG_PREFIX ":pass_id/:token/:hash/:file", WP_AUTH_PUBLIC, serve_pass_image,
                               NULL)) != WP_OK)) {
        host->init_error(self, "registering: %s", host->last_error());
        return st;
    }
    return WP_OK;
}

static void google_shutdown(wp_plugin *p)
{
    (void)p;
    grest_free(rest);
    rest = NULL;
    gc_free(links);
    links = NULL;
    free(origins_json);
    origins_json = NULL;
    for (int i = 0; i < KEYS; i++) {
        EVP_PKEY_free(keys[i].key);
        keys[i].key = NULL;
    }
    for (unsigned i = 0; i < CRED_SLOTS; i++) cred_clear(i);
    curl_global_cleanup();
}

/* Needs no other plugin: pass.render.google, the hook it runs, may have no filter. */
WP_PLUGIN_DEFINE_NEEDS("google-jwt", "0.1.0", "Google Wallet save links (RS256 JWT) and live object updates",
                       google_init, google_shutdown, "MIT", NULL, NULL, NULL)
