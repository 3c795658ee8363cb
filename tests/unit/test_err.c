/* test_err.c - wp_err messages stay UTF-8 whatever input they quote (they reach JSON errors and the log). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "http.h"
#include "utf8.h"

static void test_cut_character_is_scrubbed(void **state)
{
    (void)state;
    /* 300 two-byte characters after a two-byte prefix: the 399th byte is the first half of one */
    char long_value[601];
    for (int i = 0; i < 300; i++) memcpy(long_value + 2 * i, "\xc3\xa9", 2);
    long_value[600] = '\0';
    wp_err err;
    wp_err_clear(&err);
    wp_err_param(&err, WP_EMEDIATYPE, "Content-Type", "xy%s", long_value);
    assert_int_equal(strlen(err.msg), sizeof err.msg - 1);
    assert_true(wp_utf8_valid(err.msg, strlen(err.msg)));
    assert_int_equal(err.msg[sizeof err.msg - 2], '?');
}

static void test_invalid_bytes_are_scrubbed(void **state)
{
    (void)state;
    wp_err err;
    wp_err_clear(&err);
    wp_err_param(&err, WP_EINVAL, "na\xffme", "unknown field \"%s\"", "a\xfe" "b");
    assert_string_equal(err.msg, "unknown field \"a?b\"");
    assert_string_equal(err.param, "na?me");
    wp_err_set(&err, WP_EINVAL, "%s", "caf\xc3\xa9");
    assert_string_equal(err.msg, "caf\xc3\xa9");
}

/* The finding of fuzz_http_headers: a long non-ASCII Content-Type was echoed cut mid-character. */
static void test_content_type_message(void **state)
{
    (void)state;
    char ct[601];
    for (int i = 0; i < 300; i++) memcpy(ct + 2 * i, "\xc3\xa9", 2);
    ct[600] = '\0';
    wp_err err;
    wp_err_clear(&err);
    assert_int_equal(wp_http_check_json_type(ct, &err), WP_EMEDIATYPE);
    assert_true(wp_utf8_valid(err.msg, strlen(err.msg)));
    assert_string_equal(err.param, "Content-Type");
    assert_int_equal(wp_http_check_json_type("application/json; charset=utf-8", &err), WP_OK);
    assert_int_equal(wp_http_check_json_type("application/json; charset=latin1", &err), WP_EMEDIATYPE);
    assert_int_equal(wp_http_check_json_type(NULL, &err), WP_EMEDIATYPE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cut_character_is_scrubbed),
        cmocka_unit_test(test_invalid_bytes_are_scrubbed),
        cmocka_unit_test(test_content_type_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
