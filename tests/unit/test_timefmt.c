/* test_timefmt.c - wp_iso8601_valid accept/reject table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "timefmt.h"

static const char *const valid[] = {
    "2024-01-01",
    "2024-12-31",
    "2024-02-29",                    /* leap year */
    "2000-02-29",                    /* divisible by 400 */
    "1996-02-29",
    "2023-02-28",
    "0001-01-01",
    "9999-12-31",
    "2024-04-30",
    "2024-01-31T23:59:59Z",
    "2024-01-01T00:00Z",             /* seconds are optional */
    "2024-01-01T00:00:00Z",
    "2024-01-01t00:00:00z",          /* RFC 3339 allows lower case */
    "2024-06-30T23:59:60Z",          /* leap second */
    "2024-01-01T12:00:00+00:00",
    "2024-01-01T12:00:00-00:00",
    "2024-01-01T12:00:00+05:30",
    "2024-01-01T12:00:00-12:00",
    "2024-01-01T12:00:00+14:00",
    "2024-01-01T12:00:00+23:59",
    "2024-01-01T12:00+01:00",
    "2024-01-01T12:00:00.5Z",        /* fractions */
    "2024-01-01T12:00:00.123Z",
    "2024-01-01T12:00:00.123456+02:00",
    "2024-01-01T12:00:00.123456789Z", /* nanoseconds */
};

static const char *const invalid[] = {
    NULL,
    "",
    "2024",
    "2024-01",
    "2024-1-01",
    "2024-01-1",
    "24-01-01",
    "2024/01/01",
    "20240101",
    "2024-01-01 ",
    " 2024-01-01",
    "2024-00-01",
    "2024-13-01",
    "2024-01-00",
    "2024-01-32",
    "2024-04-31",
    "2024-06-31",
    "2024-09-31",
    "2024-11-31",
    "2023-02-29",                    /* not a leap year */
    "1900-02-29",                    /* divisible by 100, not 400 */
    "2100-02-29",
    "2024-02-30",
    "0000-01-01",
    "-2024-01-01",
    "+2024-01-01",
    "2024-01-01Z",                   /* a date has no zone */
    "2024-01-01T",
    "2024-01-01T12",
    "2024-01-01T12Z",
    "2024-01-01T12:00",              /* missing zone */
    "2024-01-01T12:00:00",           /* missing zone */
    "2024-01-01T12:00:00.123",       /* missing zone */
    "2024-01-01 12:00:00Z",          /* space instead of T */
    "2024-01-01T24:00:00Z",          /* 24:00 (ISO 8601 end of day) is not RFC 3339 */
    "2024-01-01T24:00Z",
    "2024-01-01T25:00:00Z",
    "2024-01-01T12:60:00Z",
    "2024-01-01T12:00:61Z",
    "2024-01-01T1:00:00Z",
    "2024-01-01T12:0:00Z",
    "2024-01-01T12:00:0Z",
    "2024-01-01T12:00:00.Z",         /* fraction without digits */
    "2024-01-01T12:00:00.1234567890Z", /* finer than nanoseconds */
    "2024-01-01T12:00:00,5Z",
    "2024-01-01T12:00.5Z",           /* fraction without seconds */
    "2024-01-01T12:00:00ZZ",
    "2024-01-01T12:00:00Z ",
    "2024-01-01T12:00:00+0100",
    "2024-01-01T12:00:00+01",
    "2024-01-01T12:00:00+1:00",
    "2024-01-01T12:00:00+01:0",
    "2024-01-01T12:00:00+24:00",
    "2024-01-01T12:00:00+01:60",
    "2024-01-01T12:00:00+01:00Z",
    "2024-01-01T12:00:00+01:00:00",
    "2024-01-01T12:00:00 +01:00",
    "2024-01-01T12:00:00UTC",
    "2024-01-01T12:00:00GMT+1",
    "2024-01-01T12:00:00\xC2\xA0Z",
    "2024-01-01T12:00:00-",
    "2024-01-01T12:00:00+",
    "2024-01-01T12:00:00Z\n",
    "2024-01-01T12:00:00+01:00\n",
    "now",
    "1704067200",
};

static void test_valid(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++)
        if (!wp_iso8601_valid(valid[i])) {
            print_error("refused: \"%s\"\n", valid[i]);
            bad++;
        }
    assert_int_equal(bad, 0);
}

static void test_invalid(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
        if (wp_iso8601_valid(invalid[i])) {
            print_error("accepted: \"%s\"\n", invalid[i] ? invalid[i] : "(NULL)");
            bad++;
        }
    assert_int_equal(bad, 0);
}

/* Leap years over four centuries, against the Gregorian rule computed here. */
static void test_feb29_every_year(void **state)
{
    (void)state;
    for (int y = 1600; y < 2400; y++) {
        char s[16];
        snprintf(s, sizeof s, "%04d-02-29", y);
        int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        if (wp_iso8601_valid(s) != leap) fail_msg("%s: got %d, want %d", s, wp_iso8601_valid(s), leap);
    }
}

/* Truncations of a valid timestamp are all invalid except the date alone (no over-read either). */
static void test_prefixes(void **state)
{
    (void)state;
    const char *full = "2024-02-29T23:59:59.999+13:45";
    assert_true(wp_iso8601_valid(full));
    char buf[64];
    for (size_t n = 0; n < strlen(full); n++) {
        memcpy(buf, full, n);
        buf[n] = '\0';
        int want = n == 10;
        if (wp_iso8601_valid(buf) != want) fail_msg("\"%s\": got %d, want %d", buf, wp_iso8601_valid(buf), want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_feb29_every_year),
        cmocka_unit_test(test_prefixes),
    };
    return cmocka_run_group_tests_name("timefmt", tests, NULL, NULL);
}
