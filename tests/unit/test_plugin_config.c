/* test_plugin_config.c - the SDK's configuration helper (walletpass/plugin_config.h):
 * defaults, every type, ranges, unknown keys, required keys, nested objects and
 * arrays; every error names the key path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <walletpass/plugin_config.h>

typedef struct tls_conf {
    char ca_file[32];
    bool verify;
} tls_conf;

typedef struct conf {
    char host[16];
    int port;
    size_t cache_bytes;
    long timeout_ms;
    int64_t big;
    double rate;
    double scale;
    bool verbose;
    int legacy_flag;
    char mode[12];
    char path[16];
    char url[40];
    char **origins;
    tls_conf tls;
} conf;

static const char *const modes[] = {"background", "alert", NULL};

static const char *path_check(const char *v)
{
    return v[0] && v[0] != '/' ? "a path starting with \"/\"" : NULL;
}

static const wp_cfg_key tls_keys[] = {
    WP_CFG_STRING("ca_file", tls_conf, ca_file, "", 0),
    WP_CFG_BOOL("verify", tls_conf, verify, true),
    WP_CFG_END,
};

static const wp_cfg_key keys[] = {
    WP_CFG_STRING("host", conf, host, "localhost", WP_CFG_NONEMPTY),
    WP_CFG_INT("port", conf, port, 443, 1, 65535),
    WP_CFG_INT("cache_bytes", conf, cache_bytes, 1024, 0, 1L << 40),
    WP_CFG_INT("timeout_ms", conf, timeout_ms, 5000, 100, 60000),
    WP_CFG_INT("big", conf, big, -5, -1000000000000LL, 1000000000000LL),
    WP_CFG_NUMBER("rate", conf, rate, 5, 0, 1e6, 0),
    WP_CFG_NUMBER("scale", conf, scale, 1, 0, 1, WP_CFG_ABOVE_MIN),
    WP_CFG_BOOL("verbose", conf, verbose, false),
    WP_CFG_BOOL("legacy_flag", conf, legacy_flag, true),
    WP_CFG_ENUM("mode", conf, mode, "background", modes),
    WP_CFG_STRING_CHECK("path", conf, path, "/x", 0, path_check),
    WP_CFG_STRING("url", conf, url, "", WP_CFG_HTTP_URL),
    WP_CFG_STRINGS("origins", conf, origins, 3, WP_CFG_HTTP_URL),
    WP_CFG_OBJECT("tls", conf, tls, tls_keys, 0),
    WP_CFG_END,
};

/* Parses json into c; returns the status, why holds the message. */
static wp_status parse(const wp_cfg_key *k, const char *json, conf *c, char *why, size_t len)
{
    json_object *doc = json ? json_tokener_parse(json) : NULL;
    if (json) assert_non_null(doc);
    memset(c, 0x5a, sizeof *c); /* garbage: the parser must write every field */
    c->origins = NULL;
    wp_status st = wp_cfg_parse(k, doc, c, why, len);
    json_object_put(doc);
    return st;
}

/* json must be refused with exactly this message. */
static void refused(const char *json, const char *message)
{
    conf c;
    char why[300];
    wp_status st = parse(keys, json, &c, why, sizeof why);
    wp_cfg_free(keys, &c);
    if (st != WP_ECONFIG) fail_msg("%s: expected WP_ECONFIG, got %d (%s)", json, st, why);
    if (strcmp(why, message) != 0) fail_msg("%s:\n  got      \"%s\"\n  expected \"%s\"", json, why, message);
}

static void test_defaults(void **state)
{
    (void)state;
    const char *inputs[] = {NULL, "{}", "{\"port\": null, \"$comment\": \"ignored\"}"};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        conf c;
        char why[300];
        assert_int_equal(parse(keys, inputs[i], &c, why, sizeof why), WP_OK);
        assert_string_equal(c.host, "localhost");
        assert_int_equal(c.port, 443);
        assert_int_equal(c.cache_bytes, 1024);
        assert_int_equal(c.timeout_ms, 5000);
        assert_true(c.big == -5);
        assert_true(c.rate == 5.0 && c.scale == 1.0);
        assert_false(c.verbose);
        assert_int_equal(c.legacy_flag, 1);
        assert_string_equal(c.mode, "background");
        assert_string_equal(c.path, "/x");
        assert_string_equal(c.url, "");
        assert_null(c.origins);
        assert_string_equal(c.tls.ca_file, "");
        assert_true(c.tls.verify);
        assert_string_equal(why, "");
        wp_cfg_free(keys, &c);
    }
}

static void test_values(void **state)
{
    (void)state;
    conf c;
    char why[300];
    assert_int_equal(parse(keys,
                           "{\"host\": \"a.example\", \"port\": 65535, \"cache_bytes\": 1099511627776,"
                           " \"timeout_ms\": 100, \"big\": -1000000000000, \"rate\": 2, \"scale\": 0.5,"
                           " \"verbose\": true, \"legacy_flag\": false, \"mode\": \"alert\", \"path\": \"\","
                           " \"url\": \"https://x.example/a\", \"origins\": [\"https://a\", \"http://b\"],"
                           " \"tls\": {\"ca_file\": \"/etc/ca.pem\", \"verify\": false}}",
                           &c, why, sizeof why),
                     WP_OK);
    assert_string_equal(c.host, "a.example");
    assert_int_equal(c.port, 65535);
    assert_true(c.cache_bytes == (size_t)1 << 40);
    assert_int_equal(c.timeout_ms, 100);
    assert_true(c.big == -1000000000000LL);
    assert_true(c.rate == 2.0 && c.scale == 0.5);
    assert_true(c.verbose);
    assert_int_equal(c.legacy_flag, 0);
    assert_string_equal(c.mode, "alert");
    assert_string_equal(c.path, "");
    assert_string_equal(c.url, "https://x.example/a");
    assert_non_null(c.origins);
    assert_string_equal(c.origins[0], "https://a");
    assert_string_equal(c.origins[1], "http://b");
    assert_null(c.origins[2]);
    assert_string_equal(c.tls.ca_file, "/etc/ca.pem");
    assert_false(c.tls.verify);
    wp_cfg_free(keys, &c);
    assert_null(c.origins);
    wp_cfg_free(keys, &c); /* twice is fine */
}

static void test_unknown_keys(void **state)
{
    (void)state;
    refused("{\"prot\": 1}", "config.prot: unknown key (known: host, port, cache_bytes, timeout_ms, big, rate, scale, "
                             "verbose, legacy_flag, mode, path, url, origins, tls)");
    refused("{\"tls\": {\"cafile\": \"x\"}}", "config.tls.cafile: unknown key (known: ca_file, verify)");
    conf c;
    char why[300];
    static const wp_cfg_key none[] = {WP_CFG_END};
    json_object *doc = json_tokener_parse("{\"anything\": 1}");
    assert_int_equal(wp_cfg_parse(none, doc, &c, why, sizeof why), WP_ECONFIG);
    assert_string_equal(why, "config.anything: unknown key (known: none)");
    json_object_put(doc);
}

static void test_types_and_ranges(void **state)
{
    (void)state;
    refused("[]", "config: must be an object");
    refused("{\"port\": 0}", "config.port: must be an integer from 1 to 65535");
    refused("{\"port\": 65536}", "config.port: must be an integer from 1 to 65535");
    refused("{\"port\": \"443\"}", "config.port: must be an integer from 1 to 65535");
    refused("{\"port\": 443.0}", "config.port: must be an integer from 1 to 65535");
    refused("{\"port\": true}", "config.port: must be an integer from 1 to 65535");
    refused("{\"cache_bytes\": -1}", "config.cache_bytes: must be an integer from 0 to 1099511627776");
    refused("{\"big\": 99999999999999999999}",
            "config.big: must be an integer from -1000000000000 to 1000000000000");
    refused("{\"rate\": -0.5}", "config.rate: must be a number from 0 and at most 1e+06");
    refused("{\"rate\": \"fast\"}", "config.rate: must be a number from 0 and at most 1e+06");
    refused("{\"scale\": 0}", "config.scale: must be a number above 0 and at most 1");
    refused("{\"scale\": 1.5}", "config.scale: must be a number above 0 and at most 1");
    refused("{\"verbose\": 1}", "config.verbose: must be true or false");
    refused("{\"legacy_flag\": \"yes\"}", "config.legacy_flag: must be true or false");
    refused("{\"tls\": []}", "config.tls: must be an object");
    refused("{\"tls\": {\"verify\": \"no\"}}", "config.tls.verify: must be true or false");
}

static void test_strings(void **state)
{
    (void)state;
    refused("{\"host\": 5}", "config.host: must be a string");
    refused("{\"host\": \"\"}", "config.host: must not be empty");
    /* never cut: 16 characters do not fit char[16] */
    refused("{\"host\": \"0123456789abcdef\"}", "config.host: must be at most 15 characters (it has 16)");
    refused("{\"host\": \"a\\u0000b\"}", "config.host: must not contain a NUL character");
    refused("{\"mode\": \"loud\"}", "config.mode: must be one of \"background\", \"alert\"");
    refused("{\"path\": \"x\"}", "config.path: must be a path starting with \"/\"");
    refused("{\"url\": \"ftp://x\"}", "config.url: must be an http:// or https:// URL");
    refused("{\"url\": \"\"}", "config.url: must not be empty");
    refused("{\"origins\": \"https://a\"}", "config.origins: must be an array of strings");
    refused("{\"origins\": [\"https://a\", 7]}", "config.origins[1]: must be a string");
    refused("{\"origins\": [\"https://a\", \"mailto:x\"]}", "config.origins[1]: must be an http:// or https:// URL");
    refused("{\"origins\": [\"http://a\", \"http://b\", \"http://c\", \"http://d\"]}",
            "config.origins: must have at most 3 items (it has 4)");
    conf c;
    char why[300];
    assert_int_equal(parse(keys, "{\"host\": \"0123456789abcde\"}", &c, why, sizeof why), WP_OK);
    assert_string_equal(c.host, "0123456789abcde");
}

typedef struct req_conf {
    char token[16];
    int n;
} req_conf;

static void test_required(void **state)
{
    (void)state;
    static const wp_cfg_key rk[] = {
        WP_CFG_STRING("token", req_conf, token, NULL, WP_CFG_REQUIRED | WP_CFG_NONEMPTY),
        WP_CFG_INT_F("n", req_conf, n, 1, 1, 9, 0),
        WP_CFG_END,
    };
    req_conf c;
    char why[300];
    const char *cases[][2] = {
        {"{}", "config.token: is required"},
        {"{\"n\": 2}", "config.token: is required"},
        {"{\"token\": null}", "config.token: is required (null given)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_object *doc = json_tokener_parse(cases[i][0]);
        assert_int_equal(wp_cfg_parse(rk, doc, &c, why, sizeof why), WP_ECONFIG);
        assert_string_equal(why, cases[i][1]);
        json_object_put(doc);
    }
    assert_int_equal(wp_cfg_parse(rk, NULL, &c, why, sizeof why), WP_ECONFIG);
    assert_string_equal(why, "config.token: is required");
    json_object *doc = json_tokener_parse("{\"token\": \"t\"}");
    assert_int_equal(wp_cfg_parse(rk, doc, &c, why, sizeof why), WP_OK);
    assert_string_equal(c.token, "t");
    assert_int_equal(c.n, 1);
    json_object_put(doc);
}

static void test_a_wrong_table_is_the_plugin_s_bug(void **state)
{
    (void)state;
    req_conf c;
    char why[300];
    static const wp_cfg_key bad_default[] = {WP_CFG_INT("n", req_conf, n, 10, 1, 9), WP_CFG_END};
    assert_int_equal(wp_cfg_parse(bad_default, NULL, &c, why, sizeof why), WP_EINVAL);
    assert_string_equal(why, "config.n: the plugin's key table is wrong: it needs min <= default <= max");
    static const wp_cfg_key long_default[] = {WP_CFG_STRING("token", req_conf, token, "0123456789abcdefg", 0),
                                              WP_CFG_END};
    assert_int_equal(wp_cfg_parse(long_default, NULL, &c, why, sizeof why), WP_EINVAL);
    assert_string_equal(why, "config.token: the plugin's key table is wrong: it needs a default that fits the field");
    static const wp_cfg_key too_wide[] = {WP_CFG_INT("n", req_conf, n, 1, 1, 1LL << 40), WP_CFG_END};
    assert_int_equal(wp_cfg_parse(too_wide, NULL, &c, why, sizeof why), WP_EINVAL);
    assert_string_equal(why, "config.n: the plugin's key table is wrong: it needs a range that fits the field");
}

static void test_short_message_buffer(void **state)
{
    (void)state;
    conf c;
    char why[16];
    assert_int_equal(parse(keys, "{\"port\": 0}", &c, why, sizeof why), WP_ECONFIG);
    assert_string_equal(why, "config.port: mu"); /* cut to the buffer, still terminated */
    assert_int_equal(parse(keys, "{\"port\": 0}", &c, NULL, 0), WP_ECONFIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_types_and_ranges),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_required),
        cmocka_unit_test(test_a_wrong_table_is_the_plugin_s_bug),
        cmocka_unit_test(test_short_message_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
