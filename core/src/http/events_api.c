/* events_api.c - see events_api.h. */
#include "events_api.h"

#include "events.h"
#include "handler.h"
#include "http.h"

static void list_events(wp_req *req, void *ud)
{
    (void)ud;
    static const char *const allowed[] = {"limit", "starting_after", "type", "pass_id", NULL};
    wp_page page;
    if (!wp_handler_page(req, allowed, "evt", "an event id (evt_...)", &page, NULL)) return;
    wp_err err;
    wp_err_clear(&err);
    char type[64] = "", pass_id[64] = "";
    if (wp_req_query(req, "type", type, sizeof type, &err) < 0) {
        wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", "type", "type is too long");
        return;
    }
    if (wp_req_query(req, "pass_id", pass_id, sizeof pass_id, &err) < 0 || (pass_id[0] && !wp_id_valid(pass_id, "pass"))) {
        wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", "pass_id",
                      "pass_id must be a pass id (pass_...)");
        return;
    }
    if (type[0] && !wp_events_type_valid(type)) {
        wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", "type",
                      "type must be an event type such as pass.created");
        return;
    }
    PGconn *db = wp_req_db(req, &err);
    json_object *data = NULL;
    bool has_more = false;
    if (!db || wp_events_page(db, req->account_id, type, pass_id, page.after, page.limit, &data, &has_more, &err) != WP_OK)
        wp_handler_fail(req, &err);
    else
        wp_handler_send_list(req, data, has_more);
}

wp_status wp_events_routes(wp_router *rt, wp_err *err)
{
    return wp_router_add(rt, "GET", "/api/v1/events", WP_AUTH_API_KEY, list_events, NULL, "core", err);
}
