/* test_clientaddr.c - the client's address behind trusted proxies: blocks, X-Forwarded-For walks, config errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "clientaddr.h"

static void test_netblock_parse(void **state)
{
    (void)state;
    static const char *const good[] = {"127.0.0.1", "10.0.0.0/8", "0.0.0.0/0", "192.168.1.7/32", "::1", "fd00::/8",
                                       "2001:db8::/32", "::/0", "::ffff:10.1.2.3", "10.1.2.3/8"};
    static const char *const bad[] = {"", "localhost", "10.0.0.0/33", "::1/129", "10.0.0.0/", "10.0.0.0/-1",
                                      "10.0.0.0/8x", "10.0.0.0/ 8", " 10.0.0.1", "10.0.0.1 ", "10.0.0.0/0008",
                                      "1.2.3", "1.2.3.4.5", "[::1]", "10.0.0.1:80"};
    wp_netblock b;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (wp_netblock_parse(good[i], &b) != 0) fail_msg("refused %s", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (wp_netblock_parse(bad[i], &b) == 0) fail_msg("accepted \"%s\"", bad[i]);
    /* host bits under the prefix are dropped; a mapped IPv4 address is IPv4 */
    assert_int_equal(wp_netblock_parse("10.1.2.3/8", &b), 0);
    assert_int_equal(b.bits, 8);
    assert_memory_equal(b.addr, "\x0a\x00\x00\x00", 4);
    assert_int_equal(wp_netblock_parse("::ffff:10.1.2.3", &b), 0);
    assert_int_equal(b.bits, 32);
    assert_memory_equal(b.addr, "\x0a\x01\x02\x03", 4);
}

static wp_proxies proxies_of(const char *json)
{
    json_object *arr = json_tokener_parse(json);
    wp_proxies p;
    wp_err err;
    wp_err_clear(&err);
    if (wp_proxies_from_json(arr, &p, &err) != WP_OK) fail_msg("%s: %s", json, err.msg);
    json_object_put(arr);
    return p;
}

typedef struct {
    const char *name, *peer, *xff[3], *want;
} walk_case;

static void test_walk(void **state)
{
    (void)state;
    wp_proxies p = proxies_of("[\"127.0.0.1\", \"10.0.0.0/8\", \"::1\", \"fd00::/8\"]");
    static const walk_case cases[] = {
        {"an untrusted peer: its header is ignored", "203.0.113.9", {"198.51.100.7"}, "203.0.113.9"},
        {"a trusted peer without the header", "127.0.0.1", {NULL}, "127.0.0.1"},
        {"one hop", "127.0.0.1", {"198.51.100.7"}, "198.51.100.7"},
        {"what the client wrote itself is never believed", "127.0.0.1", {"1.1.1.1, 198.51.100.7"}, "198.51.100.7"},
        {"trusted hops are skipped", "127.0.0.1", {"1.1.1.1, 198.51.100.7, 10.1.2.3, 10.9.9.9"}, "198.51.100.7"},
        {"several headers, the last is the nearest", "10.0.0.2", {"1.1.1.1", "198.51.100.7", "10.1.2.3"}, "198.51.100.7"},
        {"spaces and tabs", "127.0.0.1", {" \t198.51.100.7 \t"}, "198.51.100.7"},
        {"IPv4 with a port", "127.0.0.1", {"198.51.100.7:51234"}, "198.51.100.7"},
        {"IPv6 with brackets and a port", "127.0.0.1", {"[2001:db8::7]:443"}, "2001:db8::7"},
        {"IPv6 without brackets", "127.0.0.1", {"2001:db8::7"}, "2001:db8::7"},
        {"mapped IPv4 is written as IPv4", "127.0.0.1", {"::ffff:198.51.100.7"}, "198.51.100.7"},
        {"an IPv6 trusted proxy", "::1", {"198.51.100.7, fd00::5"}, "198.51.100.7"},
        {"garbage nearest: the peer", "127.0.0.1", {"198.51.100.7, unknown"}, "127.0.0.1"},
        {"garbage behind a trusted hop: that hop", "127.0.0.1", {"unknown, 10.0.0.5"}, "10.0.0.5"},
        {"an empty entry ends the walk", "127.0.0.1", {"198.51.100.7,"}, "127.0.0.1"},
        {"an empty header", "127.0.0.1", {""}, "127.0.0.1"},
        {"a bracket without its end", "127.0.0.1", {"[2001:db8::7"}, "127.0.0.1"},
        {"a bracket followed by junk", "127.0.0.1", {"[2001:db8::7]x"}, "127.0.0.1"},
        {"an address too long", "127.0.0.1", {"1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb"}, "127.0.0.1"},
        {"every hop trusted: the farthest", "127.0.0.1", {"10.0.0.9, 10.0.0.8"}, "10.0.0.9"},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const walk_case *c = &cases[i];
        size_t n = 0;
        while (n < 3 && c->xff[n]) n++;
        char out[WP_CLIENTADDR_MAX];
        wp_clientaddr(&p, c->peer, c->xff, n, out, sizeof out);
        if (strcmp(out, c->want) != 0) {
            print_error("[%s] got %s, want %s\n", c->name, out, c->want);
            bad++;
        }
    }
    wp_proxies_free(&p);
    /* no trusted proxies: always the peer */
    wp_proxies none = proxies_of("[]");
    const char *xff[] = {"198.51.100.7"};
    char out[WP_CLIENTADDR_MAX];
    wp_clientaddr(&none, "127.0.0.1", xff, 1, out, sizeof out);
    assert_string_equal(out, "127.0.0.1");
    wp_clientaddr(NULL, "127.0.0.1", xff, 1, out, sizeof out);
    assert_string_equal(out, "127.0.0.1");
    assert_int_equal(bad, 0);
}

static void test_from_json_errors(void **state)
{
    (void)state;
    static const struct { const char *json, *param; } cases[] = {
        {"\"10.0.0.0/8\"", "server.trusted_proxies"},
        {"[\"10.0.0.1\", \"proxy\"]", "server.trusted_proxies[1]"},
        {"[null]", "server.trusted_proxies[0]"},
        {"[[\"10.0.0.1\"]]", "server.trusted_proxies[0]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_object *arr = json_tokener_parse(cases[i].json);
        wp_proxies p;
        wp_err err;
        wp_err_clear(&err);
        assert_int_equal(wp_proxies_from_json(arr, &p, &err), WP_ECONFIG);
        assert_string_equal(err.param, cases[i].param);
        assert_non_null(strstr(err.msg, cases[i].param));
        assert_null(p.blocks);
        json_object_put(arr);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_netblock_parse),
        cmocka_unit_test(test_walk),
        cmocka_unit_test(test_from_json_errors),
    };
    return cmocka_run_group_tests_name("clientaddr", tests, NULL, NULL);
}
