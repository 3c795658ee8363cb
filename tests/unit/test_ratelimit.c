/* test_ratelimit.c - token buckets driven by a simulated clock (the `now` argument). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ratelimit.h"

static wp_ratelimit *mk(double rate, double burst)
{
    wp_ratelimit *rl = NULL;
    assert_int_equal(wp_ratelimit_new(rate, burst, &rl), WP_OK);
    assert_non_null(rl);
    return rl;
}

static void test_burst_then_refusal(void **state)
{
    (void)state;
    wp_ratelimit *rl = mk(2, 5); /* 2/s, bucket of 5 */
    const double t = 1000.0;
    for (int i = 0; i < 5; i++) {
        wp_rate_decision d = wp_ratelimit_take(rl, "key_a", t);
        assert_true(d.allowed);
        assert_int_equal(d.limit, 5);
        assert_int_equal(d.remaining, 4 - i);
        assert_int_equal(d.retry_after, 0);
    }
    wp_rate_decision d = wp_ratelimit_take(rl, "key_a", t);
    assert_false(d.allowed);
    assert_int_equal(d.limit, 5);
    assert_int_equal(d.remaining, 0);
    assert_int_equal(d.retry_after, 1);   /* one token at 2/s: 0.5 s, rounded up */
    assert_int_equal(d.reset_seconds, 3); /* 5 tokens at 2/s: 2.5 s, rounded up */
    /* refusals do not consume anything */
    for (int i = 0; i < 10; i++) assert_false(wp_ratelimit_take(rl, "key_a", t).allowed);
    d = wp_ratelimit_take(rl, "key_a", t + 0.5);
    assert_true(d.allowed);
    assert_int_equal(d.remaining, 0);
    wp_ratelimit_free(rl);
}

static void test_first_request_values(void **state)
{
    (void)state;
    wp_ratelimit *rl = mk(10, 100);
    wp_rate_decision d = wp_ratelimit_take(rl, "k", 5.0);
    assert_true(d.allowed);
    assert_int_equal(d.limit, 100);
    assert_int_equal(d.remaining, 99);
    assert_int_equal(d.reset_seconds, 1); /* one token short, at 10/s */
    assert_int_equal(d.retry_after, 0);
    wp_ratelimit_free(rl);
}

static void test_refill(void **state)
{
    (void)state;
    wp_ratelimit *rl = mk(1, 3); /* 1/s, bucket of 3 */
    double t = 50.0;
    for (int i = 0; i < 3; i++) assert_true(wp_ratelimit_take(rl, "k", t).allowed);
    wp_rate_decision d = wp_ratelimit_take(rl, "k", t);
    assert_false(d.allowed);
    assert_int_equal(d.retry_after, 1);
    assert_int_equal(d.reset_seconds, 3);

    /* 0.5 s later: still empty, 0.5 s to go */
    d = wp_ratelimit_take(rl, "k", t + 0.5);
    assert_false(d.allowed);
    assert_int_equal(d.remaining, 0);
    assert_int_equal(d.retry_after, 1);
    assert_int_equal(d.reset_seconds, 3); /* 2.5 s, rounded up */

    /* 1 s after emptying: exactly one token */
    d = wp_ratelimit_take(rl, "k", t + 1.0);
    assert_true(d.allowed);
    assert_int_equal(d.remaining, 0);
    assert_false(wp_ratelimit_take(rl, "k", t + 1.0).allowed);

    /* a long pause refills to the burst, never beyond */
    d = wp_ratelimit_take(rl, "k", t + 1000.0);
    assert_true(d.allowed);
    assert_int_equal(d.remaining, 2);
    assert_true(wp_ratelimit_take(rl, "k", t + 1000.0).allowed);
    assert_true(wp_ratelimit_take(rl, "k", t + 1000.0).allowed);
    assert_false(wp_ratelimit_take(rl, "k", t + 1000.0).allowed);
    wp_ratelimit_free(rl);
}

/* A steady stream at the rate is never refused; above it, about rate per second get through. */
static void test_steady_rate(void **state)
{
    (void)state;
    wp_ratelimit *rl = mk(10, 10);
    double t = 0;
    for (int i = 0; i < 1000; i++, t += 0.1) assert_true(wp_ratelimit_take(rl, "k", t).allowed);
    /* now 100 requests per second for 10 s */
    int ok = 0;
    for (int i = 0; i < 1000; i++, t += 0.01) ok += wp_ratelimit_take(rl, "k", t).allowed;
    /* 10 s at 10/s plus what was in the bucket */
    assert_in_range(ok, 100, 112);
    wp_ratelimit_free(rl);
}

static void test_slow_rate_retry_after(void **state)
{
    (void)state;
    wp_ratelimit *rl = mk(0.125, 1); /* one request per 8 s */
    assert_true(wp_ratelimit_take(rl, "k", 0).allowed);
    wp_rate_decision d = wp_ratelimit_take(rl, "k", 0);
    assert_false(d.allowed);
    assert_int_equal(d.retry_after, 8);
    assert_int_equal(d.reset_seconds, 8);
    d = wp_ratelimit_take(rl, "k", 5.0);
    assert_false(d.allowed);
    assert_int_equal(d.retry_after, 3);
    assert_int_equal(d.reset_seconds, 3);
    d = wp_ratelimit_take(rl, "k", 8.0);
    assert_true(d.allowed);
    assert_int_equal(d.remaining, 0);
    wp_ratelimit_free(rl);
}

static void test_independent_keys(void **state)
{
    (void)state;
    wp_ratelimit *rl = mk(1, 2);
    assert_true(wp_ratelimit_take(rl, "key_a", 0).allowed);
    assert_true(wp_ratelimit_take(rl, "key_a", 0).allowed);
    assert_false(wp_ratelimit_take(rl, "key_a", 0).allowed);
    wp_rate_decision d = wp_ratelimit_take(rl, "key_b", 0);
    assert_true(d.allowed);
    assert_int_equal(d.remaining, 1);
    assert_true(wp_ratelimit_take(rl, "key_b", 0).allowed);
    assert_false(wp_ratelimit_take(rl, "key_b", 0).allowed);
    /* keys that differ only at the end, or in length */
    assert_true(wp_ratelimit_take(rl, "key_", 0).allowed);
    assert_true(wp_ratelimit_take(rl, "key_ab", 0).allowed);
    assert_true(wp_ratelimit_take(rl, "", 0).allowed);
    wp_ratelimit_free(rl);
}

/* Keys longer than any fixed buffer are limited too, and kept apart. */
static void test_long_keys(void **state)
{
    (void)state;
    wp_ratelimit *rl = mk(1, 2);
    char a[200], b[200];
    memset(a, 'a', sizeof a - 1);
    a[sizeof a - 1] = '\0';
    memcpy(b, a, sizeof b);
    b[sizeof b - 2] = 'b'; /* same long prefix, different last byte */
    assert_true(wp_ratelimit_take(rl, a, 0).allowed);
    assert_true(wp_ratelimit_take(rl, a, 0).allowed);
    assert_false(wp_ratelimit_take(rl, a, 0).allowed);
    assert_true(wp_ratelimit_take(rl, b, 0).allowed);
    assert_true(wp_ratelimit_take(rl, b, 0).allowed);
    assert_false(wp_ratelimit_take(rl, b, 0).allowed);
    wp_ratelimit_free(rl);
}

static void test_rate_zero_disables(void **state)
{
    (void)state;
    wp_ratelimit *rl = mk(0, 1);
    for (int i = 0; i < 10000; i++) assert_true(wp_ratelimit_take(rl, "k", 0).allowed);
    wp_ratelimit_free(rl);
}

/* A clock that steps back (it should not, but a caller may mix clocks) never drains a bucket. */
static void test_time_going_back(void **state)
{
    (void)state;
    wp_ratelimit *rl = mk(1, 2);
    assert_true(wp_ratelimit_take(rl, "k", 100).allowed);
    wp_rate_decision d = wp_ratelimit_take(rl, "k", 50);
    assert_true(d.allowed);
    assert_int_equal(d.remaining, 0);
    d = wp_ratelimit_take(rl, "k", 50);
    assert_false(d.allowed);
    assert_int_equal(d.retry_after, 1);
    wp_ratelimit_free(rl);
}

/* Many keys: eviction of idle buckets keeps working, and never evicts a bucket that is not full. */
static void test_many_keys(void **state)
{
    (void)state;
    wp_ratelimit *rl = mk(1, 3);
    char key[48];
    /* exhaust a hot key */
    for (int i = 0; i < 3; i++) assert_true(wp_ratelimit_take(rl, "hot", 0).allowed);
    assert_false(wp_ratelimit_take(rl, "hot", 0).allowed);
    /* 50,000 other keys at the same instant: none of them is full, none evictable */
    for (int i = 0; i < 50000; i++) {
        snprintf(key, sizeof key, "key_%d", i);
        assert_true(wp_ratelimit_take(rl, key, 0.5).allowed);
    }
    /* the hot key was not forgotten */
    assert_false(wp_ratelimit_take(rl, "hot", 0.5).allowed);
    /* and each of the others still has its own bucket */
    for (int i = 0; i < 50000; i += 997) {
        snprintf(key, sizeof key, "key_%d", i);
        wp_rate_decision d = wp_ratelimit_take(rl, key, 0.5);
        assert_true(d.allowed);
        assert_int_equal(d.remaining, 1);
    }
    /* much later every bucket is full again: new keys evict them, and
     * returning keys start from a full bucket either way */
    for (int round = 1; round <= 5; round++) {
        double t = 100.0 * round;
        for (int i = 0; i < 50000; i++) {
            snprintf(key, sizeof key, "r%d_%d", round, i);
            assert_true(wp_ratelimit_take(rl, key, t).allowed);
        }
        wp_rate_decision d = wp_ratelimit_take(rl, "key_7", t);
        assert_true(d.allowed);
        assert_int_equal(d.remaining, 2);
    }
    wp_ratelimit_free(rl);
}

/* Three processes share a limit of 30 and 3/s: each lets through 10 at once and 1/s after,
 * so the three together never pass more than the configured total. */
static void test_share_of_three_holds_in_sum(void **state)
{
    (void)state;
    wp_ratelimit *p[3] = {mk(3, 30), mk(3, 30), mk(3, 30)};
    int allowed = 0;
    const double t = 500.0;
    for (int i = 0; i < 100; i++)
        for (int k = 0; k < 3; k++) allowed += wp_ratelimit_take_share(p[k], "key_s", t, 3).allowed;
    assert_int_equal(allowed, 30);
    /* 10 s later: 10 more each (1/s), 30 in all = 3/s over the deployment */
    for (int i = 0; i < 100; i++)
        for (int k = 0; k < 3; k++) allowed += wp_ratelimit_take_share(p[k], "key_s", t + 10, 3).allowed;
    assert_int_equal(allowed, 60);
    /* the headers speak of the deployment's limit */
    wp_rate_decision d = wp_ratelimit_take_share(p[0], "key_t", t, 3);
    assert_int_equal(d.limit, 30);
    assert_int_equal(d.remaining, 27); /* 9 of this share's 10, times 3 */
    /* one process left: the survivor's share grows to the whole, its bucket refills at the whole rate */
    d = wp_ratelimit_take_share(p[0], "key_s", t + 20, 1);
    assert_true(d.allowed);
    assert_int_equal(d.remaining, 29); /* 10 s at 3/s = 30 tokens, one taken */
    /* a share shrinking cuts a fuller bucket down */
    int n;
    wp_ratelimit *q = mk(3, 30);
    assert_true(wp_ratelimit_take_share(q, "key_v", t, 1).allowed); /* 29 left of a whole bucket */
    n = 0;
    for (int i = 0; i < 50; i++) n += wp_ratelimit_take_share(q, "key_v", t, 3).allowed;
    assert_int_equal(n, 10); /* cut to the share of three */
    /* a burst smaller than the process count: one request each */
    wp_ratelimit *r = mk(1, 2);
    assert_true(wp_ratelimit_take_share(r, "key_w", t, 5).allowed);
    assert_false(wp_ratelimit_take_share(r, "key_w", t, 5).allowed);
    for (int k = 0; k < 3; k++) wp_ratelimit_free(p[k]);
    wp_ratelimit_free(q);
    wp_ratelimit_free(r);
}

static void test_fractional_burst(void **state)
{
    (void)state;
    wp_ratelimit *rl = mk(1, 0.2); /* a bucket below one token would refuse everything: raised to 1 */
    assert_true(wp_ratelimit_take(rl, "k", 0).allowed);
    assert_false(wp_ratelimit_take(rl, "k", 0).allowed);
    wp_ratelimit_free(rl);
    wp_ratelimit_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_refusal),
        cmocka_unit_test(test_share_of_three_holds_in_sum),
        cmocka_unit_test(test_first_request_values),
        cmocka_unit_test(test_refill),
        cmocka_unit_test(test_steady_rate),
        cmocka_unit_test(test_slow_rate_retry_after),
        cmocka_unit_test(test_independent_keys),
        cmocka_unit_test(test_long_keys),
        cmocka_unit_test(test_rate_zero_disables),
        cmocka_unit_test(test_time_going_back),
        cmocka_unit_test(test_many_keys),
        cmocka_unit_test(test_fractional_burst),
    };
    return cmocka_run_group_tests_name("ratelimit", tests, NULL, NULL);
}
