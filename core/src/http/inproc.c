/* inproc.c - see inproc.h. */
#include "inproc.h"

#include "credmemo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "log.h"

static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", NULL};

/* The call as the handler sees it: the request and what its request info points into. */
typedef struct call {
    wp_req req;
    struct mg_request_info ri;
    char method[8];
    char query[2048];
} call;

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What the router found, answered the way server.c answers it over HTTP; 0 when the route may run. */
static int answer_unrouted(wp_req *req, wp_route_result rr, const char *allow)
{
    switch (rr) {
    case WP_ROUTE_FOUND: return 0;
    case WP_ROUTE_NO_PATH:
        wp_resp_error(req, 404, "invalid_request_error", "route_not_found", NULL, "no route for %s %s",
                      req->ri->request_method, req->path);
        return 1;
    case WP_ROUTE_NO_METHOD:
        wp_resp_header(req, "Allow", allow);
        wp_resp_error(req, 405, "invalid_request_error", "method_not_allowed", NULL,
                      "%s is not allowed on %s; allowed: %s", req->ri->request_method, req->path, allow);
        return 1;
    case WP_ROUTE_BAD_PARAM:
    default:
        wp_resp_error(req, 404, "invalid_request_error", "resource_missing", req->bad_param,
                      "no such object: the :%s path segment holds a NUL byte (%%00)", req->bad_param);
        return 1;
    }
}

wp_status wp_inproc_call(const wp_router *rt, wp_req *parent, const char *method, const char *path,
                         const char *body, size_t body_len, wp_inproc_result *res, wp_err *err)
{
    memset(res, 0, sizeof *res);
    if (!parent || parent->inproc)
        return wp_err_set(err, WP_EINVAL, "a call in process is made for a request being served, and never from "
                                          "inside another one");
    if (!parent->account_id[0])
        return wp_err_set(err, WP_EINVAL, "a call in process needs a request authenticated by an API key");
    int known = 0;
    for (const char *const *m = methods; method && *m; m++)
        if (strcmp(*m, method) == 0) known = 1;
    if (!known) return wp_err_set(err, WP_EINVAL, "method must be GET, POST, PUT, PATCH or DELETE");
    if (!path || strncmp(path, "/api/", 5) != 0) return wp_err_set(err, WP_EINVAL, "path must start with /api/");
    const char *q = strchr(path, '?');
    size_t plen = q ? (size_t)(q - path) : strlen(path);
    call *c = calloc(1, sizeof *c);
    if (!c) return wp_err_set(err, WP_ENOMEM, "out of memory");
    wp_req *req = &c->req;
    char raw[2048];
    wp_status st = WP_OK;
    if (plen >= sizeof raw || (q && strlen(q + 1) >= sizeof c->query)) {
        st = wp_err_set(err, WP_EINVAL, "path is longer than %zu bytes", sizeof raw - 1);
        goto out;
    }
    memcpy(raw, path, plen);
    raw[plen] = '\0';
    if (q) snprintf(c->query, sizeof c->query, "%s", q + 1);
    if ((st = wp_router_path(raw, req->path, sizeof req->path, err)) != WP_OK) goto out;
    /* The calling request's connection, outside any transaction: the call's work is its own. */
    PGconn *db = wp_req_db(parent, err);
    if (!db) {
        st = err->status ? err->status : WP_EUNAVAIL;
        goto out;
    }
    if (PQtransactionStatus(db) != PQTRANS_IDLE) {
        st = wp_err_set(err, WP_ECONFLICT, "a call in process cannot run inside the calling route's open "
                                           "transaction: make it before the route's own database work");
        goto out;
    }
    snprintf(c->method, sizeof c->method, "%s", method);
    c->ri.request_method = c->method;
    c->ri.request_uri = c->ri.local_uri = c->ri.local_uri_raw = raw;
    c->ri.http_version = "1.1";
    c->ri.query_string = q ? c->query : NULL;
    snprintf(c->ri.remote_addr, sizeof c->ri.remote_addr, "%s", parent->ri->remote_addr);
    c->ri.is_ssl = parent->ri->is_ssl;
    c->ri.content_length = body ? (long long)body_len : -1;
    if (body) {
        c->ri.http_headers[0].name = "Content-Type";
        c->ri.http_headers[0].value = "application/json";
        c->ri.num_headers = 1;
    }
    req->inproc = true;
    req->ri = &c->ri;
    req->env = parent->env;
    req->t_start = mono_now();
    memcpy(req->request_id, parent->request_id, sizeof req->request_id);
    memcpy(req->client_ip, parent->client_ip, sizeof req->client_ip);
    wp_req_copy_auth(req, parent);
    if (body) {
        req->body = malloc(body_len + 1);
        if (!req->body) {
            st = wp_err_set(err, WP_ENOMEM, "out of memory");
            goto out;
        }
        memcpy(req->body, body, body_len);
        req->body[body_len] = '\0';
        req->body_len = body_len;
    }
    req->body_read = true;
    char allow[64] = "";
    wp_route_result rr = wp_router_match(rt, method, req->path, req, allow, sizeof allow);
    if (rr == WP_ROUTE_FOUND && req->route->auth != WP_AUTH_API_KEY) {
        st = wp_err_set(err, WP_EINVAL, "%s %s takes no API key: only the API's key routes can be called in process",
                        method, req->route->pattern);
        goto out;
    }
    req->db = db;
    if (!answer_unrouted(req, rr, allow)) {
        wp_cred_memo memo; /* its own: the calling request's is for the caller's reads */
        wp_cred_memo *outer = wp_cred_memo_enter(&memo);
        req->route->fn(req, req->route->ud);
        wp_cred_memo_leave(outer);
        if (!req->responded) {
            wp_log_error("%s %s (in process): handler sent no response", method, req->route->pattern);
            wp_resp_error(req, 500, "api_error", "internal_error", NULL, "the handler sent no response");
        }
    }
    /* A handler answers after its commit or rollback; one that left a transaction open loses it. */
    if (PQtransactionStatus(db) != PQTRANS_IDLE) wp_db_rollback(db);
    req->db = NULL; /* the caller's: released with it */
    res->status = req->status;
    res->body = req->capture;
    res->body_len = req->capture_len;
    req->capture = NULL;
    snprintf(res->content_type, sizeof res->content_type, "%s", req->capture_ctype);
    memcpy(res->headers, req->extra_headers, req->extra_len);
    res->headers[req->extra_len] = '\0';
out:
    for (size_t i = 0; i < req->arena_len; i++) free(req->arena[i]);
    free(req->arena);
    free(req->body);
    free(req->capture);
    free(c);
    return st;
}

void wp_inproc_result_free(wp_inproc_result *res)
{
    free(res->body);
    res->body = NULL;
    res->body_len = 0;
}
