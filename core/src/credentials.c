/*
 * credentials.c - see credentials.h.  Checking lives in credcheck.c; this
 * file seals, stores, answers and opens.
 */
#include "credentials.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "credcheck.h"
#include "server.h"

static const char *const no_query[] = {NULL};

/* apple.wwdr_ca_file's contents: read once by wp_credentials_routes, before
 * any request; read-only afterwards, kept for the life of the process. */
static char *apple_trust_pem;

static wp_status load_trust(const char *path, wp_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return wp_err_param(err, WP_ECONFIG, "apple.wwdr_ca_file", "apple.wwdr_ca_file %s: %s", path, strerror(errno));
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap + 1);
    if (buf) n = fread(buf, 1, cap + 1, f);
    fclose(f);
    if (!buf) return wp_err_set(err, WP_ENOMEM, "out of memory");
    if (n > cap) {
        free(buf);
        return wp_err_param(err, WP_ECONFIG, "apple.wwdr_ca_file", "apple.wwdr_ca_file %s: larger than 1 MiB", path);
    }
    buf[n] = '\0';
    char what[600];
    snprintf(what, sizeof what, "apple.wwdr_ca_file %s", path);
    int count = 0;
    wp_status st = wp_credcheck_trust_pem(buf, what, &count, err);
    if (st != WP_OK) {
        if (err) snprintf(err->param, sizeof err->param, "apple.wwdr_ca_file");
        free(buf);
        return st;
    }
    free(apple_trust_pem);
    apple_trust_pem = buf;
    return WP_OK;
}

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

static void aad_for(char *buf, size_t len, const char *account_id, const char *platform)
{
    snprintf(buf, len, "%s/credentials/%s", account_id, platform);
}

static const char *display_name(const char *platform)
{
    return strcmp(platform, "apple") == 0 ? "Apple" : "Google";
}

/* {"object": "credentials", "platform", ...meta, "created_at", "updated_at"}; meta borrowed. */
static json_object *view(const char *platform, json_object *meta, const char *created, const char *updated)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "object", json_object_new_string("credentials"));
    json_object_object_add(o, "platform", json_object_new_string(platform));
    json_object_object_foreach(meta, k, v) json_object_object_add(o, k, json_object_get(v));
    json_object_object_add(o, "created_at", json_object_new_string(created));
    json_object_object_add(o, "updated_at", json_object_new_string(updated));
    return o;
}

/* Common prologue: no-store, no query parameters. */
static bool begin(wp_req *req)
{
    wp_resp_header(req, "Cache-Control", "no-store");
    wp_err err;
    wp_err_clear(&err);
    if (wp_req_query_check(req, no_query, &err) != WP_OK) {
        wp_resp_from_err(req, &err);
        return false;
    }
    return true;
}

static void not_found(wp_req *req, const char *platform)
{
    wp_resp_error(req, 404, "invalid_request_error", "resource_missing", NULL,
                  "no %s credentials are stored for this account; upload them with PUT /api/v1/credentials/%s",
                  display_name(platform), platform);
}

static void put_credentials(wp_req *req, void *ud)
{
    const char *platform = ud;
    if (!begin(req)) return;
    wp_err err;
    wp_err_clear(&err);
    json_object *body = NULL, *secret = NULL, *meta = NULL;
    if (wp_req_json(req, &body, &err) != WP_OK) {
        wp_resp_from_err(req, &err);
        return;
    }
    /* The raw body holds the password or key in clear: it is not needed again. */
    if (req->body) OPENSSL_cleanse(req->body, req->body_len);
    wp_credcheck_apple_opts opts = {.require_apple_wwdr = req->srv->cfg->apple_require_wwdr,
                                    .trusted_pem = apple_trust_pem};
    wp_status st = strcmp(platform, "apple") == 0 ? wp_credcheck_apple(body, time(NULL), &opts, &secret, &meta, &err)
                                                  : wp_credcheck_google(body, &secret, &meta, &err);
    wp_credcheck_wipe_put(body);
    if (st != WP_OK) {
        wp_resp_from_err(req, &err);
        return;
    }
    char aad[160];
    aad_for(aad, sizeof aad, req->account_id, platform);
    char *plain = (char *)json_object_to_json_string_ext(secret, JSON_C_TO_STRING_PLAIN);
    char *sealed = NULL;
    st = plain ? wp_vault_seal(req->srv->vault, aad, plain, strlen(plain), &sealed, &err)
               : wp_err_set(&err, WP_ENOMEM, "out of memory");
    if (plain) OPENSSL_cleanse(plain, strlen(plain)); /* json-c's buffer, freed with the object */
    wp_credcheck_wipe_put(secret);
    if (st != WP_OK) {
        json_object_put(meta);
        wp_resp_from_err(req, &err);
        return;
    }
    PGconn *db = wp_req_db(req, &err);
    PGresult *r = NULL;
    if (db) {
        char kv[16];
        snprintf(kv, sizeof kv, "%d", wp_vault_key_version(req->srv->vault));
        const char *params[] = {req->account_id, platform, sealed, kv,
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
        wp_resp_from_err(req, &err);
        return;
    }
    json_object *o = view(platform, meta, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
    PQclear(r);
    json_object_put(meta);
    wp_resp_json(req, 200, o);
    json_object_put(o);
}

static void get_credentials(wp_req *req, void *ud)
{
    const char *platform = ud;
    if (!begin(req)) return;
    wp_err err;
    wp_err_clear(&err);
    PGconn *db = wp_req_db(req, &err);
    PGresult *r;
    const char *params[] = {req->account_id, platform};
    if (!db || wp_db_query(db,
                           "SELECT meta::text, " TS("created_at") ", " TS("updated_at")
                           " FROM credentials WHERE account_id = $1 AND platform = $2",
                           2, params, &r, &err) != WP_OK) {
        wp_resp_from_err(req, &err);
        return;
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        not_found(req, platform);
        return;
    }
    json_object *meta = json_tokener_parse(PQgetvalue(r, 0, 0));
    if (!meta || !json_object_is_type(meta, json_type_object)) {
        json_object_put(meta);
        PQclear(r);
        wp_err_set(&err, WP_EINTERNAL, "credentials.meta of %s/%s is not a JSON object", req->account_id, platform);
        wp_resp_from_err(req, &err);
        return;
    }
    json_object *o = view(platform, meta, PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2));
    json_object_put(meta);
    PQclear(r);
    wp_resp_json(req, 200, o);
    json_object_put(o);
}

static void delete_credentials(wp_req *req, void *ud)
{
    const char *platform = ud;
    if (!begin(req)) return;
    wp_err err;
    wp_err_clear(&err);
    PGconn *db = wp_req_db(req, &err);
    PGresult *r;
    const char *params[] = {req->account_id, platform};
    if (!db || wp_db_query(db, "DELETE FROM credentials WHERE account_id = $1 AND platform = $2 RETURNING 1", 2,
                           params, &r, &err) != WP_OK) {
        wp_resp_from_err(req, &err);
        return;
    }
    int n = PQntuples(r);
    PQclear(r);
    if (n != 1) {
        not_found(req, platform);
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "object", json_object_new_string("credentials"));
    json_object_object_add(o, "platform", json_object_new_string(platform));
    json_object_object_add(o, "deleted", json_object_new_boolean(1));
    wp_resp_json(req, 200, o);
    json_object_put(o);
}

wp_status wp_credentials_routes(wp_server *srv, wp_err *err)
{
    static const char *const platforms[] = {"apple", "google"};
    if (srv->cfg->apple_wwdr_ca_file) {
        wp_status st = load_trust(srv->cfg->apple_wwdr_ca_file, err);
        if (st != WP_OK) return st;
    }
    for (size_t i = 0; i < 2; i++) {
        char path[64];
        snprintf(path, sizeof path, "/api/v1/credentials/%s", platforms[i]);
        void *ud = (void *)platforms[i];
        wp_status st;
        if ((st = wp_router_add(srv->router, "PUT", path, WP_AUTH_API_KEY, put_credentials, ud, "core", err)) ||
            (st = wp_router_add(srv->router, "GET", path, WP_AUTH_API_KEY, get_credentials, ud, "core", err)) ||
            (st = wp_router_add(srv->router, "DELETE", path, WP_AUTH_API_KEY, delete_credentials, ud, "core", err)))
            return st;
    }
    return WP_OK;
}

wp_status wp_credentials_read(wp_vault *vault, PGconn *db, const char *account_id, const char *platform,
                              json_object **out, wp_err *err)
{
    *out = NULL;
    if (!account_id || !platform || (strcmp(platform, "apple") != 0 && strcmp(platform, "google") != 0))
        return wp_err_set(err, WP_ENOTFOUND, "no credential named \"%s\" (the vault holds \"apple\" and \"google\")",
                          platform ? platform : "(null)");
    const char *params[] = {account_id, platform};
    PGresult *r;
    wp_status st = wp_db_query(db, "SELECT sealed FROM credentials WHERE account_id = $1 AND platform = $2", 2,
                               params, &r, err);
    if (st != WP_OK) return st;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return wp_err_set(err, WP_ENOTFOUND, "account %s has no %s credentials (PUT /api/v1/credentials/%s)",
                          account_id, display_name(platform), platform);
    }
    char aad[160];
    aad_for(aad, sizeof aad, account_id, platform);
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
        wp_credcheck_wipe_put(o);
        return wp_err_set(err, WP_EINTERNAL, "the stored %s credentials of account %s do not decode",
                          display_name(platform), account_id);
    }
    *out = o;
    return WP_OK;
}

wp_status wp_credentials_read_pool(wp_vault *vault, wp_db *pool, const char *account_id, const char *platform,
                                   json_object **out, wp_err *err)
{
    *out = NULL;
    PGconn *c = wp_db_acquire(pool, err);
    if (!c) return err ? err->status : WP_EUNAVAIL;
    wp_status st = wp_credentials_read(vault, c, account_id, platform, out, err);
    wp_db_release(pool, c);
    return st;
}
