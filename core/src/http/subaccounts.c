/*
 * subaccounts.c - an agency's sub-accounts: /api/v1/accounts.
 *
 * The agency is the live account the request acts on; it must be a
 * top-level account (nesting is one level).  Every query is scoped by
 * parent_account_id = the agency, so a sibling's or a stranger's id answers
 * 404 like an id that does not exist; a test key finds none (sub-accounts
 * are live objects) and may not create one.
 *
 * Allocation: a sub-account's monthly operations carved out of the agency's
 * plan; the sum over its live sub-accounts never passes the plan's
 * operations_per_month (the agency's row is locked while it is checked).
 *
 * Deleting marks the sub-account deleted (its keys revoked, its test
 * workspace too): it is refused everywhere at once, its pass links answer
 * 410, and its rows are purged after accounts.deleted_retention_days
 * (sweep.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "apikey.h"
#include "db.h"
#include "events.h"
#include "handler.h"
#include "metering.h"
#include "subaccounts.h"
#include "tenancy.h"

#define NAME_MAX_CHARS 200
#define EMAIL_MAX_CHARS 254

static const char *const no_query[] = {NULL};

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define SUB_COLS                                                                                        \
    "a.id, a.name, a.email, a.plan, a.parent_account_id, a.allocation, " TS("a.created_at") ", "         \
    "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM'), coalesce((SELECT sum(operations)"                    \
    " FROM usage_counter_rows u WHERE u.account_id = a.id"                                              \
    " AND u.period = to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM')), 0)"
enum { S_ID, S_NAME, S_EMAIL, S_PLAN, S_PARENT, S_ALLOC, S_CREATED, S_PERIOD, S_USED };

/* The scope of every query below: $1 the agency, $2 whether the key is live. */
#define SCOPE " a.parent_account_id = $1 AND $2::boolean AND a.livemode AND a.deleted_at IS NULL"

static json_object *sub_json(PGresult *r, int i)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(PQgetvalue(r, i, S_ID)));
    json_object_object_add(o, "object", json_object_new_string("account"));
    json_object_object_add(o, "name", json_object_new_string(PQgetvalue(r, i, S_NAME)));
    json_object_object_add(o, "email", json_object_new_string(PQgetvalue(r, i, S_EMAIL)));
    json_object_object_add(o, "plan", json_object_new_string(PQgetvalue(r, i, S_PLAN)));
    json_object_object_add(o, "parent_account_id", json_object_new_string(PQgetvalue(r, i, S_PARENT)));
    json_object *alloc = PQgetisnull(r, i, S_ALLOC) ? NULL : json_object_new_int64(strtoll(PQgetvalue(r, i, S_ALLOC), NULL, 10));
    json_object_object_add(o, "allocation", alloc ? json_object_get(alloc) : NULL);
    json_object_object_add(o, "created_at", json_object_new_string(PQgetvalue(r, i, S_CREATED)));
    json_object *usage = json_object_new_object();
    json_object_object_add(usage, "period", json_object_new_string(PQgetvalue(r, i, S_PERIOD)));
    json_object_object_add(usage, "operations", json_object_new_int64(strtoll(PQgetvalue(r, i, S_USED), NULL, 10)));
    json_object_object_add(usage, "limit", alloc);
    json_object_object_add(o, "usage", usage);
    return o;
}

static const char *live_param(const wp_req *req) { return req->livemode ? "t" : "f"; }

/* Common prologue: query check, connection.  NULL when a response was sent. */
static PGconn *begin(wp_req *req)
{
    wp_err err;
    wp_err_clear(&err);
    if (wp_req_query_check(req, no_query, &err) != WP_OK) {
        wp_resp_from_err(req, &err);
        return NULL;
    }
    PGconn *db = wp_req_db(req, &err);
    if (!db) wp_resp_from_err(req, &err);
    return db;
}

/* The body as a JSON object with only the allowed fields; NULL when a 400 was sent. */
static json_object *object_body(wp_req *req, const char *const *allowed)
{
    wp_err err;
    wp_err_clear(&err);
    json_object *body = NULL;
    if (wp_req_json(req, &body, &err) != WP_OK) {
        wp_resp_from_err(req, &err);
        return NULL;
    }
    if (!json_object_is_type(body, json_type_object)) {
        json_object_put(body);
        wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", "body", "body must be a JSON object");
        return NULL;
    }
    json_object_object_foreach(body, k, v) {
        (void)v;
        int ok = 0;
        for (const char *const *a = allowed; *a; a++) ok |= strcmp(*a, k) == 0;
        if (!ok) {
            wp_resp_error(req, 400, "invalid_request_error", "parameter_unknown", k, "unknown field \"%s\"", k);
            json_object_put(body);
            return NULL;
        }
    }
    return body;
}

/* A string field of 1..max characters; 1 ok (or absent and !required), 0 when a 400 was sent. */
static int string_field(wp_req *req, json_object *body, const char *name, size_t max, int required, const char **out)
{
    json_object *v;
    *out = NULL;
    if (!json_object_object_get_ex(body, name, &v)) {
        if (!required) return 1;
        wp_resp_error(req, 400, "invalid_request_error", "parameter_missing", name, "%s is required", name);
        return 0;
    }
    const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
    size_t n = s ? (size_t)json_object_get_string_len(v) : 0;
    if (!s || n == 0 || n > max || strlen(s) != n) {
        wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", name,
                      "%s must be a string of 1 to %zu characters", name, max);
        return 0;
    }
    if (strcmp(name, "email") == 0 && (!strchr(s, '@') || strpbrk(s, " \t\r\n") != NULL)) {
        wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", name, "email must be an email address");
        return 0;
    }
    *out = s;
    return 1;
}

/* An allocation: a non-negative integer, or null (none).  *set 0 when absent; 0 when a 400 was sent. */
static int allocation_field(wp_req *req, json_object *body, const char *name, int *set, long long *out)
{
    json_object *v;
    *set = 0;
    *out = -1;
    if (!json_object_object_get_ex(body, name, &v)) return 1;
    *set = 1;
    if (v == NULL) return 1;
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0 ||
        json_object_get_int64(v) > 1000000000000LL) {
        wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", name,
                      "%s must be a whole number of operations a month from 0 to 1000000000000, or null", name);
        return 0;
    }
    *out = json_object_get_int64(v);
    return 1;
}

/* The agency may have sub-accounts: top-level and live.  0 when a 403 was sent. */
static int agency_ok(wp_req *req, PGconn *db, int writing)
{
    if (!req->livemode && writing) {
        wp_resp_error(req, 403, "invalid_request_error", "livemode_required", NULL,
                      "sub-accounts are live objects: manage them with a live key (sk_live_...)");
        return 0;
    }
    if (req->agency_account_id[0] && writing) {
        wp_resp_error(req, 403, "invalid_request_error", "nesting_not_allowed", WP_TENANCY_HEADER,
                      "a sub-account cannot have sub-accounts of its own (nesting is one level)");
        return 0;
    }
    if (!writing) return 1;
    wp_err err;
    wp_err_clear(&err);
    const char *p[] = {req->live_account_id};
    PGresult *r;
    if (wp_db_query(db, "SELECT parent_account_id IS NULL FROM accounts WHERE id = $1", 1, p, &r, &err) != WP_OK) {
        wp_resp_from_err(req, &err);
        return 0;
    }
    int top = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!top) {
        wp_resp_error(req, 403, "invalid_request_error", "nesting_not_allowed", NULL,
                      "a sub-account cannot have sub-accounts of its own (nesting is one level)");
        return 0;
    }
    return 1;
}

/*
 * In the caller's transaction: locks the agency's row and checks that giving
 * `want` operations a month to `sub_id` (NULL: a new sub-account) keeps the
 * sum of allocations within the agency's plan.  0 when the 400 was sent.
 */
static int allocation_fits(wp_req *req, const wp_domain *dom, PGconn *db, const char *sub_id, long long want, const char *param)
{
    wp_err err;
    wp_err_clear(&err);
    const char *p[] = {req->live_account_id, sub_id};
    PGresult *r;
    if (wp_db_query(db, "SELECT plan FROM accounts WHERE id = $1 FOR UPDATE", 1, p, &r, &err) != WP_OK) {
        wp_resp_from_err(req, &err);
        return 0;
    }
    char plan[64];
    snprintf(plan, sizeof plan, "%s", PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    long long limit = wp_meter_plan_limit(dom->cfg, plan);
    if (limit < 0 || want <= 0) return 1;
    if (wp_db_query(db,
                    "SELECT coalesce(sum(allocation), 0) FROM accounts WHERE parent_account_id = $1 AND livemode"
                    " AND deleted_at IS NULL AND ($2::text IS NULL OR id <> $2)",
                    2, p, &r, &err) != WP_OK) {
        wp_resp_from_err(req, &err);
        return 0;
    }
    long long others = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (others + want > limit) {
        long long left = limit > others ? limit - others : 0;
        wp_resp_error(req, 400, "invalid_request_error", "allocation_exceeds_plan", param,
                      "%s of %lld would pass plan %s's %lld operations a month: %lld are left to allocate", param,
                      want, plan, limit, left);
        return 0;
    }
    return 1;
}

/* Reads one sub-account of the agency into *r; 0 when the 404 (or an error) was sent. */
static int select_sub(wp_req *req, PGconn *db, const char *id, PGresult **r)
{
    wp_err err;
    wp_err_clear(&err);
    const char *p[] = {req->live_account_id, live_param(req), id};
    if (wp_db_query(db, "SELECT " SUB_COLS " FROM accounts a WHERE" SCOPE " AND a.id = $3", 3, p, r, &err) != WP_OK) {
        wp_resp_from_err(req, &err);
        return 0;
    }
    if (PQntuples(*r) != 1) {
        PQclear(*r);
        wp_resp_error(req, 404, "invalid_request_error", "resource_missing", "id", "no sub-account %s", id);
        return 0;
    }
    return 1;
}

/* Publishes account.created / account.deleted to the agency in the open transaction. */
static wp_status publish(wp_req *req, const wp_domain *dom, PGconn *db, const char *type, json_object *res, wp_err *err)
{
    json_object *data = json_object_new_object();
    json_object_object_add(data, "account", json_object_get(res));
    wp_status st = wp_events_publish(dom->events, db, req->live_account_id, type, data, NULL, err);
    json_object_put(data);
    return st;
}

static void respond_sub(wp_req *req, const wp_domain *dom, PGconn *db, const char *id, int status, const char *event)
{
    wp_err err;
    wp_err_clear(&err);
    PGresult *r;
    if (!select_sub(req, db, id, &r)) return;
    json_object *o = sub_json(r, 0);
    PQclear(r);
    if (event && (publish(req, dom, db, event, o, &err) != WP_OK || wp_db_commit(db, &err) != WP_OK)) {
        json_object_put(o);
        wp_resp_from_err(req, &err);
        return;
    }
    wp_resp_json(req, status, o);
    json_object_put(o);
}

static void create_sub(wp_req *req, void *ud)
{
    PGconn *db = begin(req);
    if (!db || !agency_ok(req, db, 1)) return;
    static const char *const allowed[] = {"name", "email", "allocation", NULL};
    json_object *body = object_body(req, allowed);
    if (!body) return;
    const char *name, *email;
    int set;
    long long alloc;
    if (!string_field(req, body, "name", NAME_MAX_CHARS, 1, &name) ||
        !string_field(req, body, "email", EMAIL_MAX_CHARS, 1, &email) ||
        !allocation_field(req, body, "allocation", &set, &alloc)) {
        json_object_put(body);
        return;
    }
    wp_err err;
    wp_err_clear(&err);
    char id[WP_ID_MAX];
    if (wp_id_new("acct", id) != WP_OK) {
        json_object_put(body);
        wp_resp_error(req, 503, "api_error", "internal_error", NULL, "random number generator failed");
        return;
    }
    if (wp_db_begin(db, &err) != WP_OK) {
        json_object_put(body);
        wp_resp_from_err(req, &err);
        return;
    }
    if (!allocation_fits(req, ud, db, NULL, alloc, "allocation")) {
        json_object_put(body);
        return; /* the open transaction is rolled back when the connection is released */
    }
    char abuf[24];
    snprintf(abuf, sizeof abuf, "%lld", alloc);
    const char *p[] = {id, name, email, req->live_account_id, alloc >= 0 ? abuf : NULL};
    wp_status st = wp_db_query(db,
                               "INSERT INTO accounts (id, name, email, plan, parent_account_id, allocation)"
                               " SELECT $1, $2, $3, plan, id, $5::bigint FROM accounts WHERE id = $4",
                               5, p, NULL, &err);
    json_object_put(body);
    if (st == WP_ECONFLICT) {
        wp_resp_error(req, 409, "invalid_request_error", "conflict", "email",
                      "a sub-account of this account already has that email");
        return;
    }
    if (st != WP_OK) {
        wp_resp_from_err(req, &err);
        return;
    }
    respond_sub(req, ud, db, id, 201, "account.created");
}

static void list_subs(wp_req *req, void *ud)
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
    const char *p[] = {req->live_account_id, live_param(req), page.after[0] ? page.after : NULL, lim};
    PGresult *r;
    if (wp_db_query(db,
                    "SELECT " SUB_COLS " FROM accounts a WHERE" SCOPE " AND ($3::text IS NULL OR a.id < $3)"
                    " ORDER BY a.id DESC LIMIT $4::int",
                    4, p, &r, &err) != WP_OK) {
        wp_handler_fail(req, &err);
        return;
    }
    wp_handler_send_rows(req, r, page.limit, sub_json);
    PQclear(r);
}

static void get_sub(wp_req *req, void *ud)
{
    PGconn *db = begin(req);
    if (!db) return;
    respond_sub(req, ud, db, wp_req_param(req, "id"), 200, NULL);
}

static void update_sub(wp_req *req, void *ud)
{
    PGconn *db = begin(req);
    if (!db) return;
    const char *id = wp_req_param(req, "id");
    PGresult *r;
    if (!select_sub(req, db, id, &r)) return; /* 404 first: a foreign id says nothing more */
    PQclear(r);
    if (!agency_ok(req, db, 1)) return;
    static const char *const allowed[] = {"name", "email", "allocation", NULL};
    json_object *body = object_body(req, allowed);
    if (!body) return;
    const char *name, *email;
    int set;
    long long alloc;
    if (!string_field(req, body, "name", NAME_MAX_CHARS, 0, &name) ||
        !string_field(req, body, "email", EMAIL_MAX_CHARS, 0, &email) ||
        !allocation_field(req, body, "allocation", &set, &alloc)) {
        json_object_put(body);
        return;
    }
    wp_err err;
    wp_err_clear(&err);
    if (wp_db_begin(db, &err) != WP_OK) {
        json_object_put(body);
        wp_resp_from_err(req, &err);
        return;
    }
    if (set && !allocation_fits(req, ud, db, id, alloc, "allocation")) {
        json_object_put(body);
        return;
    }
    char abuf[24];
    snprintf(abuf, sizeof abuf, "%lld", alloc);
    const char *p[] = {req->live_account_id, live_param(req), id, name, email, set ? "t" : "f", alloc >= 0 ? abuf : NULL};
    wp_status st = wp_db_query(db,
                               "UPDATE accounts a SET name = coalesce($4, a.name), email = coalesce($5, a.email),"
                               " allocation = CASE WHEN $6::boolean THEN $7::bigint ELSE a.allocation END"
                               " WHERE" SCOPE " AND a.id = $3",
                               7, p, NULL, &err);
    json_object_put(body);
    if (st == WP_ECONFLICT) {
        wp_resp_error(req, 409, "invalid_request_error", "conflict", "email",
                      "a sub-account of this account already has that email");
        return;
    }
    if (st != WP_OK || wp_db_commit(db, &err) != WP_OK) {
        wp_resp_from_err(req, &err);
        return;
    }
    respond_sub(req, ud, db, id, 200, NULL);
}

static void set_allocation(wp_req *req, void *ud)
{
    PGconn *db = begin(req);
    if (!db) return;
    const char *id = wp_req_param(req, "id");
    PGresult *r;
    if (!select_sub(req, db, id, &r)) return; /* 404 first: a foreign id says nothing more */
    PQclear(r);
    if (!agency_ok(req, db, 1)) return;
    static const char *const allowed[] = {"operations_per_month", NULL};
    json_object *body = object_body(req, allowed);
    if (!body) return;
    int set;
    long long alloc;
    int ok = allocation_field(req, body, "operations_per_month", &set, &alloc);
    json_object_put(body);
    if (!ok) return;
    if (!set) {
        wp_resp_error(req, 400, "invalid_request_error", "parameter_missing", "operations_per_month",
                      "operations_per_month is required (a whole number, or null for none)");
        return;
    }
    wp_err err;
    wp_err_clear(&err);
    if (wp_db_begin(db, &err) != WP_OK) {
        wp_resp_from_err(req, &err);
        return;
    }
    if (!allocation_fits(req, ud, db, id, alloc, "operations_per_month")) return;
    char abuf[24];
    snprintf(abuf, sizeof abuf, "%lld", alloc);
    const char *p[] = {req->live_account_id, live_param(req), id, alloc >= 0 ? abuf : NULL};
    if (wp_db_query(db, "UPDATE accounts a SET allocation = $4::bigint WHERE" SCOPE " AND a.id = $3", 4, p, NULL,
                    &err) != WP_OK ||
        wp_db_commit(db, &err) != WP_OK) {
        wp_resp_from_err(req, &err);
        return;
    }
    respond_sub(req, ud, db, id, 200, NULL);
}

static void delete_sub(wp_req *req, void *ud)
{
    const wp_domain *dom = ud;
    PGconn *db = begin(req);
    if (!db) return;
    const char *id = wp_req_param(req, "id");
    wp_err err;
    wp_err_clear(&err);
    PGresult *r;
    if (wp_db_begin(db, &err) != WP_OK) {
        wp_resp_from_err(req, &err);
        return;
    }
    if (!select_sub(req, db, id, &r) || !agency_ok(req, db, 1)) return;
    json_object *o = sub_json(r, 0);
    PQclear(r);
    const char *p[] = {req->live_account_id, live_param(req), id};
    /* The sub-account and its test workspace: deleted and their keys revoked at once. */
    wp_status st = wp_db_query(db,
                               "WITH gone AS (UPDATE accounts a SET deleted_at = now() WHERE" SCOPE " AND a.id = $3"
                               " RETURNING a.id),"
                               " test AS (UPDATE accounts t SET deleted_at = now() WHERE t.live_account_id IN"
                               " (SELECT id FROM gone) RETURNING t.id)"
                               " UPDATE api_keys SET revoked_at = now() WHERE revoked_at IS NULL"
                               " AND account_id IN (SELECT id FROM gone UNION ALL SELECT id FROM test)",
                               3, p, NULL, &err);
    if (st == WP_OK) st = publish(req, dom, db, "account.deleted", o, &err);
    if (st == WP_OK) st = wp_db_commit(db, &err);
    if (st != WP_OK) {
        json_object_put(o);
        wp_resp_from_err(req, &err);
        return;
    }
    wp_keycache_forget_all(req->env->keycache); /* its keys were revoked (keycache.h) */
    json_object *d = json_object_new_object();
    json_object_object_add(d, "id", json_object_new_string(id));
    json_object_object_add(d, "object", json_object_new_string("account"));
    json_object_object_add(d, "deleted", json_object_new_boolean(1));
    json_object_object_add(d, "purge_after_days", json_object_new_int(dom->cfg->deleted_retention_days));
    json_object_put(o);
    wp_resp_json(req, 200, d);
    json_object_put(d);
}

static void create_sub_key(wp_req *req, void *ud)
{
    (void)ud;
    PGconn *db = begin(req);
    if (!db) return;
    const char *id = wp_req_param(req, "id");
    PGresult *r;
    if (!select_sub(req, db, id, &r)) return; /* 404 first: a foreign id says nothing more */
    PQclear(r);
    if (!agency_ok(req, db, 1)) return;
    const char *name = NULL;
    int livemode = 1;
    json_object *body = NULL;
    if (req->ri->content_length > 0 || wp_req_header(req, "Content-Type")) {
        static const char *const allowed[] = {"name", "livemode", NULL};
        body = object_body(req, allowed);
        if (!body) return;
        if (!string_field(req, body, "name", 100, 0, &name)) {
            json_object_put(body);
            return;
        }
        json_object *v;
        if (json_object_object_get_ex(body, "livemode", &v)) {
            if (!json_object_is_type(v, json_type_boolean)) {
                json_object_put(body);
                wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", "livemode",
                              "livemode must be true (a sk_live_ key) or false (a sk_test_ key)");
                return;
            }
            livemode = json_object_get_boolean(v);
        }
    }
    wp_accounts_respond_new_key(req, db, id, name, livemode);
    json_object_put(body);
}

wp_status wp_subaccounts_routes(wp_router *rt, wp_domain *dom, wp_err *err)
{
    wp_status st;
    if ((st = wp_router_add(rt, "POST", "/api/v1/accounts", WP_AUTH_API_KEY, create_sub, dom, "core", err)) ||
        (st = wp_router_add(rt, "GET", "/api/v1/accounts", WP_AUTH_API_KEY, list_subs, dom, "core", err)) ||
        (st = wp_router_add(rt, "GET", "/api/v1/accounts/:id", WP_AUTH_API_KEY, get_sub, dom, "core", err)) ||
        (st = wp_router_add(rt, "PUT", "/api/v1/accounts/:id", WP_AUTH_API_KEY, update_sub, dom, "core", err)) ||
        (st = wp_router_add(rt, "DELETE", "/api/v1/accounts/:id", WP_AUTH_API_KEY, delete_sub, dom, "core", err)) ||
        (st = wp_router_add(rt, "PUT", "/api/v1/accounts/:id/allocation", WP_AUTH_API_KEY, set_allocation, dom, "core",
                            err)) ||
        (st = wp_router_add(rt, "POST", "/api/v1/accounts/:id/api_keys", WP_AUTH_API_KEY, create_sub_key, dom, "core",
                            err)))
        return st;
    return WP_OK;
}
