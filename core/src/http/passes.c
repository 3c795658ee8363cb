/*
 * passes.c - /api/v1/passes: create, list, read, update, void, notify
 * (docs/api.md "Passes").  See passes.h.
 *
 * The handlers read the request and answer it; the rules are the pass
 * service's (pass_service.h).  Every write is one transaction on the
 * request's connection: the handler begins it, the service does its work in
 * it (the filters it runs write through the same request), and the handler
 * commits and answers, or rolls back and answers the error (handler.h).
 */
#include "passes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "db.h"
#include "handler.h"
#include "http.h"
#include "passcache.h"
#include "timefmt.h"

/* ---- POST /api/v1/passes -------------------------------------------- */

static void create_pass(wp_req *req, void *ud)
{
    wp_domain *dom = ud;
    json_object *in, *res = NULL;
    PGconn *db;
    req->fence_skip = true; /* a new pass: no process holds it */
    if (!wp_handler_begin(req, NULL, &in, &db)) return;
    wp_err err;
    wp_err_clear(&err);
    wp_status st = wp_db_begin(db, &err);
    if (st == WP_OK) st = wp_pass_create(dom, db, req->account_id, in, NULL, req, &res, &err);
    if (st == WP_OK) st = wp_db_commit(db, &err);
    /* no fence wait for a new pass: the count it added is forgotten here, the others hear it */
    if (st == WP_OK) wp_accounts_forget(dom, req->account_id);
    wp_handler_end(req, st, &err, 201, res);
    json_object_put(res);
    json_object_put(in);
}

/* ---- GET /api/v1/passes/:id and GET /api/v1/passes -------------------- */

static void get_pass(wp_req *req, void *ud)
{
    wp_domain *dom = ud;
    PGconn *db;
    if (!wp_handler_begin(req, NULL, NULL, &db)) return;
    wp_err err;
    wp_err_clear(&err);
    json_object *res = NULL;
    wp_status st = wp_pass_get(dom, db, req->account_id, wp_req_param(req, "id"), req, &res, &err);
    wp_handler_end(req, st, &err, 200, res);
    json_object_put(res);
}

/* created_after / created_before: ISO 8601; a date alone is midnight UTC (the session zone). */
static wp_status time_param(wp_req *req, const char *name, char *buf, size_t len, wp_err *err)
{
    int got = wp_req_query(req, name, buf, len, err);
    if (got < 0) return WP_EINVAL;
    if (got && !wp_iso8601_valid(buf))
        return wp_err_param(err, WP_EINVAL, name, "%s must be an ISO 8601 time (2025-06-01 or 2025-06-01T12:00:00Z)",
                            name);
    if (!got) buf[0] = '\0';
    return WP_OK;
}

/* A decimal number: digits, sign, point, exponent only (strtod alone takes "nan", "inf", hex). */
static int parse_decimal(const char *s, size_t n, double *out)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf) return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789+-.eE", buf[i])) return 0;
    char *end;
    double v = strtod(buf, &end);
    if (*end || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

/* ?near=lat,lng&radius_m= (pass_service.h, wp_pass_query).  q->near stays 0 when
 * neither is given.  400 naming the parameter. */
static wp_status near_param(wp_req *req, wp_pass_query *q, wp_err *err)
{
    char nb[80], rb[40];
    q->near = false;
    int gn = wp_req_query(req, "near", nb, sizeof nb, err), gr = wp_req_query(req, "radius_m", rb, sizeof rb, err);
    if (gn < 0) return wp_err_param(err, WP_EINVAL, "near", "near must be \"latitude,longitude\" (48.8584,2.2945)");
    if (gr < 0) return wp_err_param(err, WP_EINVAL, "radius_m", "radius_m must be a number of metres from 1 to 1000000");
    if (!gn && !gr) return WP_OK;
    if (!gn) return wp_err_param(err, WP_EINVAL, "near", "radius_m needs near=latitude,longitude");
    const char *comma = strchr(nb, ',');
    if (!comma || !parse_decimal(nb, (size_t)(comma - nb), &q->lat) ||
        !parse_decimal(comma + 1, strlen(comma + 1), &q->lng))
        return wp_err_param(err, WP_EINVAL, "near", "near must be \"latitude,longitude\" in decimal degrees (48.8584,2.2945)");
    if (q->lat < -90 || q->lat > 90 || q->lng < -180 || q->lng > 180)
        return wp_err_param(err, WP_EINVAL, "near", "near: latitude must be from -90 to 90 and longitude from -180 to 180");
    if (!gr) return wp_err_param(err, WP_EINVAL, "radius_m", "near needs radius_m (metres, 1 to 1000000)");
    if (!parse_decimal(rb, strlen(rb), &q->radius_m) || q->radius_m < 1 || q->radius_m > WP_PASS_NEAR_MAX_M)
        return wp_err_param(err, WP_EINVAL, "radius_m", "radius_m must be a number of metres from 1 to 1000000");
    q->near = true;
    return WP_OK;
}

/* The list's parameters, canonical (every one, parsed): the key of its page in memory; -1 when too long. */
static int page_key(const wp_pass_query *q, char *out, size_t cap)
{
#define OR_NONE(s) ((s) ? (s) : "")
    int n = snprintf(out, cap, "%d\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%d %.17g %.17g %.17g", q->limit,
                     OR_NONE(q->starting_after), OR_NONE(q->status), OR_NONE(q->pass_type), OR_NONE(q->template_id),
                     OR_NONE(q->created_after), OR_NONE(q->created_before), OR_NONE(q->serial_number),
                     OR_NONE(q->barcode_message), q->near ? 1 : 0, q->near ? q->lat : 0, q->near ? q->lng : 0,
                     q->near ? q->radius_m : 0);
#undef OR_NONE
    return n > 0 && (size_t)n < cap ? n : -1;
}

static void list_passes(wp_req *req, void *ud)
{
    wp_domain *dom = ud;
    static const char *const allowed[] = {"limit",         "starting_after", "status",          "pass_type",
                                          "template_id",   "created_after",  "created_before",  "near",
                                          "radius_m",      "serial_number",  "barcode_message", NULL};
    wp_page page;
    if (!wp_handler_page(req, allowed, NULL, NULL, &page, NULL)) return;
    wp_pass_query q = {.limit = page.limit};
    wp_err err;
    wp_err_clear(&err);
    char status[16] = "", type[16] = "", tid[WP_ID_MAX + 8] = "", from[64], to[64];
    char serial[72] = "", barcode[2048] = ""; /* a serial number has at most 64 bytes; a query at most 2 KiB */
    if (wp_req_query(req, "serial_number", serial, sizeof serial, &err) < 0 ||
        wp_req_query(req, "barcode_message", barcode, sizeof barcode, &err) < 0 ||
        wp_req_query(req, "status", status, sizeof status, &err) < 0 ||
        wp_req_query(req, "pass_type", type, sizeof type, &err) < 0 ||
        wp_req_query(req, "template_id", tid, sizeof tid, &err) < 0 ||
        time_param(req, "created_after", from, sizeof from, &err) != WP_OK ||
        time_param(req, "created_before", to, sizeof to, &err) != WP_OK || near_param(req, &q, &err) != WP_OK) {
        wp_handler_fail(req, &err);
        return;
    }
    if (status[0] && strcmp(status, "active") != 0 && strcmp(status, "voided") != 0) {
        wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", "status",
                      "status must be active or voided");
        return;
    }
    if (type[0] && !wp_pass_type_known(type)) {
        wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", "pass_type",
                      "pass_type must be one of: generic, loyalty, coupon, event");
        return;
    }
    PGconn *db = wp_req_db(req, &err);
    if (!db) {
        wp_handler_fail(req, &err);
        return;
    }
    q.starting_after = page.after[0] ? page.after : NULL;
    q.status = status[0] ? status : NULL;
    q.pass_type = type[0] ? type : NULL;
    q.template_id = tid[0] ? tid : NULL;
    q.created_after = from[0] ? from : NULL;
    q.created_before = to[0] ? to : NULL;
    q.serial_number = serial[0] ? serial : NULL;
    q.barcode_message = barcode[0] ? barcode : NULL;
    /* The page from memory when it was built a moment ago and nothing of the account changed since
     * (passcache.h); a transaction that may have written reads its own. */
    char key[2560];
    int kl = page_key(&q, key, sizeof key);
    int keep = kl > 0 && PQtransactionStatus(db) == PQTRANS_IDLE;
    char *kept = NULL;
    size_t len = 0;
    if (keep && wp_passcache_page_get(dom, req->account_id, key, &kept, &len)) {
        wp_resp_raw(req, 200, "application/json", kept, len);
        free(kept);
        return;
    }
    uint64_t gen = wp_passcache_generation(dom);
    json_object *data = NULL;
    bool has_more = false;
    if (wp_pass_list(dom, db, req->account_id, &q, req, &data, &has_more, &err) != WP_OK) {
        wp_handler_fail(req, &err);
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "object", json_object_new_string("list"));
    json_object_object_add(o, "data", data);
    json_object_object_add(o, "has_more", json_object_new_boolean(has_more));
    const char *body = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
                                                         &len);
    if (keep && PQtransactionStatus(db) == PQTRANS_IDLE) wp_passcache_page_put(dom, req->account_id, key, body, len, gen);
    wp_resp_raw(req, 200, "application/json", body, len);
    json_object_put(o);
}

/* ---- PUT /api/v1/passes/:id ------------------------------------------ */

static void update_pass(wp_req *req, void *ud)
{
    wp_domain *dom = ud;
    json_object *patch, *res = NULL;
    PGconn *db;
    if (!wp_handler_begin(req, NULL, &patch, &db)) return;
    wp_err err;
    wp_err_clear(&err);
    wp_status st = wp_db_begin(db, &err);
    if (st == WP_OK) st = wp_pass_update(dom, db, req->account_id, wp_req_param(req, "id"), patch, req, &res, &err);
    wp_handler_end(req, st, &err, 200, res);
    json_object_put(res);
    json_object_put(patch);
}

/* ---- DELETE /api/v1/passes/:id ---------------------------------------- */

static void void_pass(wp_req *req, void *ud)
{
    wp_domain *dom = ud;
    json_object *res = NULL;
    PGconn *db;
    if (!wp_handler_begin(req, NULL, NULL, &db)) return;
    wp_err err;
    wp_err_clear(&err);
    wp_status st = wp_db_begin(db, &err);
    if (st == WP_OK) st = wp_pass_void(dom, db, req->account_id, wp_req_param(req, "id"), req, &res, &err);
    wp_handler_end(req, st, &err, 200, res);
    json_object_put(res);
}

/* ---- POST /api/v1/passes/:id/notify ----------------------------------- */

static void notify_pass(wp_req *req, void *ud)
{
    wp_domain *dom = ud;
    json_object *in, *res = NULL;
    PGconn *db;
    if (!wp_handler_begin(req, NULL, &in, &db)) return;
    wp_err err;
    wp_err_clear(&err);
    wp_status st = wp_db_begin(db, &err);
    if (st == WP_OK) st = wp_pass_notify(dom, db, req->account_id, wp_req_param(req, "id"), in, req, &res, &err);
    wp_handler_end(req, st, &err, 202, res);
    json_object_put(res);
    json_object_put(in);
}

/* ---- routes ------------------------------------------------------------ */

wp_status wp_passes_routes(wp_router *rt, wp_domain *dom, wp_err *err)
{
    wp_status st;
    if ((st = wp_router_add(rt, "POST", "/api/v1/passes", WP_AUTH_API_KEY, create_pass, dom, "core", err)) ||
        (st = wp_router_add(rt, "GET", "/api/v1/passes", WP_AUTH_API_KEY, list_passes, dom, "core", err)) ||
        (st = wp_router_add(rt, "GET", "/api/v1/passes/:id", WP_AUTH_API_KEY, get_pass, dom, "core", err)) ||
        (st = wp_router_add(rt, "PUT", "/api/v1/passes/:id", WP_AUTH_API_KEY, update_pass, dom, "core", err)) ||
        (st = wp_router_add(rt, "DELETE", "/api/v1/passes/:id", WP_AUTH_API_KEY, void_pass, dom, "core", err)) ||
        (st = wp_router_add(rt, "POST", "/api/v1/passes/:id/notify", WP_AUTH_API_KEY, notify_pass, dom, "core", err)))
        return st;
    return WP_OK;
}
