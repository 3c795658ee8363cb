/* test_ssrf.c - the outbound URL guard: every refused range, spellings, allow_private. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ssrf.h"

static wp_status check(const char *url, bool allow_private, wp_err *err)
{
    wp_err_clear(err);
    return wp_ssrf_check_url(url, allow_private, NULL, 0, err);
}

static void refused(const char *url, const char *why_part)
{
    wp_err err;
    wp_status st = check(url, false, &err);
    if (st != WP_EDENIED) fail_msg("%s: expected WP_EDENIED, got %d (%s)", url, st, err.msg);
    if (why_part && !strstr(err.msg, why_part)) fail_msg("%s: message \"%s\" lacks \"%s\"", url, err.msg, why_part);
}

static void test_ipv4_ranges_refused(void **state)
{
    (void)state;
    refused("http://127.0.0.1/", "loopback");
    refused("http://127.255.1.2:8080/x", "loopback");
    refused("http://10.0.0.1/", "10/8");
    refused("http://10.255.255.255/", "10/8");
    refused("http://172.16.0.1/", "172.16/12");
    refused("http://172.31.255.254/", "172.16/12");
    refused("http://192.168.1.1/", "192.168/16");
    refused("http://169.254.169.254/latest/meta-data/", "metadata");
    refused("http://169.254.10.10/", "link-local");
    refused("http://0.0.0.0/", "unspecified");
    refused("http://100.64.0.1/", "CGNAT");
    refused("http://224.0.0.1/", "multicast");
    refused("http://255.255.255.255/", "reserved");
}

static void test_ipv4_edges_allowed(void **state)
{
    (void)state;
    wp_err err;
    /* Just outside the private blocks. */
    assert_int_equal(check("http://172.15.255.255/", false, &err), WP_OK);
    assert_int_equal(check("http://172.32.0.1/", false, &err), WP_OK);
    assert_int_equal(check("http://11.0.0.1/", false, &err), WP_OK);
    assert_int_equal(check("https://93.184.216.34/path?q=1", false, &err), WP_OK);
}

static void test_ipv6_ranges_refused(void **state)
{
    (void)state;
    refused("http://[::1]/", "loopback");
    refused("http://[::]/", "unspecified");
    refused("http://[fc00::1]/", "unique local");
    refused("http://[fdff:ffff::1]/", "unique local");
    refused("http://[fe80::1]/", "link-local");
    refused("http://[febf::1]/", "link-local");
    refused("http://[ff02::1]/", "multicast");
    refused("http://[fd00:ec2::254]/", "metadata");
    /* IPv4-mapped and NAT64 are judged as the IPv4 they reach. */
    refused("http://[::ffff:127.0.0.1]/", "loopback");
    refused("http://[::ffff:169.254.169.254]/", "metadata");
    refused("http://[::ffff:10.1.2.3]/", "10/8");
    refused("http://[64:ff9b::c0a8:101]/", "192.168/16");
    refused("http://[2002:7f00:1::1]/", "loopback");
}

static void test_public_ipv6_allowed(void **state)
{
    (void)state;
    wp_err err;
    assert_int_equal(check("http://[2606:4700:4700::1111]/", false, &err), WP_OK);
    assert_int_equal(check("http://[::ffff:8.8.8.8]/", false, &err), WP_OK);
}

/* getaddrinfo reads these legacy spellings as IPv4: they must not slip through. */
static void test_numeric_spellings(void **state)
{
    (void)state;
    refused("http://2130706433/", "loopback");       /* decimal 127.0.0.1 */
    refused("http://0x7f000001/", "loopback");       /* hex */
    refused("http://0177.0.0.1/", "loopback");       /* octal */
    refused("http://127.1/", "loopback");            /* short form */
    refused("http://0/", "unspecified");
    refused("http://3232235777/", "192.168/16");     /* 192.168.1.1 */
    refused("http://0251.0376.0251.0376/", "metadata"); /* 169.254.169.254 in octal */
}

static void test_localhost_name_refused(void **state)
{
    (void)state;
    refused("http://localhost:8080/hook", NULL);
}

static void test_allow_private(void **state)
{
    (void)state;
    wp_err err;
    assert_int_equal(check("http://127.0.0.1:9/", true, &err), WP_OK);
    assert_int_equal(check("http://10.1.1.1/", true, &err), WP_OK);
    assert_int_equal(check("http://[::1]/", true, &err), WP_OK);
    assert_int_equal(check("http://[fe80::1]/", true, &err), WP_OK);
    /* never allowed */
    assert_int_equal(check("http://169.254.169.254/", true, &err), WP_EDENIED);
    assert_int_equal(check("http://[::ffff:169.254.169.254]/", true, &err), WP_EDENIED);
    assert_int_equal(check("http://224.0.0.1/", true, &err), WP_EDENIED);
    assert_int_equal(check("http://0.0.0.0/", true, &err), WP_EDENIED);
}

static void test_bad_urls(void **state)
{
    (void)state;
    wp_err err;
    assert_int_equal(check("ftp://93.184.216.34/", false, &err), WP_EINVAL);
    assert_non_null(strstr(err.msg, "ftp"));
    assert_int_equal(check("file:///etc/passwd", false, &err), WP_EINVAL);
    assert_int_equal(check("not a url", false, &err), WP_EINVAL);
    assert_int_equal(check("", false, &err), WP_EINVAL);
    assert_int_equal(check("gopher://127.0.0.1/", true, &err), WP_EINVAL);
}

static void test_pin(void **state)
{
    (void)state;
    wp_err err;
    char pin[128];
    wp_err_clear(&err);
    assert_int_equal(wp_ssrf_check_url("https://93.184.216.34/x", false, pin, sizeof pin, &err), WP_OK);
    assert_string_equal(pin, "93.184.216.34:443:93.184.216.34");
    assert_int_equal(wp_ssrf_check_url("http://127.0.0.1:8081/", true, pin, sizeof pin, &err), WP_OK);
    assert_string_equal(pin, "127.0.0.1:8081:127.0.0.1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_ranges_refused), cmocka_unit_test(test_ipv4_edges_allowed),
        cmocka_unit_test(test_ipv6_ranges_refused), cmocka_unit_test(test_public_ipv6_allowed),
        cmocka_unit_test(test_numeric_spellings),   cmocka_unit_test(test_localhost_name_refused),
        cmocka_unit_test(test_allow_private),       cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_pin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
