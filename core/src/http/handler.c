/* handler.c - see handler.h. */
#include "handler.h"

#include <stdio.h>
#include <string.h>

static int begin(wp_req *req, const char *const *query, bool object, json_object **body, PGconn **db)
{
    static const char *const none[] = {NULL};
    wp_err err;
    wp_err_clear(&err);
    if (body) *body = NULL;
    if (db) *db = NULL;
    if (wp_req_query_check(req, query ? query : none, &err) != WP_OK) goto failed;
    if (body) {
        if (wp_req_json(req, body, &err) != WP_OK) goto failed;
        if (object && !json_object_is_type(*body, json_type_object)) {
            json_object_put(*body);
            *body = NULL;
            wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", "body",
                          "the body must be a JSON object");
            return 0;
        }
    }
    if (db && !(*db = wp_req_db(req, &err))) goto failed;
    return 1;
failed:
    if (body) {
        json_object_put(*body);
        *body = NULL;
    }
    wp_resp_from_err(req, &err);
    return 0;
}

int wp_handler_begin(wp_req *req, const char *const *query, json_object **body, PGconn **db)
{
    return begin(req, query, true, body, db);
}

int wp_handler_begin_json(wp_req *req, const char *const *query, json_object **body, PGconn **db)
{
    return begin(req, query, false, body, db);
}

int wp_handler_page(wp_req *req, const char *const *query, const char *after_prefix, const char *after_what,
                    wp_page *page, PGconn **db)
{
    wp_err err;
    wp_err_clear(&err);
    if (db) *db = NULL;
    if (wp_req_query_check(req, query, &err) != WP_OK ||
        wp_req_page(req, &page->limit, page->after, sizeof page->after, &err) != WP_OK) {
        wp_resp_from_err(req, &err);
        return 0;
    }
    if (after_prefix && page->after[0] && !wp_id_valid(page->after, after_prefix)) {
        wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", "starting_after",
                      "starting_after must be %s", after_what);
        return 0;
    }
    if (db && !(*db = wp_req_db(req, &err))) {
        wp_resp_from_err(req, &err);
        return 0;
    }
    return 1;
}

void wp_handler_page_limit(const wp_page *page, char out[16])
{
    snprintf(out, 16, "%d", page->limit + 1);
}

void wp_handler_send_list(wp_req *req, json_object *data, bool has_more)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "object", json_object_new_string("list"));
    json_object_object_add(o, "data", data);
    json_object_object_add(o, "has_more", json_object_new_boolean(has_more));
    wp_resp_json(req, 200, o);
    json_object_put(o);
}

void wp_handler_send_rows(wp_req *req, PGresult *r, int limit, json_object *(*row)(PGresult *r, int i))
{
    json_object *data = json_object_new_array();
    int n = PQntuples(r);
    for (int i = 0; i < n && i < limit; i++) json_object_array_add(data, row(r, i));
    wp_handler_send_list(req, data, n > limit);
}

void wp_handler_fail(wp_req *req, const wp_err *err)
{
    if (req->db && PQtransactionStatus(req->db) != PQTRANS_IDLE) wp_db_rollback(req->db);
    if (err->status == WP_ELIMIT && err->code && strcmp(err->code, "plan_limit_reached") == 0) {
        /* param: "plan", or "allocation" for a sub-account's own allowance (metering.h) */
        wp_resp_error(req, 402, "invalid_request_error", "plan_limit_reached", err->param[0] ? err->param : NULL, "%s",
                      err->msg);
        return;
    }
    if (err->code && wp_http_status_for(err->status) < 500) {
        wp_resp_rejected(req, err); /* keeps a filter's or the schema's code */
        return;
    }
    wp_resp_from_err(req, err);
}

void wp_handler_end(wp_req *req, wp_status st, const wp_err *err, int status, json_object *res)
{
    if (st != WP_OK) {
        wp_handler_fail(req, err);
        return;
    }
    if (req->db && PQtransactionStatus(req->db) != PQTRANS_IDLE) {
        wp_err cerr;
        wp_err_clear(&cerr);
        if (wp_db_commit(req->db, &cerr) != WP_OK) {
            wp_handler_fail(req, &cerr);
            return;
        }
    }
    wp_resp_json(req, status, res);
}
