/*
 * wh_routes.c - the webhooks HTTP API (docs/api.md "Webhooks"):
 *   POST/GET /api/v1/webhooks, GET/PUT/DELETE /api/v1/webhooks/:id,
 *   POST /api/v1/webhooks/:id/rotate_secret, POST /api/v1/webhooks/:id/test,
 *   GET /api/v1/webhooks/:id/deliveries,
 *   POST /api/v1/webhooks/:id/deliveries/:delivery_id/retry.
 * Every route needs an API key; another account's endpoint is 404.  Work
 * done with req runs in the request's transaction (committed on a < 400
 * response), except the test send, which records its delivery at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wh.h"
#include "wh_validate.h"

#define ENDPOINT_COLS                                                                                      \
    "id, url, event_types, description, enabled, " WH_ISO("created_at") " AS created_at, "              \
    WH_ISO("updated_at") " AS updated_at, CASE WHEN previous_secret_until > now() THEN "                  \
    WH_ISO("previous_secret_until") " END AS previous_secret_expires_at"

#define DELIVERY_COLS                                                                                      \
    "d.id, d.endpoint_id, d.event_id, d.event_type, d.status, d.attempts, d.max_attempts, "                \
    WH_ISO("d.next_attempt_at") " AS next_attempt_at, d.last_status_code, d.last_error, "                 \
    WH_ISO("d.created_at") " AS created_at, " WH_ISO("d.updated_at") " AS updated_at, "                   \
    "coalesce((SELECT jsonb_agg(jsonb_build_object('attempt', a.attempt, 'started_at', "                   \
    WH_ISO("a.started_at") ", 'status_code', a.status_code, 'error', a.error, 'latency_ms', a.latency_ms, " \
    "'response_excerpt', a.response_excerpt) ORDER BY a.attempt) FROM webhooks_attempts a "               \
    "WHERE a.account_id = d.account_id AND a.delivery_id = d.id), '[]'::jsonb) AS attempt_log"

static void db_fail(wp_req *req)
{
    wh_host->log(wh_self, WP_LOG_WARN, "%s: database: %s", wh_host->req_id(req), wh_host->last_error());
    wh_host->resp_header(req, "Retry-After", "1");
    wh_host->resp_error(req, 503, "service_unavailable", NULL, "the database is unavailable; retry");
}

static json_object *with_object(json_object *row, const char *object)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_get(json_object_object_get(row, "id")));
    json_object_object_add(o, "object", json_object_new_string(object));
    json_object_object_foreach(row, k, v) {
        if (strcmp(k, "id") != 0) json_object_object_add(o, k, json_object_get(v));
    }
    return o;
}

/* Loads the caller's endpoint :id; sends 404 (or 503) and returns NULL when it cannot. */
static json_object *load_endpoint(wp_req *req, const char *id)
{
    const char *p[] = {wh_host->req_account_id(req), id};
    json_object *rows = NULL;
    if (wh_host->db_query(wh_self, req, "SELECT " ENDPOINT_COLS " FROM webhooks_endpoints WHERE account_id = $1 AND id = $2",
                          2, p, &rows) != WP_OK) {
        db_fail(req);
        return NULL;
    }
    if (json_object_array_length(rows) == 0) {
        json_object_put(rows);
        wh_host->resp_error(req, 404, "resource_missing", "id", "no webhook endpoint %.60s", id);
        return NULL;
    }
    json_object *r = json_object_get(json_object_array_get_idx(rows, 0));
    json_object_put(rows);
    return r;
}

/* The URL's address against the private-target rules (the host resolves it).  Sends 400 and
 * returns 0 when refused.  Its shape was checked by wh_validate_body. */
static int check_url_target(wp_req *req, json_object *v)
{
    wp_status st = wh_host->url_check(wh_self, json_object_get_string(v), NULL, 0);
    if (st == WP_OK) return 1;
    if (st == WP_EDENIED)
        wh_host->resp_error(req, 400, "url_refused", "url", "url is refused: %s", wh_host->last_error());
    else if (st == WP_EUNAVAIL)
        wh_host->resp_error(req, 400, "url_unresolvable", "url", "url's host does not resolve: %s", wh_host->last_error());
    else
        wh_host->resp_error(req, 400, "parameter_invalid", "url", "url is not valid: %s", wh_host->last_error());
    return 0;
}

/* Validates a create (url and event_types required) or update body: the shape
 * (wh_validate_body), then the URL's target.  Unset fields stay NULL.  Sends
 * 400 and returns 0 on the first fault. */
typedef wh_fields fields;

static int check_body(wp_req *req, json_object *body, int create, fields *f)
{
    wh_verr e;
    if (wh_validate_body(body, create, wh_cfg.allow_http, f, &e) != 0) {
        wh_host->resp_error(req, 400, e.code, e.param, "%s", e.msg);
        return 0;
    }
    return !f->url || check_url_target(req, f->url);
}

static int read_body(wp_req *req, int create, json_object **body, fields *f)
{
    wp_err *err = wh_host->err_new(req);
    if (wh_host->req_json(req, body, err) != WP_OK) {
        wh_host->resp_err(req, err);
        return 0;
    }
    if (!check_body(req, *body, create, f)) {
        json_object_put(*body);
        *body = NULL;
        return 0;
    }
    return 1;
}

static const char *json_text(json_object *v)
{
    return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

/* ---- endpoints ------------------------------------------------------------------ */

static void create_endpoint(wp_req *req, void *ud)
{
    (void)ud;
    json_object *body = NULL;
    fields f;
    if (!read_body(req, 1, &body, &f)) return;
    const char *acct = wh_host->req_account_id(req);
    char id[WH_ID_MAX], secret[WH_SECRET_MAX], sealed[512], limit[16];
    if (wh_id_new("wh", id) != 0 || wh_secret_new(secret) != 0 ||
        wh_secret_store(acct, id, secret, sealed, sizeof sealed) != WP_OK) {
        json_object_put(body);
        wh_host->resp_error(req, 500, "internal_error", NULL, "the signing secret could not be made");
        return;
    }
    int max_endpoints = wh_max_endpoints(); /* one value for the insert and its refusal */
    snprintf(limit, sizeof limit, "%d", max_endpoints);
    const char *p[] = {acct, id, json_object_get_string(f.url), json_text(f.types),
                       f.description ? json_object_get_string(f.description) : "",
                       f.enabled && !json_object_get_boolean(f.enabled) ? "false" : "true", sealed, limit};
    json_object *rows = NULL;
    /* The count and the insert in one statement; the advisory lock serialises one account's creations. */
    wp_status st = wh_host->db_query(
        wh_self, req,
        "WITH l AS (SELECT pg_advisory_xact_lock(hashtext('webhooks:' || $1))), "
        "n AS (SELECT count(*) AS c FROM webhooks_endpoints, l WHERE account_id = $1) "
        "INSERT INTO webhooks_endpoints (account_id, id, url, event_types, description, enabled, secret_sealed) "
        "SELECT $1, $2, $3, $4::jsonb, $5, $6::boolean, $7 FROM n WHERE n.c < $8::int RETURNING " ENDPOINT_COLS,
        8, p, &rows);
    memset(sealed, 0, sizeof sealed);
    json_object_put(body);
    if (st != WP_OK) {
        memset(secret, 0, sizeof secret);
        db_fail(req);
        return;
    }
    if (json_object_array_length(rows) == 0) {
        json_object_put(rows);
        memset(secret, 0, sizeof secret);
        wh_host->resp_error(req, 409, "endpoint_limit_reached", NULL, "an account has at most %d webhook endpoints",
                            max_endpoints);
        return;
    }
    json_object *o = with_object(json_object_array_get_idx(rows, 0), "webhook_endpoint");
    json_object_object_add(o, "secret", json_object_new_string(secret));
    memset(secret, 0, sizeof secret);
    /* The secret is shown once: no-store keeps it out of caches and out of the idempotency record. */
    wh_host->resp_header(req, "Cache-Control", "no-store");
    wh_host->resp_json(req, 201, o);
    json_object_put(o);
    json_object_put(rows);
}

/* ?limit= (1..100, default 20) and ?starting_after=<prefix>_…; sends 400 and returns 0 when wrong. */
static int paging(wp_req *req, const char *prefix, int *limit, char after[WH_ID_MAX])
{
    char buf[64];
    *limit = 20;
    after[0] = '\0';
    int r = wh_host->req_query(req, "limit", buf, sizeof buf);
    if (r != 0) {
        char *end;
        long v = r > 0 ? strtol(buf, &end, 10) : 0;
        if (r < 0 || !buf[0] || *end || v < 1 || v > 100) {
            wh_host->resp_error(req, 400, "parameter_invalid", "limit", "limit must be an integer from 1 to 100");
            return 0;
        }
        *limit = (int)v;
    }
    r = wh_host->req_query(req, "starting_after", buf, sizeof buf);
    if (r != 0) {
        size_t pl = strlen(prefix);
        if (r < 0 || strncmp(buf, prefix, pl) != 0 || buf[pl] != '_' || strlen(buf) >= WH_ID_MAX) {
            wh_host->resp_error(req, 400, "parameter_invalid", "starting_after", "starting_after must be a %s_… id",
                                prefix);
            return 0;
        }
        memcpy(after, buf, strlen(buf) + 1); /* length checked above */
    }
    return 1;
}

static void send_list(wp_req *req, json_object *rows, int limit, const char *object)
{
    json_object *list = json_object_new_object(), *data = json_object_new_array();
    size_t n = json_object_array_length(rows);
    for (size_t i = 0; i < n && (int)i < limit; i++)
        json_object_array_add(data, with_object(json_object_array_get_idx(rows, i), object));
    json_object_object_add(list, "object", json_object_new_string("list"));
    json_object_object_add(list, "data", data);
    json_object_object_add(list, "has_more", json_object_new_boolean((int)n > limit));
    wh_host->resp_json(req, 200, list);
    json_object_put(list);
    json_object_put(rows);
}

static void list_endpoints(wp_req *req, void *ud)
{
    (void)ud;
    int limit;
    char after[WH_ID_MAX], lim[16];
    if (!paging(req, "wh", &limit, after)) return;
    snprintf(lim, sizeof lim, "%d", limit + 1);
    const char *p[] = {wh_host->req_account_id(req), after[0] ? after : NULL, lim};
    json_object *rows = NULL;
    if (wh_host->db_query(wh_self, req,
                          "SELECT " ENDPOINT_COLS " FROM webhooks_endpoints WHERE account_id = $1 "
                          "AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3::int",
                          3, p, &rows) != WP_OK) {
        db_fail(req);
        return;
    }
    send_list(req, rows, limit, "webhook_endpoint");
}

static void get_endpoint(wp_req *req, void *ud)
{
    (void)ud;
    json_object *r = load_endpoint(req, wh_host->req_param(req, "id"));
    if (!r) return;
    json_object *o = with_object(r, "webhook_endpoint");
    wh_host->resp_json(req, 200, o);
    json_object_put(o);
    json_object_put(r);
}

static void update_endpoint(wp_req *req, void *ud)
{
    (void)ud;
    json_object *body = NULL;
    fields f;
    if (!read_body(req, 0, &body, &f)) return;
    const char *p[] = {wh_host->req_account_id(req), wh_host->req_param(req, "id"),
                       f.url ? json_object_get_string(f.url) : NULL, f.types ? json_text(f.types) : NULL,
                       f.description ? json_object_get_string(f.description) : NULL,
                       f.enabled ? (json_object_get_boolean(f.enabled) ? "true" : "false") : NULL};
    json_object *rows = NULL;
    wp_status st = wh_host->db_query(wh_self, req,
                                     "UPDATE webhooks_endpoints SET url = coalesce($3, url), "
                                     "event_types = coalesce($4::jsonb, event_types), "
                                     "description = coalesce($5, description), "
                                     "enabled = coalesce($6::boolean, enabled), updated_at = now() "
                                     "WHERE account_id = $1 AND id = $2 RETURNING " ENDPOINT_COLS,
                                     6, p, &rows);
    json_object_put(body);
    if (st != WP_OK) {
        db_fail(req);
        return;
    }
    if (json_object_array_length(rows) == 0) {
        json_object_put(rows);
        wh_host->resp_error(req, 404, "resource_missing", "id", "no webhook endpoint %.60s", p[1]);
        return;
    }
    json_object *o = with_object(json_object_array_get_idx(rows, 0), "webhook_endpoint");
    wh_host->resp_json(req, 200, o);
    json_object_put(o);
    json_object_put(rows);
}

static void delete_endpoint(wp_req *req, void *ud)
{
    (void)ud;
    const char *p[] = {wh_host->req_account_id(req), wh_host->req_param(req, "id")};
    json_object *rows = NULL;
    if (wh_host->db_query(wh_self, req, "DELETE FROM webhooks_endpoints WHERE account_id = $1 AND id = $2 RETURNING id",
                          2, p, &rows) != WP_OK) {
        db_fail(req);
        return;
    }
    size_t n = json_object_array_length(rows);
    json_object_put(rows);
    if (n == 0) {
        wh_host->resp_error(req, 404, "resource_missing", "id", "no webhook endpoint %.60s", p[1]);
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(p[1]));
    json_object_object_add(o, "object", json_object_new_string("webhook_endpoint"));
    json_object_object_add(o, "deleted", json_object_new_boolean(1));
    wh_host->resp_json(req, 200, o);
    json_object_put(o);
}

static void rotate_secret(wp_req *req, void *ud)
{
    (void)ud;
    const char *acct = wh_host->req_account_id(req), *id = wh_host->req_param(req, "id");
    /* The endpoint first: an unknown or malformed id is 404, never a failed seal. */
    json_object *ep = load_endpoint(req, id);
    if (!ep) return;
    json_object_put(ep);
    char secret[WH_SECRET_MAX], sealed[512], overlap[16];
    if (wh_secret_new(secret) != 0 || wh_secret_store(acct, id, secret, sealed, sizeof sealed) != WP_OK) {
        wh_host->resp_error(req, 500, "internal_error", NULL, "the signing secret could not be made");
        return;
    }
    snprintf(overlap, sizeof overlap, "%d", wh_cfg.secret_overlap_s);
    const char *p[] = {acct, id, sealed, overlap};
    json_object *rows = NULL;
    wp_status st = wh_host->db_query(
        wh_self, req,
        "UPDATE webhooks_endpoints SET previous_secret_sealed = secret_sealed, secret_sealed = $3, "
        "previous_secret_until = now() + make_interval(secs => $4::int), updated_at = now() "
        "WHERE account_id = $1 AND id = $2 RETURNING " ENDPOINT_COLS,
        4, p, &rows);
    memset(sealed, 0, sizeof sealed);
    if (st != WP_OK) {
        memset(secret, 0, sizeof secret);
        db_fail(req);
        return;
    }
    if (json_object_array_length(rows) == 0) {
        json_object_put(rows);
        memset(secret, 0, sizeof secret);
        wh_host->resp_error(req, 404, "resource_missing", "id", "no webhook endpoint %.60s", id);
        return;
    }
    json_object *o = with_object(json_object_array_get_idx(rows, 0), "webhook_endpoint");
    json_object_object_add(o, "secret", json_object_new_string(secret));
    memset(secret, 0, sizeof secret);
    /* The secret is shown once: no-store also keeps it out of the Idempotency-Key record. */
    wh_host->resp_header(req, "Cache-Control", "no-store");
    wh_host->resp_json(req, 200, o);
    json_object_put(o);
    json_object_put(rows);
}

/* ---- deliveries --------------------------------------------------------------- */

static json_object *load_delivery(wp_req *req, const char *acct, const char *endpoint_id, const char *delivery_id)
{
    const char *p[] = {acct, endpoint_id, delivery_id};
    json_object *rows = NULL;
    if (wh_host->db_query(wh_self, req,
                          "SELECT " DELIVERY_COLS " FROM webhooks_deliveries d "
                          "WHERE d.account_id = $1 AND d.endpoint_id = $2 AND d.id = $3",
                          3, p, &rows) != WP_OK) {
        db_fail(req);
        return NULL;
    }
    if (json_object_array_length(rows) == 0) {
        json_object_put(rows);
        wh_host->resp_error(req, 404, "resource_missing", "delivery_id", "no delivery %.60s", delivery_id);
        return NULL;
    }
    json_object *r = json_object_get(json_object_array_get_idx(rows, 0));
    json_object_put(rows);
    return r;
}

/* The test send proper: a delivery row, one attempt now, the delivery as the answer. */
static void test_send(wp_req *req, const char *acct, const char *id)
{
    char did[WH_ID_MAX], evt[WH_ID_MAX];
    if (wh_id_new("whd", did) != 0 || wh_id_new("evt", evt) != 0) {
        wh_host->resp_error(req, 500, "internal_error", NULL, "no id");
        return;
    }
    /* The body is built in SQL so created_at is the database's clock, like every timestamp. */
    const char *p[] = {acct, did, id, evt};
    json_object *rows = NULL;
    if (wh_host->db_query(
            wh_self, NULL,
            "INSERT INTO webhooks_deliveries (account_id, id, endpoint_id, event_id, event_type, body, "
            "event_created_at, next_attempt_at, max_attempts) SELECT $1, $2, $3, $4, 'webhook.test', "
            "jsonb_build_object('id', $4::text, 'type', 'webhook.test', 'created_at', " WH_ISO("now()") ", "
            "'data', jsonb_build_object('schema', 1, 'endpoint_id', $3::text))::text, now(), now(), 1 RETURNING id",
            4, p, &rows) != WP_OK) {
        db_fail(req);
        return;
    }
    json_object_put(rows);
    if (wh_attempt_run(acct, did, 1, 0) != WP_OK) {
        db_fail(req);
        return;
    }
    json_object *d = load_delivery(req, acct, id, did);
    if (!d) return;
    json_object *o = with_object(d, "webhook_delivery");
    wh_host->resp_json(req, 200, o);
    json_object_put(o);
    json_object_put(d);
}

static void test_endpoint(wp_req *req, void *ud)
{
    (void)ud;
    const char *acct = wh_host->req_account_id(req), *id = wh_host->req_param(req, "id");
    json_object *ep = load_endpoint(req, id);
    if (!ep) return;
    json_object_put(ep);
    /* Each test send holds a server worker for up to test_timeout_ms: only so many at once. */
    if (!wh_test_slot_acquire()) {
        wh_host->resp_header(req, "Retry-After", "1");
        wh_host->resp_error(req, 429, "rate_limited", NULL,
                            "too many test sends in flight in this gateway (test_max_concurrency); retry in a moment");
        return;
    }
    test_send(req, acct, id);
    wh_test_slot_release();
}

static void list_deliveries(wp_req *req, void *ud)
{
    (void)ud;
    const char *acct = wh_host->req_account_id(req), *id = wh_host->req_param(req, "id");
    int limit;
    char after[WH_ID_MAX], lim[16], status[32], type[64];
    if (!paging(req, "whd", &limit, after)) return;
    int rs = wh_host->req_query(req, "status", status, sizeof status);
    if (rs < 0 || (rs > 0 && strcmp(status, "pending") != 0 && strcmp(status, "succeeded") != 0 &&
                   strcmp(status, "failed") != 0)) {
        wh_host->resp_error(req, 400, "parameter_invalid", "status", "status must be pending, succeeded or failed");
        return;
    }
    int rt = wh_host->req_query(req, "event_type", type, sizeof type);
    if (rt > 0) {
        int ok = strcmp(type, "webhook.test") == 0;
        for (int k = 0; wh_valid_types[k + 1]; k++) ok |= strcmp(wh_valid_types[k], type) == 0;
        if (!ok) rt = -1;
    }
    if (rt < 0) {
        wh_host->resp_error(req, 400, "parameter_invalid", "event_type", "event_type must be an event type (pass.created, …)");
        return;
    }
    json_object *ep = load_endpoint(req, id);
    if (!ep) return;
    json_object_put(ep);
    snprintf(lim, sizeof lim, "%d", limit + 1);
    const char *p[] = {acct, id, after[0] ? after : NULL, lim, rs > 0 ? status : NULL, rt > 0 ? type : NULL};
    json_object *rows = NULL;
    if (wh_host->db_query(wh_self, req,
                          "SELECT " DELIVERY_COLS " FROM webhooks_deliveries d WHERE d.account_id = $1 "
                          "AND d.endpoint_id = $2 AND ($3::text IS NULL OR d.id < $3) "
                          "AND ($5::text IS NULL OR d.status = $5) AND ($6::text IS NULL OR d.event_type = $6) "
                          "ORDER BY d.id DESC LIMIT $4::int",
                          6, p, &rows) != WP_OK) {
        db_fail(req);
        return;
    }
    send_list(req, rows, limit, "webhook_delivery");
}

static void retry_delivery(wp_req *req, void *ud)
{
    (void)ud;
    const char *acct = wh_host->req_account_id(req), *id = wh_host->req_param(req, "id"),
               *did = wh_host->req_param(req, "delivery_id");
    json_object *ep = load_endpoint(req, id);
    if (!ep) return;
    json_object_put(ep);
    const char *p[] = {acct, id, did};
    json_object *rows = NULL;
    if (wh_host->db_query(wh_self, req,
                          "UPDATE webhooks_deliveries SET status = 'pending', max_attempts = attempts + 1, "
                          "next_attempt_at = now(), locked_until = NULL, updated_at = now() "
                          "WHERE account_id = $1 AND endpoint_id = $2 AND id = $3 AND status <> 'pending' "
                          "RETURNING attempts",
                          3, p, &rows) != WP_OK) {
        db_fail(req);
        return;
    }
    int n = json_object_array_length(rows) ? json_object_get_int(json_object_object_get(
                                                 json_object_array_get_idx(rows, 0), "attempts"))
                                           : -1;
    json_object_put(rows);
    if (n < 0) {
        json_object *d = load_delivery(req, acct, id, did); /* 404, or it is pending */
        if (!d) return;
        json_object_put(d);
        wh_host->resp_error(req, 409, "delivery_pending", "delivery_id",
                            "the delivery is still pending: it is retried on its schedule");
        return;
    }
    if (wh_enqueue_attempt(req, acct, did, n + 1, 0) != WP_OK) {
        db_fail(req);
        return;
    }
    json_object *d = load_delivery(req, acct, id, did);
    if (!d) return;
    json_object *o = with_object(d, "webhook_delivery");
    wh_host->resp_json(req, 202, o);
    json_object_put(o);
    json_object_put(d);
}

wp_status wh_routes_register(void)
{
    static const struct {
        const char *method, *pattern;
        wp_plugin_route_fn fn;
    } routes[] = {
        {"POST", "/api/v1/webhooks", create_endpoint},
        {"GET", "/api/v1/webhooks", list_endpoints},
        {"GET", "/api/v1/webhooks/:id", get_endpoint},
        {"PUT", "/api/v1/webhooks/:id", update_endpoint},
        {"DELETE", "/api/v1/webhooks/:id", delete_endpoint},
        {"POST", "/api/v1/webhooks/:id/rotate_secret", rotate_secret},
        {"POST", "/api/v1/webhooks/:id/test", test_endpoint},
        {"GET", "/api/v1/webhooks/:id/deliveries", list_deliveries},
        {"POST", "/api/v1/webhooks/:id/deliveries/:delivery_id/retry", retry_delivery},
    };
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
        wp_status st = wh_host->route_add(wh_self, routes[i].method, routes[i].pattern, WP_AUTH_API_KEY, routes[i].fn,
                                          NULL);
        if (st != WP_OK) return st;
    }
    return WP_OK;
}
