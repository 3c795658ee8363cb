/*
 * apple_signer.c - the apple-signer plugin: signed .pkpass bundles.
 *
 *   GET|HEAD /api/v1/passes/:id/pkpass   (public route; either ?t=<capability>
 *            or Authorization: Bearer <API key> of the pass's account)
 *   filter pass.links      adds apple_pass_type_id (the pass.json style) and
 *                          pkpass_url (null without the account's Apple
 *                          credentials), and the share page's button
 *   filter pass.validate   base64 images must be real PNGs within the size limit
 *   hook   pass.render.apple  run over {schema, account_id, pass, pass_json}
 *   filter apple.pkpass.build  the signed bundle for another plugin (apns)
 *   credential kind "apple"    PUT/GET/DELETE /api/v1/credentials/apple (apple_credkind.h)
 *   filter apple.pass.authenticate  a device's pass, by pass type identifier,
 *                          serial number and authentication token (apns)
 *
 * The authenticationToken in pass.json is the pass's secret "authentication_token"
 * of this plugin (host pass_secret_get, ABI 1.7), minted at the first build;
 * migrations/0001 claims the tokens the core minted before.
 *
 * Configuration ("config" of the plugin entry; unknown keys are refused):
 *   web_service_path   "/apple"   appended to public_url for webServiceURL
 *                                 (the apns plugin serves <path>/v1/...); "" = none
 *   cache_mb           64         signed bundles kept in memory
 *   max_accounts       256        parsed credentials kept in memory
 *   max_image_bytes    1048576    largest image accepted (base64 or fetched)
 *   image_timeout_ms   5000       all image URLs of one bundle, fetched together
 *   image_ca_file      (system)   CA bundle for image URLs (tests: a private CA)
 *   image_cache_entries 256, image_cache_mb 32   fetched images kept per URL
 *   require_apple_wwdr, wwdr_ca_file   the "apple" credential kind's (apple_credkind.h)
 *
 * Threads: route and filters run concurrently; the configuration is written
 * in init only, the caches lock (apple_cache.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
/* credential_kind_register (1.6) and pass_secret_* (1.7): its credential kind and per-pass token. */
#define WP_REQUIRE_ABI_MINOR 7
#include <walletpass/plugin.h>
#include <walletpass/plugin_config.h>

#include "apple_bundle.h"
#include "apple_cache.h"
#include "apple_credkind.h"
#include "apple_fetch.h"
#include "apple_render.h"
#include "default_icons.h"
#include "wpc_hex.h"
#include "wpc_cred.h"
#include "wpc_json.h"
#include "wpc_time.h"

static const wp_host *host;
static wp_plugin *self;
/* Written by init from the configuration (apple_keys), read-only afterwards. */
static char ws_path[256];
static size_t cache_bytes;
static size_t max_accounts;
static size_t max_image;
static long image_timeout_ms;
static char image_ca_file[1024];
static size_t image_cache_entries;
static size_t image_cache_mb;

#define PKPASS_TYPE "application/vnd.apple.pkpass"
/* Seconds after a pass's change before its Last-Modified is given out (pkpass()). */
#define LM_SETTLED_S 60
/* The pass secret Apple's web service authenticates devices with (host pass_secret_*). */
#define TOKEN_NAME "authentication_token"

/* If-None-Match: "*" or a list of entity tags (weak ones compare weakly, RFC 9110 §13.1.2). */
static int etag_matches(const char *inm, const char *etag)
{
    if (!inm) return 0;
    size_t el = strlen(etag);
    for (const char *p = inm; *p;) {
        while (*p == ' ' || *p == ',' || *p == '\t') p++;
        if (*p == '*') return 1;
        if (strncmp(p, "W/", 2) == 0) p += 2;
        if (strncmp(p, etag, el) == 0 && (p[el] == '\0' || p[el] == ',' || p[el] == ' ')) return 1;
        while (*p && *p != ',') p++;
    }
    return 0;
}

/* ---- credentials -------------------------------------------------------------- */

/*
 * The credentials' identity: SHA-256 over every field, so a change of any makes
 * a new one.  Hashing several kilobytes of PEM on every download was a twentieth
 * of a cached download, and the next download on a thread almost always brings
 * the same credentials: each thread keeps the fields it hashed last with their
 * hash, and comparing them costs far less than hashing.  Per thread (no lock);
 * wiped when replaced and when the thread ends (the request and job threads end
 * before the plugin's shutdown, which deletes the key).
 */
#define CRED_FIELDS 5
static const char *const cred_keys[CRED_FIELDS] = {"pass_type_identifier", "team_identifier", "certificate_pem",
                                                   "private_key_pem", "wwdr_pem"};

typedef struct hash_memo {
    char *fields; /* each field (or "") with its NUL, one after the other */
    size_t len;
    char hash[65];
} hash_memo;

static pthread_key_t hash_key;
static pthread_once_t hash_once = PTHREAD_ONCE_INIT;
static int have_hash_key;

static void hash_memo_free(void *p)
{
    hash_memo *m = p;
    if (!m) return;
    if (m->fields) OPENSSL_cleanse(m->fields, m->len);
    free(m->fields);
    free(m);
}

static void hash_key_make(void) { have_hash_key = pthread_key_create(&hash_key, hash_memo_free) == 0; }

static void cred_hash(const json_object *c, char out[65])
{
    const char *v[CRED_FIELDS];
    size_t l[CRED_FIELDS], total = 0;
    for (int i = 0; i < CRED_FIELDS; i++) {
        v[i] = wpc_json_str(c, cred_keys[i]);
        if (!v[i]) v[i] = "";
        l[i] = strlen(v[i]) + 1; /* the NUL separates the fields */
        total += l[i];
    }
    pthread_once(&hash_once, hash_key_make);
    hash_memo *m = have_hash_key ? pthread_getspecific(hash_key) : NULL;
    if (m && m->fields && m->len == total) {
        size_t at = 0;
        int same = 1;
        for (int i = 0; i < CRED_FIELDS && same; i++) {
            same = memcmp(m->fields + at, v[i], l[i]) == 0;
            at += l[i];
        }
        if (same) {
            memcpy(out, m->hash, 65);
            return;
        }
    }
    unsigned char md[32] = {0};
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx && EVP_DigestInit_ex(ctx, apple_md_sha256(), NULL) == 1) {
        for (int i = 0; i < CRED_FIELDS; i++) EVP_DigestUpdate(ctx, v[i], l[i]);
        EVP_DigestFinal_ex(ctx, md, NULL);
    }
    EVP_MD_CTX_free(ctx);
    wpc_hex(md, 32, out);
    if (!have_hash_key) return;
    if (!m) {
        m = calloc(1, sizeof *m);
        if (!m || pthread_setspecific(hash_key, m) != 0) {
            free(m);
            return;
        }
    }
    if (m->fields) OPENSSL_cleanse(m->fields, m->len);
    free(m->fields);
    m->len = 0;
    if (!(m->fields = malloc(total))) return;
    size_t at = 0;
    for (int i = 0; i < CRED_FIELDS; i++) {
        memcpy(m->fields + at, v[i], l[i]);
        at += l[i];
    }
    m->len = total;
    memcpy(m->hash, out, 65);
}

/* ---- images ----------------------------------------------------------------------- */

typedef struct {
    apple_file f[16];
    unsigned char *owned[16];
    char names[16][32];
    size_t n;
} file_set;

static void files_free(file_set *fs)
{
    for (size_t i = 0; i < fs->n; i++) free(fs->owned[i]);
    fs->n = 0;
}

/* Which images each style shows; others would be ignored by Wallet. */
static int style_uses(const char *style, const char *img, int has_strip)
{
    if (strcmp(img, "logo") == 0) return 1;
    if (strcmp(img, "strip") == 0) return strcmp(style, "generic") != 0;
    if (strcmp(img, "thumbnail") == 0)
        return strcmp(style, "generic") == 0 || (strcmp(style, "eventTicket") == 0 && !has_strip);
    if (strcmp(img, "background") == 0) return strcmp(style, "eventTicket") == 0 && !has_strip;
    return 0;
}

static wp_status add_image(file_set *fs, const char *name, const char *value, double deadline, char *param,
                           size_t plen, char *msg, size_t msglen)
{
    snprintf(param, plen, "images.%s", name);
    unsigned char *png;
    size_t len;
    wp_status st;
    if (strncmp(value, "https://", 8) == 0 || strncmp(value, "http://", 7) == 0) {
        char pin[600] = "";
        if ((st = host->url_check(self, value, pin, sizeof pin)) != WP_OK) {
            snprintf(msg, msglen, "the image URL is refused: %s", host->last_error());
            return WP_EINVAL;
        }
        apple_fetch_opts fo = {max_image, image_timeout_ms, image_ca_file[0] ? image_ca_file : NULL, deadline};
        st = apple_fetch_get(value, pin, &fo, &png, &len, msg, msglen);
    } else {
        st = apple_image_decode(value, max_image, &png, &len, msg, msglen);
    }
    if (st != WP_OK) return st;
    if (fs->n >= 16) {
        free(png);
        return WP_OK;
    }
    snprintf(fs->names[fs->n], sizeof fs->names[0], "%s.png", name);
    fs->owned[fs->n] = png;
    fs->f[fs->n] = (apple_file){fs->names[fs->n], png, len};
    fs->n++;
    return WP_OK;
}

static wp_status collect_images(json_object *body, const char *style, file_set *fs, char *param, size_t plen,
                                char *msg, size_t msglen)
{
    json_object *imgs = wpc_json_get(body, "images");
    const char *icon = wpc_json_str(imgs, "icon");
    wp_status st;
    /* one bound for all fetches of this bundle: the request waits for them on a server worker */
    double deadline = apple_fetch_deadline(image_timeout_ms);
    if (icon && (st = add_image(fs, "icon", icon, deadline, param, plen, msg, msglen)) != WP_OK) return st;
    int have_icon = fs->n > 0;
    if (!have_icon) {
        /* icon.png is mandatory: without it the pass does not open. */
        static const char *const n[3] = {"icon.png", "icon@2x.png", "icon@3x.png"};
        const unsigned char *d[3] = {apple_icon_1x, apple_icon_2x, apple_icon_3x};
        size_t l[3] = {sizeof apple_icon_1x, sizeof apple_icon_2x, sizeof apple_icon_3x};
        for (int i = 0; i < 3; i++) {
            fs->owned[fs->n] = NULL;
            fs->f[fs->n++] = (apple_file){n[i], d[i], l[i]};
        }
    }
    int has_strip = wpc_json_str(imgs, "strip") != NULL && strcmp(style, "generic") != 0;
    static const char *const others[] = {"logo", "strip", "thumbnail", "background", NULL};
    for (const char *const *k = others; *k; k++) {
        const char *v = wpc_json_str(imgs, *k);
        if (v && style_uses(style, *k, has_strip) &&
            (st = add_image(fs, *k, v, deadline, param, plen, msg, msglen)) != WP_OK)
            return st;
    }
    return WP_OK;
}

/* ---- building one bundle ------------------------------------------------------------ */

typedef struct {
    wp_req *req;
    const char *account_id;
    json_object *pass;          /* pass_get's resource (build_bundle adds the token) */
    json_object *creds;         /* vault_read's object */
    apple_cred *cred;
    json_object *extra_back;    /* apple.pkpass.build's back_fields (may be NULL) */
} build_ctx;

/* Appends the caller's back fields (apple.pkpass.build) to pass.json; a
 * field whose key the pass already has is left out (the pass's own wins). */
static void add_extra_back(json_object *pj, json_object *extra)
{
    if (!extra || !json_object_is_type(extra, json_type_array) || json_object_array_length(extra) == 0) return;
    json_object *style = NULL;
    static const char *const styles[] = {"boardingPass", "coupon", "eventTicket", "generic", "storeCard", NULL};
    for (const char *const *k = styles; *k && !style; k++) style = wpc_json_get(pj, *k);
    if (!style) return;
    json_object *back = wpc_json_get(style, "backFields");
    if (!back) {
        back = json_object_new_array();
        json_object_object_add(style, "backFields", back);
    }
    for (size_t i = 0; i < json_object_array_length(extra); i++) {
        json_object *f = json_object_array_get_idx(extra, i);
        const char *key = wpc_json_str(f, "key");
        if (!key) continue;
        int taken = 0;
        static const char *const groups[] = {"headerFields", "primaryFields", "secondaryFields", "auxiliaryFields",
                                             "backFields", NULL};
        for (const char *const *g = groups; *g && !taken; g++) {
            json_object *a = wpc_json_get(style, *g);
            for (size_t j = 0; a && j < json_object_array_length(a) && !taken; j++) {
                const char *k = wpc_json_str(json_object_array_get_idx(a, j), "key");
                taken = k && strcmp(k, key) == 0;
            }
        }
        if (!taken) json_object_array_add(back, json_object_get(f));
    }
}

static wp_status build_bundle(void *ud, unsigned char **data, size_t *len, int *http_status, char *code,
                              size_t codelen, char *msg, size_t msglen)
{
    build_ctx *bc = ud;
    /* The web-service token goes into pass.json: the pass's own, minted once. */
    char token[256];
    if (host->pass_secret_get(self, NULL, bc->account_id, wpc_json_str(bc->pass, "id"), TOKEN_NAME, WP_PASS_SECRET_MINT, token,
                              sizeof token, NULL) != WP_OK) {
        snprintf(msg, msglen, "the pass's authentication token could not be read: %s", host->last_error());
        snprintf(code, codelen, "pass_unavailable");
        *http_status = 503;
        return WP_EUNAVAIL;
    }
    json_object_object_add(bc->pass, "authentication_token", json_object_new_string(token));
    OPENSSL_cleanse(token, sizeof token);
    char wsurl[2048] = "";
    if (ws_path[0] && host->public_url(self)[0]) snprintf(wsurl, sizeof wsurl, "%s%s", host->public_url(self), ws_path);
    apple_ids ids = {wpc_json_str(bc->creds, "pass_type_identifier"), wpc_json_str(bc->creds, "team_identifier"), wsurl};
    json_object *pj = NULL;
    wp_status st = apple_render(bc->pass, &ids, &pj, msg, msglen);
    if (st != WP_OK) {
        *http_status = 409;
        snprintf(code, codelen, "pass_not_renderable");
        return st;
    }
    add_extra_back(pj, bc->extra_back);
    json_object *body = wpc_json_get(bc->pass, "body");
    if (!body) body = bc->pass;
    const char *type = wpc_json_str(bc->pass, "pass_type");
    const char *style = apple_style(type ? type : wpc_json_str(body, "pass_type"));

    /* pass.render.apple: the pass (without its secret token) and pass.json, for filters to extend. */
    json_object *doc = json_object_new_object();
    json_object *pub = NULL;
    if (!doc || json_object_deep_copy(bc->pass, &pub, NULL) != 0) {
        json_object_put(doc);
        json_object_put(pj);
        snprintf(msg, msglen, "out of memory");
        *http_status = 503;
        return WP_ENOMEM;
    }
    json_object_object_del(pub, "authentication_token");
    json_object_object_add(doc, "schema", json_object_new_int(1));
    json_object_object_add(doc, "account_id", json_object_new_string(bc->account_id));
    json_object_object_add(doc, "pass", pub);
    json_object_object_add(doc, "pass_json", pj);
    wp_err *err = host->err_new(NULL);
    wp_filter_result fr = host->hook_run("pass.render.apple", doc, bc->req, err);
    if (fr == WP_FILTER_REJECT) {
        snprintf(msg, msglen, "%s", host->err_message(err));
        snprintf(code, codelen, "pass_render_rejected");
        *http_status = 400;
        json_object_put(doc);
        return WP_EINVAL;
    }
    pj = wpc_json_get(doc, "pass_json");
    if (!pj || !json_object_is_type(pj, json_type_object)) {
        snprintf(msg, msglen, "a pass.render.apple filter removed pass_json");
        *http_status = 500;
        json_object_put(doc);
        return WP_EINTERNAL;
    }
    /* At most 10 locations and 10 beacons are honoured. */
    static const char *const capped[] = {"locations", "beacons", NULL};
    for (const char *const *k = capped; *k; k++) {
        json_object *a = wpc_json_get(pj, *k);
        if (a && json_object_is_type(a, json_type_array) && json_object_array_length(a) > 10)
            json_object_array_del_idx(a, 10, json_object_array_length(a) - 10);
    }
    size_t pjl = 0;
    const char *pjs = json_object_to_json_string_length(pj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &pjl);

    file_set fs = {.n = 0};
    char param[64];
    st = collect_images(body, style, &fs, param, sizeof param, msg, msglen);
    if (st != WP_OK) {
        char m2[400];
        snprintf(m2, sizeof m2, "%s: %s", param, msg);
        snprintf(msg, msglen, "%s", m2);
        /* An image host that does not answer is not the caller's mistake: 502,
         * and nothing is cached, so the next download tries again. */
        snprintf(code, codelen, st == WP_EIO ? "image_unavailable" : "image_invalid");
        *http_status = st == WP_EIO ? 502 : st == WP_ENOMEM ? 503 : 400;
        files_free(&fs);
        json_object_put(doc);
        return st;
    }
    st = apple_bundle_build(pjs, pjl, fs.f, fs.n, &bc->cred->id, data, len, msg, msglen);
    files_free(&fs);
    json_object_put(doc);
    if (st != WP_OK) {
        *http_status = 500;
        snprintf(code, codelen, "pkpass_build_failed");
        return st;
    }
    host->metrics_add(self, "pkpass_builds_total", "pkpass bundles signed", 1);
    return WP_OK;
}

/* ---- verified capabilities ------------------------------------------------------------ */

/* A capability is a MAC of (account, pass): once verified it stays valid (the
 * passes module keeps old MAC keys when the master key rotates), so the
 * answer is remembered and a download of a known link costs no extra query.
 * Direct-mapped by a SHA-256 of (pass id, token); a collision just evicts. */
#define CAPS 1024
typedef struct {
    unsigned char h[32];
    char account[64];
    int used;
} cap_slot;
static cap_slot caps[CAPS];
static pthread_mutex_t caps_mu = PTHREAD_MUTEX_INITIALIZER;

static void cap_hash(const char *pass_id, const char *token, unsigned char h[32])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    memset(h, 0, 32);
    if (c && EVP_DigestInit_ex(c, apple_md_sha256(), NULL) == 1) {
        EVP_DigestUpdate(c, pass_id, strlen(pass_id) + 1);
        EVP_DigestUpdate(c, token, strlen(token));
        EVP_DigestFinal_ex(c, h, NULL);
    }
    EVP_MD_CTX_free(c);
}

static wp_status cap_verify(const char *pass_id, const char *token, char *account, size_t len)
{
    unsigned char h[32];
    cap_hash(pass_id, token, h);
    size_t i = ((size_t)h[0] << 8 | h[1]) % CAPS;
    pthread_mutex_lock(&caps_mu);
    int hit = caps[i].used && CRYPTO_memcmp(caps[i].h, h, 32) == 0;
    if (hit) snprintf(account, len, "%s", caps[i].account);
    pthread_mutex_unlock(&caps_mu);
    if (hit) return WP_OK;
    wp_status st = host->pass_link_verify(self, pass_id, token, account, len);
    if (st == WP_OK) {
        pthread_mutex_lock(&caps_mu);
        memcpy(caps[i].h, h, 32);
        snprintf(caps[i].account, sizeof caps[i].account, "%s", account);
        caps[i].used = 1;
        pthread_mutex_unlock(&caps_mu);
    }
    return st;
}

/* ---- what a cached download needs of its pass ------------------------------------------ */

/*
 * A download whose bundle is in the cache needs of its pass only its version,
 * update time, serial number and account state, and of the credentials their
 * hash and pass type identifier: the bundle's key, its validators and the
 * device check.  These "facts" are kept with the host's pass memo (ABI 1.10),
 * which forgets them whenever the pass, its account or its credentials change
 * and serves them only while this process has heard of every such change, so
 * such a download reads neither the pass's document nor the vault.  Stored as
 * text: "1", version, update time (epoch seconds, -1 unknown), deleted (0/1),
 * hash, pass type identifier, serial number, one per line (the serial last:
 * it may hold anything but a NUL).
 */
typedef struct pass_facts {
    long long version, updated;
    int gone;
    char hash[65], ptid[256], serial[128];
} pass_facts;

/* The stamp facts_put needs: handed out by a facts_get that found nothing. */
typedef struct facts_gen {
    uint64_t gen;
    int valid;
} facts_gen;

/* 1 with *f when held; otherwise 0 and *g the stamp for facts_put. */
static int facts_get(const char *account, const char *pass_id, pass_facts *f, facts_gen *g)
{
    g->gen = 0;
    g->valid = 0;
    if (!account || !pass_id || !WP_HOST_HAS(host, pass_memo_get)) return 0;
    char b[512];
    size_t len = 0;
    wp_status st = host->pass_memo_get(self, account, pass_id, b, sizeof b - 1, &len, &g->gen);
    /* WP_ETOOLARGE (another release's value): read the pass, and keep ours */
    g->valid = st == WP_ENOTFOUND || st == WP_ETOOLARGE;
    if (st != WP_OK) return 0;
    b[len] = '\0';
    char *line[7], *p = b;
    for (int i = 0; i < 7; i++) {
        line[i] = p;
        char *nl = i < 6 ? strchr(p, '\n') : NULL;
        if (i < 6 && !nl) return 0;
        if (nl) {
            *nl = '\0';
            p = nl + 1;
        }
    }
    if (strcmp(line[0], "1") != 0 || strlen(line[4]) != 64 || strlen(line[5]) >= sizeof f->ptid ||
        strlen(line[6]) >= sizeof f->serial)
        return 0;
    f->version = strtoll(line[1], NULL, 10);
    f->updated = strtoll(line[2], NULL, 10);
    f->gone = line[3][0] == '1';
    memcpy(f->hash, line[4], 65);
    snprintf(f->ptid, sizeof f->ptid, "%s", line[5]);
    snprintf(f->serial, sizeof f->serial, "%s", line[6]);
    return 1;
}

/* Keeps the facts of pass (pass_get's) signed with creds of hash, unless a change came after gen. */
static void facts_put(const char *account, const char *pass_id, json_object *pass, json_object *creds,
                      const char *hash, const facts_gen *g)
{
    if (!account || !pass_id || !g->valid || !WP_HOST_HAS(host, pass_memo_put)) return;
    json_object *ver = wpc_json_get(pass, "version");
    const char *serial = wpc_json_str(pass, "serial_number"), *ptid = wpc_json_str(creds, "pass_type_identifier");
    char b[512];
    int n = snprintf(b, sizeof b, "1\n%lld\n%lld\n%d\n%s\n%s\n%s", ver ? (long long)json_object_get_int64(ver) : 0,
                     wpc_time_iso_parse(wpc_json_str(pass, "updated_at")),
                     json_object_object_get_ex(pass, "account_deleted", NULL) ? 1 : 0, hash, ptid ? ptid : "",
                     serial ? serial : "");
    /* not kept (too long, or a line break inside): such a pass is read each time */
    if (n > 0 && (size_t)n < sizeof b && !strchr(ptid ? ptid : "", '\n') && !strchr(serial ? serial : "", '\n'))
        (void)host->pass_memo_put(self, account, pass_id, b, (size_t)n, g->gen);
}

/* The validators of a bundle: the ETag names the pass version and the credentials;
 * Last-Modified the pass's change. */
typedef struct validators {
    char etag[64], lm[64];
    int not_modified; /* the request's conditions say it has this bundle */
} validators;

static void validators_of(wp_req *req, long long version, const char *hash, long long updated, validators *v)
{
    snprintf(v->etag, sizeof v->etag, "\"%lld-%.16s\"", version, hash);
    v->lm[0] = '\0';
    /* Last-Modified has whole seconds: sent while a later change could still carry the same
     * second (its transaction began before this one's second was over), it would let
     * If-Modified-Since hide that change.  So only once the change is LM_SETTLED_S old. */
    if (updated >= 0 && updated + LM_SETTLED_S <= (long long)time(NULL)) wpc_time_http_format(updated, v->lm, sizeof v->lm);
    const char *inm = host->req_header(req, "If-None-Match");
    const char *ims = host->req_header(req, "If-Modified-Since");
    long long imst = ims ? wpc_time_http_parse(ims) : -1;
    /* If-None-Match wins over If-Modified-Since when both are sent (RFC 9110 §13.2.2). */
    v->not_modified = inm ? etag_matches(inm, v->etag) : (imst >= 0 && v->lm[0] && updated <= imst);
}

static void validators_send(wp_req *req, const validators *v)
{
    host->resp_header(req, "ETag", v->etag);
    if (v->lm[0]) host->resp_header(req, "Last-Modified", v->lm);
    host->resp_header(req, "Cache-Control", "private, no-cache");
}

static void send_bundle(wp_req *req, const char *serial, const unsigned char *data, size_t len)
{
    char cd[160];
    snprintf(cd, sizeof cd, "attachment; filename=\"%.100s.pkpass\"", serial && serial[0] ? serial : "pass");
    host->resp_header(req, "Content-Disposition", cd);
    host->resp_raw(req, 200, PKPASS_TYPE, data, len);
}

/* Answers from the facts when the bundle is cached (or not modified): 1 when answered. */
static int pkpass_from_facts(wp_req *req, const char *account, const char *pass_id, const pass_facts *f)
{
    if (f->gone) {
        host->resp_error(req, 410, "account_deleted", "id", "the account of pass %s was deleted", pass_id);
        return 1;
    }
    validators v;
    validators_of(req, f->version, f->hash, f->updated, &v);
    if (v.not_modified) {
        validators_send(req, &v);
        host->resp_raw(req, 304, NULL, NULL, 0);
        return 1;
    }
    char key[400];
    snprintf(key, sizeof key, "%s|%s|%lld|%s", account, pass_id, f->version, f->hash);
    apple_bundle_ref *ref = NULL;
    const unsigned char *data = NULL;
    size_t len = 0;
    if (apple_bundle_peek(key, &ref, &data, &len) != WP_OK) return 0; /* built the long way */
    validators_send(req, &v);
    send_bundle(req, f->serial, data, len);
    apple_bundle_release(ref);
    return 1;
}

/* ---- GET /api/v1/passes/:id/pkpass ---------------------------------------------------- */

static void pkpass(wp_req *req, void *ud)
{
    (void)ud;
    const char *pass_id = host->req_param(req, "id");
    char t[300], account[64] = "";
    int hq = host->req_query(req, "t", t, sizeof t);
    if (hq != 0) {
        /* The capability link: a wrong, foreign or oversized one is just "not found". */
        if (hq < 0 || cap_verify(pass_id, t, account, sizeof account) != WP_OK) {
            host->resp_error(req, 404, "resource_missing", "id", "no such pass: %s", pass_id);
            return;
        }
    } else {
        wp_status st = host->req_api_key(req);
        if (st == WP_ENOTFOUND) {
            host->resp_header(req, "WWW-Authenticate", "Bearer");
            host->resp_error(req, 401, "api_key_missing", NULL,
                             "no API key: send Authorization: Bearer sk_live_..., or use the pass's pkpass_url");
            return;
        }
        if (st != WP_OK) return; /* the 401/429 was sent */
        snprintf(account, sizeof account, "%s", host->req_account_id(req));
    }

    pass_facts facts;
    facts_gen gen = {0, 0};
    if (facts_get(account, pass_id, &facts, &gen) && pkpass_from_facts(req, account, pass_id, &facts)) return;
    json_object *pass = NULL, *creds = NULL;
    wp_status st = host->pass_get(self, account, pass_id, &pass);
    if (st == WP_ENOTFOUND) {
        host->resp_error(req, 404, "resource_missing", "id", "no such pass: %s", pass_id);
        return;
    }
    if (st != WP_OK) {
        host->resp_error(req, 503, "pass_unavailable", NULL, "the pass could not be read: %s", host->last_error());
        return;
    }
    if (json_object_object_get_ex(pass, "account_deleted", NULL)) {
        json_object_put(pass);
        host->resp_error(req, 410, "account_deleted", "id", "the account of pass %s was deleted", pass_id);
        return;
    }
    st = host->vault_read(self, account, "apple", &creds);
    if (st == WP_ENOTFOUND) {
        json_object_put(pass);
        host->resp_error(req, 409, "apple_credentials_missing", NULL,
                         "this account has no Apple Wallet credentials: upload them with PUT /api/v1/credentials/apple");
        return;
    }
    if (st != WP_OK) {
        json_object_put(pass);
        host->resp_error(req, 503, "credentials_unavailable", NULL, "the Apple credentials could not be read: %s",
                         host->last_error());
        return;
    }
    char hash[65], msg[400] = "";
    cred_hash(creds, hash);
    apple_cred *cred = NULL;
    st = apple_cred_acquire(account, hash, wpc_json_str(creds, "certificate_pem"), wpc_json_str(creds, "private_key_pem"),
                            wpc_json_str(creds, "wwdr_pem"), &cred, msg, sizeof msg);
    if (st != WP_OK) {
        json_object_put(pass);
        wpc_cred_wipe_put(creds);
        host->resp_error(req, 409, "apple_credentials_invalid", NULL,
                         "the Apple credentials cannot sign: %s; upload them again with PUT /api/v1/credentials/apple",
                         msg);
        return;
    }

    facts_put(account, pass_id, pass, creds, hash, &gen);
    json_object *ver = wpc_json_get(pass, "version");
    long long version = ver ? json_object_get_int64(ver) : 0;
    validators v;
    validators_of(req, version, hash, wpc_time_iso_parse(wpc_json_str(pass, "updated_at")), &v);
    validators_send(req, &v);
    if (v.not_modified) {
        apple_cred_release(cred);
        json_object_put(pass);
        wpc_cred_wipe_put(creds);
        host->resp_raw(req, 304, NULL, NULL, 0);
        return;
    }

    char key[400];
    snprintf(key, sizeof key, "%s|%s|%lld|%s", account, pass_id, version, hash);
    build_ctx bc = {req, account, pass, creds, cred, NULL};
    apple_bundle_ref *ref = NULL;
    const unsigned char *data = NULL;
    size_t len = 0;
    int hs = 500;
    char code[48] = "";
    st = apple_bundle_get(key, pass_id, build_bundle, &bc, &ref, &data, &len, &hs, code, sizeof code, msg, sizeof msg);
    if (st == WP_OK) {
        send_bundle(req, wpc_json_str(pass, "serial_number"), data, len);
        apple_bundle_release(ref);
    } else {
        if (hs >= 500) host->log(self, WP_LOG_ERROR, "pass %s: %s", pass_id, msg);
        char param[64] = "";
        if (strncmp(code, "image_", 6) == 0) sscanf(msg, "%63[^:]", param);
        host->resp_error(req, hs, code[0] ? code : "pkpass_build_failed", param[0] ? param : NULL, "%s", msg);
    }
    apple_cred_release(cred);
    json_object_put(pass);
    wpc_cred_wipe_put(creds);
}

/* ---- filters ---------------------------------------------------------------------------- */

/*
 * pass.links: {"pass": resource, "want_links", "share_buttons": [], ...}.
 * Adds apple_pass_type_id and pkpass_url (a link only when it will work:
 * null without the account's Apple credentials, or when no link is wanted),
 * and the share page's button for iPhones, iPads and Safari on a Mac.
 */
static wp_filter_result links_filter(void *ud, wp_req *req, json_object *doc, wp_err *err)
{
    (void)ud;
    (void)err;
    json_object *pass = wpc_json_get(doc, "pass");
    const char *id = wpc_json_str(pass, "id");
    const char *style = apple_style(wpc_json_str(pass, "pass_type"));
    json_object_object_add(doc, "apple_pass_type_id", style ? json_object_new_string(style) : NULL);
    json_object_object_add(doc, "pkpass_url", NULL);
    json_object *buttons = wpc_json_get(doc, "share_buttons");
    if (buttons && json_object_is_type(buttons, json_type_array)) {
        json_object *b = json_object_new_object(), *devs = json_object_new_array();
        json_object_array_add(devs, json_object_new_string("ios"));
        json_object_array_add(devs, json_object_new_string("mac-safari"));
        json_object_object_add(b, "link", json_object_new_string("pkpass_url"));
        json_object_object_add(b, "label", json_object_new_string("Add to Apple Wallet"));
        json_object_object_add(b, "wallet", json_object_new_string("Apple Wallet"));
        json_object_object_add(b, "devices", devs);
        json_object_array_add(buttons, b);
    }
    json_object *want = wpc_json_get(doc, "want_links");
    if (want && !json_object_get_boolean(want)) return WP_FILTER_MODIFIED;
    const char *account = req ? host->req_account_id(req) : NULL;
    if (!account || !*account) account = wpc_json_str(doc, "account_id"); /* the tenant, set by the core */
    if (!id || !account || !*account) return WP_FILTER_MODIFIED;
    /* A list answers up to 100 passes of one account in one request: read the
     * vault once per request (the request id is unique; the memo is per thread). */
    static _Thread_local char memo_req[64], memo_account[64];
    static _Thread_local int memo_has;
    const char *rid = req ? host->req_id(req) : NULL;
    int has;
    if (rid && strcmp(rid, memo_req) == 0 && strcmp(account, memo_account) == 0) {
        has = memo_has;
    } else {
        json_object *creds = NULL;
        has = host->vault_read(self, account, "apple", &creds) == WP_OK;
        wpc_cred_wipe_put(creds);
        if (rid) {
            snprintf(memo_req, sizeof memo_req, "%s", rid);
            snprintf(memo_account, sizeof memo_account, "%s", account);
            memo_has = has;
        }
    }
    if (!has) return WP_FILTER_MODIFIED;
    char tok[256];
    if (host->pass_link_token(self, account, id, tok, sizeof tok) != WP_OK) {
        host->log(self, WP_LOG_WARN, "pass %s: no link capability: %s", id, host->last_error());
        return WP_FILTER_MODIFIED;
    }
    char url[2048];
    snprintf(url, sizeof url, "%s/api/v1/passes/%s/pkpass?t=%s", host->public_url(self), id, tok);
    OPENSSL_cleanse(tok, sizeof tok);
    json_object_object_add(doc, "pkpass_url", json_object_new_string(url));
    return WP_FILTER_MODIFIED;
}

/* ---- hook apple.pass.authenticate ------------------------------------------------------ */

/*
 * Which pass a device's (serial number, token) names does not change: a
 * token is minted once with its pass.  So the answer the host gave is kept,
 * direct-mapped by a SHA-256 of the two (a collision just evicts), and on a
 * later call the pass's facts (above) tell whether it still has that serial
 * number and its credentials that pass type identifier; the device then
 * gets the pass without its document being copied.  A pass changed since
 * has no facts: the host is asked again.
 */
#define TOKENS 1024
typedef struct token_slot {
    unsigned char h[32];
    char account[64], pass_id[64];
    int used;
} token_slot;
static token_slot tokens[TOKENS];
static pthread_mutex_t tokens_mu = PTHREAD_MUTEX_INITIALIZER;

static size_t token_slot_of(const char *serial, const char *token, unsigned char h[32])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    memset(h, 0, 32);
    if (c && EVP_DigestInit_ex(c, apple_md_sha256(), NULL) == 1) {
        EVP_DigestUpdate(c, serial, strlen(serial) + 1);
        EVP_DigestUpdate(c, token, strlen(token));
        EVP_DigestFinal_ex(c, h, NULL);
    }
    EVP_MD_CTX_free(c);
    return ((size_t)h[0] << 8 | h[1]) % TOKENS;
}

/* The pass a device named before, in the shape apns reads (id, owner, serial, update time), when
 * its facts are held and still match; NULL otherwise. */
static json_object *token_pass(const char *ptid, const char *serial, const char *token)
{
    unsigned char h[32];
    size_t i = token_slot_of(serial, token, h);
    char account[64], pass_id[64];
    pthread_mutex_lock(&tokens_mu);
    int hit = tokens[i].used && CRYPTO_memcmp(tokens[i].h, h, 32) == 0;
    if (hit) {
        memcpy(account, tokens[i].account, sizeof account);
        memcpy(pass_id, tokens[i].pass_id, sizeof pass_id);
    }
    pthread_mutex_unlock(&tokens_mu);
    pass_facts f;
    facts_gen g;
    if (!hit || !facts_get(account, pass_id, &f, &g) || strcmp(f.serial, serial) != 0 || strcmp(f.ptid, ptid) != 0)
        return NULL;
    char updated[WPC_TIME_ISO_LEN] = "";
    time_t t = (time_t)f.updated;
    struct tm tm;
    if (f.updated < 0 || !gmtime_r(&t, &tm) || !strftime(updated, sizeof updated, "%Y-%m-%dT%H:%M:%SZ", &tm)) return NULL;
    json_object *p = json_object_new_object();
    json_object_object_add(p, "id", json_object_new_string(pass_id));
    json_object_object_add(p, "object", json_object_new_string("pass"));
    json_object_object_add(p, "owner_account_id", json_object_new_string(account));
    json_object_object_add(p, "serial_number", json_object_new_string(serial));
    json_object_object_add(p, "updated_at", json_object_new_string(updated));
    if (f.gone) json_object_object_add(p, "account_deleted", json_object_new_boolean(1));
    return p;
}

static void token_keep(const char *serial, const char *token, const char *account, const char *pass_id)
{
    if (!account || !pass_id || strlen(account) >= 64 || strlen(pass_id) >= 64) return;
    unsigned char h[32];
    size_t i = token_slot_of(serial, token, h);
    pthread_mutex_lock(&tokens_mu);
    memcpy(tokens[i].h, h, 32);
    snprintf(tokens[i].account, sizeof tokens[i].account, "%s", account);
    snprintf(tokens[i].pass_id, sizeof tokens[i].pass_id, "%s", pass_id);
    tokens[i].used = 1;
    pthread_mutex_unlock(&tokens_mu);
}

/*
 * Apple's web service (apns) names a pass by (pass type identifier, serial
 * number) and authenticates the device with the pass's authenticationToken:
 *   in:  {schema: 1, pass_type_identifier, serial_number, authentication_token}
 *   out: "pass" when the token is that pass's and its account's Apple
 *        credentials carry that pass type identifier: host pass_get's shape
 *        (with owner_account_id), or, for a pass whose facts are held, only
 *        id, object, owner_account_id, serial_number, updated_at (whole
 *        seconds) and account_deleted when so; "unavailable": true when that could not be checked
 *        (database, vault: retry); neither for anything else, alike.
 * Several accounts may hold one pass type identifier and one serial (one
 * certificate shared by an agency's tenants): the token decides, compared
 * in constant time with every candidate's by the host (pass_secret_find).
 */
static wp_filter_result auth_filter(void *ud, wp_req *req, json_object *doc, wp_err *err)
{
    (void)ud;
    (void)req;
    (void)err;
    const char *ptid = wpc_json_str(doc, "pass_type_identifier"), *serial = wpc_json_str(doc, "serial_number");
    const char *token = wpc_json_str(doc, "authentication_token");
    if (!ptid || !serial || !token) return WP_FILTER_CONTINUE;
    json_object *pass = token_pass(ptid, serial, token), *creds = NULL;
    if (pass) {
        json_object_object_add(doc, "pass", pass);
        return WP_FILTER_MODIFIED;
    }
    wp_status st = host->pass_secret_find(self, TOKEN_NAME, serial, token, &pass);
    if (st == WP_EAUTH) return WP_FILTER_CONTINUE;
    if (st == WP_OK) token_keep(serial, token, wpc_json_str(pass, "owner_account_id"), wpc_json_str(pass, "id"));
    pass_facts facts;
    facts_gen gen = {0, 0};
    if (st == WP_OK && facts_get(wpc_json_str(pass, "owner_account_id"), wpc_json_str(pass, "id"), &facts, &gen)) {
        /* the credentials' pass type identifier, kept with the pass: no vault read */
        if (strcmp(facts.ptid, ptid) != 0) {
            json_object_put(pass);
            return WP_FILTER_CONTINUE;
        }
        json_object_object_add(doc, "pass", pass);
        return WP_FILTER_MODIFIED;
    }
    if (st == WP_OK) st = host->vault_read(self, wpc_json_str(pass, "owner_account_id"), "apple", &creds);
    if (st != WP_OK && st != WP_ENOTFOUND) {
        host->log(self, WP_LOG_WARN, "a device's pass could not be checked: %s", host->last_error());
        json_object_put(pass);
        json_object_object_add(doc, "unavailable", json_object_new_boolean(1));
        return WP_FILTER_MODIFIED;
    }
    const char *have = wpc_json_str(creds, "pass_type_identifier");
    int same = st == WP_OK && have && strcmp(have, ptid) == 0;
    if (st == WP_OK) {
        char hash[65];
        cred_hash(creds, hash);
        facts_put(wpc_json_str(pass, "owner_account_id"), wpc_json_str(pass, "id"), pass, creds, hash, &gen);
    }
    wpc_cred_wipe_put(creds);
    if (!same) {
        json_object_put(pass);
        return WP_FILTER_CONTINUE;
    }
    json_object_object_add(doc, "pass", pass);
    return WP_FILTER_MODIFIED;
}

/* pass.validate: a base64 image must decode to a PNG within the limit, so a
 * broken image is a 400 when the pass is written, not when it is downloaded. */
static wp_filter_result validate_filter(void *ud, wp_req *req, json_object *doc, wp_err *err)
{
    (void)ud;
    (void)req;
    json_object *imgs = wpc_json_get(doc, "images");
    if (!imgs) imgs = wpc_json_get(wpc_json_get(doc, "body"), "images");
    if (!imgs) imgs = wpc_json_get(wpc_json_get(doc, "pass"), "images");
    if (!imgs || !json_object_is_type(imgs, json_type_object)) return WP_FILTER_CONTINUE;
    json_object_object_foreach(imgs, name, v) {
        if (!json_object_is_type(v, json_type_string)) continue;
        const char *s = json_object_get_string(v);
        if (strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0) {
            /* Fetched at the first download; refused now when it could never be. */
            if (host->url_check(self, s, NULL, 0) == WP_EDENIED) {
                char param[64];
                snprintf(param, sizeof param, "images.%s", name);
                host->error_set(err, WP_EINVAL, "image_invalid", param, "%s: the image URL is refused: %s", param,
                                host->last_error());
                return WP_FILTER_REJECT;
            }
            continue;
        }
        unsigned char *png = NULL;
        size_t len = 0;
        char msg[300], param[64];
        wp_status st = apple_image_decode(s, max_image, &png, &len, msg, sizeof msg);
        free(png);
        if (st != WP_OK) {
            snprintf(param, sizeof param, "images.%s", name);
            host->error_set(err, st == WP_ETOOLARGE ? WP_EINVAL : st == WP_ENOMEM ? WP_EUNAVAIL : WP_EINVAL,
                            "image_invalid", param, "%s: %s", param, msg);
            return WP_FILTER_REJECT;
        }
    }
    return WP_FILTER_CONTINUE;
}

/* ---- hook apple.pkpass.build ------------------------------------------------------------- */

/*
 * Other plugins (apns: Apple's web service) get the signed bundle of a pass
 * through this hook instead of an HTTP call:
 *   in:  {schema: 1, account_id, pass_id, variant: "<string>"|null,
 *         back_fields: [pass.json field dictionaries]|null,
 *         pass: the pass as apple.pass.authenticate gave it in this request
 *               (optional; saves reading it again; a build may add to it),
 *         respond: true to have the bundle sent as the request's answer
 *               (200 with its ETag) instead of handed back (optional)}
 *   out: pkpass_base64 (the bundle), etag, content_type; with respond,
 *        responded: true in place of pkpass_base64
 * back_fields are appended to the pass's backFields (a key the pass already
 * has is left out); variant names that addition in the cache key.  Failures
 * REJECT with the status the pkpass route would answer.
 */
/* The bundle cache's key and the ETag of a build.  Without a variant the bundle is the one the
 * capability link serves: the same key, so the two routes share one signing instead of each build
 * dropping the other's as an older version. */
static void build_key(const char *account, const char *pass_id, long long version, const char *hash,
                      const char *variant, char key[600], char etag[200])
{
    if (variant)
        snprintf(key, 600, "%s|%s|%lld|%s|%.150s", account, pass_id, version, hash, variant);
    else
        snprintf(key, 600, "%s|%s|%lld|%s", account, pass_id, version, hash);
    snprintf(etag, 200, "\"%lld-%.16s%s%.100s\"", version, hash, variant ? "-" : "", variant ? variant : "");
}

/* Sends the bundle as the request's answer (apple.pkpass.build with respond). */
static void build_respond(wp_req *req, json_object *doc, const char *etag, const unsigned char *data, size_t len)
{
    /* the bytes go out as they are: no base64 there and back through the document */
    host->resp_header(req, "ETag", etag);
    host->resp_raw(req, 200, PKPASS_TYPE, data, len);
    json_object_object_add(doc, "responded", json_object_new_boolean(1));
    json_object_object_add(doc, "etag", json_object_new_string(etag));
    json_object_object_add(doc, "content_type", json_object_new_string(PKPASS_TYPE));
}

static wp_filter_result build_filter(void *ud, wp_req *req, json_object *doc, wp_err *err)
{
    (void)ud;
    const char *account = wpc_json_str(doc, "account_id"), *pass_id = wpc_json_str(doc, "pass_id");
    const char *variant = wpc_json_str(doc, "variant");
    if (!account || !pass_id) return WP_FILTER_CONTINUE;
    json_object *respond = wpc_json_get(doc, "respond");
    int responding = req && respond && json_object_get_boolean(respond);
    char key[600], etag[200];
    pass_facts facts;
    facts_gen gen = {0, 0};
    if (facts_get(account, pass_id, &facts, &gen) && responding) {
        /* a cached bundle, found from what is kept of the pass: nothing read */
        build_key(account, pass_id, facts.version, facts.hash, variant, key, etag);
        apple_bundle_ref *ref = NULL;
        const unsigned char *data = NULL;
        size_t len = 0;
        if (apple_bundle_peek(key, &ref, &data, &len) == WP_OK) {
            build_respond(req, doc, etag, data, len);
            apple_bundle_release(ref);
            return WP_FILTER_MODIFIED;
        }
    }
    json_object *pass = wpc_json_get(doc, "pass"), *creds = NULL;
    wp_status st = WP_OK;
    /* The caller's copy, read in this request, when it is this pass's whole document. */
    if (pass && json_object_is_type(pass, json_type_object) && wpc_json_get(pass, "body") && wpc_json_str(pass, "id") &&
        strcmp(wpc_json_str(pass, "id"), pass_id) == 0 && wpc_json_str(pass, "owner_account_id") &&
        strcmp(wpc_json_str(pass, "owner_account_id"), account) == 0)
        json_object_get(pass);
    else {
        pass = NULL;
        st = host->pass_get(self, account, pass_id, &pass);
    }
    if (st != WP_OK) {
        host->error_set(err, st == WP_ENOTFOUND ? WP_ENOTFOUND : WP_EUNAVAIL,
                        st == WP_ENOTFOUND ? "resource_missing" : "pass_unavailable", "pass_id", "%s", host->last_error());
        return WP_FILTER_REJECT;
    }
    st = host->vault_read(self, account, "apple", &creds);
    if (st != WP_OK) {
        json_object_put(pass);
        host->error_set(err, st == WP_ENOTFOUND ? WP_ECONFLICT : WP_EUNAVAIL,
                        st == WP_ENOTFOUND ? "apple_credentials_missing" : "credentials_unavailable", NULL,
                        "the Apple credentials could not be read: %s", host->last_error());
        return WP_FILTER_REJECT;
    }
    char hash[65], msg[400] = "";
    cred_hash(creds, hash);
    apple_cred *cred = NULL;
    if (apple_cred_acquire(account, hash, wpc_json_str(creds, "certificate_pem"), wpc_json_str(creds, "private_key_pem"),
                           wpc_json_str(creds, "wwdr_pem"), &cred, msg, sizeof msg) != WP_OK) {
        json_object_put(pass);
        wpc_cred_wipe_put(creds);
        host->error_set(err, WP_ECONFLICT, "apple_credentials_invalid", NULL, "the Apple credentials cannot sign: %s", msg);
        return WP_FILTER_REJECT;
    }
    facts_put(account, pass_id, pass, creds, hash, &gen);
    json_object *ver = wpc_json_get(pass, "version");
    char code[48] = "";
    build_key(account, pass_id, ver ? json_object_get_int64(ver) : 0, hash, variant, key, etag);
    build_ctx bc = {req, account, pass, creds, cred, wpc_json_get(doc, "back_fields")};
    apple_bundle_ref *ref = NULL;
    const unsigned char *data = NULL;
    size_t len = 0;
    int hs = 500;
    wp_filter_result fr = WP_FILTER_MODIFIED;
    st = apple_bundle_get(key, pass_id, build_bundle, &bc, &ref, &data, &len, &hs, code, sizeof code, msg, sizeof msg);
    if (st == WP_OK && responding) {
        build_respond(req, doc, etag, data, len);
        apple_bundle_release(ref);
    } else if (st == WP_OK) {
        char *b64 = malloc(4 * ((len + 2) / 3) + 1);
        if (b64) {
            int n = EVP_EncodeBlock((unsigned char *)b64, data, (int)len);
            json_object_object_add(doc, "pkpass_base64", json_object_new_string_len(b64, n));
            json_object_object_add(doc, "etag", json_object_new_string(etag));
            json_object_object_add(doc, "content_type", json_object_new_string(PKPASS_TYPE));
            free(b64);
        } else {
            host->error_set(err, WP_EUNAVAIL, "out_of_memory", NULL, "out of memory");
            fr = WP_FILTER_REJECT;
        }
        apple_bundle_release(ref);
    } else {
        host->error_set(err, hs == 400 ? WP_EINVAL : hs == 409 ? WP_ECONFLICT : hs >= 502 ? WP_EUNAVAIL : WP_EINTERNAL,
                        code[0] ? code : "pkpass_build_failed", NULL, "%s", msg);
        fr = WP_FILTER_REJECT;
    }
    apple_cred_release(cred);
    json_object_put(pass);
    wpc_cred_wipe_put(creds);
    return fr;
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

/* The configuration ("config" of the plugin entry; the keys are listed at the top of this file). */
typedef struct apple_settings {
    char web_service_path[256];
    size_t cache_mb, max_accounts, max_image_bytes;
    long image_timeout_ms;
    char image_ca_file[1024];
    size_t image_cache_entries, image_cache_mb;
    bool require_apple_wwdr;    /* read again by apple_credkind_init */
    char wwdr_ca_file[1024];
} apple_settings;

/* webServiceURL is public_url + this: "" (none) or a path without a trailing slash, query or fragment. */
static const char *ws_path_check(const char *s)
{
    size_t n = strlen(s);
    if (n > 0 && (s[0] != '/' || s[n - 1] == '/' || strpbrk(s, "?#")))
        return "\"\" or a path like \"/apple\" (no trailing slash, query or fragment)";
    return NULL;
}

static const wp_cfg_key apple_keys[] = {
    WP_CFG_STRING_CHECK("web_service_path", apple_settings, web_service_path, "/apple", 0, ws_path_check),
    WP_CFG_INT("cache_mb", apple_settings, cache_mb, 64, 0, 65536),
    WP_CFG_INT("max_accounts", apple_settings, max_accounts, 256, 1, 100000),
    WP_CFG_INT("max_image_bytes", apple_settings, max_image_bytes, 1 << 20, 1024, 16 << 20),
    WP_CFG_INT("image_timeout_ms", apple_settings, image_timeout_ms, 5000, 100, 60000),
    WP_CFG_STRING("image_ca_file", apple_settings, image_ca_file, "", 0),
    WP_CFG_INT("image_cache_entries", apple_settings, image_cache_entries, 256, 0, 100000),
    WP_CFG_INT("image_cache_mb", apple_settings, image_cache_mb, 32, 0, 4096),
    WP_CFG_BOOL("require_apple_wwdr", apple_settings, require_apple_wwdr, false),
    WP_CFG_STRING("wwdr_ca_file", apple_settings, wwdr_ca_file, "", WP_CFG_NONEMPTY),
    WP_CFG_END,
};

static wp_status apple_init(const wp_host *h, wp_plugin *me, const json_object *config)
{
    host = h;
    self = me;
    if (!WP_HOST_HAS(h, pass_secret_find) || !WP_HOST_HAS(h, credential_kind_register)) {
        h->init_error(me, "apple-signer needs plugin ABI 1.7 (credential_kind_register, pass_secret_get, "
                      "pass_secret_find)");
        return WP_EABI;
    }
    apple_settings set;
    memset(&set, 0, sizeof set);
    char why[300];
    wp_status st = wp_cfg_parse(apple_keys, config, &set, why, sizeof why);
    if (st != WP_OK) {
        h->init_error(me, "%s", why);
        return st;
    }
    snprintf(ws_path, sizeof ws_path, "%s", set.web_service_path);
    snprintf(image_ca_file, sizeof image_ca_file, "%s", set.image_ca_file);
    cache_bytes = set.cache_mb << 20;
    max_accounts = set.max_accounts;
    max_image = set.max_image_bytes;
    image_timeout_ms = set.image_timeout_ms;
    image_cache_entries = set.image_cache_entries;
    image_cache_mb = set.image_cache_mb;
    /* the credential kind reads its own two keys (require_apple_wwdr, wwdr_ca_file) */
    if ((st = apple_credkind_init(h, me, config)) != WP_OK) return st;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        h->init_error(me, "libcurl could not be initialised");
        apple_credkind_shutdown();
        return WP_EINTERNAL;
    }
    apple_cache_init(cache_bytes, max_accounts);
    apple_fetch_init(image_cache_entries, image_cache_mb << 20);
    if ((st = h->route_add(me, "GET", "/api/v1/passes/:id/pkpass", WP_AUTH_PUBLIC, pkpass, NULL)) != WP_OK ||
        (st = h->route_add(me, "HEAD", "/api/v1/passes/:id/pkpass", WP_AUTH_PUBLIC, pkpass, NULL)) != WP_OK ||
        (st = h->filter_add(me, "pass.links", WP_PRIO_DEFAULT, links_filter, NULL)) != WP_OK ||
        (st = h->filter_add(me, "pass.validate", WP_PRIO_DEFAULT, validate_filter, NULL)) != WP_OK ||
        (st = h->filter_add(me, "apple.pkpass.build", WP_PRIO_DEFAULT, build_filter, NULL)) != WP_OK ||
        (st = h->filter_add(me, "apple.pass.authenticate", WP_PRIO_DEFAULT, auth_filter, NULL)) != WP_OK) {
        h->init_error(me, "%s", h->last_error());
        apple_cache_shutdown();
        apple_fetch_shutdown();
        apple_credkind_shutdown();
        curl_global_cleanup();
        return st;
    }
    return WP_OK;
}

static void apple_shutdown(wp_plugin *me)
{
    (void)me;
    apple_cache_shutdown();
    apple_fetch_shutdown();
    apple_credkind_shutdown();
    curl_global_cleanup();
    /* every thread that hashed has ended (the server's and the jobs' stop first): no
     * destructor of this plugin's may run after it is unloaded */
    if (have_hash_key) pthread_key_delete(hash_key);
}

/* Needs no other plugin: pass.render.apple, the hook it runs, may have no filter. */
WP_PLUGIN_DEFINE_NEEDS("apple-signer", "0.1.0", "Signed Apple Wallet passes (.pkpass) for every pass type", apple_init,
                       apple_shutdown, NULL, NULL, NULL, NULL)
