/*
 * server.c - CivetWeb set-up and the request pipeline.
 *
 * Every request goes through on_begin_request(): framing checks (request
 * smuggling), routing, authentication, rate limiting, the handler, then
 * metrics and the access log.  Order of checks follows docs/api.md: 401, 429,
 * then the handler's own 400/415, 404, 402, 409.
 */
#include "server.h"
#include "reload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "accounts.h"
#include "apikey.h"
#include "batches.h"
#include "credmemo.h"
#include "events.h"
#include "events_api.h"
#include "framing.h"
#include "idempotency.h"
#include "keepalive.h"
#include "ids.h"
#include "log.h"
#include "passcache.h"
#include "passes.h"
#include "portal.h"
#include "share.h"
#include "static.h"
#include "subaccounts.h"
#include "sweep.h"
#include "templates.h"
#include "tenancy.h"
#include "threadlocale.h"

/* Strings under these may be long: base64 images.  Credential uploads name
 * their own long fields (wp_credential_kind.long_fields, credentials.c). */
static const char *const long_prefixes[] = {"images", NULL};

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void new_request_id(char out[32])
{
    char tok[24];
    if (wp_request_token(tok) != WP_OK) snprintf(tok, sizeof tok, "unavailable");
    snprintf(out, 32, "req_%s", tok);
}

static void set_rate_headers(wp_req *req, const wp_rate_decision *d)
{
    char v[32];
    snprintf(v, sizeof v, "%ld", d->limit);
    wp_resp_header(req, "X-RateLimit-Limit", v);
    snprintf(v, sizeof v, "%ld", d->remaining);
    wp_resp_header(req, "X-RateLimit-Remaining", v);
    snprintf(v, sizeof v, "%ld", d->reset_seconds);
    wp_resp_header(req, "X-RateLimit-Reset", v);
}

/* The server a request came to: CivetWeb's user data (the request itself carries only req->env). */
static wp_server *server_of(const wp_req *req) { return mg_get_user_data(mg_get_context(req->conn)); }

static int rate_limited(wp_req *req, const char *bucket)
{
    /* The configured limit is the deployment's: this process enforces its share of it. */
    wp_server *srv = server_of(req);
    wp_rate_decision d = wp_ratelimit_take_share(srv->ratelimit, bucket, mono_now(), wp_jobs_live_processes(srv->jobs));
    if (d.limit > 0) set_rate_headers(req, &d);
    if (d.allowed) return 0;
    char ra[24];
    snprintf(ra, sizeof ra, "%ld", d.retry_after);
    wp_resp_header(req, "Retry-After", ra);
    wp_resp_error(req, 429, "rate_limit_error", "rate_limited", NULL, "too many requests for this %s; retry in %ld s",
                  req->portal ? "dashboard user" : "API key", d.retry_after);
    return 1;
}

/* A dashboard session instead of an API key (portal.h): the portal's own routes, and the API's
 * key routes reached under /portal/api/v1/ (api 1), which act on an account as a key would. */
static int authenticate_portal(wp_req *req, int api)
{
    wp_server *srv = server_of(req);
    if (!wp_portal_authenticate(req, &srv->domain)) return 0;
    if (rate_limited(req, req->portal_user_id)) return 0;
    if (!api) return 1;
    int live = wp_portal_mode(req);
    if (live < 0) return 0;
    return wp_tenancy_resolve(req, live);
}

/* Returns 1 when the request may proceed; otherwise a response was sent. */
static int authenticate(wp_req *req)
{
    if (req->route->auth == WP_AUTH_PORTAL) return authenticate_portal(req, 0);
    if (req->route->auth != WP_AUTH_API_KEY) return 1;
    if (req->portal) return authenticate_portal(req, 1);
    return wp_server_auth_bearer(req);
}

/* The request's connection, for a key the cache does not hold. */
static PGconn *req_conn(void *ud, wp_err *err) { return wp_req_db(ud, err); }

int wp_server_auth_bearer(wp_req *req)
{
    const char *h = wp_req_header(req, "Authorization");
    if (!h || !*h) {
        wp_resp_header(req, "WWW-Authenticate", "Bearer");
        wp_resp_error(req, 401, "authentication_error", "api_key_missing", NULL,
                      "no API key: send Authorization: Bearer sk_live_...");
        return 0;
    }
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        wp_resp_header(req, "WWW-Authenticate", "Bearer");
        wp_resp_error(req, 401, "authentication_error", "api_key_invalid", NULL,
                      "malformed Authorization header: expected \"Bearer sk_live_...\"");
        return 0;
    }
    const char *token = h + 7;
    while (*token == ' ') token++;
    wp_err err;
    wp_err_clear(&err);
    wp_apikey_auth auth;
    wp_status st = wp_keycache_verify(server_of(req)->keycache, token, req_conn, req, &auth, &err);
    if (st == WP_EAUTH) {
        wp_resp_header(req, "WWW-Authenticate", "Bearer");
        wp_resp_error(req, 401, "authentication_error", "api_key_invalid", NULL, "%s", err.msg);
        return 0;
    }
    if (st != WP_OK) {
        wp_resp_from_err(req, &err);
        return 0;
    }
    snprintf(req->account_id, sizeof req->account_id, "%s", auth.account_id);
    snprintf(req->api_key_id, sizeof req->api_key_id, "%s", auth.key_id);
    snprintf(req->key_prefix, sizeof req->key_prefix, "%s", auth.prefix);

    if (rate_limited(req, req->api_key_id)) return 0;
    return wp_tenancy_resolve(req, auth.livemode);
}

/* An object id (":id", ":..._id") that cannot exist is not found; any other parameter is malformed. */
static void refuse_nul_param(wp_req *req)
{
    const char *p = req->bad_param;
    size_t n = strlen(p);
    if (strcmp(p, "id") == 0 || (n > 3 && strcmp(p + n - 3, "_id") == 0))
        wp_resp_error(req, 404, "invalid_request_error", "resource_missing", p,
                      "no such object: the :%s path segment holds a NUL byte (%%00)", p);
    else
        wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", p,
                      "the :%s path segment holds a NUL byte (%%00)", p);
}

static void log_access(wp_req *req, double elapsed)
{
    /* The API, and the dashboard's calls (kind "portal"; its sign-ins "login") */
    if (strncmp(req->path, "/api/", 5) != 0 && !req->portal) return;
    wp_access_entry e;
    memset(&e, 0, sizeof e);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    e.ts_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    snprintf(e.ip, sizeof e.ip, "%s", wp_req_remote_ip(req));
    snprintf(e.method, sizeof e.method, "%s", req->ri->request_method);
    /* Decoded as clients wrote it; long paths are cut on purpose: the log stores a bounded row. */
    if (req->portal && strncmp(req->path, WP_PORTAL_PREFIX "/", sizeof WP_PORTAL_PREFIX) != 0) {
        /* an API path reached under /portal/ (its prefix was taken off for routing) */
        char full[sizeof req->path + sizeof WP_PORTAL_PREFIX];
        snprintf(full, sizeof full, WP_PORTAL_PREFIX "%s", req->path);
        wp_router_path_decoded(full, e.path, sizeof e.path);
    } else {
        wp_router_path_decoded(req->path, e.path, sizeof e.path);
    }
    e.status = req->status;
    e.latency_us = (int)(elapsed * 1e6);
    snprintf(e.account_id, sizeof e.account_id, "%s", req->account_id);
    snprintf(e.agency_account_id, sizeof e.agency_account_id, "%s", req->agency_account_id);
    snprintf(e.key_prefix, sizeof e.key_prefix, "%s", req->key_prefix);
    snprintf(e.request_id, sizeof e.request_id, "%s", req->request_id);
    snprintf(e.kind, sizeof e.kind, "%s", req->log_kind ? req->log_kind : req->portal ? "portal" : "api");
    wp_accesslog_push(server_of(req)->accesslog, &e);
}

/* The client's address: the peer, or behind trusted proxies what X-Forwarded-For says (clientaddr.h). */
static void set_client_ip(wp_req *req)
{
    const char *xff[16];
    size_t n = 0;
    if (server_of(req)->proxies.n > 0)
        for (int i = 0; i < req->ri->num_headers && n < sizeof xff / sizeof xff[0]; i++)
            if (strcasecmp(req->ri->http_headers[i].name, "X-Forwarded-For") == 0) xff[n++] = req->ri->http_headers[i].value;
    wp_clientaddr(&server_of(req)->proxies, req->ri->remote_addr, xff, n, req->client_ip, sizeof req->client_ip);
}

/*
 * The plain-HTTP listener of server.tls.redirect_port serves nothing: every
 * request gets 308 (method and body kept) to the same path and query on the
 * https public URL, without HSTS (meaningless over HTTP).
 */
static void redirect_to_https(wp_req *req, const char *raw_path)
{
    const char *q = req->ri->query_string;
    char loc[1400];
    int n = snprintf(loc, sizeof loc, "%s%s%s%s", server_of(req)->https_origin, raw_path, q ? "?" : "", q ? q : "");
    if (n < 0 || (size_t)n >= sizeof loc) {
        wp_resp_error(req, 414, "invalid_request_error", "uri_too_long", "path",
                      "the target is too long to redirect: send the request to %s directly", server_of(req)->https_origin);
        return;
    }
    wp_resp_header(req, "Location", loc);
    wp_resp_raw(req, 308, NULL, "", 0);
}

/* Every server thread parses JSON: on the C locale object (threadlocale.h). */
static void *on_init_thread(const struct mg_context *ctx, int thread_type)
{
    (void)ctx, (void)thread_type;
    wp_thread_locale_c();
    return NULL;
}

static int on_begin_request(struct mg_connection *conn)
{
    wp_server *srv = mg_get_user_data(mg_get_context(conn));
    const struct mg_request_info *ri = mg_get_request_info(conn);
    wp_req *req = calloc(1, sizeof *req);
    if (!req) {
        mg_send_http_error(conn, 503, "out of memory");
        return 1;
    }
    req->conn = conn;
    req->ri = ri;
    req->env = &srv->http;
    req->t_start = mono_now();
    wp_cred_memo memo; /* what this request's pass reads learn of the credentials (credmemo.h) */
    wp_cred_memo *outer_memo = wp_cred_memo_enter(&memo);
    new_request_id(req->request_id);
    set_client_ip(req);

    const char *route_name = "unmatched";
    /* CivetWeb hands the path undecoded (decode_url no): decoding it whole
     * would let %2F split a segment and %00 cut an id short. */
    wp_err perr;
    wp_err_clear(&perr);
    const char *raw = ri->local_uri ? ri->local_uri : "/";
    wp_status pst = wp_router_path(raw, req->path, sizeof req->path, &perr);
    if (pst != WP_OK) snprintf(req->path, sizeof req->path, "%s", raw); /* for the access log only */
    char why[160];
    const char *bad_header = NULL;
    const char *bad = wp_framing_problem(ri, why, sizeof why, &bad_header);
    if (bad) {
        req->close_after = true;
        wp_resp_error(req, 400, "invalid_request_error", "malformed_request", bad_header, "malformed request: %s", bad);
        goto done;
    }
    if (pst != WP_OK) {
        int too_long = pst == WP_ETOOLARGE;
        wp_resp_error(req, too_long ? 414 : 400, "invalid_request_error", too_long ? "uri_too_long" : "malformed_request",
                      "path", "%s", perr.msg);
        goto done;
    }
    if (srv->tls && !ri->is_ssl) {
        route_name = "https_redirect";
        redirect_to_https(req, raw);
        goto done;
    }

    /* The dashboard: /portal/api/v1/... is the API's /api/v1/... with a session (portal.h) */
    int portal_api = 0;
    if (srv->cfg->portal_enabled && strncmp(req->path, WP_PORTAL_PREFIX "/", sizeof WP_PORTAL_PREFIX) == 0) {
        req->portal = true;
        if (strncmp(req->path, WP_PORTAL_PREFIX "/api/v1/", sizeof WP_PORTAL_PREFIX + 7) == 0) {
            portal_api = 1;
            memmove(req->path, req->path + sizeof WP_PORTAL_PREFIX - 1, strlen(req->path) - sizeof WP_PORTAL_PREFIX + 2);
        }
    }
    char allow[64];
    wp_route_result rr = wp_router_match(srv->router, ri->request_method, req->path, req, allow, sizeof allow);
    /* only the API's key routes are reached that way: the public ones have their own links */
    if (portal_api && rr != WP_ROUTE_NO_PATH && rr != WP_ROUTE_NO_METHOD && req->route->auth != WP_AUTH_API_KEY)
        rr = WP_ROUTE_NO_PATH;
    if (rr == WP_ROUTE_NO_PATH && srv->cfg->portal_enabled && !req->portal &&
        ((strcmp(req->path, "/") == 0 && !srv->cfg->document_root) || strcmp(req->path, "/dashboard") == 0 ||
         strncmp(req->path, "/dashboard/", 11) == 0)) {
        route_name = "dashboard";
        if (strcmp(ri->request_method, "GET") != 0 && strcmp(ri->request_method, "HEAD") != 0) {
            wp_resp_header(req, "Allow", "GET, HEAD");
            wp_resp_error(req, 405, "invalid_request_error", "method_not_allowed", NULL,
                          "%s is not allowed on %s; allowed: GET, HEAD", ri->request_method, req->path);
        } else if (strncmp(req->path, "/dashboard/", 11) == 0) {
            wp_static_serve(req, srv->cfg->portal_dashboard_dir, req->path + 11);
        } else {
            wp_resp_header(req, "Location", "/dashboard/");
            wp_resp_raw(req, 302, NULL, "", 0);
        }
        goto done;
    }
    if (rr == WP_ROUTE_NO_PATH) {
        /* Not an API path: let CivetWeb serve the dashboard's static files. */
        if (srv->cfg->document_root && strncmp(req->path, "/api/", 5) != 0 && strcmp(ri->request_method, "GET") == 0) {
            wp_cred_memo_leave(outer_memo);
            free(req);
            return 0;
        }
        wp_resp_error(req, 404, "invalid_request_error", "route_not_found", NULL, "no route for %s %s",
                      ri->request_method, req->path);
        goto done;
    }
    if (rr == WP_ROUTE_NO_METHOD) {
        wp_resp_header(req, "Allow", allow);
        wp_resp_error(req, 405, "invalid_request_error", "method_not_allowed", NULL,
                      "%s is not allowed on %s; allowed: %s", ri->request_method, req->path, allow);
        goto done;
    }
    route_name = req->route->pattern;
    if (rr == WP_ROUTE_BAD_PARAM) {
        /* the value would reach the handler cut short at the NUL: refuse it as what it names */
        if (authenticate(req)) refuse_nul_param(req);
        goto done;
    }
    if (authenticate(req) && wp_idem_before(req)) {
        req->route->fn(req, req->route->ud);
        if (!req->responded) {
            wp_log_error("%s %s: handler sent no response", ri->request_method, req->route->pattern);
            wp_resp_error(req, 500, "api_error", "internal_error", NULL, "the handler sent no response");
        }
        wp_idem_after(req);
        wp_resp_send_deferred(req);
    }

done:;
    wp_cred_memo_leave(outer_memo);
    double elapsed = mono_now() - req->t_start;
    if (req->db) wp_db_release(srv->db, req->db);
    wp_metrics_request(srv->metrics, ri->request_method, route_name, req->status, elapsed);
    log_access(req, elapsed);
    for (size_t i = 0; i < req->arena_len; i++) free(req->arena[i]);
    free(req->arena);
    free(req->body);
    free(req->capture);
    int status = req->status;
    free(req);
    return status > 0 ? status : 1;
}

/*
 * CivetWeb's own error answers: before routing (a request it could not read
 * or parse; no local_uri yet) the API's JSON error with a Request-Id, like
 * every other answer of the gateway.  Static files keep CivetWeb's pages.
 */
static int on_http_error(struct mg_connection *conn, int status, const char *msg)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    if (ri && ri->local_uri) return 1;
    wp_server *srv = mg_get_user_data(mg_get_context(conn));
    char rid[32];
    new_request_id(rid);
    int sent = wp_framing_reply(conn, status, msg, rid, srv->cfg->header_timeout_seconds);
    wp_metrics_request(srv->metrics, "-", "unparsed", sent, 0);
    return 0;
}

/* CivetWeb made the listener's SSL_CTX: our policy and certificate callback go on it. */
static int on_init_ssl(void *ssl_ctx, void *user_data)
{
    wp_server *srv = user_data;
    wp_err err;
    wp_err_clear(&err);
    if (wp_tls_setup_ctx(srv->tls, ssl_ctx, &err) != WP_OK) {
        wp_log_error("%s", err.msg);
        return -1;
    }
    return 1; /* CivetWeb loads no certificate itself */
}

static void log_tls_info(const char *what, const wp_tls_info *info)
{
    char line[900];
    wp_log_level lvl = wp_tls_describe(info, line, sizeof line);
    wp_log(lvl, "TLS %s: %s", what, line);
}

wp_status wp_server_reload_tls(wp_server *srv, wp_err *err)
{
    if (!srv->tls) {
        wp_log_debug("SIGHUP: no server.tls configured, no certificate to reload");
        return WP_OK;
    }
    wp_tls_info info;
    wp_status st = wp_tls_reload(srv->tls, &info, err);
    if (st != WP_OK) {
        wp_log_error("TLS reload failed, still serving the previous certificate: %s", err->msg);
        return st;
    }
    log_tls_info("certificate reloaded", &info);
    return WP_OK;
}

/* "https://host[:port]" of an https public URL: the part before its path. */
static void url_origin(const char *url, char *out, size_t len)
{
    const char *host = strstr(url, "://");
    size_t n = host ? (size_t)(host + 3 - url) + strcspn(host + 3, "/?#") : strlen(url);
    snprintf(out, len, "%.*s", (int)n, url);
}

static int on_log_message(const struct mg_connection *conn, const char *message)
{
    /* A failed handshake is the client's doing (an old TLS version, a scanner, a port probe):
     * worth a line with its address, not a warning. */
    if (strncmp(message, "sslize error", 12) == 0 || strncmp(message, "SSL syscall error", 17) == 0) {
        const struct mg_request_info *ri = conn ? mg_get_request_info(conn) : NULL;
        wp_log_info("TLS handshake with %s failed: %s", ri ? ri->remote_addr : "a client", message);
        return 1;
    }
    wp_log_warn("civetweb: %s", message);
    return 1;
}

/* The "vault" section: key_version (of master_key) and previous_keys {"<version>": "<base64>"}. */
wp_status wp_server_vault_open(const wp_config *cfg, wp_vault **out, wp_err *err)
{
    json_object *sec = NULL, *ver = NULL, *prev = NULL;
    int version = 1;
    if (cfg->root && json_object_object_get_ex(cfg->root, "vault", &sec)) {
        json_object_object_foreach(sec, k, v) {
            if (strcmp(k, "key_version") == 0) {
                ver = v;
            } else if (strcmp(k, "previous_keys") == 0) {
                if (!json_object_is_type(v, json_type_object))
                    return wp_err_param(err, WP_ECONFIG, "vault.previous_keys", "vault.previous_keys: must be an object");
                prev = v;
            } else if (strcmp(k, "$comment") != 0) {
                return wp_err_param(err, WP_ECONFIG, "vault", "vault.%s: unknown configuration key", k);
            }
        }
        if (ver) {
            if (!json_object_is_type(ver, json_type_int) || json_object_get_int64(ver) < 1 ||
                json_object_get_int64(ver) > 1000000)
                return wp_err_param(err, WP_ECONFIG, "vault.key_version",
                                    "vault.key_version: must be an integer from 1 to 1000000");
            version = (int)json_object_get_int64(ver);
        }
    }
    return wp_vault_new(cfg->master_key, version, prev, out, err);
}

wp_status wp_server_init(wp_server *srv, wp_config *cfg, wp_err *err)
{
    memset(srv, 0, sizeof *srv);
    srv->cfg = cfg;
    srv->json_limits.max_depth = cfg->max_json_depth;
    srv->json_limits.max_string = cfg->max_string_bytes;
    /* base64 grows data by 4/3; the image limit is on the decoded bytes */
    srv->json_limits.max_long_string = cfg->max_image_bytes * 4 / 3 + 4;
    srv->json_limits.long_prefixes = long_prefixes;
    wp_db_options dbo = {.url = cfg->database_url, .pool_size = cfg->db_pool_size,
                         .acquire_timeout_ms = cfg->db_acquire_timeout_ms,
                         .statement_timeout_ms = cfg->db_statement_timeout_ms,
                         .connect_timeout_s = cfg->db_connect_timeout_s, .application_name = "walletpass",
                         .max_prepared = cfg->db_prepared_statements,
                         .transaction_pooling = cfg->db_transaction_pooling};
    wp_status st;
    if ((st = wp_proxies_from_json(cfg->trusted_proxies, &srv->proxies, err)) != WP_OK) return st;
    if ((st = wp_server_vault_open(cfg, &srv->vault, err)) != WP_OK) return st;
    if ((st = wp_db_open(&dbo, &srv->db, err)) != WP_OK) return st;
    if ((st = wp_router_new(&srv->router)) != WP_OK) return wp_err_set(err, st, "out of memory");
    if ((st = wp_metrics_new(&srv->metrics)) != WP_OK) return wp_err_set(err, st, "out of memory");
    wp_ratelimit *rl = NULL;
    if ((st = wp_ratelimit_new(cfg->rate_limit_per_second, cfg->rate_limit_burst, &rl)) != WP_OK)
        return wp_err_set(err, st, "out of memory");
    srv->ratelimit = rl;
    if ((st = wp_accesslog_start(srv->db, cfg->access_log_queue, cfg->access_log_batch, cfg->access_log_flush_ms,
                                 &srv->accesslog, err)) != WP_OK)
        return st;
    if (wp_keycache_new((size_t)cfg->cache_api_keys, cfg->cache_api_key_ttl_ms, &srv->keycache) != WP_OK)
        return wp_err_set(err, WP_ENOMEM, "out of memory");
    srv->http = (wp_http_env){.cfg = cfg, .db = srv->db, .json_limits = srv->json_limits,
                              .auth_bearer = wp_server_auth_bearer, .keycache = srv->keycache};
    if ((st = wp_health_routes(srv, err)) != WP_OK) return st;
    if ((st = wp_accounts_routes(srv->router, &srv->domain, err)) != WP_OK) return st;
    if ((st = wp_subaccounts_routes(srv->router, &srv->domain, err)) != WP_OK) return st;
    if ((st = wp_logs_routes(srv->router, err)) != WP_OK) return st;
    /* Job queue and event bus exist before plugins load, so plugins can register handlers. */
    wp_jobs_config jc;
    if ((st = wp_jobs_config_read(cfg->root, &jc, err)) != WP_OK) return st;
    /* Through a transaction pooler a LISTEN hears nothing: a direct listen_url, else polling. */
    jc.no_listen = cfg->db_transaction_pooling && !cfg->db_listen_url;
    if ((st = wp_jobs_new_cfg(srv->db, cfg->db_listen_url, &jc, &srv->jobs, err)) != WP_OK) return st;
    if ((st = wp_events_new(srv->jobs, &srv->events, err)) != WP_OK) return st;
    /* entries of at most 16 KiB (plugin/host_passes.c): the byte bound follows from the count */
    if (cfg->cache_credentials > 0 &&
        wp_lru_new((size_t)cfg->cache_credentials, (size_t)cfg->cache_credentials << 14, &srv->credcache) != WP_OK)
        return wp_err_set(err, WP_ENOMEM, "out of memory");
    if (cfg->cache_passes > 0 && wp_lru_new((size_t)cfg->cache_passes, (size_t)cfg->cache_passes_mb << 20,
                                            &srv->passcache) != WP_OK)
        return wp_err_set(err, WP_ENOMEM, "out of memory");
    if (cfg->cache_passes > 0 && wp_lru_new((size_t)cfg->cache_passes, (size_t)cfg->cache_passes << 8,
                                            &srv->secretcache) != WP_OK)
        return wp_err_set(err, WP_ENOMEM, "out of memory");
    srv->domain = (wp_domain){.cfg = cfg, .db = srv->db, .vault = srv->vault, .jobs = srv->jobs, .events = srv->events,
                              .credcache = srv->credcache, .passcache = srv->passcache,
                              .secretcache = srv->secretcache, .metrics = srv->metrics};
    if ((st = wp_events_routes(srv->router, err)) != WP_OK) return st;
    if ((st = wp_passes_routes(srv->router, &srv->domain, err)) != WP_OK) return st;
    if ((st = wp_share_routes(srv->router, &srv->domain, err)) != WP_OK) return st;
    if ((st = wp_batches_routes(srv->router, &srv->domain, err)) != WP_OK) return st;
    if ((st = wp_templates_routes(srv->router, &srv->domain, err)) != WP_OK) return st;
    if ((st = wp_portal_routes(srv->router, &srv->domain, err)) != WP_OK) return st;
    return WP_OK;
}

int wp_server_dashboard_found(const wp_config *cfg, char *why, size_t len)
{
    char index[1100];
    int n = snprintf(index, sizeof index, "%s/index.html", cfg->portal_dashboard_dir);
    if (n > 0 && (size_t)n < sizeof index && access(index, R_OK) == 0) return 1;
    snprintf(why, len,
             "the dashboard's files are not in %s (no readable index.html): /dashboard/ answers 404; set "
             "portal.dashboard_dir (or WALLETPASS_DASHBOARD_DIR) to the dashboard folder, or portal.enabled to false",
             cfg->portal_dashboard_dir);
    return 0;
}

wp_status wp_server_start(wp_server *srv, wp_err *err)
{
    wp_router_seal(srv->router);
    const wp_config *cfg = srv->cfg;
    char warning[1024];
    if (wp_config_public_url_warning(cfg, warning, sizeof warning)) wp_log_warn("%s", warning);
    if (cfg->tls_certificate_file) {
        wp_tls_info info;
        wp_status tst = wp_tls_load(cfg->tls_certificate_file, cfg->tls_key_file, &srv->tls, &info, err);
        if (tst != WP_OK) return tst;
        log_tls_info("certificate", &info);
        url_origin(cfg->public_url, srv->https_origin, sizeof srv->https_origin);
    }
    if (cfg->portal_enabled && !wp_server_dashboard_found(cfg, warning, sizeof warning)) wp_log_warn("%s", warning);
    /* The fence before anything that serves or delivers: writes wait on it (fence.h).  Through a
     * transaction pooler without a direct listen_url no process can listen, so none caches. */
    if (!(cfg->db_transaction_pooling && !cfg->db_listen_url)) {
        const char *delay = getenv("WALLETPASS_FENCE_TEST_DELAY_MS");
        wp_fence_options fo = {.direct_url = cfg->db_listen_url, .lease_ms = cfg->cache_lease_ms,
                               .test_delay_ms = delay ? atoi(delay) : 0};
        wp_status fst = wp_fence_start(srv->db, &fo, wp_passcache_on_notify, srv->passcache, &srv->fence, err);
        if (fst != WP_OK) return fst;
        srv->domain.fence = srv->fence;
        srv->http.fence = srv->fence;
        wp_events_set_fence(srv->events, srv->fence);
        wp_jobs_set_fence(srv->jobs, srv->fence);
    } else if (cfg->cache_passes > 0) {
        wp_log_info("pass cache: no database.listen_url with database.transaction_pooling, so no LISTEN: every pass "
                    "read goes to the database");
    }
    wp_status jst = wp_jobs_start(srv->jobs, err);
    if (jst != WP_OK) return jst;
    /* Through a transaction pooler a LISTEN hears nothing: a direct listen_url, else the key
     * cache's time to live alone bounds how long another process's revocation takes. */
    if (cfg->cache_api_keys > 0 && cfg->db_transaction_pooling && !cfg->db_listen_url)
        wp_log_info("api key cache: no database.listen_url with database.transaction_pooling, so no LISTEN: a key "
                    "revoked on another gateway process stops within cache.api_key_ttl_ms (%d ms)",
                    cfg->cache_api_key_ttl_ms);
    else if (cfg->cache_api_keys > 0 &&
             (jst = wp_listener_start(srv->db, cfg->db_listen_url, WP_KEYCACHE_CHANNEL, wp_keycache_on_notify,
                                      srv->keycache, &srv->auth_listener, err)) != WP_OK)
        return jst;
    if ((jst = wp_sweep_start(srv->db, cfg, &srv->sweep, err)) != WP_OK) return jst;
    char ports[600], threads[16], ka_ms[16], req_ms[16], backlog[16], hsts[16];
    /* "s": CivetWeb's TLS listener; the redirect listener is plain and only answers 308 */
    int pn = srv->tls && cfg->tls_redirect_port
                 ? snprintf(ports, sizeof ports, "%s:%ds,%s:%d", cfg->listen_address, cfg->port, cfg->listen_address,
                            cfg->tls_redirect_port)
                 : snprintf(ports, sizeof ports, "%s:%d%s", cfg->listen_address, cfg->port, srv->tls ? "s" : "");
    if (pn < 0 || (size_t)pn >= sizeof ports)
        return wp_err_param(err, WP_ECONFIG, "server.listen_address", "server.listen_address: too long");
    snprintf(hsts, sizeof hsts, "%d", cfg->tls_hsts_max_age);
    snprintf(threads, sizeof threads, "%d", cfg->num_threads);
    snprintf(ka_ms, sizeof ka_ms, "%d", cfg->keep_alive_timeout_ms);
    /* CivetWeb's request_timeout bounds the whole request line and headers,
     * and any single read or write that stalls; the body has its own
     * deadline in wp_req_body (request_timeout_ms). */
    snprintf(req_ms, sizeof req_ms, "%d", cfg->header_timeout_seconds * 1000);
    snprintf(backlog, sizeof backlog, "%d", cfg->listen_backlog);
    const char *opts[32];
    int i = 0;
    opts[i++] = "listening_ports"; opts[i++] = ports;
    opts[i++] = "num_threads"; opts[i++] = threads;
    opts[i++] = "enable_keep_alive"; opts[i++] = cfg->keep_alive ? "yes" : "no";
    opts[i++] = "keep_alive_timeout_ms"; opts[i++] = ka_ms;
    opts[i++] = "request_timeout_ms"; opts[i++] = req_ms;
    opts[i++] = "listen_backlog"; opts[i++] = backlog;
    opts[i++] = "tcp_nodelay"; opts[i++] = "1";
    opts[i++] = "decode_url"; opts[i++] = "no"; /* the router decodes per segment */
    if (srv->tls) {
        opts[i++] = "ssl_protocol_version"; opts[i++] = "4"; /* TLS 1.2+; wp_tls_setup_ctx sets it again */
        /* HSTS on CivetWeb's own answers (static files); ours add it in http.c */
        if (cfg->tls_hsts_max_age > 0) {
            opts[i++] = "strict_transport_security_max_age"; opts[i++] = hsts;
        }
    }
    if (cfg->document_root) {
        opts[i++] = "document_root"; opts[i++] = cfg->document_root;
        opts[i++] = "enable_directory_listing"; opts[i++] = "no";
    }
    opts[i] = NULL;
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    wp_keepalive_callbacks(&cb);
    cb.init_thread = on_init_thread;
    cb.begin_request = on_begin_request;
    cb.log_message = on_log_message;
    cb.http_error = on_http_error;
    if (srv->tls) cb.init_ssl = on_init_ssl;
    struct mg_init_data init = {.callbacks = &cb, .user_data = srv, .configuration_options = opts};
    struct mg_error_data ed;
    char ebuf[256] = "";
    memset(&ed, 0, sizeof ed);
    ed.text = ebuf;
    ed.text_buffer_size = sizeof ebuf;
    srv->mg = mg_start2(&init, &ed);
    if (!srv->mg)
        return wp_err_set(err, WP_EIO, "cannot listen on %s: %s", ports, ebuf[0] ? ebuf : "civetweb failed to start");
    if (srv->tls) {
        char redir[64] = "";
        if (cfg->tls_redirect_port) snprintf(redir, sizeof redir, "; port %d redirects to it", cfg->tls_redirect_port);
        wp_log_info("listening on https://%s:%d (%s%s; public URL %s, %d worker threads, keep-alive %s)",
                    cfg->listen_address, cfg->port, WP_TLS_PROTOCOLS, redir, cfg->public_url, cfg->num_threads,
                    cfg->keep_alive ? "on" : "off");
    } else {
        wp_log_info("listening on http://%s (public URL %s, %d worker threads, keep-alive %s)", ports, cfg->public_url,
                    cfg->num_threads, cfg->keep_alive ? "on" : "off");
    }
    return WP_OK;
}

/* After the server stopped; a job still running (start failed half-way) no longer waits on it. */
static void stop_fence(wp_server *srv)
{
    if (!srv->fence) return;
    if (srv->events) wp_events_set_fence(srv->events, NULL);
    if (srv->jobs) wp_jobs_set_fence(srv->jobs, NULL);
    srv->domain.fence = NULL;
    srv->http.fence = NULL;
    wp_fence_stop(srv->fence);
    srv->fence = NULL;
}

void wp_server_stop(wp_server *srv)
{
    if (srv->mg) mg_stop(srv->mg);
    srv->mg = NULL;
    wp_jobs_stop(srv->jobs);
    wp_sweep_stop(srv->sweep);
    srv->sweep = NULL;
    wp_listener_stop(srv->auth_listener);
    srv->auth_listener = NULL;
    stop_fence(srv);
    if (srv->accesslog) wp_accesslog_flush(srv->accesslog);
}

void wp_server_free(wp_server *srv)
{
    wp_sweep_stop(srv->sweep); /* when start failed after it began */
    wp_listener_stop(srv->auth_listener);
    stop_fence(srv);
    wp_keycache_free(srv->keycache);
    wp_lru_free(srv->credcache);
    wp_lru_free(srv->passcache);
    wp_lru_free(srv->secretcache);
    if (srv->accesslog) wp_accesslog_stop(srv->accesslog);
    wp_events_free(srv->events);
    wp_jobs_free(srv->jobs);
    wp_ratelimit_free(srv->ratelimit);
    wp_reload_free(srv);
    wp_metrics_free(srv->metrics);
    wp_router_free(srv->router);
    wp_db_close(srv->db);
    wp_vault_free(srv->vault);
    wp_tls_free(srv->tls); /* after mg_stop: handshakes call back into it */
    wp_proxies_free(&srv->proxies);
    memset(srv, 0, sizeof *srv);
}
