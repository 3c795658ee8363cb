/*
 * batches.c - POST /api/v1/passes/batch and GET /api/v1/batches/:id.  See
 * batches.h; the rules and the chunk job are the batch service's
 * (batch_service.h).
 */
#include "batches.h"

#include <stdlib.h>

#include "db.h"
#include "handler.h"
#include "http.h"

static void create_batch(wp_req *req, void *ud)
{
    wp_domain *dom = ud;
    json_object *in, *res = NULL;
    PGconn *db;
    if (!wp_handler_begin_json(req, NULL, &in, &db)) return;
    wp_err err;
    wp_err_clear(&err);
    wp_status st = wp_db_begin(db, &err);
    if (st == WP_OK) st = wp_batch_create(dom, db, req->account_id, in, &res, &err);
    wp_handler_end(req, st, &err, 202, res);
    json_object_put(res);
    json_object_put(in);
}

static void get_batch(wp_req *req, void *ud)
{
    (void)ud;
    static const char *const allowed[] = {"limit", "starting_after", NULL};
    wp_page page;
    if (!wp_handler_page(req, allowed, NULL, NULL, &page, NULL)) return;
    long after_idx = -1;
    if (page.after[0]) {
        char *end;
        after_idx = strtol(page.after, &end, 10);
        if (*end || after_idx < 0 || after_idx >= WP_BATCH_MAX_ITEMS) {
            wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", "starting_after",
                          "starting_after must be an item index (0 to 999)");
            return;
        }
    }
    wp_err err;
    wp_err_clear(&err);
    PGconn *db = wp_req_db(req, &err);
    json_object *res = NULL;
    wp_status st = db ? wp_batch_get(db, req->account_id, wp_req_param(req, "id"), after_idx, page.limit, &res, &err)
                      : err.status;
    wp_handler_end(req, st, &err, 200, res);
    json_object_put(res);
}

wp_status wp_batches_routes(wp_router *rt, wp_domain *dom, wp_err *err)
{
    wp_status st;
    if ((st = wp_router_add(rt, "POST", "/api/v1/passes/batch", WP_AUTH_API_KEY, create_batch, dom, "core", err)) ||
        (st = wp_router_add(rt, "GET", "/api/v1/batches/:id", WP_AUTH_API_KEY, get_batch, dom, "core", err)))
        return st;
    return wp_batches_register_job(dom, err);
}
