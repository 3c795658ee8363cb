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

#include "utf8.h"

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

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Bytes that stay percent-encoded in the canonical path: they would split it
 * ('/'), make it ambiguous ('%', '?', '#') or cut it (NUL), or are control
 * characters no log line or message should carry raw. */
static int keep_encoded(unsigned char c) { return c < 0x20 || c == 0x7f || c == '/' || c == '%' || c == '?' || c == '#'; }

wp_status wp_router_path(const char *raw, char *out, size_t outlen, wp_err *err)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    if (outlen == 0) return wp_err_set(err, WP_EINTERNAL, "no room for the path");
    for (const char *p = raw; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '%') {
            int hi = hexval((unsigned char)p[1]), lo = hi < 0 ? -1 : hexval((unsigned char)p[2]);
            if (hi < 0 || lo < 0)
                return wp_err_param(err, WP_EINVAL, "path",
                                    "malformed percent-encoding in the path: '%%' must be followed by two hex digits");
            c = (unsigned char)(hi * 16 + lo);
            p += 2;
            if (keep_encoded(c)) {
                if (o + 3 >= outlen) goto too_long;
                out[o++] = '%';
                out[o++] = hex[c >> 4];
                out[o++] = hex[c & 15];
                continue;
            }
        }
        if (o + 1 >= outlen) goto too_long;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    /* decoded text reaches SQL parameters and JSON errors, which both need UTF-8 */
    if (!wp_utf8_valid(out, o))
        return wp_err_param(err, WP_EINVAL, "path", "the path is not valid UTF-8 once percent-decoded");
    return WP_OK;
too_long:
    out[0] = '\0';
    return wp_err_param(err, WP_ETOOLARGE, "path", "the path is longer than %zu bytes once decoded", outlen - 1);
}

void wp_router_path_decoded(const char *path, char *out, size_t outlen)
{
    size_t o = 0;
    if (outlen == 0) return;
    for (const char *p = path; *p && o + 1 < outlen; p++) {
        int hi = *p == '%' ? hexval((unsigned char)p[1]) : -1, lo = hi < 0 ? -1 : hexval((unsigned char)p[2]);
        if (hi >= 0 && lo >= 0 && (hi | lo) != 0) {
            out[o++] = (char)(hi * 16 + lo);
            p += 2;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

/*
 * Matches path segments against a route.  Returns 0 (no match), 1 (match)
 * or -1 (match, but a parameter decodes to a NUL byte: *bad names it).
 * With req, fills the params (decoded) on a match.
 */
static int match_route(const wp_route *rt, const char *path, wp_req *req, const char **bad)
{
    const char *p = path;
    size_t used = 0;
    int np = 0, nul = 0;
    for (int i = 0; i < rt->nsegs; i++) {
        if (*p != '/') return 0;
        p++;
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        const char *seg = rt->segs[i];
        if (seg[0] == ':') {
            if (len == 0) return 0;
            /* the only escapes left in a canonical segment are the kept ones */
            char tmp[sizeof ((wp_req *)0)->param_buf];
            size_t n = 0;
            if (len >= sizeof tmp) return 0;
            for (size_t k = 0; k < len; k++) {
                if (p[k] == '%' && k + 2 < len && hexval((unsigned char)p[k + 1]) >= 0 &&
                    hexval((unsigned char)p[k + 2]) >= 0) {
                    tmp[n] = (char)(hexval((unsigned char)p[k + 1]) * 16 + hexval((unsigned char)p[k + 2]));
                    k += 2;
                } else {
                    tmp[n] = p[k];
                }
                if (tmp[n] == '\0' && !nul) {
                    nul = 1;
                    if (bad) *bad = seg + 1;
                }
                n++;
            }
            if (req) {
                if (np >= WP_MAX_PARAMS || used + n + 1 > sizeof req->param_buf) return 0;
                char *dst = req->param_buf + used;
                memcpy(dst, tmp, n);
                dst[n] = '\0';
                req->param_names[np] = seg + 1;
                req->param_values[np] = dst;
                used += n + 1;
            }
            np++;
        } else if (strlen(seg) != len || memcmp(seg, p, len) != 0) {
            return 0;
        }
        p += len;
    }
    if (*p != '\0') return 0;
    if (req) req->nparams = np;
    return nul ? -1 : 1;
}

static const wp_route *find(const wp_router *r, const char *method, const char *path)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->routes[i].method, method) == 0 && match_route(&r->routes[i], path, NULL, NULL))
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
        const char *bad = NULL;
        int m = match_route(rt, path, req, &bad);
        /* The parameters did not fit the request's buffer: a path the server
         * cannot produce (its path buffer is no larger), but never a match
         * with parameters missing. */
        if (m == 0) return WP_ROUTE_NO_PATH;
        if (req) {
            req->route = rt;
            req->bad_param = bad;
        }
        return m < 0 ? WP_ROUTE_BAD_PARAM : WP_ROUTE_FOUND;
    }
    int path_matched = 0;
    if (allow && allow_len) allow[0] = '\0';
    for (size_t i = 0; i < r->n; i++) {
        if (!match_route(&r->routes[i], path, NULL, NULL)) continue;
        path_matched = 1;
        if (allow && !strstr(allow, r->routes[i].method)) {
            size_t used = strlen(allow);
            snprintf(allow + used, allow_len - used, "%s%s", used ? ", " : "", r->routes[i].method);
        }
    }
    return path_matched ? WP_ROUTE_NO_METHOD : WP_ROUTE_NO_PATH;
}
