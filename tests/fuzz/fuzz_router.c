/*
 * fuzz_router: percent-decoding and path matching, as a request meets them.
 *
 * Input: "<METHOD> <raw path>".  The raw path is made canonical as the server
 * does (CivetWeb's decode_url is off; wp_router_path decodes what is safe and
 * keeps '/', '%', '?', '#' and control bytes encoded, and refuses what is not
 * UTF-8) into the request's path buffer.  The table holds every route pattern
 * the gateway and its in-tree plugins register.  Properties: a match fills
 * exactly the route's parameters, each non-empty and stored in the request's
 * parameter buffer, and the route has exactly as many segments as the path
 * has '/' (an encoded slash decodes inside its parameter, it never splits
 * one: "%2F" in a serial number is a '/' of that serial); a 405 lists methods
 * that really match the path.  A second router gets the input as a pattern
 * to register (start-up input) and is matched against it as it is.
 */
#include <stdio.h>

#include "fuzz.h"
#include "router.h"
#include "utf8.h"

static const char *const routes[][2] = {
    {"GET", "/healthz"}, {"GET", "/readyz"}, {"GET", "/metrics"},
    {"GET", "/api/v1/account"}, {"GET", "/api/v1/api_keys"}, {"POST", "/api/v1/api_keys"},
    {"DELETE", "/api/v1/api_keys/:id"}, {"POST", "/api/v1/api_keys/:id/rotate"},
    {"GET", "/api/v1/logs"}, {"GET", "/api/v1/events"},
    {"GET", "/api/v1/passes"}, {"POST", "/api/v1/passes"}, {"POST", "/api/v1/passes/batch"},
    {"GET", "/api/v1/batches/:id"}, {"GET", "/api/v1/passes/:id"}, {"PATCH", "/api/v1/passes/:id"},
    {"DELETE", "/api/v1/passes/:id"}, {"POST", "/api/v1/passes/:id/notify"}, {"GET", "/api/v1/passes/:id/pkpass"},
    {"GET", "/api/v1/passes/:id/devices"}, {"PUT", "/api/v1/credentials/apple"}, {"GET", "/api/v1/credentials/apple"},
    {"DELETE", "/api/v1/credentials/apple"}, {"PUT", "/api/v1/credentials/google"},
    {"GET", "/api/v1/templates"}, {"POST", "/api/v1/templates"}, {"GET", "/api/v1/templates/:id"},
    {"PUT", "/api/v1/templates/:id"}, {"DELETE", "/api/v1/templates/:id"},
    {"GET", "/api/v1/webhooks"}, {"POST", "/api/v1/webhooks"}, {"GET", "/api/v1/webhooks/:id"},
    {"PATCH", "/api/v1/webhooks/:id"}, {"DELETE", "/api/v1/webhooks/:id"},
    {"POST", "/api/v1/webhooks/:id/rotate_secret"}, {"POST", "/api/v1/webhooks/:id/test"},
    {"GET", "/api/v1/webhooks/:id/deliveries"}, {"POST", "/api/v1/webhooks/:id/deliveries/:delivery_id/retry"},
    {"GET", "/google/images/default-logo.png"}, {"GET", "/google/images/passes/:pass_id/:token/:hash/:file"},
    {"GET", "/api/v1/apple/logs"},
    {"POST", "/apple/v1/devices/:device/registrations/:ptid/:serial"},
    {"DELETE", "/apple/v1/devices/:device/registrations/:ptid/:serial"},
    {"GET", "/apple/v1/devices/:device/registrations/:ptid"}, {"GET", "/apple/v1/passes/:ptid/:serial"},
    {"POST", "/apple/v1/log"},
};

static void handler(wp_req *req, void *ud)
{
    (void)req;
    (void)ud;
}

static wp_router *table(void)
{
    static wp_router *r;
    if (r) return r;
    wp_err err;
    if (wp_router_new(&r) != WP_OK) abort();
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (wp_router_add(r, routes[i][0], routes[i][1], WP_AUTH_PUBLIC, handler, NULL, "core", &err) != WP_OK) {
            fprintf(stderr, "%s\n", err.msg);
            abort();
        }
    wp_router_seal(r);
    return r;
}

static void check_match(const wp_router *r, const char *method, const char *path)
{
    wp_req *req = calloc(1, sizeof *req);
    if (!req) return;
    char allow[64];
    wp_route_result rr = wp_router_match(r, method, path, req, allow, sizeof allow);
    if (rr == WP_ROUTE_FOUND) {
        const wp_route *rt = req->route;
        int want = 0;
        for (int i = 0; i < rt->nsegs; i++) want += rt->segs[i][0] == ':';
        if (req->nparams != want) abort();
        int slashes = 0;
        for (const char *p = path; *p; p++) slashes += *p == '/';
        if (slashes != rt->nsegs) abort();
        for (int i = 0; i < req->nparams; i++) {
            const char *v = req->param_values[i];
            if (v < req->param_buf || v >= req->param_buf + sizeof req->param_buf) abort();
            if (!*v) abort();
            if (wp_req_param(req, req->param_names[i]) == NULL) abort();
        }
    } else if (rr == WP_ROUTE_NO_METHOD) {
        if (!allow[0]) abort();
    }
    free(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wp_router *r = table();
    char *text = fz_cstr(data, size);
    if (!text) return 0;
    char method[8] = "GET";
    const char *raw = text;
    const char *sp = strchr(text, ' ');
    if (sp && (size_t)(sp - text) < sizeof method) {
        memcpy(method, text, (size_t)(sp - text));
        method[sp - text] = '\0';
        raw = sp + 1;
    }
    /* as server.c: canonical, into the request's path buffer, refused when it does not fit */
    char path[sizeof ((wp_req *)0)->path];
    wp_err perr;
    wp_err_clear(&perr);
    if (wp_router_path(raw, path, sizeof path, &perr) == WP_OK) {
        if (!wp_utf8_valid(path, strlen(path))) abort();
        check_match(r, method, path);
    } else if (!perr.msg[0]) {
        abort();
    }

    /* registration: any pattern is refused with a reason or added and matchable */
    wp_router *r2 = NULL;
    if (wp_router_new(&r2) == WP_OK) {
        wp_err err;
        wp_err_clear(&err);
        wp_status st = wp_router_add(r2, method, raw, WP_AUTH_PUBLIC, handler, NULL, "fuzz", &err);
        if (st != WP_OK && !err.msg[0]) abort();
        wp_router_seal(r2);
        if (st == WP_OK) check_match(r2, method, raw);
        wp_router_free(r2);
    }
    free(text);
    return 0;
}
