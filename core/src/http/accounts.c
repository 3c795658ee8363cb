/*
 * accounts.c - /api/v1/account and /api/v1/api_keys.
 *
 * Every query is scoped by the live account the request acts on
 * (req->live_account_id, tenancy.h); another account's key id answers 404
 * like an id that does not exist.  A key sees only keys of its own mode (live
 * or test); a live key can create test keys, a test key only test keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accounts.h"
#include "apikey.h"
#include "db.h"
#include "handler.h"
#include "http.h"
#include "passcache.h"

static json_object *str_or_null(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : json_object_new_string(PQgetvalue(r, row, col));
}

/* The row GET /account answers from, without what depends on the time it is read (the
 * trial's end is compared, and the month checked, when it is answered), so it may be kept
 * in memory (passcache.h, WP_PASSCACHE_ACCOUNT) until the account or its usage changes. */
#define ACCOUNT_ROW_SQL                                                                                          \
    "SELECT a.id, a.name, a.email, a.plan,"                                                                      \
    " to_char(a.trial_ends_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS trial_ends_at,"         \
    " to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS created_at,"               \
    " to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM') AS period,"                                                   \
    " coalesce((SELECT sum(operations) FROM usage_counter_rows u WHERE u.account_id = a.id"                      \
    "   AND u.period = to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM')), 0) AS operations,"                          \
    " a.parent_account_id, a.allocation,"                                                                        \
    " (extract(epoch FROM a.trial_ends_at) * 1000)::bigint AS trial_ends_ms"                                     \
    " FROM accounts a WHERE a.id = $1"
enum { A_ID, A_NAME, A_EMAIL, A_PLAN, A_TRIAL, A_CREATED, A_PERIOD, A_OPS, A_PARENT, A_ALLOC, A_TRIAL_MS };

static void month_now(char out[16])
{
    time_t t = time(NULL);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, 16, "%Y-%m", &tm) == 0) out[0] = '\0'; /* matches no row: read again */
}

/* The account's row from memory when it is held for this month, else from the database (then kept). */
static wp_status account_row(wp_domain *dom, PGconn *db, const char *account_id, PGresult **out, wp_err *err)
{
    char month[16];
    month_now(month);
    PGresult *r = NULL;
    /* a transaction that may have written reads its own */
    if (PQtransactionStatus(db) == PQTRANS_IDLE && wp_passcache_get(dom, account_id, WP_PASSCACHE_ACCOUNT, &r)) {
        if (PQnfields(r) == A_TRIAL_MS + 1 && strcmp(PQgetvalue(r, 0, A_PERIOD), month) == 0) {
            *out = r;
            return WP_OK;
        }
        PQclear(r); /* kept last month (or by another release): read again */
    }
    uint64_t gen = wp_passcache_generation(dom);
    const char *params[] = {account_id};
    wp_status st = wp_db_query(db, ACCOUNT_ROW_SQL, 1, params, &r, err);
    if (st != WP_OK) return st;
    if (PQntuples(r) == 1 && PQtransactionStatus(db) == PQTRANS_IDLE)
        wp_passcache_put(dom, account_id, WP_PASSCACHE_ACCOUNT, r, gen);
    *out = r;
    return WP_OK;
}

void wp_accounts_forget(wp_domain *dom, const char *account_id)
{
    PGresult *r = NULL;
    char parent[64] = "";
    /* an agency's count holds its sub-accounts' operations */
    if (wp_passcache_get(dom, account_id, WP_PASSCACHE_ACCOUNT, &r) && PQnfields(r) > A_PARENT &&
        !PQgetisnull(r, 0, A_PARENT) && (size_t)PQgetlength(r, 0, A_PARENT) < sizeof parent)
        snprintf(parent, sizeof parent, "%s", PQgetvalue(r, 0, A_PARENT));
    PQclear(r);
    wp_passcache_forget(dom, account_id, WP_PASSCACHE_ACCOUNT);
    if (parent[0]) wp_passcache_forget(dom, parent, WP_PASSCACHE_ACCOUNT);
}

static void get_account(wp_req *req, void *ud)
{
    wp_domain *dom = ud;
    PGconn *db;
    if (!wp_handler_begin(req, NULL, NULL, &db)) return;
    wp_err err;
    wp_err_clear(&err);
    PGresult *r;
    if (account_row(dom, db, req->live_account_id, &r, &err) != WP_OK) {
        wp_handler_fail(req, &err);
        return;
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        wp_resp_error(req, 404, "invalid_request_error", "resource_missing", NULL, "account not found");
        return;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long long now_ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    int trial_active = !PQgetisnull(r, 0, A_TRIAL_MS) && strtoll(PQgetvalue(r, 0, A_TRIAL_MS), NULL, 10) > now_ms;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(PQgetvalue(r, 0, A_ID)));
    json_object_object_add(o, "object", json_object_new_string("account"));
    json_object_object_add(o, "name", json_object_new_string(PQgetvalue(r, 0, A_NAME)));
    json_object_object_add(o, "email", json_object_new_string(PQgetvalue(r, 0, A_EMAIL)));
    const char *plan = PQgetvalue(r, 0, A_PLAN);
    json_object_object_add(o, "plan", json_object_new_string(plan));
    json_object_object_add(o, "trial_ends_at", str_or_null(r, 0, A_TRIAL));
    json_object_object_add(o, "created_at", json_object_new_string(PQgetvalue(r, 0, A_CREATED)));
    json_object_object_add(o, "trial_active", json_object_new_boolean(trial_active));
    json_object_object_add(o, "parent_account_id", str_or_null(r, 0, A_PARENT));
    json_object_object_add(o, "livemode", json_object_new_boolean(req->livemode));
    json_object_object_add(o, "allocation", PQgetisnull(r, 0, A_ALLOC) ? NULL : json_object_new_int64(strtoll(PQgetvalue(r, 0, A_ALLOC), NULL, 10)));
    json_object *usage = json_object_new_object();
    json_object_object_add(usage, "period", json_object_new_string(PQgetvalue(r, 0, A_PERIOD)));
    json_object_object_add(usage, "operations", json_object_new_int64(strtoll(PQgetvalue(r, 0, A_OPS), NULL, 10)));
    json_object *plan_obj, *ops;
    long long limit = -1;
    if (json_object_object_get_ex(dom->cfg->plans, plan, &plan_obj) &&
        json_object_object_get_ex(plan_obj, "operations_per_month", &ops))
        limit = json_object_get_int64(ops);
    /* A sub-account's own limit is its allocation (its agency's plan bounds it too). */
    if (!PQgetisnull(r, 0, A_PARENT)) limit = PQgetisnull(r, 0, A_ALLOC) ? -1 : strtoll(PQgetvalue(r, 0, A_ALLOC), NULL, 10);
    json_object_object_add(usage, "limit", limit < 0 ? NULL : json_object_new_int64(limit));
    json_object_object_add(o, "usage", usage);
    PQclear(r);
    wp_resp_json(req, 200, o);
    json_object_put(o);
}

static json_object *key_json(PGresult *r, int i)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(PQgetvalue(r, i, 0)));
    json_object_object_add(o, "object", json_object_new_string("api_key"));
    json_object_object_add(o, "name", str_or_null(r, i, 1));
    json_object_object_add(o, "prefix", json_object_new_string(PQgetvalue(r, i, 2)));
    json_object_object_add(o, "created_at", json_object_new_string(PQgetvalue(r, i, 3)));
    json_object_object_add(o, "revoked_at", str_or_null(r, i, 4));
    json_object_object_add(o, "livemode", json_object_new_boolean(strcmp(PQgetvalue(r, i, 5), "t") == 0));
    return o;
}

#define KEY_COLS                                                                                    \
    "id, name, prefix, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"  \
    " to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), livemode"

/* Each mode reaches its own keys only, as for every object ($n: the caller's
 * mode); a live key may still create test keys (the way into test mode). */
#define KEY_MODE(n) " AND livemode = $" #n "::boolean"

static const char *mode_param(const wp_req *req) { return req->livemode ? "t" : "f"; }

/* Creates a key of account_id and answers 201 with it (the only time the secret is shown). */
void wp_accounts_respond_new_key(wp_req *req, PGconn *db, const char *account_id, const char *name, int livemode)
{
    wp_err err;
    wp_err_clear(&err);
    wp_apikey_new k;
    if (wp_apikey_create_mode(db, account_id, name, livemode, &k, &err) != WP_OK) {
        wp_handler_fail(req, &err);
        return;
    }
    const char *params[] = {account_id, k.id};
    PGresult *r;
    if (wp_db_query(db, "SELECT " KEY_COLS " FROM api_keys WHERE account_id = $1 AND id = $2", 2, params, &r, &err) !=
        WP_OK) {
        wp_handler_fail(req, &err);
        return;
    }
    json_object *o = key_json(r, 0);
    PQclear(r);
    json_object_object_add(o, "key", json_object_new_string(k.key));
    wp_resp_header(req, "Cache-Control", "no-store");
    wp_resp_json(req, 201, o);
    json_object_put(o);
}

static void create_key(wp_req *req, void *ud)
{
    (void)ud;
    PGconn *db;
    if (!wp_handler_begin(req, NULL, NULL, &db)) return;
    wp_err err;
    wp_err_clear(&err);
    json_object *body = NULL;
    const char *name = NULL;
    int livemode = req->livemode;
    /* The body is optional: an empty POST creates an unnamed key of the caller's mode. */
    if (req->ri->content_length > 0 || wp_req_header(req, "Content-Type")) {
        if (wp_req_json(req, &body, &err) != WP_OK) {
            wp_handler_fail(req, &err);
            return;
        }
        if (!json_object_is_type(body, json_type_object)) {
            json_object_put(body);
            wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", "body", "body must be a JSON object");
            return;
        }
        json_object_object_foreach(body, k, v) {
            if (strcmp(k, "livemode") == 0) {
                if (!json_object_is_type(v, json_type_boolean)) {
                    wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", "livemode",
                                  "livemode must be true (a sk_live_ key) or false (a sk_test_ key)");
                    json_object_put(body);
                    return;
                }
                livemode = json_object_get_boolean(v);
                if (livemode && !req->livemode) {
                    wp_resp_error(req, 403, "invalid_request_error", "livemode_required", "livemode",
                                  "a test key can create test keys only; use a live key");
                    json_object_put(body);
                    return;
                }
                continue;
            }
            if (strcmp(k, "name") != 0) {
                wp_resp_error(req, 400, "invalid_request_error", "parameter_unknown", k, "unknown field \"%s\"", k);
                json_object_put(body);
                return;
            }
            if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) > 100) {
                wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", "name",
                              "name must be a string of at most 100 characters");
                json_object_put(body);
                return;
            }
            name = json_object_get_string(v);
        }
    }
    wp_accounts_respond_new_key(req, db, req->live_account_id, name, livemode);
    json_object_put(body);
}

static void list_keys(wp_req *req, void *ud)
{
    (void)ud;
    static const char *const allowed[] = {"limit", "starting_after", NULL};
    wp_page page;
    PGconn *db;
    if (!wp_handler_page(req, allowed, NULL, NULL, &page, &db)) return;
    wp_err err;
    wp_err_clear(&err);
    char lim[16];
    wp_handler_page_limit(&page, lim);
    const char *params[] = {req->live_account_id, page.after[0] ? page.after : NULL, lim, mode_param(req)};
    PGresult *r;
    if (wp_db_query(db,
                    "SELECT " KEY_COLS " FROM api_keys WHERE account_id = $1 AND ($2::text IS NULL OR id < $2)"
                    KEY_MODE(4) " ORDER BY id DESC LIMIT $3::int",
                    4, params, &r, &err) != WP_OK) {
        wp_handler_fail(req, &err);
        return;
    }
    wp_handler_send_rows(req, r, page.limit, key_json);
    PQclear(r);
}

/* Revokes :id of the caller's account; returns 1 when it existed and was active. */
static int revoke(wp_req *req, PGconn *db, const char *id, wp_err *err)
{
    const char *params[] = {req->live_account_id, id, mode_param(req)};
    PGresult *r;
    if (wp_db_query(db,
                    "UPDATE api_keys SET revoked_at = now() WHERE account_id = $1 AND id = $2 AND revoked_at IS NULL"
                    KEY_MODE(3) " RETURNING id",
                    3, params, &r, err) != WP_OK)
        return -1;
    int n = PQntuples(r);
    PQclear(r);
    return n;
}

static void delete_key(wp_req *req, void *ud)
{
    (void)ud;
    PGconn *db;
    if (!wp_handler_begin(req, NULL, NULL, &db)) return;
    wp_err err;
    wp_err_clear(&err);
    const char *id = wp_req_param(req, "id");
    int n = revoke(req, db, id, &err);
    if (n < 0) {
        wp_handler_fail(req, &err);
        return;
    }
    /* committed (no transaction is open): this process stops taking the key now,
     * the others when the api_keys trigger's NOTIFY reaches them (keycache.h) */
    if (n > 0) wp_keycache_forget_all(req->env->keycache);
    if (n == 0) {
        wp_resp_error(req, 404, "invalid_request_error", "resource_missing", "id", "no active API key %s", id);
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(id));
    json_object_object_add(o, "object", json_object_new_string("api_key"));
    json_object_object_add(o, "revoked", json_object_new_boolean(1));
    wp_resp_json(req, 200, o);
    json_object_put(o);
}

/* Rotation: a new key with the old one's name, the old one revoked, atomically. */
static void rotate_key(wp_req *req, void *ud)
{
    (void)ud;
    PGconn *db;
    if (!wp_handler_begin(req, NULL, NULL, &db)) return;
    wp_err err;
    wp_err_clear(&err);
    const char *id = wp_req_param(req, "id");
    const char *params[] = {req->live_account_id, id, mode_param(req)};
    PGresult *r = NULL;
    if (wp_db_begin(db, &err) != WP_OK ||
        wp_db_query(db, "SELECT name, livemode FROM api_keys WHERE account_id = $1 AND id = $2 AND revoked_at IS NULL"
                    KEY_MODE(3) " FOR UPDATE",
                    3, params, &r, &err) != WP_OK) {
        wp_handler_fail(req, &err);
        return;
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        wp_resp_error(req, 404, "invalid_request_error", "resource_missing", "id", "no active API key %s", id);
        return; /* the open transaction is rolled back when the connection is released */
    }
    char *name = PQgetisnull(r, 0, 0) ? NULL : wp_req_strdup(req, PQgetvalue(r, 0, 0));
    int livemode = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
    PQclear(r);
    if (revoke(req, db, id, &err) < 0) {
        wp_handler_fail(req, &err);
        return;
    }
    wp_apikey_new k;
    if (wp_apikey_create_mode(db, req->live_account_id, name, livemode, &k, &err) != WP_OK ||
        wp_db_commit(db, &err) != WP_OK) {
        wp_handler_fail(req, &err);
        return;
    }
    wp_keycache_forget_all(req->env->keycache); /* after the commit, as in delete_key */
    const char *p2[] = {req->live_account_id, k.id};
    if (wp_db_query(db, "SELECT " KEY_COLS " FROM api_keys WHERE account_id = $1 AND id = $2", 2, p2, &r, &err) != WP_OK) {
        wp_handler_fail(req, &err);
        return;
    }
    json_object *o = key_json(r, 0);
    PQclear(r);
    json_object_object_add(o, "key", json_object_new_string(k.key));
    json_object_object_add(o, "replaces", json_object_new_string(id));
    wp_resp_header(req, "Cache-Control", "no-store");
    wp_resp_json(req, 201, o);
    json_object_put(o);
}

wp_status wp_accounts_routes(wp_router *rt, wp_domain *dom, wp_err *err)
{
    wp_status st;
    if ((st = wp_router_add(rt, "GET", "/api/v1/account", WP_AUTH_API_KEY, get_account, dom, "core", err)) ||
        (st = wp_router_add(rt, "POST", "/api/v1/api_keys", WP_AUTH_API_KEY, create_key, dom, "core", err)) ||
        (st = wp_router_add(rt, "GET", "/api/v1/api_keys", WP_AUTH_API_KEY, list_keys, dom, "core", err)) ||
        (st = wp_router_add(rt, "DELETE", "/api/v1/api_keys/:id", WP_AUTH_API_KEY, delete_key, dom, "core", err)) ||
        (st = wp_router_add(rt, "POST", "/api/v1/api_keys/:id/rotate", WP_AUTH_API_KEY, rotate_key, dom, "core", err)))
        return st;
    return WP_OK;
}
