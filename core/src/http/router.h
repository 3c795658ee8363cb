/*
 * router.h - method + path pattern -> handler, with the auth each route needs.
 *
 * Patterns are literal segments and ":name" segments ("/api/v1/passes/:id").
 * Registration happens at start-up, before the server accepts requests;
 * after wp_router_seal() the table is read-only and lookups take no lock.
 * The router copies pattern strings; `owner` names the registrant ("core"
 * or a plugin) for `walletpass plugins` and is copied too.
 */
#ifndef WP_ROUTER_H
#define WP_ROUTER_H

#include "http.h"

typedef void (*wp_handler_fn)(wp_req *req, void *ud);

typedef struct wp_route {
    char method[8];
    char *pattern;
    char *owner;
    wp_auth_kind auth;
    wp_handler_fn fn;
    void *ud;
    int nsegs;
    char **segs;
} wp_route;

typedef struct wp_router wp_router;

wp_status wp_router_new(wp_router **out);
void wp_router_free(wp_router *r);

/* WP_ECONFLICT when the same method+pattern is registered twice,
 * WP_EINVAL for a malformed pattern, WP_ELATE after sealing. */
wp_status wp_router_add(wp_router *r, const char *method, const char *pattern, wp_auth_kind auth,
                        wp_handler_fn fn, void *ud, const char *owner, wp_err *err);
void wp_router_seal(wp_router *r);

typedef enum { WP_ROUTE_FOUND, WP_ROUTE_NO_PATH, WP_ROUTE_NO_METHOD, WP_ROUTE_BAD_PARAM } wp_route_result;

/*
 * The canonical form of a request path as received (percent-encoded), which
 * is what wp_router_match takes: every %XX is decoded except bytes that would
 * change how the path splits or reads ('/', '%', '?', '#', NUL and the other
 * control characters), which are written %XX with upper-case hex.  So an
 * encoded '/' stays inside its segment and an encoded NUL never cuts the
 * path short.  out receives at most outlen bytes with the NUL.
 * WP_EINVAL: a '%' without two hex digits, or not UTF-8 once decoded;
 * WP_ETOOLARGE: longer than outlen - 1.  err->param is "path".
 */
wp_status wp_router_path(const char *raw, char *out, size_t outlen, wp_err *err);

/*
 * A path for people and the access log: every %XX decoded except %00 (a
 * NUL cannot be stored), at most outlen - 1 bytes (cut: the log keeps a
 * bounded row).  The result may not be UTF-8; the access log scrubs it.
 */
void wp_router_path_decoded(const char *path, char *out, size_t outlen);

/*
 * Finds the route for method + path (canonical, see wp_router_path).
 * On WP_ROUTE_FOUND fills req->route and the params, percent-decoded, into
 * req->param_buf.  A parameter that decodes to a NUL byte cannot be handed
 * on as a C string without cutting it: then the answer is
 * WP_ROUTE_BAD_PARAM, with req->route set and req->bad_param naming it.
 * On WP_ROUTE_NO_METHOD, `allow` receives the comma-separated methods that
 * the path does accept.  Literal segments win over ":param" segments at the
 * same position; a literal segment matches only its exact text.
 */
wp_route_result wp_router_match(const wp_router *r, const char *method, const char *path, wp_req *req,
                                char *allow, size_t allow_len);

/* Iteration for listings (openapi coverage test, `walletpass routes`). */
size_t wp_router_count(const wp_router *r);
const wp_route *wp_router_at(const wp_router *r, size_t i);

#endif
