/*
 * http.c - request accessors and response writers over CivetWeb.
 *
 * Responses are written whole with mg_write (headers and small bodies in
 * one buffer, one syscall), so CivetWeb's keep-alive logic sees a complete
 * exchange: Content-Length is always sent, never chunked.
 */
#include "http.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "db.h"
#include "json_strict.h"
#include "keepalive.h"
#include "log.h"
#include "utf8.h"

const char *wp_req_param(const wp_req *req, const char *name)
{
    for (int i = 0; i < req->nparams; i++)
        if (strcmp(req->param_names[i], name) == 0) return req->param_values[i];
    return NULL;
}

const char *wp_req_header(const wp_req *req, const char *name)
{
    if (req->conn) return mg_get_header(req->conn, name);
    for (int i = 0; i < req->ri->num_headers; i++)
        if (strcasecmp(req->ri->http_headers[i].name, name) == 0) return req->ri->http_headers[i].value;
    return NULL;
}

void wp_req_copy_auth(wp_req *dst, const wp_req *src)
{
    memcpy(dst->account_id, src->account_id, sizeof dst->account_id);
    memcpy(dst->live_account_id, src->live_account_id, sizeof dst->live_account_id);
    memcpy(dst->agency_account_id, src->agency_account_id, sizeof dst->agency_account_id);
    dst->livemode = src->livemode;
    memcpy(dst->api_key_id, src->api_key_id, sizeof dst->api_key_id);
    memcpy(dst->key_prefix, src->key_prefix, sizeof dst->key_prefix);
    memcpy(dst->portal_user_id, src->portal_user_id, sizeof dst->portal_user_id);
}

const char *wp_req_method(const wp_req *req) { return req->ri->request_method; }
const char *wp_req_remote_ip(const wp_req *req) { return req->client_ip[0] ? req->client_ip : req->ri->remote_addr; }

/* Iterates "a=1&b=2": returns the next pair as pointers/lengths into qs. */
static const char *next_pair(const char *p, const char **k, size_t *klen, const char **v, size_t *vlen)
{
    if (!p || !*p) return NULL;
    const char *amp = strchr(p, '&');
    const char *end = amp ? amp : p + strlen(p);
    const char *eq = memchr(p, '=', (size_t)(end - p));
    *k = p;
    *klen = (size_t)((eq ? eq : end) - p);
    *v = eq ? eq + 1 : end;
    *vlen = (size_t)(end - *v);
    return amp ? amp + 1 : end;
}

wp_status wp_req_query_check(const wp_req *req, const char *const *allowed, wp_err *err)
{
    const char *qs = req->ri->query_string;
    const char *k, *v;
    size_t kl, vl;
    char seen[16][64];
    int nseen = 0;
    for (const char *p = qs; (p = next_pair(p, &k, &kl, &v, &vl)) != NULL;) {
        if (kl == 0) continue;
        char name[64];
        if (mg_url_decode(k, (int)kl, name, sizeof name, 1) < 0) {
            return wp_err_param(err, WP_EINVAL, "query", "query parameter name is too long or malformed");
        }
        /* checked before the name is echoed into a JSON error */
        if (!wp_utf8_valid(name, strlen(name)))
            return wp_err_param(err, WP_EINVAL, "query", "a query parameter name is not valid UTF-8");
        int ok = 0;
        for (const char *const *a = allowed; a && *a; a++)
            if (strcmp(*a, name) == 0) ok = 1;
        if (!ok) {
            wp_err_param(err, WP_EINVAL, name, "unknown query parameter \"%s\"", name);
            return wp_err_code(err, "parameter_unknown");
        }
        for (int i = 0; i < nseen; i++)
            if (strcmp(seen[i], name) == 0)
                return wp_err_param(err, WP_EINVAL, name, "query parameter \"%s\" is given more than once", name);
        if (nseen < 16) snprintf(seen[nseen++], sizeof seen[0], "%s", name);
    }
    return WP_OK;
}

int wp_req_query(const wp_req *req, const char *name, char *buf, size_t len, wp_err *err)
{
    const char *k, *v;
    size_t kl, vl;
    for (const char *p = req->ri->query_string; (p = next_pair(p, &k, &kl, &v, &vl)) != NULL;) {
        if (kl != strlen(name) || memcmp(k, name, kl) != 0) continue;
        if (vl >= len) {
            wp_err_param(err, WP_EINVAL, name, "query parameter \"%s\" is too long (at most %zu bytes)", name, len - 1);
            return -1;
        }
        int n = mg_url_decode(v, (int)vl, buf, (int)len, 1);
        if (n < 0 || strlen(buf) != (size_t)n) {
            wp_err_param(err, WP_EINVAL, name, "query parameter \"%s\" is malformed", name);
            return -1;
        }
        /* the value goes on to SQL parameters and JSON, which both need UTF-8 */
        if (!wp_utf8_valid(buf, (size_t)n)) {
            wp_err_param(err, WP_EINVAL, name, "query parameter \"%s\" is not valid UTF-8", name);
            return -1;
        }
        return 1;
    }
    return 0;
}

wp_status wp_req_page(const wp_req *req, int *limit, char *after, size_t after_len, wp_err *err)
{
    char buf[16];
    *limit = 20;
    int got = wp_req_query(req, "limit", buf, sizeof buf, err);
    if (got < 0) return wp_err_param(err, WP_EINVAL, "limit", "limit must be an integer from 1 to 100");
    if (got) {
        char *end;
        long v = strtol(buf, &end, 10);
        if (!*buf || *end || v < 1 || v > 100)
            return wp_err_param(err, WP_EINVAL, "limit", "limit must be an integer from 1 to 100, got \"%s\"", buf);
        *limit = (int)v;
    }
    after[0] = '\0';
    if (wp_req_query(req, "starting_after", after, after_len, err) < 0) return WP_EINVAL;
    return WP_OK;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads at most this much per mg_read, so the body deadline is looked at between pieces. */
#define BODY_PIECE 16384

wp_status wp_req_body(wp_req *req, const char **data, size_t *len, wp_err *err)
{
    size_t max = req->env->cfg->max_body_bytes;
    if (!req->body_read) {
        /* Compressed bodies are not decoded: read as they are they would be garbage (or a zip bomb later). */
        const char *ce = wp_req_header(req, "Content-Encoding");
        if (ce && *ce && strcasecmp(ce, "identity") != 0) {
            int show = strlen(ce) <= 64 && wp_utf8_valid(ce, strlen(ce));
            return wp_err_param(err, WP_EMEDIATYPE, "Content-Encoding",
                                "Content-Encoding %s%s%s is not supported: send the body uncompressed",
                                show ? "\"" : "", show ? ce : "(as given)", show ? "\"" : "");
        }
        req->body_read = true;
        long long cl = req->ri->content_length;
        if (cl > (long long)max) {
            req->close_after = true; /* the body is left unread: close once CivetWeb has drained it */
            return wp_err_param(err, WP_ETOOLARGE, "body", "request body is larger than %zu bytes", max);
        }
        size_t cap = cl > 0 ? (size_t)cl + 1 : 4096;
        char *buf = malloc(cap);
        if (!buf) return wp_err_set(err, WP_ENOMEM, "out of memory");
        size_t used = 0;
        /* CivetWeb ends a read that gets nothing for server.header_timeout_seconds; the
         * whole body has server.request_timeout_ms, checked here between pieces. */
        double deadline = mono_now() + req->env->cfg->request_timeout_ms / 1000.0;
        int late = 0;
        for (;;) {
            if (used + 1 >= cap) {
                if (cap > max + 1) break;
                size_t nc = cap * 2 > max + 2 ? max + 2 : cap * 2;
                char *nb = realloc(buf, nc);
                if (!nb) { free(buf); return wp_err_set(err, WP_ENOMEM, "out of memory"); }
                buf = nb;
                cap = nc;
            }
            size_t want = cap - used - 1 < BODY_PIECE ? cap - used - 1 : BODY_PIECE;
            int n = mg_read(req->conn, buf + used, want);
            if (n <= 0) break;
            used += (size_t)n;
            if (used > max) break;
            if ((cl < 0 || used < (size_t)cl) && mono_now() > deadline) {
                late = 1;
                break;
            }
        }
        buf[used] = '\0';
        req->body = buf;
        req->body_len = used;
        if (used > max) {
            req->close_after = true; /* the rest of the body is unread */
            return wp_err_param(err, WP_ETOOLARGE, "body", "request body is larger than %zu bytes", max);
        }
        if (late || (cl >= 0 && used < (size_t)cl)) {
            req->close_after = true;
            req->body_incomplete = true; /* a later call must not take the short body as whole */
            return wp_err_param(err, WP_EINVAL, "body",
                                late ? "the request body did not arrive within %d ms"
                                     : "the request body stopped short of its Content-Length (nothing arrived for "
                                       "%d s, or the client closed)",
                                late ? req->env->cfg->request_timeout_ms : req->env->cfg->header_timeout_seconds);
        }
    } else if (req->body_len > max) {
        return wp_err_param(err, WP_ETOOLARGE, "body", "request body is larger than %zu bytes", max);
    } else if (req->body_incomplete) {
        return wp_err_param(err, WP_EINVAL, "body", "the request body is incomplete");
    }
    *data = req->body;
    *len = req->body_len;
    return WP_OK;
}

wp_status wp_http_check_json_type(const char *ct, wp_err *err)
{
    size_t n = strlen("application/json");
    if (!ct || strncasecmp(ct, "application/json", n) != 0 || (ct[n] != '\0' && ct[n] != ';' && ct[n] != ' '))
        return wp_err_param(err, WP_EMEDIATYPE, "Content-Type",
                            "Content-Type must be application/json, got %s%s%s", ct ? "\"" : "",
                            ct ? ct : "none", ct ? "\"" : "");
    if (ct[n] == ';') {
        const char *cs = strcasestr(ct + n, "charset=");
        if (cs && strncasecmp(cs + 8, "utf-8", 5) != 0 && strncasecmp(cs + 8, "\"utf-8\"", 7) != 0)
            return wp_err_param(err, WP_EMEDIATYPE, "Content-Type", "JSON bodies must be UTF-8");
    }
    return WP_OK;
}

wp_status wp_req_json(wp_req *req, json_object **out, wp_err *err)
{
    *out = NULL;
    wp_status st = wp_http_check_json_type(wp_req_header(req, "Content-Type"), err);
    if (st != WP_OK) return st;
    const char *data;
    size_t len;
    st = wp_req_body(req, &data, &len, err);
    if (st != WP_OK) return st;
    if (len == 0) return wp_err_param(err, WP_EINVAL, "body", "request body is empty; a JSON object is expected");
    return wp_json_parse_strict(data, len, &req->env->json_limits, out, err);
}

PGconn *wp_req_db(wp_req *req, wp_err *err)
{
    if (!req->db) req->db = wp_db_acquire(req->env->db, err);
    return req->db;
}

void *wp_req_alloc(wp_req *req, size_t n)
{
    if (req->arena_len == req->arena_cap) {
        size_t nc = req->arena_cap ? req->arena_cap * 2 : 8;
        void **na = realloc(req->arena, nc * sizeof *na);
        if (!na) return NULL;
        req->arena = na;
        req->arena_cap = nc;
    }
    void *p = calloc(1, n ? n : 1);
    if (p) req->arena[req->arena_len++] = p;
    return p;
}

char *wp_req_strdup(wp_req *req, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = wp_req_alloc(req, n);
    if (p) memcpy(p, s, n);
    return p;
}

void wp_resp_header(wp_req *req, const char *name, const char *value)
{
    /* Header injection guard: values never carry CR or LF. */
    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n")) {
        wp_log_error("refusing response header %s with a line break", name);
        return;
    }
    int n = snprintf(req->extra_headers + req->extra_len, sizeof req->extra_headers - req->extra_len, "%s: %s\r\n",
                     name, value);
    if (n < 0 || (size_t)n >= sizeof req->extra_headers - req->extra_len) {
        wp_log_error("response headers too large; dropped %s", name);
        req->extra_headers[req->extra_len] = '\0';
        return;
    }
    req->extra_len += (size_t)n;
}

const char *wp_http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Status";
    }
}

static int client_keeps_alive(const wp_req *req)
{
    if (req->close_after || !wp_keepalive_allowed(req->env->cfg)) return 0;
    const char *c = wp_req_header(req, "Connection");
    if (c) return strcasestr(c, "keep-alive") != NULL;
    return strcmp(req->ri->http_version, "1.1") == 0;
}

void wp_resp_close(wp_req *req) { req->close_after = true; }

/*
 * Makes CivetWeb close the connection after this response.  Responses are
 * written with mg_write, so CivetWeb never sees our "Connection: close";
 * its keep-alive decision (should_keep_alive in 1.15) reads the *request's*
 * Connection header, and its own must_close flag is only reachable through
 * mg_send_http_error, which would send a text/plain body instead of the
 * documented error shape.  So the request CivetWeb is about to discard is
 * rewritten to say "Connection: close" (tested in framing.test.mjs).
 * CivetWeb still reads and discards an unread body before it closes, so a
 * client still uploading receives this response instead of a reset.
 */
static void force_close(wp_req *req)
{
    struct mg_request_info *ri = (struct mg_request_info *)req->ri;
    int found = 0;
    for (int i = 0; i < ri->num_headers; i++) {
        if (strcasecmp(ri->http_headers[i].name, "Connection") == 0) {
            ri->http_headers[i].value = "close";
            found = 1;
        }
    }
    if (found) return;
    if (ri->num_headers < MG_MAX_HEADERS) {
        ri->http_headers[ri->num_headers].name = "Connection";
        ri->http_headers[ri->num_headers].value = "close";
        ri->num_headers++;
    } else {
        ri->http_version = "1.0"; /* no Connection header: HTTP/1.0 means close */
    }
}

static void send_now(wp_req *req, int status, const char *content_type, const void *body, size_t len);

void wp_resp_raw(wp_req *req, int status, const char *content_type, const void *body, size_t len)
{
    if (req->responded) {
        wp_log_error("%s %s: handler sent a second response (ignored)", req->ri->request_method, req->path);
        return;
    }
    req->responded = true;
    req->status = status;
    if (req->inproc) {
        /* a call in process: the response is its caller's, kept whole (inproc.c) */
        req->capture = malloc(len + 1);
        if (req->capture) {
            memcpy(req->capture, body, len);
            req->capture[len] = '\0';
            req->capture_len = len;
        } else {
            req->status = 503; /* out of memory: answered as a temporary failure */
        }
        snprintf(req->capture_ctype, sizeof req->capture_ctype, "%s", content_type ? content_type : "");
        return;
    }
    /* With an Idempotency-Key the response is held back until its record is
     * stored (wp_resp_send_deferred): a client retrying the instant it reads
     * the answer must find the replay, not a request "still in progress". */
    if (req->idem_active && !req->capture) {
        req->capture = malloc(len ? len : 1);
        if (req->capture) {
            memcpy(req->capture, body, len);
            req->capture_len = len;
            snprintf(req->capture_ctype, sizeof req->capture_ctype, "%s", content_type ? content_type : "");
            req->deferred = true;
            return;
        }
    }
    send_now(req, status, content_type, body, len);
}

void wp_resp_send_deferred(wp_req *req)
{
    if (!req->deferred) return;
    req->deferred = false;
    send_now(req, req->status, req->capture_ctype[0] ? req->capture_ctype : NULL, req->capture, req->capture_len);
}

/* A write's answer waits until no gateway process serves from memory what it replaced
 * (fence.h); a failed write changed nothing. */
static void fence_before_answer(wp_req *req, int status)
{
    const char *m = req->ri->request_method;
    if (!req->env->fence || req->fence_skip || status >= 400 || strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 ||
        strcmp(m, "OPTIONS") == 0)
        return;
    wp_fence_sync(req->env->fence);
}

static void send_now(wp_req *req, int status, const char *content_type, const void *body, size_t len)
{
    fence_before_answer(req, status);
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    int keep = client_keeps_alive(req);
    if (!keep) force_close(req);
    int no_body = status == 204 || status == 304 || (status >= 100 && status < 200);
    char ka[48] = "";
    if (keep) snprintf(ka, sizeof ka, "Keep-Alive: timeout=%d\r\n", wp_keepalive_hint_s(req->env->cfg));
    /* HSTS only over TLS: a browser ignores it on plain HTTP, and a proxy in front sets its own */
    char hsts[64] = "";
    if (req->ri->is_ssl && req->env->cfg->tls_hsts_max_age > 0)
        snprintf(hsts, sizeof hsts, "Strict-Transport-Security: max-age=%d\r\n", req->env->cfg->tls_hsts_max_age);
    char head[4096];
    int hn = snprintf(head, sizeof head,
                      "HTTP/1.1 %d %s\r\nDate: %s\r\nRequest-Id: %s\r\nConnection: %s\r\n%s%s%s%s%s%s",
                      status, wp_http_reason(status), date, req->request_id, keep ? "keep-alive" : "close", hsts, ka,
                      content_type && !no_body ? "Content-Type: " : "", content_type && !no_body ? content_type : "",
                      content_type && !no_body ? "\r\n" : "", req->extra_headers);
    if (hn < 0 || (size_t)hn >= sizeof head - 64) hn = (int)sizeof head - 64;
    if (!no_body) hn += snprintf(head + hn, sizeof head - (size_t)hn, "Content-Length: %zu\r\n", len);
    hn += snprintf(head + hn, sizeof head - (size_t)hn, "\r\n");
    int head_only = no_body || strcmp(req->ri->request_method, "HEAD") == 0;
    if (!head_only && len > 0 && len <= 16384) {
        char buf[4096 + 16384];
        memcpy(buf, head, (size_t)hn);
        memcpy(buf + hn, body, len);
        mg_write(req->conn, buf, (size_t)hn + len);
    } else {
        mg_write(req->conn, head, (size_t)hn);
        if (!head_only && len > 0) mg_write(req->conn, body, len);
    }
    req->bytes_out = (size_t)hn + (head_only ? 0 : len);
}

void wp_resp_json(wp_req *req, int status, json_object *body)
{
    size_t len;
    const char *s = json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
                                                      &len);
    wp_resp_raw(req, status, "application/json", s, len);
}

void wp_resp_error(wp_req *req, int status, const char *type, const char *code, const char *param,
                   const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof msg) wp_utf8_cut(msg, sizeof msg); /* never half a character in the JSON */
    wp_utf8_scrub(msg); /* input quoted in the message may not be UTF-8 */
    json_object *e = json_object_new_object();
    json_object_object_add(e, "type", json_object_new_string(type));
    json_object_object_add(e, "code", json_object_new_string(code));
    json_object_object_add(e, "message", json_object_new_string(msg));
    json_object_object_add(e, "param", param && *param ? json_object_new_string(param) : NULL);
    json_object_object_add(e, "request_id", json_object_new_string(req->request_id));
    json_object *root = json_object_new_object();
    json_object_object_add(root, "error", e);
    snprintf(req->error_code, sizeof req->error_code, "%s", code);
    wp_resp_json(req, status, root);
    json_object_put(root);
}

int wp_http_status_for(wp_status s) { return wp_err_http_status(s); }

void wp_resp_from_err(wp_req *req, const wp_err *err)
{
    int status = wp_http_status_for(err->status);
    const char *param = err->param[0] ? err->param : NULL;
    switch (status) {
    case 400:
        wp_resp_error(req, 400, "invalid_request_error", err->code ? err->code : "parameter_invalid", param, "%s",
                      err->msg);
        return;
    case 401: wp_resp_error(req, 401, "authentication_error", "unauthorized", param, "%s", err->msg); return;
    case 404: wp_resp_error(req, 404, "invalid_request_error", "resource_missing", param, "%s", err->msg); return;
    case 409: wp_resp_error(req, 409, "invalid_request_error", "conflict", param, "%s", err->msg); return;
    case 413: wp_resp_error(req, 413, "invalid_request_error", "body_too_large", param, "%s", err->msg); return;
    case 415: wp_resp_error(req, 415, "invalid_request_error", "unsupported_media_type", param, "%s", err->msg); return;
    case 429: wp_resp_error(req, 429, "rate_limit_error", "rate_limited", param, "%s", err->msg); return;
    case 503:
        wp_resp_header(req, "Retry-After", "1");
        wp_resp_error(req, 503, "api_error", "service_unavailable", NULL, "%s", err->msg);
        return;
    default:
        wp_log_error("request %s: %s (%s)", req->request_id, err->msg, wp_status_str(err->status));
        wp_resp_error(req, 500, "api_error", "internal_error", NULL,
                      "internal error; quote request id %s when reporting it", req->request_id);
        return;
    }
}

void wp_resp_rejected(wp_req *req, const wp_err *err)
{
    int status = wp_http_status_for(err->status);
    if (status >= 500) {
        wp_resp_from_err(req, err);
        return;
    }
    const char *type = status == 401 ? "authentication_error" : status == 429 ? "rate_limit_error"
                                                                              : "invalid_request_error";
    const char *code = err->code ? err->code : status == 404 ? "resource_missing" : status == 409 ? "conflict"
                                                                                                 : "parameter_invalid";
    if (status == 503) wp_resp_header(req, "Retry-After", "1");
    wp_resp_error(req, status, type, code, err->param[0] ? err->param : NULL, "%s", err->msg);
}
