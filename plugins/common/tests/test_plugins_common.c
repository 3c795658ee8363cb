/*
 * unit_plugins_common: plugins/common, the library every in-tree plugin
 * links: JSON getters, times, credential checks and wiping, and the pinned,
 * size-capped fetch (against a one-shot HTTP server on loopback, reached
 * through a name that only the pin resolves).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "outbound.h"
#include "wpc_cred.h"
#include "wpc_fetch.h"
#include "wpc_json.h"
#include "wpc_time.h"

/* ---- JSON ---- */

static void json_getters(void **state)
{
    (void)state;
    json_object *o = json_tokener_parse("{\"s\": \"x\", \"n\": null, \"i\": 42, \"o\": {}}");
    assert_non_null(o);
    assert_string_equal(wpc_json_str(o, "s"), "x");
    assert_null(wpc_json_str(o, "i"));   /* wrong type reads as absent */
    assert_null(wpc_json_get(o, "n"));   /* null reads as absent */
    assert_null(wpc_json_get(o, "missing"));
    assert_non_null(wpc_json_get(o, "o"));
    assert_string_equal(wpc_json_text(o, "i"), "42");
    assert_null(wpc_json_text(o, "n"));
    assert_int_equal(wpc_json_int64(o, "i", -1), 42);
    assert_int_equal(wpc_json_int64(o, "n", -1), -1);
    assert_null(wpc_json_get(NULL, "s"));
    json_object *arr = json_object_new_array();
    assert_null(wpc_json_get(arr, "s")); /* not an object */
    json_object_put(arr);
    json_object_put(o);
}

static void pass_fields(void **state)
{
    (void)state;
    json_object *p = json_tokener_parse("{\"id\": \"pass_1\", \"status\": \"active\", \"locations\": null,"
                                        " \"body\": {\"status\": \"other\", \"locations\": [1], \"logo_text\": \"L\"}}");
    assert_string_equal(wpc_pass_str(p, "status"), "active");        /* the resource's own first */
    assert_string_equal(wpc_pass_str(p, "logo_text"), "L");          /* else the body's */
    assert_non_null(wpc_pass_field(p, "locations"));                 /* null at the top: the body's */
    assert_null(wpc_pass_field(p, "missing"));
    json_object_put(p);
}

/* ---- times ---- */

static void iso_times(void **state)
{
    (void)state;
    assert_int_equal(wpc_time_iso_parse("2030-01-01T00:00:00Z"), 1893456000);
    assert_int_equal(wpc_time_iso_parse("2030-01-01T00:00:00.123456z"), 1893456000);
    assert_int_equal(wpc_time_iso_parse("2030-01-01T02:00:00.123+02:00"), 1893456000);
    assert_int_equal(wpc_time_iso_parse("2030-01-01T05:30:00+0530"), 1893456000);
    assert_int_equal(wpc_time_iso_parse("2030-01-01T02:00+02"), 1893456000);
    assert_int_equal(wpc_time_iso_parse("2029-12-31T19:00:00-05:00"), 1893456000);
    assert_int_equal(wpc_time_iso_parse("2030-01-01 00:00Z"), 1893456000);
    assert_int_equal(wpc_time_iso_parse("2030-01-01"), -1);
    assert_int_equal(wpc_time_iso_parse("2030-01-01T00:00:00"), -1); /* no zone: ambiguous */
    assert_int_equal(wpc_time_iso_parse("2030-01-01T00:00:00+"), -1);
    assert_int_equal(wpc_time_iso_parse(NULL), -1);
    char now[WPC_TIME_ISO_LEN];
    wpc_time_iso_now(now);
    assert_int_equal(strlen(now), 24);
    assert_true(now[10] == 'T' && now[19] == '.' && now[23] == 'Z');
    assert_true(wpc_time_iso_parse(now) > 1700000000);
}

static void http_dates(void **state)
{
    (void)state;
    char d[40];
    wpc_time_http_format(784111777, d, sizeof d);
    assert_string_equal(d, "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_int_equal(wpc_time_http_parse(d), 784111777);
    assert_int_equal(wpc_time_http_parse("Sun, 06 Foo 1994 08:49:37 GMT"), -1);
    assert_int_equal(wpc_time_http_parse(NULL), -1);
    /* the direct reading of the exact form and timegm's agree, over centuries and leap days */
    for (long long t = -2208988800LL; t < 7258118400LL; t += 86400LL * 37 + 3671) {
        wpc_time_http_format(t, d, sizeof d);
        assert_int_equal(wpc_time_http_parse(d), t);
    }
    wpc_time_http_format(951782400, d, sizeof d); /* 2000-02-29 */
    assert_string_equal(d, "Tue, 29 Feb 2000 00:00:00 GMT");
    assert_int_equal(wpc_time_http_parse(d), 951782400);
    /* looser forms still read the general way; out-of-range fields normalise as timegm does */
    assert_int_equal(wpc_time_http_parse("Sun,  6 Nov 1994 08:49:37 GMT"), 784111777);
    assert_int_equal(wpc_time_http_parse("Sun, 06 Nov 1994 08:49:60 GMT"), 784111800);
}

/* ---- credentials ---- */

static void cred_fields(void **state)
{
    (void)state;
    static const char *const allowed[] = {"a", "b", NULL};
    wpc_cred_err e;
    memset(&e, 0, sizeof e);
    json_object *body = json_tokener_parse("{\"a\": \"x\", \"c\": 1}");
    assert_int_equal(wpc_cred_only_fields(body, allowed, &e), WP_EINVAL);
    assert_string_equal(e.code, "parameter_unknown");
    assert_string_equal(e.param, "c");
    json_object_object_del(body, "c");
    assert_int_equal(wpc_cred_only_fields(body, allowed, &e), WP_OK);
    const char *v = NULL;
    assert_int_equal(wpc_cred_str_field(body, "a", "a", true, 8, "a thing", &v, &e), WP_OK);
    assert_string_equal(v, "x");
    assert_int_equal(wpc_cred_str_field(body, "b", "b", false, 8, "a thing", &v, &e), WP_OK);
    assert_null(v);
    assert_int_equal(wpc_cred_str_field(body, "b", "b", true, 8, "a thing", &v, &e), WP_EINVAL);
    assert_string_equal(e.code, "parameter_missing");
    assert_string_equal(e.msg, "b is required: a thing");
    assert_int_equal(wpc_cred_str_field(body, "a", "a", true, 0, "a thing", &v, &e), WP_EINVAL);
    assert_string_equal(e.code, "parameter_invalid");
    json_object_put(body);
    json_object *arr = json_object_new_array();
    assert_int_equal(wpc_cred_only_fields(arr, allowed, &e), WP_EINVAL);
    assert_string_equal(e.param, "body");
    json_object_put(arr);
}

static void cred_wipe(void **state)
{
    (void)state;
    json_object *o = json_tokener_parse("{\"k\": \"secret-1\", \"n\": {\"a\": [\"secret-2\", 3]}}");
    json_object *s1 = json_object_get(json_object_object_get(o, "k"));
    json_object *s2 = json_object_get(json_object_array_get_idx(json_object_object_get(json_object_object_get(o, "n"), "a"), 0));
    const char *b1 = json_object_get_string(s1), *b2 = json_object_get_string(s2);
    wpc_cred_wipe_put(o); /* the strings live on through the references held here */
    for (int i = 0; i < 8; i++) {
        assert_int_equal(b1[i], 0);
        assert_int_equal(b2[i], 0);
    }
    json_object_put(s1);
    json_object_put(s2);
    wpc_cred_wipe_put(NULL);
    char *s = strdup("key");
    json_object *w = wpc_cred_str_wiped(s);
    assert_string_equal(json_object_get_string(w), "key");
    json_object_put(w);
}

/* ---- fetch ---- */

typedef struct {
    int fd;
    const char *response;   /* written whole after the request head */
    char request[2048];
} server;

static void *serve_one(void *ud)
{
    server *s = ud;
    /* a fetch that never connects (a broken pin) must fail the test, not hang it: a generous bound */
    struct pollfd pf = {.fd = s->fd, .events = POLLIN};
    if (poll(&pf, 1, 60000) != 1) return NULL;
    int c = accept(s->fd, NULL, NULL);
    if (c < 0) return NULL;
    size_t n = 0;
    while (n < sizeof s->request - 1) {
        ssize_t r = read(c, s->request + n, sizeof s->request - 1 - n);
        if (r <= 0) break;
        n += (size_t)r;
        s->request[n] = '\0';
        char *end = strstr(s->request, "\r\n\r\n");
        if (end) {
            const char *cl = strstr(s->request, "Content-Length: ");
            size_t want = cl ? (size_t)atol(cl + 16) : 0;
            if (n - (size_t)(end + 4 - s->request) >= want) break;
        }
    }
    size_t len = strlen(s->response), off = 0;
    while (off < len) {
        ssize_t w = write(c, s->response + off, len - off);
        if (w <= 0) break;
        off += (size_t)w;
    }
    shutdown(c, SHUT_WR);
    char sink[256];
    while (read(c, sink, sizeof sink) > 0) {}
    close(c);
    return NULL;
}

/* Serves response once; fills url (through the name "pinned.invalid") and the pin to 127.0.0.1. */
static void start(server *s, pthread_t *t, const char *response, char url[128], char pin[128])
{
    memset(s, 0, sizeof *s);
    s->response = response;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->fd, 1), 0);
    socklen_t al = sizeof a;
    getsockname(s->fd, (struct sockaddr *)&a, &al);
    int port = ntohs(a.sin_port);
    snprintf(url, 128, "http://pinned.invalid:%d/x", port);
    snprintf(pin, 128, "pinned.invalid:%d:127.0.0.1", port);
    assert_int_equal(pthread_create(t, NULL, serve_one, s), 0);
}

static void stop(server *s, pthread_t t)
{
    pthread_join(t, NULL);
    close(s->fd);
}

static wpc_fetch_req base_req(const char *url, const char *pin)
{
    wpc_fetch_req rq = {.url = url, .pin = pin, .allow_http = true, .connect_timeout_ms = 60000,
                        .timeout_ms = 60000, .max_bytes = 16, .whole = true, .user_agent = "unit"};
    return rq;
}

static void fetch_whole(void **state)
{
    (void)state;
    server s;
    pthread_t t;
    char url[128], pin[128];
    start(&s, &t, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", url, pin);
    wpc_fetch_req rq = base_req(url, pin);
    wpc_fetch_res r;
    wpc_fetch(&rq, &r);
    stop(&s, t);
    assert_false(r.failed);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 5);
    assert_string_equal((char *)r.body, "hello");
    assert_non_null(strstr(s.request, "GET /x HTTP/1.1"));
    assert_non_null(strstr(s.request, "Host: pinned.invalid:"));
    wpc_fetch_done(&r);
    assert_null(r.body);
}

static void fetch_too_big(void **state)
{
    (void)state;
    server s;
    pthread_t t;
    char url[128], pin[128];
    /* announced larger than max_bytes: refused on the header */
    start(&s, &t, "HTTP/1.1 200 OK\r\nContent-Length: 40\r\nConnection: close\r\n\r\n0123456789012345678901234567890123456789",
          url, pin);
    wpc_fetch_req rq = base_req(url, pin);
    wpc_fetch_res r;
    wpc_fetch(&rq, &r);
    stop(&s, t);
    assert_true(r.failed);
    assert_true(r.too_big);
    wpc_fetch_done(&r);
    /* not announced: cut while reading */
    start(&s, &t, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n0123456789012345678901234567890123456789", url, pin);
    wpc_fetch(&rq, &r);
    stop(&s, t);
    assert_true(r.failed);
    assert_true(r.too_big);
    wpc_fetch_done(&r);
}

static void fetch_excerpt_post(void **state)
{
    (void)state;
    server s;
    pthread_t t;
    char url[128], pin[128];
    start(&s, &t, "HTTP/1.1 429 Too Many\r\nRetry-After: 7\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789",
          url, pin);
    const char *hdrs[] = {"X-Test: yes", NULL};
    wpc_fetch_req rq = base_req(url, pin);
    rq.method = "POST";
    rq.headers = hdrs;
    rq.body = "{\"a\":1}";
    rq.body_len = 7;
    rq.whole = false;
    rq.keep = 4;
    wpc_fetch_res r;
    wpc_fetch(&rq, &r);
    stop(&s, t);
    assert_false(r.failed);
    assert_int_equal(r.status, 429);
    assert_int_equal(r.retry_after_s, 7);
    assert_int_equal(r.len, 4);
    assert_string_equal((char *)r.body, "0123");
    assert_non_null(strstr(s.request, "POST /x HTTP/1.1"));
    assert_non_null(strstr(s.request, "X-Test: yes"));
    assert_null(strstr(s.request, "Expect:"));
    assert_non_null(strstr(s.request, "{\"a\":1}"));
    wpc_fetch_done(&r);
}

static void fetch_no_redirect_no_http(void **state)
{
    (void)state;
    server s;
    pthread_t t;
    char url[128], pin[128];
    start(&s, &t, "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
          url, pin);
    wpc_fetch_req rq = base_req(url, pin);
    wpc_fetch_res r;
    wpc_fetch(&rq, &r);
    stop(&s, t);
    assert_false(r.failed);
    assert_int_equal(r.status, 302); /* answered as it is, not followed */
    wpc_fetch_done(&r);
    /* https only unless allowed: refused before any connection */
    rq.allow_http = false;
    wpc_fetch(&rq, &r);
    assert_true(r.failed);
    assert_int_equal(r.status, 0);
    assert_true(r.error[0] != '\0');
    wpc_fetch_done(&r);
}

/* ---- outbound: the delivery schedule and one attempt ---- */

static void outbound_attempts(void **state)
{
    (void)state;
    static const int want[OUTBOUND_ATTEMPTS] = {0, 5, 30, 300, 1800};
    for (int i = 0; i < OUTBOUND_ATTEMPTS; i++) assert_int_equal(outbound_schedule_s[i], want[i]);
    server s;
    pthread_t t;
    char url[128], pin[128];
    /* a 503 with Retry-After and a body longer than the excerpt: the status decides, the start is kept */
    char answer[2048];
    char big[OUTBOUND_EXCERPT + 101];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    snprintf(answer, sizeof answer,
             "HTTP/1.1 503 Busy\r\nRetry-After: 9\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
             strlen(big), big);
    start(&s, &t, answer, url, pin);
    const char *hdrs[] = {"Content-Type: application/json", NULL};
    outbound_opts o = {60000, 60000, 4096, 1, "WalletPass-Test/1.0"};
    outbound_result r;
    outbound_send(url, pin, hdrs, "{}", 2, &o, &r);
    stop(&s, t);
    assert_int_equal(r.status_code, 503);
    assert_string_equal(r.error, "");
    assert_int_equal(r.retry_after_s, 9);
    assert_int_equal(strlen(r.excerpt), OUTBOUND_EXCERPT);
    assert_non_null(strstr(s.request, "POST /x HTTP/1.1"));
    assert_non_null(strstr(s.request, "User-Agent: WalletPass-Test/1.0"));
    /* a body past max_response_bytes: cut, the status line still decides */
    start(&s, &t, answer, url, pin);
    o.max_response_bytes = 16;
    outbound_send(url, pin, hdrs, "{}", 2, &o, &r);
    stop(&s, t);
    assert_int_equal(r.status_code, 503);
    assert_string_equal(r.error, "");
    /* https only unless allowed: no response, the reason kept */
    o.allow_http = 0;
    outbound_send(url, pin, hdrs, "{}", 2, &o, &r);
    assert_int_equal(r.status_code, 0);
    assert_true(r.error[0] != '\0');
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_getters),     cmocka_unit_test(pass_fields),        cmocka_unit_test(iso_times),
        cmocka_unit_test(http_dates),       cmocka_unit_test(cred_fields),        cmocka_unit_test(cred_wipe),
        cmocka_unit_test(fetch_whole),      cmocka_unit_test(fetch_too_big),      cmocka_unit_test(fetch_excerpt_post),
        cmocka_unit_test(fetch_no_redirect_no_http), cmocka_unit_test(outbound_attempts),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
