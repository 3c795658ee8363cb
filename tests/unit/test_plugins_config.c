/* test_plugins_config.c - the "plugins" configuration entries: every error names its key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "plugins.h"

static void expect(const char *json, wp_status want, const char *param)
{
    json_object *doc = json_tokener_parse(json);
    assert_non_null(doc);
    wp_err err;
    wp_err_clear(&err);
    wp_status st = wp_plugins_check_config(doc, &err);
    json_object_put(doc);
    if (st != want) fail_msg("%s: expected %d, got %d (%s)", json, want, st, err.msg);
    if (param && strcmp(err.param, param) != 0) fail_msg("%s: param \"%s\", expected \"%s\"", json, err.param, param);
    if (param && !strstr(err.msg, param)) fail_msg("%s: message \"%s\" does not name %s", json, err.msg, param);
}

static void test_valid(void **state)
{
    (void)state;
    expect("[]", WP_OK, NULL);
    expect("[{\"name\":\"hello\"},{\"name\":\"apns-2\",\"path\":\"apns.so\",\"optional\":true,\"config\":{\"a\":1}}]",
           WP_OK, NULL);
}

static void test_errors_name_the_key(void **state)
{
    (void)state;
    expect("{}", WP_ECONFIG, "plugins");
    expect("[1]", WP_ECONFIG, "plugins[0]");
    expect("[{\"name\":\"ok\"},{\"path\":\"x.so\"}]", WP_ECONFIG, "plugins[1].name");
    expect("[{\"name\":\"Bad!\"}]", WP_ECONFIG, "plugins[0].name");
    expect("[{\"name\":\"\"}]", WP_ECONFIG, "plugins[0].name");
    expect("[{\"name\":\"a\",\"path\":\"\"}]", WP_ECONFIG, "plugins[0].path");
    expect("[{\"name\":\"a\",\"optional\":\"yes\"}]", WP_ECONFIG, "plugins[0].optional");
    expect("[{\"name\":\"a\",\"config\":[]}]", WP_ECONFIG, "plugins[0].config");
    expect("[{\"name\":\"a\",\"confg\":{}}]", WP_ECONFIG, "plugins[0].confg");
    expect("[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"a\"}]", WP_ECONFIG, "plugins[2].name");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_valid), cmocka_unit_test(test_errors_name_the_key)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
