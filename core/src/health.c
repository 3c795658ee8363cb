/* health.c - /healthz (the process answers), /readyz (the database answers), /metrics. */
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
    static const char body[] = "{\"status\":\"ready\",\"database\":\"ok\"}";
    wp_resp_raw(req, 200, "application/json", body, sizeof body - 1);
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
