/*
 * inproc.h - a call to the API made in process on behalf of a request being
 * served (the plugin host's api_call, ABI 1.8).
 *
 * The call is a request of its own that never touches a socket: the router
 * finds its route, it carries the calling request's authentication (account,
 * key, mode) and request id, and its handler runs on this thread with every
 * check, filter, metering rule and event the route has.  Authentication, the
 * rate limit and the Idempotency-Key record are the calling request's: they
 * are not repeated.  The call borrows the calling request's database
 * connection, which must be outside a transaction, so the call's own work
 * commits or rolls back before it returns; no pool connection is taken twice
 * by one request.  Calls do not nest.
 *
 * Ownership: every argument is borrowed; res's body is the caller's
 * (wp_inproc_result_free).
 */
#ifndef WP_INPROC_H
#define WP_INPROC_H

#include "http.h"
#include "router.h"

typedef struct wp_inproc_result {
    int status;
    char *body;                 /* the response body with a NUL after it (malloc; may hold NULs) */
    size_t body_len;
    char content_type[96];      /* "" when none */
    char headers[1536];         /* the response headers the handler added: "Name: value\r\n"... */
} wp_inproc_result;

/*
 * Runs `method path[?query]` (path percent-encoded as a client sends it; it
 * must start with /api/) with body (NULL: none; sent as application/json)
 * as `parent`.  WP_OK when the route answered (res filled, any status; an
 * unknown path is 404 route_not_found, another method 405, as over HTTP).
 * WP_EINVAL (err says why) for a parent that is itself a call in process or
 * carries no API-key authentication, a bad method or path, or a route that
 * takes no API key; WP_ECONFLICT when the parent's connection is inside a
 * transaction; WP_EUNAVAIL when no connection is to be had; WP_ENOMEM.
 */
wp_status wp_inproc_call(const wp_router *rt, wp_req *parent, const char *method, const char *path,
                         const char *body, size_t body_len, wp_inproc_result *res, wp_err *err);

void wp_inproc_result_free(wp_inproc_result *res);

#endif
