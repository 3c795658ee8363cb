/* events_api.c - see events_api.h. */
#include "events_api.h"

#include "events.h"
#include "http.h"
#include "ids.h"

static void list_events(wp_req *req, void *ud)
{
    (void)ud;
    static const char *const allowed[] = {"limit", "starting_after", "type", "pass_id", NULL};
    wp_err err;
    wp_err_clear(&err);
    int limit;
    char after[64], type[64] = "", pass_id[64] = "";
    if (wp_req_query_check(req, allowed, &err) != WP_OK || wp_req_page(req, &limit, after, sizeof after, &err) != WP_OK) {
        wp_resp_from_err(req, &err);
        return;
    }
    if (wp_req_query(req, "type", type, sizeof type, &err) < 0) {
        wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", "type", "type is too long");
        return;
    }
    if (wp_req_query(req, "pass_id", pass_id, sizeof pass_id, &err) < 0 || (pass_id[0] && !wp_id_valid(pass_id, "pass"))) {
        wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", "pass_id",
                      "pass_id must be a pass id (pass_...)");
        return;
    }
    if (after[0] && !wp_id_valid(after, "evt")) {
        wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", "starting_after",
                      "starting_after must be an event id (evt_...)");
        return;
    }
    if (type[0] && !wp_events_type_valid(type)) {
        wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", "type",
                      "type must be an event type such as pass.created");
        return;
    }
    PGconn *db = wp_req_db(req, &err);
    if (!db) {
        wp_resp_from_err(req, &err);
        return;
    }
    json_object *data = NULL;
    bool has_more = false;
    if (wp_events_page(db, req->account_id, type, pass_id, after, limit, &data, &has_more, &err) != WP_OK) {
        wp_resp_from_err(req, &err);
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "object", json_object_new_string("list"));
    json_object_object_add(o, "data", data);
    json_object_object_add(o, "has_more", json_object_new_boolean(has_more));
    wp_resp_json(req, 200, o);
    json_object_put(o);
}

wp_status wp_events_routes(wp_router *rt, wp_err *err)
{
    return wp_router_add(rt, "GET", "/api/v1/events", WP_AUTH_API_KEY, list_events, NULL, "core", err);
}
