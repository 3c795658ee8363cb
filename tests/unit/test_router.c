/* test_router.c - pattern matching, precedence, 404/405 and registration rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "router.h"

/* Handlers are never called; each route's ud identifies it. */
static void h(wp_req *req, void *ud) { (void)req; (void)ud; }

static int ids[64];

static wp_router *mk(void)
{
    wp_router *r = NULL;
    assert_int_equal(wp_router_new(&r), WP_OK);
    assert_non_null(r);
    return r;
}

static void add_ok(wp_router *r, const char *method, const char *pattern, int id)
{
    wp_err err;
    wp_err_clear(&err);
    wp_status st = wp_router_add(r, method, pattern, WP_AUTH_API_KEY, h, &ids[id], "test", &err);
    if (st != WP_OK) print_error("add %s %s: %s\n", method, pattern, err.msg);
    assert_int_equal(st, WP_OK);
}

/* Matches and returns the id of the route found, -1 for 404, -2 for 405. */
static int route_of(const wp_router *r, const char *method, const char *path, wp_req *req)
{
    char allow[128];
    wp_route_result rr = wp_router_match(r, method, path, req, allow, sizeof allow);
    if (rr == WP_ROUTE_NO_PATH) return -1;
    if (rr == WP_ROUTE_NO_METHOD) return -2;
    assert_non_null(req->route);
    return (int)((int *)req->route->ud - ids);
}

static void test_params(void **state)
{
    (void)state;
    wp_router *r = mk();
    add_ok(r, "GET", "/api/v1/passes/:id", 1);
    add_ok(r, "GET", "/api/v1/passes/:id/versions/:version", 2);
    add_ok(r, "GET", "/healthz", 3);
    wp_router_seal(r);

    wp_req req;
    memset(&req, 0, sizeof req);
    assert_int_equal(route_of(r, "GET", "/api/v1/passes/pass_01abc", &req), 1);
    assert_int_equal(req.nparams, 1);
    assert_string_equal(wp_req_param(&req, "id"), "pass_01abc");
    assert_null(wp_req_param(&req, "version"));

    memset(&req, 0, sizeof req);
    assert_int_equal(route_of(r, "GET", "/api/v1/passes/p1/versions/7", &req), 2);
    assert_int_equal(req.nparams, 2);
    assert_string_equal(wp_req_param(&req, "id"), "p1");
    assert_string_equal(wp_req_param(&req, "version"), "7");

    memset(&req, 0, sizeof req);
    assert_int_equal(route_of(r, "GET", "/healthz", &req), 3);
    assert_int_equal(req.nparams, 0);
    assert_null(wp_req_param(&req, "id"));
    assert_string_equal(req.route->pattern, "/healthz");
    assert_string_equal(req.route->owner, "test");
    assert_int_equal(req.route->auth, WP_AUTH_API_KEY);

    /* a param takes the whole segment, whatever it contains, percent-decoded */
    memset(&req, 0, sizeof req);
    assert_int_equal(route_of(r, "GET", "/api/v1/passes/a.b-c~d%20e", &req), 1);
    assert_string_equal(wp_req_param(&req, "id"), "a.b-c~d e");
    memset(&req, 0, sizeof req);
    assert_int_equal(route_of(r, "GET", "/api/v1/passes/a%2Fb%25c%3F", &req), 1);
    assert_string_equal(wp_req_param(&req, "id"), "a/b%c?");

    /* prefixes and extensions of a pattern do not match */
    assert_int_equal(route_of(r, "GET", "/api/v1/passes", &req), -1);
    assert_int_equal(route_of(r, "GET", "/api/v1/passes/p1/versions", &req), -1);
    assert_int_equal(route_of(r, "GET", "/api/v1/passes/p1/versions/7/x", &req), -1);
    assert_int_equal(route_of(r, "GET", "/healthzz", &req), -1);
    assert_int_equal(route_of(r, "GET", "/health", &req), -1);
    assert_int_equal(route_of(r, "GET", "healthz", &req), -1);
    assert_int_equal(route_of(r, "GET", "", &req), -1);
    wp_router_free(r);
}

/* Literal segments win over params at the same position, in any registration order. */
static void check_precedence(const char *const *patterns, const int *pids, int n)
{
    wp_router *r = mk();
    for (int i = 0; i < n; i++) add_ok(r, "GET", patterns[i], pids[i]);
    wp_router_seal(r);
    wp_req req;
    memset(&req, 0, sizeof req);
    assert_int_equal(route_of(r, "GET", "/passes", &req), 10);
    assert_int_equal(route_of(r, "GET", "/passes/search", &req), 11);
    assert_int_equal(req.nparams, 0);
    assert_int_equal(route_of(r, "GET", "/passes/p_1", &req), 12);
    assert_string_equal(wp_req_param(&req, "id"), "p_1");
    assert_int_equal(route_of(r, "GET", "/passes/p_1/events", &req), 13);
    assert_int_equal(route_of(r, "GET", "/passes/search/events", &req), 14);
    assert_int_equal(route_of(r, "GET", "/passes/p_1/latest", &req), 15);
    assert_string_equal(wp_req_param(&req, "id"), "p_1");
    assert_int_equal(route_of(r, "GET", "/passes/p_1/other", &req), 16);
    assert_string_equal(wp_req_param(&req, "sub"), "other");
    wp_router_free(r);
}

static void test_literal_precedence(void **state)
{
    (void)state;
    const char *pat[] = {"/passes", "/passes/search", "/passes/:id", "/passes/:id/events",
                         "/passes/search/events", "/passes/:id/latest", "/passes/:id/:sub"};
    const int pid[] = {10, 11, 12, 13, 14, 15, 16};
    enum { N = 7 };
    /* every rotation, and both directions */
    for (int rot = 0; rot < N; rot++) {
        const char *p[N];
        int q[N];
        for (int i = 0; i < N; i++) {
            p[i] = pat[(i + rot) % N];
            q[i] = pid[(i + rot) % N];
        }
        check_precedence(p, q, N);
        for (int i = 0; i < N / 2; i++) {
            const char *tp = p[i];
            p[i] = p[N - 1 - i];
            p[N - 1 - i] = tp;
            int tq = q[i];
            q[i] = q[N - 1 - i];
            q[N - 1 - i] = tq;
        }
        check_precedence(p, q, N);
    }
}

/* The case that a comparator only looking at common positions gets wrong:
 * /a/:id registered first, then a shorter route, then /a/new. */
static void test_literal_precedence_mixed_lengths(void **state)
{
    (void)state;
    wp_router *r = mk();
    add_ok(r, "GET", "/a/:id", 1);
    add_ok(r, "GET", "/a", 2);
    add_ok(r, "GET", "/a/new", 3);
    add_ok(r, "GET", "/b", 4);
    add_ok(r, "GET", "/:x/new", 5);
    wp_router_seal(r);
    wp_req req;
    memset(&req, 0, sizeof req);
    assert_int_equal(route_of(r, "GET", "/a/new", &req), 3);
    assert_int_equal(route_of(r, "GET", "/a/old", &req), 1);
    assert_int_equal(route_of(r, "GET", "/a", &req), 2);
    assert_int_equal(route_of(r, "GET", "/z/new", &req), 5);
    wp_router_free(r);
}

static void test_404_405_allow(void **state)
{
    (void)state;
    wp_router *r = mk();
    add_ok(r, "GET", "/api/v1/api_keys", 1);
    add_ok(r, "POST", "/api/v1/api_keys", 2);
    add_ok(r, "DELETE", "/api/v1/api_keys/:id", 3);
    add_ok(r, "POST", "/api/v1/api_keys/:id/rotate", 4);
    add_ok(r, "GET", "/api/v1/account", 5);
    wp_router_seal(r);

    wp_req req;
    memset(&req, 0, sizeof req);
    char allow[64];
    assert_int_equal(wp_router_match(r, "PUT", "/api/v1/api_keys", &req, allow, sizeof allow), WP_ROUTE_NO_METHOD);
    assert_string_equal(allow, "GET, POST");
    assert_int_equal(wp_router_match(r, "GET", "/api/v1/api_keys/key_1", &req, allow, sizeof allow),
                     WP_ROUTE_NO_METHOD);
    assert_string_equal(allow, "DELETE");
    assert_int_equal(wp_router_match(r, "PATCH", "/api/v1/account", &req, allow, sizeof allow), WP_ROUTE_NO_METHOD);
    assert_string_equal(allow, "GET");
    /* HEAD on a path without GET is a 405 too */
    assert_int_equal(wp_router_match(r, "HEAD", "/api/v1/api_keys/k/rotate", &req, allow, sizeof allow),
                     WP_ROUTE_NO_METHOD);
    assert_string_equal(allow, "POST");

    strcpy(allow, "junk");
    assert_int_equal(wp_router_match(r, "GET", "/api/v1/nothing", &req, allow, sizeof allow), WP_ROUTE_NO_PATH);
    assert_int_equal(wp_router_match(r, "DELETE", "/api/v1/api_keys/k/x", &req, allow, sizeof allow),
                     WP_ROUTE_NO_PATH);
    /* a too-small allow buffer is truncated, never overrun */
    char tiny[5];
    assert_int_equal(wp_router_match(r, "PUT", "/api/v1/api_keys", &req, tiny, sizeof tiny), WP_ROUTE_NO_METHOD);
    assert_true(strlen(tiny) < sizeof tiny);
    /* no allow buffer at all */
    assert_int_equal(wp_router_match(r, "PUT", "/api/v1/api_keys", &req, NULL, 0), WP_ROUTE_NO_METHOD);
    /* methods are case-sensitive (RFC 9110) */
    assert_int_equal(wp_router_match(r, "get", "/api/v1/account", &req, allow, sizeof allow), WP_ROUTE_NO_METHOD);
    /* no req: answers without filling anything */
    assert_int_equal(wp_router_match(r, "GET", "/api/v1/account", NULL, NULL, 0), WP_ROUTE_FOUND);
    wp_router_free(r);
}

/* Allow lists a method once, also when several routes match the path. */
static void test_allow_dedup(void **state)
{
    (void)state;
    wp_router *r = mk();
    add_ok(r, "GET", "/x/:id", 1);
    add_ok(r, "GET", "/x/lit", 2);
    add_ok(r, "PUT", "/x/lit", 3);
    wp_router_seal(r);
    char allow[64];
    wp_req req;
    memset(&req, 0, sizeof req);
    assert_int_equal(wp_router_match(r, "DELETE", "/x/lit", &req, allow, sizeof allow), WP_ROUTE_NO_METHOD);
    assert_string_equal(allow, "GET, PUT");
    wp_router_free(r);
}

static void test_head_falls_back_to_get(void **state)
{
    (void)state;
    wp_router *r = mk();
    add_ok(r, "GET", "/a/:id", 1);
    add_ok(r, "GET", "/b", 2);
    add_ok(r, "HEAD", "/b", 3);
    wp_router_seal(r);
    wp_req req;
    memset(&req, 0, sizeof req);
    assert_int_equal(route_of(r, "HEAD", "/a/x1", &req), 1);
    assert_string_equal(wp_req_param(&req, "id"), "x1");
    /* an explicit HEAD route wins */
    assert_int_equal(route_of(r, "HEAD", "/b", &req), 3);
    assert_int_equal(route_of(r, "GET", "/b", &req), 2);
    assert_int_equal(route_of(r, "HEAD", "/nothing", &req), -1);
    wp_router_free(r);
}

static void test_duplicate_refused(void **state)
{
    (void)state;
    wp_router *r = mk();
    add_ok(r, "GET", "/a/:id", 1);
    wp_err err;
    wp_err_clear(&err);
    assert_int_equal(wp_router_add(r, "GET", "/a/:id", WP_AUTH_PUBLIC, h, NULL, "plugin-x", &err), WP_ECONFLICT);
    assert_non_null(strstr(err.msg, "/a/:id"));
    assert_non_null(strstr(err.msg, "test")); /* names the first registrant */
    /* the same pattern with only the param renamed is the same route */
    assert_int_equal(wp_router_add(r, "GET", "/a/:other", WP_AUTH_PUBLIC, h, NULL, "plugin-x", &err), WP_ECONFLICT);
    /* other methods and other patterns are fine */
    add_ok(r, "POST", "/a/:id", 2);
    add_ok(r, "GET", "/a/:id/b", 3);
    add_ok(r, "GET", "/a/b", 4);
    assert_int_equal(wp_router_count(r), 4);
    wp_router_seal(r);
    assert_int_equal(wp_router_count(r), 4);
    for (size_t i = 0; i < 4; i++) assert_non_null(wp_router_at(r, i));
    assert_null(wp_router_at(r, 4));
    wp_router_free(r);
}

static void test_late_registration_refused(void **state)
{
    (void)state;
    wp_router *r = mk();
    add_ok(r, "GET", "/a", 1);
    wp_router_seal(r);
    wp_err err;
    wp_err_clear(&err);
    assert_int_equal(wp_router_add(r, "GET", "/b", WP_AUTH_PUBLIC, h, NULL, "late", &err), WP_ELATE);
    assert_true(err.msg[0] != '\0');
    assert_int_equal(wp_router_count(r), 1);
    wp_req req;
    memset(&req, 0, sizeof req);
    assert_int_equal(route_of(r, "GET", "/b", &req), -1);
    wp_router_free(r);
}

static void test_malformed_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",            /* empty */
        "a/b",         /* not absolute */
        "/a//b",       /* empty segment */
        "//",          /* empty segments */
        "/a/",         /* trailing slash */
        "/a/:",        /* param without a name */
        "/:/b",
        "/a/:id/:id",  /* the same param twice */
        "/:a/:b/:c/:d/:e/:f/:g/:h/:i", /* more params than WP_MAX_PARAMS */
    };
    wp_router *r = mk();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wp_err err;
        wp_err_clear(&err);
        wp_status st = wp_router_add(r, "GET", bad[i], WP_AUTH_PUBLIC, h, NULL, "t", &err);
        if (st != WP_EINVAL) print_error("pattern \"%s\" gave %d, want WP_EINVAL\n", bad[i], st);
        assert_int_equal(st, WP_EINVAL);
        assert_true(err.msg[0] != '\0');
    }
    wp_err err;
    wp_err_clear(&err);
    assert_int_equal(wp_router_add(r, "GET", NULL, WP_AUTH_PUBLIC, h, NULL, "t", &err), WP_EINVAL);
    assert_int_equal(wp_router_add(r, NULL, "/a", WP_AUTH_PUBLIC, h, NULL, "t", &err), WP_EINVAL);
    assert_int_equal(wp_router_add(r, "VERYLONGMETHOD", "/a", WP_AUTH_PUBLIC, h, NULL, "t", &err), WP_EINVAL);
    assert_int_equal(wp_router_add(r, "GET", "/a", WP_AUTH_PUBLIC, NULL, NULL, "t", &err), WP_EINVAL);
    assert_int_equal(wp_router_count(r), 0);
    /* the limits themselves are fine */
    add_ok(r, "GET", "/:a/:b/:c/:d/:e/:f/:g/:h", 1);
    add_ok(r, "GET", "/", 2);
    add_ok(r, "DELETE", "/a", 3);
    wp_router_seal(r);
    wp_req req;
    memset(&req, 0, sizeof req);
    assert_int_equal(route_of(r, "GET", "/1/2/3/4/5/6/7/8", &req), 1);
    assert_int_equal(req.nparams, 8);
    assert_string_equal(wp_req_param(&req, "h"), "8");
    assert_int_equal(route_of(r, "GET", "/", &req), 2);
    wp_router_free(r);
}

static void test_trailing_slash_and_empty_segments(void **state)
{
    (void)state;
    wp_router *r = mk();
    add_ok(r, "GET", "/api/v1/account", 1);
    add_ok(r, "GET", "/api/v1/passes/:id", 2);
    add_ok(r, "GET", "/api/v1/passes/:id/:sub", 3);
    wp_router_seal(r);
    wp_req req;
    memset(&req, 0, sizeof req);
    assert_int_equal(route_of(r, "GET", "/api/v1/account/", &req), -1);
    assert_int_equal(route_of(r, "GET", "/api/v1//account", &req), -1);
    assert_int_equal(route_of(r, "GET", "//api/v1/account", &req), -1);
    assert_int_equal(route_of(r, "GET", "/api/v1/passes/", &req), -1);
    assert_int_equal(route_of(r, "GET", "/api/v1/passes//", &req), -1);
    assert_int_equal(route_of(r, "GET", "/api/v1/passes/x/", &req), -1);
    assert_int_equal(route_of(r, "GET", "/api/v1/passes//y", &req), -1);
    assert_int_equal(route_of(r, "GET", "/api/v1/passes/x//", &req), -1);
    assert_int_equal(route_of(r, "GET", "/", &req), -1);
    assert_int_equal(route_of(r, "GET", "/api/v1/passes/x/y", &req), 3);
    wp_router_free(r);
}

/* A path as long as the request buffer still yields all its params. */
static void test_long_params(void **state)
{
    (void)state;
    wp_router *r = mk();
    add_ok(r, "GET", "/:a/:b", 1);
    wp_router_seal(r);
    wp_req req;
    memset(&req, 0, sizeof req);
    char path[sizeof req.path];
    memset(path, 'x', sizeof path - 1);
    path[0] = '/';
    path[1000] = '/';
    path[sizeof path - 1] = '\0';
    assert_int_equal(route_of(r, "GET", path, &req), 1);
    assert_int_equal(strlen(wp_req_param(&req, "a")), 999);
    assert_int_equal(strlen(wp_req_param(&req, "b")), sizeof path - 1 - 1001);
    wp_router_free(r);
}

/* A path longer than the request's buffers (no server builds one) whose
 * parameters cannot all be stored is no match, never a match missing some. */
static void test_params_overflow_no_match(void **state)
{
    (void)state;
    wp_router *r = mk();
    add_ok(r, "GET", "/:a/:b", 1);
    wp_router_seal(r);
    wp_req req;
    memset(&req, 0, sizeof req);
    size_t len = 2 * sizeof req.param_buf;
    char *path = malloc(len + 1);
    assert_non_null(path);
    memset(path, 'x', len);
    path[0] = '/';
    path[len / 2] = '/';
    path[len] = '\0';
    assert_int_equal(route_of(r, "GET", path, &req), -1);
    assert_int_equal(req.nparams, 0);
    free(path);
    wp_router_free(r);
}

/* The canonical path: decoded, except the bytes that would split, cut or blur it. */
static void test_path_canonical(void **state)
{
    (void)state;
    struct { const char *raw, *canon; } ok[] = {
        {"/api/v1/passes/pass_1", "/api/v1/passes/pass_1"},
        {"/a%62c/%7e%7E", "/abc/~~"},
        {"/a%20b", "/a b"},
        {"/caf%C3%A9", "/caf\xc3\xa9"},
        {"/caf\xc3\xa9", "/caf\xc3\xa9"},
        {"/a%2fb/c%2Fd", "/a%2Fb/c%2Fd"},
        {"/x%00zz", "/x%00zz"},
        {"/p%25q%3fr%23s", "/p%25q%3Fr%23s"},
        {"/ctl%0a%0D%09%7f%1F", "/ctl%0A%0D%09%7F%1F"},
        {"/", "/"},
    };
    char out[64];
    wp_err err;
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        wp_err_clear(&err);
        if (wp_router_path(ok[i].raw, out, sizeof out, &err) != WP_OK) fail_msg("%s: %s", ok[i].raw, err.msg);
        assert_string_equal(out, ok[i].canon);
        /* canonical is a fixed point */
        char again[64];
        assert_int_equal(wp_router_path(out, again, sizeof again, &err), WP_OK);
        assert_string_equal(again, out);
    }
    const char *bad[] = {"/a%zz", "/a%4", "/a%", "/a%%41", "/%g1", "/%FF", "/%C3", "/%ED%A0%80", "/\xff"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        wp_err_clear(&err);
        assert_int_equal(wp_router_path(bad[i], out, sizeof out, &err), WP_EINVAL);
        assert_string_equal(err.param, "path");
    }
    /* too long once written out (a kept escape counts three bytes): refused, never cut */
    char small[8];
    assert_int_equal(wp_router_path("/abcdef", small, sizeof small, &err), WP_OK);
    assert_string_equal(small, "/abcdef");
    assert_int_equal(wp_router_path("/abcdefg", small, sizeof small, &err), WP_ETOOLARGE);
    assert_int_equal(wp_router_path("/abcd%00", small, sizeof small, &err), WP_ETOOLARGE);
    assert_int_equal(wp_router_path("/abc%00", small, sizeof small, &err), WP_OK);
    assert_string_equal(small, "/abc%00");
}

/* The path for the access log: decoded, NUL kept as %00, bounded. */
static void test_path_decoded(void **state)
{
    (void)state;
    char out[16];
    wp_router_path_decoded("/a%2Fb%25%0Ac%00d", out, sizeof out);
    assert_string_equal(out, "/a/b%\nc%00d");
    wp_router_path_decoded("/bad%zz%4", out, sizeof out);
    assert_string_equal(out, "/bad%zz%4");
    wp_router_path_decoded("/0123456789abcdefgh", out, sizeof out);
    assert_string_equal(out, "/0123456789abcd");
}

/* A parameter holding an encoded NUL is refused by name, never handed on cut short. */
static void test_nul_in_param(void **state)
{
    (void)state;
    wp_router *r = mk();
    add_ok(r, "GET", "/api/v1/passes/:id", 1);
    add_ok(r, "DELETE", "/api/v1/passes/:id", 2);
    add_ok(r, "GET", "/api/v1/passes/batch", 3);
    add_ok(r, "GET", "/apple/v1/passes/:ptid/:serial", 4);
    add_ok(r, "GET", "/healthz", 5);
    wp_router_seal(r);
    char path[256], allow[64];
    wp_req req;
    wp_err err;
    struct { const char *method, *raw; wp_route_result want; const char *bad; int route; } cases[] = {
        {"GET", "/api/v1/passes/pass_1%00zz", WP_ROUTE_BAD_PARAM, "id", 1},
        {"DELETE", "/api/v1/passes/pass_1%00", WP_ROUTE_BAD_PARAM, "id", 2},
        {"HEAD", "/api/v1/passes/%00pass_1", WP_ROUTE_BAD_PARAM, "id", 1},
        /* a literal never matches a segment with a NUL: it falls to the parameter */
        {"GET", "/api/v1/passes/batch%00", WP_ROUTE_BAD_PARAM, "id", 1},
        {"GET", "/apple/v1/passes/pass.com.x/S1%00", WP_ROUTE_BAD_PARAM, "serial", 4},
        {"GET", "/apple/v1/passes/pass.com.x%00/S1", WP_ROUTE_BAD_PARAM, "ptid", 4},
        {"GET", "/healthz%00", WP_ROUTE_NO_PATH, NULL, 0},
        {"GET", "/api/v1/passes%00/pass_1", WP_ROUTE_NO_PATH, NULL, 0},
        {"PUT", "/api/v1/passes/pass_1%00", WP_ROUTE_NO_METHOD, NULL, 0},
        /* other control bytes reach the handler whole, which checks its own grammar */
        {"GET", "/api/v1/passes/pass_1%01zz", WP_ROUTE_FOUND, NULL, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        wp_err_clear(&err);
        assert_int_equal(wp_router_path(cases[i].raw, path, sizeof path, &err), WP_OK);
        memset(&req, 0, sizeof req);
        wp_route_result rr = wp_router_match(r, cases[i].method, path, &req, allow, sizeof allow);
        if (rr != cases[i].want) fail_msg("%s %s: result %d, expected %d", cases[i].method, cases[i].raw, rr, cases[i].want);
        if (cases[i].bad) assert_string_equal(req.bad_param, cases[i].bad);
        else assert_null(req.bad_param);
        if (cases[i].route) assert_int_equal((int)((int *)req.route->ud - ids), cases[i].route);
    }
    memset(&req, 0, sizeof req);
    assert_int_equal(wp_router_path("/api/v1/passes/pass_1%01zz", path, sizeof path, &err), WP_OK);
    assert_int_equal(wp_router_match(r, "GET", path, &req, allow, sizeof allow), WP_ROUTE_FOUND);
    assert_int_equal(strlen(wp_req_param(&req, "id")), 9);
    assert_memory_equal(wp_req_param(&req, "id"), "pass_1\x01zz", 9);
    /* without a request to fill, the route is still found */
    assert_int_equal(wp_router_match(r, "GET", "/api/v1/passes/a%00", NULL, NULL, 0), WP_ROUTE_BAD_PARAM);
    wp_router_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_literal_precedence),
        cmocka_unit_test(test_literal_precedence_mixed_lengths),
        cmocka_unit_test(test_404_405_allow),
        cmocka_unit_test(test_allow_dedup),
        cmocka_unit_test(test_head_falls_back_to_get),
        cmocka_unit_test(test_duplicate_refused),
        cmocka_unit_test(test_late_registration_refused),
        cmocka_unit_test(test_malformed_refused),
        cmocka_unit_test(test_trailing_slash_and_empty_segments),
        cmocka_unit_test(test_long_params),
        cmocka_unit_test(test_params_overflow_no_match),
        cmocka_unit_test(test_path_canonical),
        cmocka_unit_test(test_path_decoded),
        cmocka_unit_test(test_nul_in_param),
    };
    return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
