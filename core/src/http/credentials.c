/*
 * credentials.c - see credentials.h.  Checking is the kind's (its plugin's);
 * this file parses, seals, stores, answers and opens.
 */
#include "credentials.h"
#include "credmemo.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handler.h"
#include "http.h"
#include "json_strict.h"

/* Meta keys a kind may not use: the view's own. */
static const char *const reserved_meta[] = {"object", "platform", "created_at", "updated_at", "deleted", NULL};

bool wp_credentials_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > 32 || name[0] < 'a' || name[0] > 'z') return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
    }
    return true;
}

void wp_credentials_kind_free(wp_cred_kind *k)
{
    if (!k) return;
    for (char **f = k->long_fields; f && *f; f++) free(*f);
    free(k->long_fields);
    free(k);
}

wp_status wp_credentials_kind_new(const wp_credential_kind *kind, wp_cred_kind **out, wp_err *err)
{
    *out = NULL;
    /* Fields past the caller's size are absent (an older plugin): read nothing beyond it. */
    size_t have = kind ? kind->size : 0;
#define HAS(f) (have >= offsetof(wp_credential_kind_v1, f) + sizeof kind->f)
    if (!kind || !HAS(validate))
        return wp_err_set(err, WP_EINVAL, "credential kind: pass a wp_credential_kind made with "
                          "WP_CREDENTIAL_KIND_INIT (its size is %u bytes)", kind ? kind->size : 0u);
    if (!wp_credentials_name_ok(kind->name))
        return wp_err_set(err, WP_EINVAL, "credential kind \"%s\": the name must be 1 to 32 characters of a-z, 0-9, "
                          "'_' and '-', starting with a letter", kind->name ? kind->name : "(null)");
    if (!kind->validate)
        return wp_err_set(err, WP_EINVAL, "credential kind \"%s\": validate is required", kind->name);
    const char *display = HAS(display_name) && kind->display_name && *kind->display_name ? kind->display_name
                                                                                          : kind->name;
    if (strlen(display) >= sizeof((wp_cred_kind *)0)->display)
        return wp_err_set(err, WP_EINVAL, "credential kind \"%s\": display_name is longer than 64 characters",
                          kind->name);
    wp_cred_kind *k = calloc(1, sizeof *k);
    if (!k) return wp_err_set(err, WP_ENOMEM, "out of memory");
    snprintf(k->name, sizeof k->name, "%s", kind->name);
    snprintf(k->display, sizeof k->display, "%s", display);
    k->validate = kind->validate;
    k->ud = HAS(ud) ? kind->ud : NULL;
    const char *const *lf = HAS(long_fields) ? kind->long_fields : NULL;
#undef HAS
    size_t n = 0;
    while (lf && lf[n]) n++;
    if (n) {
        if (!(k->long_fields = calloc(n + 1, sizeof *k->long_fields))) {
            wp_credentials_kind_free(k);
            return wp_err_set(err, WP_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < n; i++)
            if (!(k->long_fields[i] = strdup(lf[i]))) {
                wp_credentials_kind_free(k);
                return wp_err_set(err, WP_ENOMEM, "out of memory");
            }
    }
    *out = k;
    return WP_OK;
}

static void wipe(json_object *obj)
{
    if (json_object_is_type(obj, json_type_string)) {
        /* json-c keeps the bytes in the object: overwrite them before it frees them */
        OPENSSL_cleanse((char *)json_object_get_string(obj), (size_t)json_object_get_string_len(obj));
    } else if (json_object_is_type(obj, json_type_object)) {
        json_object_object_foreach(obj, k, v) {
            (void)k;
            if (v) wipe(v);
        }
    } else if (json_object_is_type(obj, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(obj); i++) {
            json_object *v = json_object_array_get_idx(obj, i);
            if (v) wipe(v);
        }
    }
}

void wp_credentials_wipe_put(json_object *obj)
{
    if (!obj) return;
    wipe(obj);
    json_object_put(obj);
}

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

static void aad_for(char *buf, size_t len, const char *account_id, const char *name)
{
    snprintf(buf, len, "%s/credentials/%s", account_id, name);
}

static bool reserved(const char *key)
{
    for (const char *const *r = reserved_meta; *r; r++)
        if (strcmp(*r, key) == 0) return true;
    return false;
}

/* {"object": "credentials", "platform", ...meta, "created_at", "updated_at"}; meta borrowed. */
static json_object *view(const char *name, json_object *meta, const char *created, const char *updated)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "object", json_object_new_string("credentials"));
    json_object_object_add(o, "platform", json_object_new_string(name));
    json_object_object_foreach(meta, k, v) if (!reserved(k)) json_object_object_add(o, k, json_object_get(v));
    json_object_object_add(o, "created_at", json_object_new_string(created));
    json_object_object_add(o, "updated_at", json_object_new_string(updated));
    return o;
}

/* Common prologue: no-store (the answers describe secrets), no query parameters. */
static bool begin(wp_req *req)
{
    wp_resp_header(req, "Cache-Control", "no-store");
    return wp_handler_begin(req, NULL, NULL, NULL);
}

static void not_found(wp_req *req, const wp_cred_kind *k)
{
    wp_resp_error(req, 404, "invalid_request_error", "resource_missing", NULL,
                  "no %s credentials are stored for this account; upload them with PUT /api/v1/credentials/%s",
                  k->display, k->name);
}

/* The body as strict JSON, the kind's long fields allowed the long-string limit. */
static wp_status parse_body(wp_req *req, const wp_cred_kind *k, json_object **out, wp_err *err)
{
    *out = NULL;
    wp_status st = wp_http_check_json_type(wp_req_header(req, "Content-Type"), err);
    if (st != WP_OK) return st;
    const char *data;
    size_t len;
    if ((st = wp_req_body(req, &data, &len, err)) != WP_OK) return st;
    if (len == 0) return wp_err_param(err, WP_EINVAL, "body", "request body is empty; a JSON object is expected");
    wp_json_limits lim = req->env->json_limits;
    lim.long_prefixes = (const char *const *)k->long_fields;
    return wp_json_parse_strict(data, len, &lim, out, err);
}

/* Runs the kind's check; on WP_OK *secret and *meta are objects the caller owns. */
static wp_status check(wp_req *req, const wp_cred_kind *k, json_object *body, json_object **secret, json_object **meta,
                       wp_err *err)
{
    *secret = *meta = NULL;
    wp_err_clear(err);
    wp_status st = k->validate(k->ud, req, body, secret, meta, err);
    if (st == WP_OK && json_object_is_type(*secret, json_type_object) && json_object_is_type(*meta, json_type_object))
        return WP_OK;
    wp_credentials_wipe_put(*secret);
    json_object_put(*meta);
    *secret = *meta = NULL;
    if (st == WP_OK)
        return wp_err_set(err, WP_EINTERNAL, "the check of %s credentials returned no secret or metadata object",
                          k->display);
    if (err->status == WP_OK || !err->msg[0]) {
        /* the check refused without saying why: say at least what */
        wp_err_set(err, st, "%s credentials refused: %s", k->display, wp_status_str(st));
    }
    err->status = st;
    return st;
}

static void put_credentials(wp_req *req, void *ud)
{
    const wp_cred_kind *k = ud;
    if (!begin(req)) return;
    wp_err err;
    wp_err_clear(&err);
    json_object *body = NULL, *secret = NULL, *meta = NULL;
    if (parse_body(req, k, &body, &err) != WP_OK) {
        wp_handler_fail(req, &err);
        return;
    }
    /* The raw body holds passwords or keys in clear: it is not needed again. */
    if (req->body) OPENSSL_cleanse(req->body, req->body_len);
    if (!json_object_is_type(body, json_type_object)) {
        wp_credentials_wipe_put(body);
        wp_err_param(&err, WP_EINVAL, "body", "the body must be a JSON object");
        wp_handler_fail(req, &err);
        return;
    }
    wp_status st = check(req, k, body, &secret, &meta, &err);
    wp_credentials_wipe_put(body);
    if (st != WP_OK) {
        wp_handler_fail(req, &err);
        return;
    }
    char aad[160];
    aad_for(aad, sizeof aad, req->account_id, k->name);
    char *plain = (char *)json_object_to_json_string_ext(secret, JSON_C_TO_STRING_PLAIN);
    char *sealed = NULL;
    st = !k->vault ? wp_err_set(&err, WP_EUNAVAIL, "credentials cannot be stored in this process: it has no vault")
         : plain   ? wp_vault_seal(k->vault, aad, plain, strlen(plain), &sealed, &err)
                   : wp_err_set(&err, WP_ENOMEM, "out of memory");
    if (plain) OPENSSL_cleanse(plain, strlen(plain)); /* json-c's buffer, freed with the object */
    wp_credentials_wipe_put(secret);
    if (st != WP_OK) {
        json_object_put(meta);
        wp_handler_fail(req, &err);
        return;
    }
    PGconn *db = wp_req_db(req, &err);
    PGresult *r = NULL;
    if (db) {
        char kv[16];
        snprintf(kv, sizeof kv, "%d", wp_vault_key_version(k->vault));
        const char *params[] = {req->account_id, k->name, sealed, kv,
                                json_object_to_json_string_ext(meta, JSON_C_TO_STRING_PLAIN)};
        st = wp_db_query(db,
                         "INSERT INTO credentials (account_id, platform, sealed, key_version, meta)"
                         " VALUES ($1, $2, $3, $4::int, $5::jsonb)"
                         " ON CONFLICT (account_id, platform) DO UPDATE SET sealed = EXCLUDED.sealed,"
                         "   key_version = EXCLUDED.key_version, meta = EXCLUDED.meta, updated_at = now()"
                         " RETURNING " TS("created_at") ", " TS("updated_at"),
                         5, params, &r, &err);
    } else {
        st = err.status;
    }
    free(sealed);
    if (st != WP_OK) {
        json_object_put(meta);
        wp_handler_fail(req, &err);
        return;
    }
    json_object *o = view(k->name, meta, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
    PQclear(r);
    json_object_put(meta);
    wp_resp_json(req, 200, o);
    json_object_put(o);
}

static void get_credentials(wp_req *req, void *ud)
{
    const wp_cred_kind *k = ud;
    if (!begin(req)) return;
    wp_err err;
    wp_err_clear(&err);
    PGconn *db = wp_req_db(req, &err);
    PGresult *r;
    const char *params[] = {req->account_id, k->name};
    if (!db || wp_db_query(db,
                           "SELECT meta::text, " TS("created_at") ", " TS("updated_at")
                           " FROM credentials WHERE account_id = $1 AND platform = $2",
                           2, params, &r, &err) != WP_OK) {
        wp_handler_fail(req, &err);
        return;
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        not_found(req, k);
        return;
    }
    json_object *meta = json_tokener_parse(PQgetvalue(r, 0, 0));
    if (!meta || !json_object_is_type(meta, json_type_object)) {
        json_object_put(meta);
        PQclear(r);
        wp_err_set(&err, WP_EINTERNAL, "credentials.meta of %s/%s is not a JSON object", req->account_id, k->name);
        wp_handler_fail(req, &err);
        return;
    }
    json_object *o = view(k->name, meta, PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2));
    json_object_put(meta);
    PQclear(r);
    wp_resp_json(req, 200, o);
    json_object_put(o);
}

static void delete_credentials(wp_req *req, void *ud)
{
    const wp_cred_kind *k = ud;
    if (!begin(req)) return;
    wp_err err;
    wp_err_clear(&err);
    PGconn *db = wp_req_db(req, &err);
    PGresult *r;
    const char *params[] = {req->account_id, k->name};
    if (!db || wp_db_query(db, "DELETE FROM credentials WHERE account_id = $1 AND platform = $2 RETURNING 1", 2,
                           params, &r, &err) != WP_OK) {
        wp_handler_fail(req, &err);
        return;
    }
    int n = PQntuples(r);
    PQclear(r);
    if (n != 1) {
        not_found(req, k);
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "object", json_object_new_string("credentials"));
    json_object_object_add(o, "platform", json_object_new_string(k->name));
    json_object_object_add(o, "deleted", json_object_new_boolean(1));
    wp_resp_json(req, 200, o);
    json_object_put(o);
}

wp_status wp_credentials_kind_routes(wp_router *router, wp_vault *vault, wp_cred_kind *k, const char *owner,
                                     wp_err *err)
{
    k->vault = vault;
    char path[64];
    snprintf(path, sizeof path, "/api/v1/credentials/%s", k->name);
    wp_status st;
    if ((st = wp_router_add(router, "PUT", path, WP_AUTH_API_KEY, put_credentials, k, owner, err)) ||
        (st = wp_router_add(router, "GET", path, WP_AUTH_API_KEY, get_credentials, k, owner, err)) ||
        (st = wp_router_add(router, "DELETE", path, WP_AUTH_API_KEY, delete_credentials, k, owner, err)))
        return st;
    return WP_OK;
}

wp_status wp_credentials_read(wp_vault *vault, PGconn *db, const char *account_id, const char *name,
                              json_object **out, wp_err *err)
{
    char stamp[512];
    return wp_credentials_read_stamped(vault, db, account_id, name, out, stamp, sizeof stamp, err);
}

wp_status wp_credentials_read_stamped(wp_vault *vault, PGconn *db, const char *account_id, const char *name,
                                      json_object **out, char *stamp, size_t stamp_len, wp_err *err)
{
    *out = NULL;
    stamp[0] = '\0';
    if (!account_id || !wp_credentials_name_ok(name))
        return wp_err_set(err, WP_ENOTFOUND, "no credential kind named \"%s\" (a kind name is 1 to 32 characters of "
                          "a-z, 0-9, '_' and '-')", name ? name : "(null)");
    const char *params[] = {account_id, name};
    PGresult *r;
    /* A test workspace (tenancy.h) without credentials of its own signs with
     * its live account's, so test passes work like live ones. */
    wp_status st = wp_db_query(db,
                               "SELECT sealed, account_id, " WP_CRED_STAMP_SQL("credentials")
                               " FROM credentials WHERE platform = $2 AND account_id IN"
                               " ($1, (SELECT live_account_id FROM accounts WHERE id = $1))"
                               " ORDER BY account_id = $1 DESC LIMIT 1",
                               2, params, &r, err);
    if (st != WP_OK) return st;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return wp_err_set(err, WP_ENOTFOUND, "account %s has no \"%s\" credentials (PUT /api/v1/credentials/%s)",
                          account_id, name, name);
    }
    if (strlen(PQgetvalue(r, 0, 2)) >= stamp_len) {
        PQclear(r);
        return wp_err_set(err, WP_EINTERNAL, "the stamp of account %s's \"%s\" credentials is too long", account_id, name);
    }
    snprintf(stamp, stamp_len, "%s", PQgetvalue(r, 0, 2));
    char aad[160];
    aad_for(aad, sizeof aad, PQgetvalue(r, 0, 1), name);
    unsigned char *plain = NULL;
    size_t len = 0;
    st = wp_vault_open(vault, aad, PQgetvalue(r, 0, 0), &plain, &len, err);
    PQclear(r);
    if (st != WP_OK) return st;
    json_tokener *tok = json_tokener_new();
    json_object *o = tok ? json_tokener_parse_ex(tok, (const char *)plain, (int)len) : NULL;
    json_tokener_free(tok);
    wp_vault_free_plain(plain, len);
    if (!o || !json_object_is_type(o, json_type_object)) {
        wp_credentials_wipe_put(o);
        return wp_err_set(err, WP_EINTERNAL, "the stored \"%s\" credentials of account %s do not decode", name,
                          account_id);
    }
    *out = o;
    return WP_OK;
}

wp_status wp_credentials_read_pool(wp_vault *vault, wp_db *pool, const char *account_id, const char *name,
                                   json_object **out, wp_err *err)
{
    *out = NULL;
    PGconn *c = wp_db_acquire(pool, err);
    if (!c) return err ? err->status : WP_EUNAVAIL;
    wp_status st = wp_credentials_read(vault, c, account_id, name, out, err);
    wp_db_release(pool, c);
    return st;
}
