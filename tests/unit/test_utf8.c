/* test_utf8.c - wp_utf8_valid / wp_utf8_scrub against RFC 3629's edge cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "utf8.h"

static int valid(const char *s) { return wp_utf8_valid(s, strlen(s)); }

static void test_valid(void **state)
{
    (void)state;
    assert_true(valid(""));
    assert_true(valid("plain ascii /api/v1"));
    assert_true(valid("caf\xc3\xa9"));                 /* U+00E9 */
    assert_true(valid("\xe2\x98\x95"));                /* U+2615 */
    assert_true(valid("\xf0\x9d\x84\x9e"));            /* U+1D11E */
    assert_true(valid("\xef\xbf\xbf"));                /* U+FFFF */
    assert_true(valid("\xf4\x8f\xbf\xbf"));            /* U+10FFFF */
    assert_true(wp_utf8_valid("a\0b", 3));             /* NUL is a character */
}

static void test_invalid(void **state)
{
    (void)state;
    assert_false(valid("\xff"));
    assert_false(valid("\x80"));                       /* lone continuation */
    assert_false(valid("\xc0\xaf"));                   /* overlong '/' */
    assert_false(valid("\xc1\xbf"));                   /* overlong */
    assert_false(valid("\xe0\x80\xaf"));               /* overlong, 3 bytes */
    assert_false(valid("\xf0\x80\x80\xaf"));           /* overlong, 4 bytes */
    assert_false(valid("\xed\xa0\x80"));               /* surrogate U+D800 */
    assert_false(valid("\xf4\x90\x80\x80"));           /* U+110000 */
    assert_false(valid("\xf5\x80\x80\x80"));
    assert_false(valid("\xe2\x82"));                   /* truncated */
    assert_false(valid("ok\xc3"));                     /* truncated at the end */
    assert_false(valid("\xc3\x28"));                   /* bad continuation */
}

static void test_scrub(void **state)
{
    (void)state;
    char a[] = "/api/\xff\xfe/caf\xc3\xa9/\xe2\x82";
    wp_utf8_scrub(a);
    assert_string_equal(a, "/api/?\?/caf\xc3\xa9/?\?");
    assert_true(valid(a));
    char b[] = "untouched \xe2\x98\x95";
    wp_utf8_scrub(b);
    assert_string_equal(b, "untouched \xe2\x98\x95");
    char c[] = "";
    wp_utf8_scrub(c);
    assert_string_equal(c, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_scrub),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
