/*
 * http.h - one HTTP request as the core and its handlers see it.
 *
 * A wp_req lives on the worker thread's stack for the duration of one
 * request.  Everything it hands out (params, headers, the body, the
 * database connection, arena memory) is borrowed and valid until the
 * handler returns.  A handler sends exactly one response with one of the
 * wp_resp_* functions; the server answers 500 for a handler that sent none.
 */
#ifndef WP_HTTP_H
#define WP_HTTP_H

#include <civetweb.h>
#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "clientaddr.h"
#include "config.h"
#include "db.h"
#include "err.h"
#include "fence.h"
#include "json_strict.h"
#include "keycache.h"

#define WP_MAX_PARAMS 8

/* wp_auth_kind (WP_AUTH_PUBLIC, _API_KEY, _PASS_TOKEN, _PORTAL) is part of the
 * plugin ABI: walletpass/plugin.h, included by err.h. */

struct wp_route;

/*
 * What the HTTP layer needs of the running server: the limits and timeouts
 * of the configuration, the pool a request's connection comes from and the
 * JSON limits.  The server fills one and every request points at it
 * (borrowed, read-only while requests run).  Handlers get their own
 * dependencies as their route's user data, never the server.
 */
typedef struct wp_http_env {
    const wp_config *cfg;
    wp_db *db;
    wp_json_limits json_limits;
    /* The API-key check of WP_AUTH_API_KEY routes, for public routes that
     * accept a key too (host req_api_key): 1 and req->account_id filled,
     * or 0 when the 401/429/503 was sent.  NULL: no key is accepted. */
    int (*auth_bearer)(struct wp_req *req);
    /* The process's remembered API keys: a handler that revokes a key
     * forgets them here once the revocation committed (keycache.h).  NULL: none. */
    wp_keycache *keycache;
    /* The cache fence (fence.h): an answer to a write waits for wp_fence_sync, so no
     * process serves from memory what the write replaced.  NULL: nobody caches passes. */
    wp_fence *fence;
} wp_http_env;

typedef struct wp_req {
    struct mg_connection *conn;
    const struct mg_request_info *ri;
    const wp_http_env *env;
    const struct wp_route *route;
    char request_id[32];
    char client_ip[WP_CLIENTADDR_MAX]; /* the client's address (clientaddr.h: the peer, or behind trusted proxies) */
    char path[2048];            /* canonical path (wp_router_path); params point into param_buf */
    char param_buf[2048];
    const char *param_names[WP_MAX_PARAMS];
    const char *param_values[WP_MAX_PARAMS];
    int nparams;
    const char *bad_param;      /* a param that decodes to a NUL byte (router), else NULL */
    /* authentication result */
    char account_id[48];        /* the scope of every object query: see tenancy.h */
    char live_account_id[48];   /* the live account acted on (tenancy.h) */
    char agency_account_id[48]; /* the key's account when it acts on a sub-account, else "" */
    bool livemode;              /* a live key (sk_live_) or a test key (sk_test_) */
    char api_key_id[48];        /* the key; for a dashboard session, its user (portal.h) */
    char key_prefix[24];
    /* The dashboard (portal.h): a request under /portal/api/, and its user once authenticated */
    bool portal;
    char portal_user_id[48];
    const char *log_kind;       /* the access log's kind: NULL is "api" or "portal" by the path; "login" */
    /* body, read on demand */
    char *body;
    size_t body_len;
    bool body_read;
    bool body_incomplete;       /* it stopped short of its length, or missed its deadline */
    /* response */
    int status;
    bool responded;
    bool close_after;
    size_t bytes_out;
    char extra_headers[1536];
    size_t extra_len;
    /* database connection for this request, acquired on demand */
    PGconn *db;
    /* arena: pointers freed when the request ends */
    void **arena;
    size_t arena_len, arena_cap;
    double t_start;             /* monotonic seconds */
    char error_code[48];        /* code of the error response sent, for the access log */
    /* Idempotency-Key handling (idempotency.c): the response is captured to be stored */
    bool idem_active;
    char idem_key[256];
    char *capture;
    size_t capture_len;
    char capture_ctype[96];
    bool deferred;              /* the captured response is not sent yet */
    /* A call made in process on behalf of another request (inproc.h): no
     * connection; ri is the host's, the response is kept in capture. */
    bool inproc;
    /* The request only added rows (a pass created): its answer need not wait for the
     * fence, as no process can hold what did not exist (send_now in http.c). */
    bool fence_skip;
} wp_req;

/* Named path parameter (":id") or NULL. */
const char *wp_req_param(const wp_req *req, const char *name);
/* Request header (case-insensitive) or NULL. */
const char *wp_req_header(const wp_req *req, const char *name);
/* Copies what authentication put into src (the account, the key) into dst. */
void wp_req_copy_auth(wp_req *dst, const wp_req *src);
const char *wp_req_method(const wp_req *req);
const char *wp_req_remote_ip(const wp_req *req);

/*
 * Query string access.  wp_req_query_check() refuses parameters not in the
 * NULL-terminated `allowed` list and repeated parameters (400 naming the
 * parameter).  wp_req_query() copies the decoded value into buf; returns
 * 1 when present, 0 when absent, -1 when it would not fit (and fills err).
 */
wp_status wp_req_query_check(const wp_req *req, const char *const *allowed, wp_err *err);
int wp_req_query(const wp_req *req, const char *name, char *buf, size_t len, wp_err *err);

/*
 * Reads the body as strict JSON (Content-Type application/json, size,
 * depth, UTF-8 and duplicate-key limits).  On success *out is a new object
 * the caller owns.  Failures: WP_EINVAL (answer 400), WP_ETOOLARGE (413),
 * WP_EMEDIATYPE (415); wp_resp_from_err() maps them.
 */
wp_status wp_req_json(wp_req *req, json_object **out, wp_err *err);

/* The Content-Type check of wp_req_json (ct may be NULL): WP_OK, or WP_EMEDIATYPE naming Content-Type. */
wp_status wp_http_check_json_type(const char *ct, wp_err *err);

/*
 * List paging per docs/api.md: ?limit= (1..100, default 20) and ?starting_after=<id>.
 * after receives "" when absent.  400 (WP_EINVAL naming the parameter) otherwise.
 */
wp_status wp_req_page(const wp_req *req, int *limit, char *after, size_t after_len, wp_err *err);

/* Raw body bytes (any content type), bounded by the body limit. */
wp_status wp_req_body(wp_req *req, const char **data, size_t *len, wp_err *err);

/* The request's database connection (acquired once, released at request end). */
PGconn *wp_req_db(wp_req *req, wp_err *err);

/* Arena memory, freed when the request ends.  NULL on out of memory. */
void *wp_req_alloc(wp_req *req, size_t n);
char *wp_req_strdup(wp_req *req, const char *s);

/* Adds a response header for the response still to be sent. */
void wp_resp_header(wp_req *req, const char *name, const char *value);

/* Sends `body` (borrowed) as JSON. */
void wp_resp_json(wp_req *req, int status, json_object *body);
/* Sends a response wp_resp_raw held back for the idempotency record (no-op otherwise). */
void wp_resp_send_deferred(wp_req *req);

/* Sends raw bytes with the given content type. */
void wp_resp_raw(wp_req *req, int status, const char *content_type, const void *body, size_t len);
/* Sends the documented error shape.  param may be NULL. */
void wp_resp_error(wp_req *req, int status, const char *type, const char *code, const char *param,
                   const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Maps a wp_err to the error response for its status (400, 404, 409, 413, 415, 503, 500). */
void wp_resp_from_err(wp_req *req, const wp_err *err);

/* Sends the error response for a filter's REJECT (hooks.h) or a check that
 * names its own API code: err->code and err->param kept, the type from the
 * status; 5xx as wp_resp_from_err. */
void wp_resp_rejected(wp_req *req, const wp_err *err);

/* Marks the connection to be closed after the response. */
void wp_resp_close(wp_req *req);

const char *wp_http_reason(int status);

/* The HTTP status wp_resp_from_err answers for a status code. */
int wp_http_status_for(wp_status s);

#endif
