/*
 * host_passes.c - the host table's slots on passes: the pass, its link and
 * capabilities, the vault and per-pass secrets, through wp_domain (plugin_host.h).
 */
#include "plugin_host.h"

#include <openssl/crypto.h>
#include <time.h>

#include "ids.h"
#include "sha256.h"

/* ---- ABI 1.2 ------------------------------------------------------------ */

const char *wp_host_public_url(wp_plugin *p) { return p && p->set->public_url ? p->set->public_url : ""; }

/* wp_pass_load's document (released here), reshaped as the ABI promises: the
 * API resource with "body" (the effective unified body) beside it. */
static wp_status pass_shape(json_object *doc, const char *account_id, json_object **out)
{
    json_object *res = NULL, *v;
    if (json_object_object_get_ex(doc, "pass", &v) && json_object_is_type(v, json_type_object))
        res = json_object_get(v);
    else
        res = json_object_new_object();
    if (!res) {
        json_object_put(doc);
        return wp_plugin_failf(WP_ENOMEM, "out of memory");
    }
    if (json_object_object_get_ex(doc, "body", &v)) json_object_object_add(res, "body", json_object_get(v));
    /* Not "account_id": that is also a field of loyalty passes (the member's account). */
    json_object_object_add(res, "owner_account_id", json_object_new_string(account_id));
    json_object_put(doc);
    *out = res;
    return wp_plugin_ok();
}

wp_status wp_host_pass_get(wp_plugin *p, const char *account_id, const char *pass_id, json_object **out)
{
    if (out) *out = NULL;
    if (!p || !account_id || !pass_id || !out) return wp_plugin_failf(WP_EINVAL, "pass_get: account_id, pass_id and out are required");
    wp_domain *dom = p->set->env.domain;
    if (!dom || !dom->db) return wp_plugin_failf(WP_EUNAVAIL, "pass_get: passes are not available in this process");
    wp_err e;
    wp_err_clear(&e);
    json_object *doc = NULL;
    /* In a request, the same query tells which credentials are current, so the
     * vault_read of a download needs no query of its own (vault_read below). */
    wp_status st = dom->credcache ? wp_pass_load_stamped(dom, account_id, pass_id, &doc, &e)
                                  : wp_pass_load(dom, NULL, account_id, pass_id, &doc, &e);
    if (st != WP_OK) return wp_plugin_fail(st, &e);
    return pass_shape(doc, account_id, out);
}

/*
 * The stamp of the credential `name` of account_id that a read made now would
 * find, from the memo's stamps ("acct/kind=stamp", ','-separated): the account's
 * own row, else (a test workspace) its live account's.  Copied into out;
 * 0 when there is no such row, -1 when it does not fit.
 */
static int memo_pick(const char *stamps, const char *account_id, const char *name, char *out, size_t len)
{
    const char *other = NULL;
    size_t al = strlen(account_id), nl = strlen(name), ol = 0;
    for (const char *p = stamps; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *slash = memchr(p, '/', n);
        if (slash && (size_t)(p + n - slash) > nl + 1 && memcmp(slash + 1, name, nl) == 0 && slash[1 + nl] == '=') {
            if ((size_t)(slash - p) == al && memcmp(p, account_id, al) == 0) {
                if (n >= len) return -1;
                memcpy(out, p, n);
                out[n] = '\0';
                return 1;
            }
            other = p;
            ol = n;
        }
        p = end ? end + 1 : p + n;
    }
    if (!other) return 0;
    if (ol >= len) return -1;
    memcpy(out, other, ol);
    out[ol] = '\0';
    return 1;
}

/* The cache's key of (account, kind): "account\nkind". */
static int cred_key(const char *account_id, const char *name, char *out, size_t len)
{
    int n = snprintf(out, len, "%s\n%s", account_id, name);
    return n > 0 && (size_t)n < len ? n : -1;
}

/* Largest stamp and credential kept (larger ones are read from the database each time). */
#define WP_CRED_CACHE_MAX 16384

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The decrypted credential, from the process's cache when the request's memo
 * (credmemo.h: filled by its read of the pass) says the cached row is still
 * the current one (docs/caching.md): a download or a pass read then queries
 * once, not twice.  Otherwise it is read (and cached under the stamp it was
 * read with).  A cached entry is only ever used against stamps read during
 * the same request, so an upload that answered is seen by the next request on
 * every process.
 */
wp_status wp_host_vault_read(wp_plugin *p, const char *account_id, const char *name, json_object **out)
{
    if (out) *out = NULL;
    if (!p || !account_id || !name || !out)
        return wp_plugin_failf(WP_EINVAL, "vault_read: account_id, name and out are required");
    wp_domain *dom = p->set->env.domain;
    if (!dom || !dom->vault || !dom->db)
        return wp_plugin_failf(WP_EUNAVAIL, "vault_read: the credential vault is not available in this process");
    wp_err e;
    wp_err_clear(&e);
    char key[200];
    int kl = dom->credcache && wp_credentials_name_ok(name) ? cred_key(account_id, name, key, sizeof key) : -1;
    wp_cred_memo *m = kl > 0 ? wp_cred_memo_current() : NULL;
    if (m && m->valid && strcmp(m->account, account_id) == 0) {
        char want[512];
        int got = memo_pick(m->stamps, account_id, name, want, sizeof want);
        if (got == 0)
            return wp_plugin_failf(WP_ENOTFOUND, "account %s has no \"%s\" credentials (PUT /api/v1/credentials/%s)",
                                   account_id, name, name);
        size_t len = 0;
        char val[WP_CRED_CACHE_MAX];
        if (got > 0 && wp_lru_get(dom->credcache, key, (size_t)kl, mono_s(), -1, val, sizeof val, &len) &&
            len <= sizeof val && strnlen(val, len) < len && strcmp(val, want) == 0) {
            const char *text = val + strlen(val) + 1;
            json_object *o = wp_cred_parsed(val, len, text);
            OPENSSL_cleanse(val, len);
            if (o && json_object_is_type(o, json_type_object)) {
                if (p->set->env.metrics)
                    wp_metrics_counter_add(p->set->env.metrics, "walletpass_credentials_cache_hits_total",
                                           "credentials taken from the process's cache, their row unchanged", 1);
                *out = o;
                return wp_plugin_ok();
            }
            wp_credentials_wipe_put(o);
        } else if (len) {
            OPENSSL_cleanse(val, len < sizeof val ? len : sizeof val);
        }
    }
    PGconn *c = wp_db_acquire(dom->db, &e);
    if (!c) return wp_plugin_fail(e.status, &e);
    char stamp[512];
    uint64_t gen = dom->credcache ? wp_lru_generation(dom->credcache) : 0;
    wp_status st = wp_credentials_read_stamped(dom->vault, c, account_id, name, out, stamp, sizeof stamp, &e);
    wp_db_release(dom->db, c);
    if (st != WP_OK) return wp_plugin_fail(st, &e);
    if (kl > 0) {
        size_t tl = 0;
        const char *text = json_object_to_json_string_length(*out, JSON_C_TO_STRING_PLAIN, &tl);
        size_t sl = strlen(stamp), vl = sl + 1 + tl + 1;
        char *val = text && vl <= WP_CRED_CACHE_MAX ? malloc(vl) : NULL;
        if (val) {
            memcpy(val, stamp, sl + 1);
            memcpy(val + sl + 1, text, tl + 1);
            wp_lru_put(dom->credcache, key, (size_t)kl, val, vl, gen, mono_s());
            OPENSSL_cleanse(val, vl);
            free(val);
        }
        /* json-c keeps the text it made in the object: not the private key's place to linger
         * (it is made again on the next serialisation) */
        if (text) OPENSSL_cleanse((char *)text, tl);
    }
    return wp_plugin_ok();
}

wp_status wp_host_pass_link_token(wp_plugin *p, const char *account_id, const char *pass_id, char *out, size_t len)
{
    if (out && len) out[0] = '\0';
    if (!p || !account_id || !pass_id || !out || len == 0)
        return wp_plugin_failf(WP_EINVAL, "pass_link_token: account_id, pass_id and out are required");
    if (len < WP_PASS_LINK_TOKEN_LEN + 1)
        return wp_plugin_failf(WP_EINVAL, "pass_link_token: out must hold at least %d bytes", WP_PASS_LINK_TOKEN_LEN + 1);
    wp_domain *dom = p->set->env.domain;
    if (!dom) return wp_plugin_failf(WP_EUNAVAIL, "pass_link_token: passes are not available in this process");
    char tok[WP_PASS_LINK_TOKEN_LEN + 1];
    wp_status st = wp_pass_link_token(dom, account_id, pass_id, tok);
    if (st != WP_OK) return wp_plugin_failf(st, "pass_link_token: %s", wp_status_str(st));
    snprintf(out, len, "%s", tok);
    OPENSSL_cleanse(tok, sizeof tok);
    return wp_plugin_ok();
}

/* Checks a capability of `purpose` (the vault's) for pass_id.  It names no
 * account: the pass service finds the owner (wp_pass_cap_owner). */
static wp_status pass_verify(wp_plugin *p, const char *purpose, const char *pass_id, const char *token,
                             char *account_out, size_t account_len)
{
    if (account_out && account_len) account_out[0] = '\0';
    if (!p || !pass_id || !token || !*token || strlen(token) > 256 || strlen(pass_id) > 64)
        return wp_plugin_failf(WP_ENOTFOUND, "no such pass or capability");
    wp_domain *dom = p->set->env.domain;
    if (!dom || !dom->db) return wp_plugin_failf(WP_EUNAVAIL, "capability check: passes are not available in this process");
    wp_err e;
    wp_err_clear(&e);
    wp_status st = wp_pass_cap_owner(dom, purpose, pass_id, token, account_out, account_len, &e);
    if (st == WP_ENOTFOUND) return wp_plugin_failf(WP_ENOTFOUND, "no such pass or capability");
    return st == WP_OK ? wp_plugin_ok() : wp_plugin_fail(st, &e);
}

wp_status wp_host_pass_link_verify(wp_plugin *p, const char *pass_id, const char *token, char *account_out,
                                    size_t account_len)
{
    return pass_verify(p, WP_PASS_LINK_PURPOSE, pass_id, token, account_out, account_len);
}

wp_status wp_host_req_api_key(wp_req *req)
{
    const char *h = req ? wp_req_header(req, "Authorization") : NULL;
    if (!h || !*h) return wp_plugin_failf(WP_ENOTFOUND, "no Authorization header");
    if (req->env->auth_bearer && req->env->auth_bearer(req)) return wp_plugin_ok();
    return wp_plugin_failf(WP_EAUTH, "the API key was refused (the response was sent)");
}

/* ---- ABI 1.3 ------------------------------------------------------------ */

/* purpose: 1..128 of [A-Za-z0-9._/-]; the associated data names account, plugin and purpose. */
static wp_status vault_aad(wp_plugin *p, const char *fn, const char *account_id, const char *purpose, char *aad,
                           size_t len)
{
    size_t n = purpose ? strlen(purpose) : 0;
    if (!account_id || !*account_id || n == 0 || n > 128 || strspn(purpose, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                                      "abcdefghijklmnopqrstuvwxyz0123456789._/-") != n)
        return wp_plugin_failf(WP_EINVAL, "%s: account_id and a purpose of 1..128 characters [A-Za-z0-9._/-] are required",
                          fn);
    snprintf(aad, len, "%s/%s/%s", account_id, p->name, purpose);
    return WP_OK;
}

wp_status wp_host_vault_seal(wp_plugin *p, const char *account_id, const char *purpose, const void *plain,
                              size_t len, char *out, size_t out_len)
{
    if (out && out_len) out[0] = '\0';
    if (!p || (!plain && len) || !out || out_len == 0)
        return wp_plugin_failf(WP_EINVAL, "vault_seal: plain and out are required");
    char aad[320];
    wp_status st = vault_aad(p, "vault_seal", account_id, purpose, aad, sizeof aad);
    if (st != WP_OK) return st;
    wp_domain *dom = p->set->env.domain;
    if (!dom || !dom->vault) return wp_plugin_failf(WP_EUNAVAIL, "vault_seal: the vault is not available in this process");
    wp_err e;
    wp_err_clear(&e);
    char *sealed = NULL;
    if ((st = wp_vault_seal(dom->vault, aad, plain ? plain : "", len, &sealed, &e)) != WP_OK) return wp_plugin_fail(st, &e);
    size_t n = strlen(sealed);
    if (n + 1 > out_len) {
        free(sealed);
        return wp_plugin_failf(WP_ETOOLARGE, "vault_seal: out holds %zu bytes, the sealed value needs %zu", out_len, n + 1);
    }
    memcpy(out, sealed, n + 1);
    free(sealed);
    return wp_plugin_ok();
}

wp_status wp_host_vault_open(wp_plugin *p, const char *account_id, const char *purpose, const char *sealed,
                              void *out, size_t out_cap, size_t *out_len)
{
    if (out_len) *out_len = 0;
    if (!p || !sealed || (!out && out_cap) || !out_len)
        return wp_plugin_failf(WP_EINVAL, "vault_open: sealed, out and out_len are required");
    char aad[320];
    wp_status st = vault_aad(p, "vault_open", account_id, purpose, aad, sizeof aad);
    if (st != WP_OK) return st;
    wp_domain *dom = p->set->env.domain;
    if (!dom || !dom->vault) return wp_plugin_failf(WP_EUNAVAIL, "vault_open: the vault is not available in this process");
    wp_err e;
    wp_err_clear(&e);
    unsigned char *plain = NULL;
    size_t n = 0;
    if ((st = wp_vault_open(dom->vault, aad, sealed, &plain, &n, &e)) != WP_OK) return wp_plugin_fail(st, &e);
    if (n > out_cap) {
        wp_vault_free_plain(plain, n);
        return wp_plugin_failf(WP_ETOOLARGE, "vault_open: out holds %zu bytes, the value has %zu", out_cap, n);
    }
    if (n) memcpy(out, plain, n);
    *out_len = n;
    wp_vault_free_plain(plain, n);
    return wp_plugin_ok();
}

/* ---- ABI 1.4 ------------------------------------------------------------ */

/* The vault purpose of a plugin's capability: "pass-cap/<plugin>/<purpose>". */
static wp_status cap_purpose(wp_plugin *p, const char *fn, const char *purpose, char *out, size_t len)
{
    size_t n = purpose ? strlen(purpose) : 0;
    if (n == 0 || n > 64 || strspn(purpose, "abcdefghijklmnopqrstuvwxyz0123456789._-") != n)
        return wp_plugin_failf(WP_EINVAL, "%s: purpose must be 1..64 characters of [a-z0-9._-]", fn);
    snprintf(out, len, "pass-cap/%s/%s", p->name, purpose);
    return WP_OK;
}

wp_status wp_host_pass_cap_token(wp_plugin *p, const char *purpose, const char *account_id, const char *pass_id,
                                  char *out, size_t len)
{
    if (out && len) out[0] = '\0';
    if (!p || !account_id || !pass_id || !out || len == 0)
        return wp_plugin_failf(WP_EINVAL, "pass_cap_token: account_id, pass_id and out are required");
    if (len < WP_PASS_LINK_TOKEN_LEN + 1)
        return wp_plugin_failf(WP_EINVAL, "pass_cap_token: out must hold at least %d bytes", WP_PASS_LINK_TOKEN_LEN + 1);
    char full[160];
    wp_status st = cap_purpose(p, "pass_cap_token", purpose, full, sizeof full);
    if (st != WP_OK) return st;
    wp_domain *dom = p->set->env.domain;
    if (!dom || !dom->vault) return wp_plugin_failf(WP_EUNAVAIL, "pass_cap_token: passes are not available in this process");
    char tok[WP_PASS_LINK_TOKEN_LEN + 1];
    if ((st = wp_pass_cap_token(dom, full, account_id, pass_id, tok)) != WP_OK)
        return wp_plugin_failf(st, "pass_cap_token: %s", wp_status_str(st));
    snprintf(out, len, "%s", tok);
    OPENSSL_cleanse(tok, sizeof tok);
    return wp_plugin_ok();
}

wp_status wp_host_pass_cap_verify(wp_plugin *p, const char *purpose, const char *pass_id, const char *token,
                                   char *account_out, size_t account_len)
{
    if (account_out && account_len) account_out[0] = '\0';
    char full[160];
    if (!p) return wp_plugin_failf(WP_ENOTFOUND, "no such pass or capability");
    wp_status st = cap_purpose(p, "pass_cap_verify", purpose, full, sizeof full);
    if (st != WP_OK) return st;
    return pass_verify(p, full, pass_id, token, account_out, account_len);
}

/* ---- ABI 1.5 ------------------------------------------------------------ */

/* The request's connection (its transaction), or NULL for a pooled one. */
static wp_status secret_conn(wp_req *req, PGconn **conn)
{
    *conn = NULL;
    if (!req) return WP_OK;
    wp_err e;
    wp_err_clear(&e);
    if (!(*conn = wp_plugin_req_conn(req, &e))) return wp_plugin_fail(e.status, &e);
    return WP_OK;
}

/* Maps the passes module's errors onto the ABI's: a value that does not open is unavailable, not a bug. */
static wp_status secret_fail(wp_status st, const wp_err *e)
{
    return wp_plugin_fail(st == WP_ECRYPTO ? WP_EUNAVAIL : st, e);
}

wp_status wp_host_pass_secret_get(wp_plugin *p, wp_req *req, const char *account_id, const char *pass_id,
                                   const char *name, uint32_t flags, char *out, size_t out_cap, size_t *out_len)
{
    if (out && out_cap) out[0] = '\0';
    if (out_len) *out_len = 0;
    if (!p || !out || out_cap == 0) return wp_plugin_failf(WP_EINVAL, "pass_secret_get: out is required");
    wp_domain *dom = p->set->env.domain;
    if (!dom || !dom->db || !dom->vault)
        return wp_plugin_failf(WP_EUNAVAIL, "pass_secret_get: passes are not available in this process");
    PGconn *c;
    wp_status st = secret_conn(req, &c);
    if (st != WP_OK) return st;
    wp_err e;
    wp_err_clear(&e);
    char *v = NULL;
    size_t n = 0;
    st = wp_pass_secret_get(dom, c, account_id, pass_id, p->name, name, (flags & WP_PASS_SECRET_MINT) != 0, &v, &n, &e);
    if (st != WP_OK) return secret_fail(st, &e);
    if (n + 1 > out_cap) {
        wp_pass_secret_free(v, n);
        return wp_plugin_failf(WP_ETOOLARGE, "pass_secret_get: out holds %zu bytes, the secret needs %zu", out_cap, n + 1);
    }
    memcpy(out, v, n + 1);
    if (out_len) *out_len = n;
    wp_pass_secret_free(v, n);
    return wp_plugin_ok();
}

wp_status wp_host_pass_secret_put(wp_plugin *p, wp_req *req, const char *account_id, const char *pass_id,
                                   const char *name, const char *value, size_t len)
{
    if (!p) return wp_plugin_failf(WP_EINVAL, "pass_secret_put: self is required");
    wp_domain *dom = p->set->env.domain;
    if (!dom || !dom->db || !dom->vault)
        return wp_plugin_failf(WP_EUNAVAIL, "pass_secret_put: passes are not available in this process");
    PGconn *c;
    wp_status st = secret_conn(req, &c);
    if (st != WP_OK) return st;
    wp_err e;
    wp_err_clear(&e);
    st = wp_pass_secret_put(dom, c, account_id, pass_id, p->name, name, value, len, &e);
    return st == WP_OK ? wp_plugin_ok() : secret_fail(st, &e);
}

/* The secret cache's key: plugin, name, serial and the SHA-256 of the secret (never the secret). */
static int secret_key(const char *plugin, const char *name, const char *serial, const char *secret, char *out,
                      size_t len)
{
    unsigned char md[32];
    if (wp_sha256(secret, strlen(secret), md) != WP_OK) return -1; /* not kept, then */
    int n = snprintf(out, len, "%s\n%s\n%s\n", plugin, name, serial);
    if (n < 0 || (size_t)n + 2 * sizeof md >= len) return -1;
    wp_hex(md, sizeof md, out + n);
    OPENSSL_cleanse(md, sizeof md);
    return n + 2 * (int)sizeof md;
}

/* wp_pass_load, from the pass rows (passcache.h) when in a request: the stamped read */
static wp_status load_for_request(wp_domain *dom, const char *account, const char *pass_id, json_object **doc,
                                  wp_err *e)
{
    return dom->credcache && wp_cred_memo_current() ? wp_pass_load_stamped(dom, account, pass_id, doc, e)
                                                    : wp_pass_load(dom, NULL, account, pass_id, doc, e);
}

/* The pass of doc (wp_pass_load's) still carries serial: a pass whose serial changed is not
 * found under its old one, and one gone answers like an unknown one. */
static int serial_is(json_object *doc, const char *serial)
{
    json_object *pass, *sn;
    return json_object_object_get_ex(doc, "pass", &pass) && json_object_object_get_ex(pass, "serial_number", &sn) &&
           json_object_is_type(sn, json_type_string) && strcmp(json_object_get_string(sn), serial) == 0;
}

/*
 * Which pass a (serial, secret) names does not change: a secret is written
 * once with its pass.  So the answer is kept (dom->secretcache, keyed by the
 * secret's hash) and, when found again, the pass itself is read as any
 * request reads it (from memory while the fence allows, passcache.h), which
 * tells whether it still exists under that serial.
 */
wp_status wp_host_pass_secret_find(wp_plugin *p, const char *name, const char *serial_number, const char *secret,
                                    json_object **out)
{
    if (out) *out = NULL;
    if (!p || !out) return wp_plugin_failf(WP_EINVAL, "pass_secret_find: out is required");
    wp_domain *dom = p->set->env.domain;
    if (!dom || !dom->db || !dom->vault)
        return wp_plugin_failf(WP_EUNAVAIL, "pass_secret_find: passes are not available in this process");
    wp_err e;
    wp_err_clear(&e);
    char account[64], pass_id[64], key[400], val[130];
    int kl = dom->secretcache && name && serial_number && secret
                 ? secret_key(p->name, name, serial_number, secret, key, sizeof key)
                 : -1;
    size_t vl = 0;
    json_object *doc = NULL;
    wp_status st;
    if (kl > 0 && wp_lru_get(dom->secretcache, key, (size_t)kl, mono_s(), -1, val, sizeof val - 1, &vl) &&
        vl < sizeof val) {
        val[vl] = '\0';
        char *nl = strchr(val, '\n');
        if (nl && (size_t)(nl - val) < sizeof account && strlen(nl + 1) < sizeof pass_id) {
            memcpy(account, val, (size_t)(nl - val));
            account[nl - val] = '\0';
            memcpy(pass_id, nl + 1, strlen(nl + 1) + 1);
            st = load_for_request(dom, account, pass_id, &doc, &e);
            if (st == WP_OK && serial_is(doc, serial_number)) return pass_shape(doc, account, out);
            json_object_put(doc);
            doc = NULL;
            wp_err_clear(&e);
            if (st == WP_ENOTFOUND || st == WP_OK) wp_lru_remove(dom->secretcache, key, (size_t)kl);
        }
    }
    st = wp_pass_secret_find(dom, NULL, p->name, name, serial_number, secret, account, sizeof account, pass_id,
                             sizeof pass_id, &e);
    if (st == WP_EAUTH) return wp_plugin_failf(WP_EAUTH, "no such pass, or not its secret");
    if (st != WP_OK) return secret_fail(st, &e);
    wp_err_clear(&e);
    /* found a moment ago; a pass gone since answers as an unknown one */
    if ((st = load_for_request(dom, account, pass_id, &doc, &e)) == WP_ENOTFOUND)
        return wp_plugin_failf(WP_EAUTH, "no such pass, or not its secret");
    if (st != WP_OK) return secret_fail(st, &e);
    if (kl > 0) {
        int n = snprintf(val, sizeof val, "%s\n%s", account, pass_id);
        if (n > 0 && (size_t)n < sizeof val)
            wp_lru_put(dom->secretcache, key, (size_t)kl, val, (size_t)n, wp_lru_generation(dom->secretcache), mono_s());
    }
    return pass_shape(doc, account, out);
}
