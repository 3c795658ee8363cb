/* test_ids.c - object ids, random tokens and SHA-256 hex. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "ids.h"

static const char b32[] = "0123456789abcdefghjkmnpqrstvwxyz";

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void test_id_format(void **state)
{
    (void)state;
    static const char *const prefixes[] = {"pass", "tpl", "batch", "wh", "evt", "key", "acct", "a",
                                           "sixteen_chars_ok"};
    for (size_t p = 0; p < sizeof prefixes / sizeof prefixes[0]; p++) {
        char id[WP_ID_MAX];
        assert_int_equal(wp_id_new(prefixes[p], id), WP_OK);
        size_t plen = strlen(prefixes[p]);
        assert_int_equal(strlen(id), plen + 1 + 26);
        assert_memory_equal(id, prefixes[p], plen);
        assert_int_equal(id[plen], '_');
        for (size_t i = plen + 1; id[i]; i++) assert_non_null(strchr(b32, id[i]));
        /* 128 bits in 130: the first digit carries 3 bits */
        assert_true(id[plen + 1] >= '0' && id[plen + 1] <= '7');
        assert_true(wp_id_valid(id, prefixes[p]));
    }
    char id[WP_ID_MAX];
    assert_int_equal(wp_id_new("seventeen_chars_x", id), WP_EINVAL);
}

/* The leading 10 digits are the millisecond time: decode and compare with the clock. */
static void test_id_time(void **state)
{
    (void)state;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t before = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    char id[WP_ID_MAX];
    assert_int_equal(wp_id_new("x", id), WP_OK);
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t after = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    /* 10 digits = 50 bits: 2 leading zero bits + 48 bits of time */
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) v = v * 32 + (uint64_t)(strchr(b32, id[2 + i]) - b32);
    assert_true(v >= before && v <= after);
}

static void test_id_unique(void **state)
{
    (void)state;
    enum { N = 20000 };
    char (*ids)[WP_ID_MAX] = calloc(N, WP_ID_MAX);
    char **ptrs = calloc(N, sizeof *ptrs);
    assert_non_null(ids);
    assert_non_null(ptrs);
    for (int i = 0; i < N; i++) {
        assert_int_equal(wp_id_new("pass", ids[i]), WP_OK);
        ptrs[i] = ids[i];
    }
    qsort(ptrs, N, sizeof *ptrs, cmp_str);
    for (int i = 1; i < N; i++) assert_true(strcmp(ptrs[i - 1], ptrs[i]) != 0);
    free(ptrs);
    free(ids);
}

/* Ids made in later milliseconds sort after earlier ones (cursor pagination relies on it). */
static void test_id_order(void **state)
{
    (void)state;
    char prev[WP_ID_MAX], cur[WP_ID_MAX];
    assert_int_equal(wp_id_new("evt", prev), WP_OK);
    for (int i = 0; i < 30; i++) {
        sleep_ms(2);
        assert_int_equal(wp_id_new("evt", cur), WP_OK);
        if (strcmp(prev, cur) >= 0) fail_msg("%s does not sort after %s", cur, prev);
        memcpy(prev, cur, sizeof prev);
    }
}

static void test_id_valid(void **state)
{
    (void)state;
    /* 26 digits, and variants of it */
    static const char ok[] = "pass_01h5xyzabcdefghjkmnpqrstvw";
    assert_int_equal(strlen(ok), 5 + 26);
    assert_true(wp_id_valid(ok, "pass"));
    assert_true(wp_id_valid("pass_00000000000000000000000000", "pass"));
    assert_true(wp_id_valid("pass_7zzzzzzzzzzzzzzzzzzzzzzzzz", "pass"));
    assert_false(wp_id_valid("pass_01h5xyzabcdefghjkmnpqrstv", "pass"));   /* 25 digits */
    assert_false(wp_id_valid("pass_01h5xyzabcdefghjkmnpqrstvwx", "pass")); /* 27 digits */
    static const char not_digits[] = "iloU-_ .A";
    for (const char *c = not_digits; *c; c++) {
        char id[sizeof ok];
        memcpy(id, ok, sizeof ok);
        id[sizeof ok - 2] = *c;
        if (wp_id_valid(id, "pass")) fail_msg("%s accepted", id);
    }
    assert_false(wp_id_valid("pass_01H5XYZABCDEFGHJKMNPQRSTVW", "pass"));  /* ids are lowercase */
    assert_false(wp_id_valid("tpl_01h5xyzabcdefghjkmnpqrstvw", "pass"));
    assert_false(wp_id_valid("pas_01h5xyzabcdefghjkmnpqrstvw", "pass"));
    assert_false(wp_id_valid("passx01h5xyzabcdefghjkmnpqrstvw", "pass"));
    assert_false(wp_id_valid("passs_01h5xyzabcdefghjkmnpqrstvw", "pass"));
    assert_false(wp_id_valid("pass_", "pass"));
    assert_false(wp_id_valid("pass", "pass"));
    assert_false(wp_id_valid("", "pass"));
    assert_false(wp_id_valid(NULL, "pass"));
    /* more than 128 bits: the first digit carries only 3 */
    assert_false(wp_id_valid("pass_8zzzzzzzzzzzzzzzzzzzzzzzzz", "pass"));
    assert_false(wp_id_valid("pass_zzzzzzzzzzzzzzzzzzzzzzzzzz", "pass"));
}

static void test_random_token(void **state)
{
    (void)state;
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    static const size_t sizes[] = {0, 1, 2, 3, 4, 16, 24, 32, 33, 64, 128};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        size_t want = (n * 8 + 5) / 6; /* base64url without padding */
        char out[200];
        memset(out, '#', sizeof out);
        assert_int_equal(wp_random_token(n, out, want + 1), WP_OK); /* the stated minimum is enough */
        assert_int_equal(strlen(out), want);
        assert_int_equal(out[want + 1], '#');
        for (size_t i = 0; i < want; i++) assert_non_null(memchr(alpha, out[i], 64));
        if (n > 0) assert_int_equal(wp_random_token(n, out, want), WP_EINVAL);
    }
    char out[300];
    assert_int_equal(wp_random_token(129, out, sizeof out), WP_EINVAL);
    /* 32 random bytes twice are different */
    char a[64], b[64];
    assert_int_equal(wp_random_token(32, a, sizeof a), WP_OK);
    assert_int_equal(wp_random_token(32, b, sizeof b), WP_OK);
    assert_int_equal(strlen(a), 43);
    assert_string_not_equal(a, b);
    /* every character of the alphabet shows up over enough output */
    int seen[256] = {0};
    for (int i = 0; i < 200; i++) {
        assert_int_equal(wp_random_token(96, out, sizeof out), WP_OK);
        for (char *p = out; *p; p++) seen[(unsigned char)*p]++;
    }
    for (int i = 0; i < 64; i++) assert_true(seen[(unsigned char)alpha[i]] > 0);
}

/* Request ids come from a per-thread reserve of random bytes: well-formed, and distinct across
 * several refills of the reserve (a reserve used twice would repeat them). */
static int cmp_id(const void *a, const void *b) { return strcmp(a, b); }

static void test_request_token(void **state)
{
    (void)state;
    enum { N = 1200 };
    static char ids[N][21];
    for (int i = 0; i < N; i++) {
        assert_int_equal(wp_request_token(ids[i]), WP_OK);
        assert_int_equal(strlen(ids[i]), 20);
        assert_int_equal(strspn(ids[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 20);
    }
    qsort(ids, N, sizeof ids[0], cmp_id);
    for (int i = 1; i < N; i++) assert_string_not_equal(ids[i - 1], ids[i]);
}

static void test_sha256_hex(void **state)
{
    (void)state;
    char out[65];
    wp_sha256_hex("", 0, out);
    assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    wp_sha256_hex("abc", 3, out);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    wp_sha256_hex(m, strlen(m), out);
    assert_string_equal(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* binary input with NULs: only len counts */
    wp_sha256_hex("abc\0def", 3, out);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_format),
        cmocka_unit_test(test_id_time),
        cmocka_unit_test(test_id_unique),
        cmocka_unit_test(test_id_order),
        cmocka_unit_test(test_id_valid),
        cmocka_unit_test(test_random_token),
        cmocka_unit_test(test_request_token),
        cmocka_unit_test(test_sha256_hex),
    };
    return cmocka_run_group_tests_name("ids", tests, NULL, NULL);
}
