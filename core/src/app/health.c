/* health.c - /healthz (the process answers), /readyz (the database answers; configuration warnings),
 * /metrics. */
#include <stdlib.h>

#include "server.h"

static void healthz(wp_req *req, void *ud)
{
    (void)ud;
    static const char body[] = "{\"status\":\"ok\"}";
    wp_resp_raw(req, 200, "application/json", body, sizeof body - 1);
}

static void readyz(wp_req *req, void *ud)
{
    wp_server *srv = ud;
    wp_err err;
    wp_err_clear(&err);
    if (wp_db_ping(srv->db, &err) != WP_OK) {
        wp_resp_header(req, "Retry-After", "1");
        wp_resp_error(req, 503, "api_error", "service_unavailable", NULL, "%s", err.msg);
        return;
    }
    /* Ready either way: a plain-HTTP public URL does not stop the gateway, but it is reported
     * here too, where monitoring looks, and not only in the start-up log. */
    json_object *body = json_object_new_object();
    json_object *warnings = json_object_new_array();
    json_object_object_add(body, "status", json_object_new_string("ready"));
    json_object_object_add(body, "database", json_object_new_string("ok"));
    /* The live gateways sharing the database, as this one last counted them: the divisor of
     * the deployment-wide limits (docs/operations.md, "Several gateways"). */
    json_object_object_add(body, "processes", json_object_new_int(wp_jobs_live_processes(srv->jobs)));
    /* The pass cache's state (docs/caching.md, "Passes"): served from memory only while leased */
    wp_fence_stats fs;
    wp_fence_stats_get(srv->fence, &fs);
    json_object *cache = json_object_new_object();
    json_object_object_add(cache, "passes", json_object_new_boolean(srv->passcache != NULL));
    json_object_object_add(cache, "leased", json_object_new_boolean(fs.leased));
    json_object_object_add(cache, "peers", json_object_new_int(fs.peers));
    json_object_object_add(cache, "syncs", json_object_new_int64((int64_t)fs.syncs));
    json_object_object_add(cache, "syncs_waited_out", json_object_new_int64((int64_t)fs.syncs_waited_out));
    json_object_object_add(body, "cache", cache);
    char text[1024];
    if (wp_config_public_url_warning(srv->cfg, text, sizeof text)) {
        json_object *w = json_object_new_object();
        json_object_object_add(w, "code", json_object_new_string("public_url_not_https"));
        json_object_object_add(w, "message", json_object_new_string(text));
        json_object_array_add(warnings, w);
    }
    json_object_object_add(body, "warnings", warnings);
    wp_resp_json(req, 200, body);
    json_object_put(body);
}

static void metrics(wp_req *req, void *ud)
{
    wp_server *srv = ud;
    size_t len = 0;
    char *text = wp_metrics_render(srv->metrics, srv->db, &len);
    if (!text) {
        wp_resp_error(req, 500, "api_error", "internal_error", NULL, "out of memory rendering metrics");
        return;
    }
    wp_resp_raw(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}

wp_status wp_health_routes(wp_server *srv, wp_err *err)
{
    wp_status st;
    if ((st = wp_router_add(srv->router, "GET", "/healthz", WP_AUTH_PUBLIC, healthz, srv, "core", err)) ||
        (st = wp_router_add(srv->router, "GET", "/readyz", WP_AUTH_PUBLIC, readyz, srv, "core", err)) ||
        (st = wp_router_add(srv->router, "GET", "/metrics", WP_AUTH_PUBLIC, metrics, srv, "core", err)))
        return st;
    return WP_OK;
}
