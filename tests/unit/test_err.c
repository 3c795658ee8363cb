/* test_err.c - wp_err messages and params cut to fit end on a character boundary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "http.h"
#include "utf8.h"

#define ELLIPSIS "\xe2\x80\xa6"

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && memcmp(s + n - t, tail, t) == 0;
}

/* A message of `ascii` plain bytes then repeated `ch` characters, longer than the buffer. */
static void fill(char *buf, size_t len, size_t ascii, const char *ch)
{
    size_t i = 0;
    for (; i < ascii && i + 1 < len; i++) buf[i] = 'a';
    size_t cl = strlen(ch);
    while (i + cl + 1 < len) {
        memcpy(buf + i, ch, cl);
        i += cl;
    }
    buf[i] = '\0';
}

static void test_message_cut_on_boundary(void **state)
{
    (void)state;
    char long_text[2000];
    /* every offset of a 2-, 3- and 4-byte character against the 400-byte buffer */
    const char *chars[] = {"\xc3\xa9", "\xe2\x98\x95", "\xf0\x9d\x84\x9e"};
    for (size_t c = 0; c < 3; c++) {
        for (size_t lead = 390; lead < 400; lead++) {
            fill(long_text, sizeof long_text, lead, chars[c]);
            wp_err err;
            wp_err_clear(&err);
            assert_int_equal(wp_err_set(&err, WP_EINVAL, "%s", long_text), WP_EINVAL);
            size_t n = strlen(err.msg);
            assert_true(n < sizeof err.msg);
            assert_true(wp_utf8_valid(err.msg, n));
            assert_true(ends_with(err.msg, ELLIPSIS));
            /* what is kept is a prefix of the original */
            assert_memory_equal(err.msg, long_text, n - strlen(ELLIPSIS));
        }
    }
}

static void test_param_cut_on_boundary(void **state)
{
    (void)state;
    char name[400];
    for (size_t lead = 150; lead < 160; lead++) {
        fill(name, sizeof name, lead, "\xe2\x98\x95");
        wp_err err;
        wp_err_clear(&err);
        wp_err_param(&err, WP_EINVAL, name, "bad %s", "value");
        assert_string_equal(err.msg, "bad value");
        size_t n = strlen(err.param);
        assert_true(wp_utf8_valid(err.param, n));
        assert_true(ends_with(err.param, ELLIPSIS));
        assert_memory_equal(err.param, name, n - strlen(ELLIPSIS));
    }
}

static void test_short_text_untouched(void **state)
{
    (void)state;
    wp_err err;
    wp_err_clear(&err);
    wp_err_param(&err, WP_EINVAL, "caf\xc3\xa9", "caf\xc3\xa9 %d", 1);
    assert_string_equal(err.msg, "caf\xc3\xa9 1");
    assert_string_equal(err.param, "caf\xc3\xa9");
    /* exactly filling the buffer is no cut (snprintf says so, not the length) */
    char exact[400];
    memset(exact, 'x', sizeof exact - 1);
    exact[sizeof exact - 1] = '\0';
    wp_err_set(&err, WP_EINVAL, "%s", exact);
    assert_int_equal(strlen(err.msg), sizeof err.msg - 1);
    assert_false(ends_with(err.msg, ELLIPSIS));
}

/* What snprintf(b, cap, "%s", src) leaves, then wp_utf8_cut. */
static void cut_into(char *b, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n > cap - 1) n = cap - 1;
    memcpy(b, src, n);
    b[n] = '\0';
    wp_utf8_cut(b, cap);
}

static void test_cut_small_buffers(void **state)
{
    (void)state;
    char b[8];
    /* a buffer too small for the mark: only cut on the boundary */
    cut_into(b, 3, "\xc3\xa9\xc3\xa9");
    assert_string_equal(b, "\xc3\xa9");
    cut_into(b, 3, "a\xc3\xa9");
    assert_string_equal(b, "a");
    cut_into(b, 4, "abcdef");
    assert_string_equal(b, ELLIPSIS);
    cut_into(b, 8, "abcd\xe2\x98\x95z");
    assert_string_equal(b, "abcd" ELLIPSIS);
    cut_into(b, 8, "ab\xe2\x98\x95\xe2\x98\x95");
    assert_string_equal(b, "ab" ELLIPSIS);
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
        cmocka_unit_test(test_message_cut_on_boundary),
        cmocka_unit_test(test_param_cut_on_boundary),
        cmocka_unit_test(test_short_text_untouched),
        cmocka_unit_test(test_cut_small_buffers),
        cmocka_unit_test(test_invalid_bytes_are_scrubbed),
        cmocka_unit_test(test_content_type_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
