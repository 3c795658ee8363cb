/*
 * templates.c - /api/v1/templates: create, list, read, update, delete
 * (docs/api.md "Templates").  See templates.h; the rules are the template
 * service's (template_service.h).
 */
#include "templates.h"

#include "db.h"
#include "handler.h"
#include "http.h"

static void create_tpl(wp_req *req, void *ud)
{
    wp_domain *dom = ud;
    json_object *in, *res = NULL;
    PGconn *db;
    if (!wp_handler_begin_json(req, NULL, &in, &db)) return;
    wp_err err;
    wp_err_clear(&err);
    wp_status st = wp_template_create(dom, db, req->account_id, in, req, &res, &err);
    wp_handler_end(req, st, &err, 201, res);
    json_object_put(res);
    json_object_put(in);
}

static void get_tpl(wp_req *req, void *ud)
{
    (void)ud;
    PGconn *db;
    if (!wp_handler_begin(req, NULL, NULL, &db)) return;
    wp_err err;
    wp_err_clear(&err);
    json_object *res = NULL;
    wp_status st = wp_template_get(db, req->account_id, wp_req_param(req, "id"), &res, &err);
    wp_handler_end(req, st, &err, 200, res);
    json_object_put(res);
}

static void list_tpl(wp_req *req, void *ud)
{
    (void)ud;
    static const char *const allowed[] = {"limit", "starting_after", NULL};
    wp_page page;
    PGconn *db;
    if (!wp_handler_page(req, allowed, "tpl", "a template id (tpl_…)", &page, &db)) return;
    wp_err err;
    wp_err_clear(&err);
    json_object *data = NULL;
    bool has_more = false;
    if (wp_template_list(db, req->account_id, page.after, page.limit, &data, &has_more, &err) != WP_OK)
        wp_handler_fail(req, &err);
    else
        wp_handler_send_list(req, data, has_more);
}

static void update_tpl(wp_req *req, void *ud)
{
    wp_domain *dom = ud;
    json_object *in, *res = NULL;
    PGconn *db;
    if (!wp_handler_begin_json(req, NULL, &in, &db)) return;
    wp_err err;
    wp_err_clear(&err);
    wp_status st = wp_db_begin(db, &err);
    if (st == WP_OK) st = wp_template_update(dom, db, req->account_id, wp_req_param(req, "id"), in, req, &res, &err);
    wp_handler_end(req, st, &err, 200, res);
    json_object_put(res);
    json_object_put(in);
}

static void delete_tpl(wp_req *req, void *ud)
{
    (void)ud;
    PGconn *db;
    if (!wp_handler_begin(req, NULL, NULL, &db)) return;
    wp_err err;
    wp_err_clear(&err);
    json_object *res = NULL;
    wp_status st = wp_template_delete(db, req->account_id, wp_req_param(req, "id"), &res, &err);
    wp_handler_end(req, st, &err, 200, res);
    json_object_put(res);
}

wp_status wp_templates_routes(wp_router *rt, wp_domain *dom, wp_err *err)
{
    wp_status st;
    if ((st = wp_router_add(rt, "POST", "/api/v1/templates", WP_AUTH_API_KEY, create_tpl, dom, "core", err)) ||
        (st = wp_router_add(rt, "GET", "/api/v1/templates", WP_AUTH_API_KEY, list_tpl, dom, "core", err)) ||
        (st = wp_router_add(rt, "GET", "/api/v1/templates/:id", WP_AUTH_API_KEY, get_tpl, dom, "core", err)) ||
        (st = wp_router_add(rt, "PUT", "/api/v1/templates/:id", WP_AUTH_API_KEY, update_tpl, dom, "core", err)) ||
        (st = wp_router_add(rt, "DELETE", "/api/v1/templates/:id", WP_AUTH_API_KEY, delete_tpl, dom, "core", err)))
        return st;
    return wp_templates_register_job(dom, err);
}
