/*
 * router.c - a flat table scanned in order of specificity.
 *
 * The table stays small (tens of routes), so a linear scan over
 * pre-split segments beats anything cleverer; routes are sorted at seal
 * time so that literal segments are tried before parameters.
 */
#include "router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wp_router {
    wp_route *routes;
    size_t n, cap;
    int sealed;
};

wp_status wp_router_new(wp_router **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? WP_OK : WP_ENOMEM;
}

static void route_free(wp_route *rt)
{
    for (int i = 0; i < rt->nsegs; i++) free(rt->segs[i]);
    free(rt->segs);
    free(rt->pattern);
    free(rt->owner);
}

void wp_router_free(wp_router *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) route_free(&r->routes[i]);
    free(r->routes);
    free(r);
}

static int split(const char *path, char ***segs_out)
{
    int n = 0;
    for (const char *p = path; *p; p++)
        if (*p == '/') n++;
    char **segs = calloc((size_t)n + 1, sizeof *segs);
    if (!segs) return -1;
    int i = 0;
    const char *p = path;
    while (*p == '/') {
        p++;
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        segs[i] = strndup(p, len);
        if (!segs[i]) {
            for (int j = 0; j < i; j++) free(segs[j]);
            free(segs);
            return -1;
        }
        i++;
        p += len;
    }
    *segs_out = segs;
    return i;
}

/* Named params, at most WP_MAX_PARAMS, each name once; no trailing slash but "/". */
static wp_status check_segments(const char *method, const char *pattern, char **segs, int nsegs, wp_err *err)
{
    int np = 0;
    for (int i = 0; i < nsegs; i++) {
        if (segs[i][0] == '\0' && nsegs > 1)
            return wp_err_set(err, WP_EINVAL, "route %s %s: empty path segment (or trailing '/')", method, pattern);
        if (segs[i][0] != ':') continue;
        if (segs[i][1] == '\0')
            return wp_err_set(err, WP_EINVAL, "route %s %s: a ':' segment needs a name", method, pattern);
        if (++np > WP_MAX_PARAMS)
            return wp_err_set(err, WP_EINVAL, "route %s %s: more than %d parameters", method, pattern, WP_MAX_PARAMS);
        for (int j = 0; j < i; j++)
            if (strcmp(segs[j], segs[i]) == 0)
                return wp_err_set(err, WP_EINVAL, "route %s %s: parameter %s appears twice", method, pattern, segs[i]);
    }
    return WP_OK;
}

static int same_shape(const wp_route *rt, char **segs, int nsegs)
{
    if (rt->nsegs != nsegs) return 0;
    for (int i = 0; i < nsegs; i++) {
        int pa = rt->segs[i][0] == ':', pb = segs[i][0] == ':';
        if (pa != pb || (!pa && strcmp(rt->segs[i], segs[i]) != 0)) return 0;
    }
    return 1;
}

wp_status wp_router_add(wp_router *r, const char *method, const char *pattern, wp_auth_kind auth,
                        wp_handler_fn fn, void *ud, const char *owner, wp_err *err)
{
    if (r->sealed)
        return wp_err_set(err, WP_ELATE, "route %s %s: routes can only be added during start-up", method, pattern);
    if (!method || strlen(method) >= sizeof ((wp_route *)0)->method || !pattern || pattern[0] != '/' || !fn)
        return wp_err_set(err, WP_EINVAL, "route %s %s: method, pattern (starting with '/') and handler are required",
                          method ? method : "(null)", pattern ? pattern : "(null)");
    for (const char *p = pattern; *p; p++)
        if (p[0] == '/' && p[1] == '/')
            return wp_err_set(err, WP_EINVAL, "route %s %s: empty path segment", method, pattern);
    char **segs = NULL;
    int nsegs = split(pattern, &segs);
    if (nsegs < 0) return wp_err_set(err, WP_ENOMEM, "out of memory");
    wp_status st = check_segments(method, pattern, segs, nsegs, err);
    /* Routes differing only in param names match the same paths: a conflict too. */
    for (size_t i = 0; st == WP_OK && i < r->n; i++)
        if (strcmp(r->routes[i].method, method) == 0 && same_shape(&r->routes[i], segs, nsegs))
            st = wp_err_set(err, WP_ECONFLICT, "route %s %s is already registered by %s (as %s)", method, pattern,
                            r->routes[i].owner, r->routes[i].pattern);
    if (st == WP_OK && r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 32;
        wp_route *nr = realloc(r->routes, nc * sizeof *nr);
        if (!nr) st = wp_err_set(err, WP_ENOMEM, "out of memory");
        else {
            r->routes = nr;
            r->cap = nc;
        }
    }
    if (st != WP_OK) {
        for (int i = 0; i < nsegs; i++) free(segs[i]);
        free(segs);
        return st;
    }
    wp_route *rt = &r->routes[r->n];
    memset(rt, 0, sizeof *rt);
    snprintf(rt->method, sizeof rt->method, "%s", method);
    rt->pattern = strdup(pattern);
    rt->owner = strdup(owner ? owner : "core");
    rt->auth = auth;
    rt->fn = fn;
    rt->ud = ud;
    rt->nsegs = nsegs;
    rt->segs = segs;
    if (!rt->pattern || !rt->owner) {
        route_free(rt);
        return wp_err_set(err, WP_ENOMEM, "out of memory");
    }
    r->n++;
    return WP_OK;
}

/* Literal segments sort before parameters, position by position. */
static int specificity_cmp(const void *a, const void *b)
{
    const wp_route *x = a, *y = b;
    int n = x->nsegs < y->nsegs ? x->nsegs : y->nsegs;
    for (int i = 0; i < n; i++) {
        int px = x->segs[i][0] == ':', py = y->segs[i][0] == ':';
        if (px != py) return px - py;
    }
    /* A total order (shorter first on a common prefix): without it qsort may
     * leave /a/:id before /a/new when a route like /a sorts between them. */
    return (x->nsegs > y->nsegs) - (x->nsegs < y->nsegs);
}

void wp_router_seal(wp_router *r)
{
    /* qsort is not stable; order is only by specificity, which is all matching needs. */
    if (r->n > 1) qsort(r->routes, r->n, sizeof *r->routes, specificity_cmp); /* routes is NULL while empty */
    r->sealed = 1;
}

size_t wp_router_count(const wp_router *r) { return r->n; }
const wp_route *wp_router_at(const wp_router *r, size_t i) { return i < r->n ? &r->routes[i] : NULL; }

/* Matches path segments against a route; fills params on success. */
static int match_route(const wp_route *rt, const char *path, wp_req *req)
{
    const char *p = path;
    size_t used = 0;
    int np = 0;
    for (int i = 0; i < rt->nsegs; i++) {
        if (*p != '/') return 0;
        p++;
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        const char *seg = rt->segs[i];
        if (seg[0] == ':') {
            if (len == 0) return 0;
            if (req) {
                if (np >= WP_MAX_PARAMS || used + len + 1 > sizeof req->param_buf) return 0;
                char *dst = req->param_buf + used;
                memcpy(dst, p, len);
                dst[len] = '\0';
                req->param_names[np] = seg + 1;
                req->param_values[np] = dst;
                used += len + 1;
            }
            np++;
        } else if (strlen(seg) != len || memcmp(seg, p, len) != 0) {
            return 0;
        }
        p += len;
    }
    if (*p != '\0') return 0;
    if (req) req->nparams = np;
    return 1;
}

static const wp_route *find(const wp_router *r, const char *method, const char *path)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->routes[i].method, method) == 0 && match_route(&r->routes[i], path, NULL))
            return &r->routes[i];
    return NULL;
}

wp_route_result wp_router_match(const wp_router *r, const char *method, const char *path, wp_req *req,
                                char *allow, size_t allow_len)
{
    const wp_route *rt = find(r, method, path);
    /* HEAD is answered by the GET handler unless a HEAD route exists;
     * the server sends the headers without the body. */
    if (!rt && strcmp(method, "HEAD") == 0) rt = find(r, "GET", path);
    if (rt) {
        if (req) {
            match_route(rt, path, req);
            req->route = rt;
        }
        return WP_ROUTE_FOUND;
    }
    int path_matched = 0;
    if (allow && allow_len) allow[0] = '\0';
    for (size_t i = 0; i < r->n; i++) {
        if (!match_route(&r->routes[i], path, NULL)) continue;
        path_matched = 1;
        if (allow && !strstr(allow, r->routes[i].method)) {
            size_t used = strlen(allow);
            snprintf(allow + used, allow_len - used, "%s%s", used ? ", " : "", r->routes[i].method);
        }
    }
    return path_matched ? WP_ROUTE_NO_METHOD : WP_ROUTE_NO_PATH;
}
