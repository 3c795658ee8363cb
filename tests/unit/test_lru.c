/* test_lru.c - the bounded LRU cache: size bounds, eviction order, age, generations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lru.h"

static wp_lru *mk(size_t entries, size_t bytes)
{
    wp_lru *c = NULL;
    assert_int_equal(wp_lru_new(entries, bytes, &c), WP_OK);
    assert_non_null(c);
    return c;
}

static void put(wp_lru *c, const char *k, const char *v, double now)
{
    assert_int_equal(wp_lru_put(c, k, strlen(k), v, strlen(v) + 1, wp_lru_generation(c), now), WP_OK);
}

/* 1 and the value when k is present, else 0. */
static int get(wp_lru *c, const char *k, double now, double max_age, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    return wp_lru_get(c, k, strlen(k), now, max_age, out, cap, &len);
}

static void test_entry_bound_evicts_least_recent(void **state)
{
    (void)state;
    wp_lru *c = mk(3, 1 << 20);
    char v[32];
    put(c, "a", "1", 0);
    put(c, "b", "2", 0);
    put(c, "c", "3", 0);
    assert_int_equal(get(c, "a", 0, -1, v, sizeof v), 1); /* a is now the most recent */
    put(c, "d", "4", 0);                                  /* evicts b, the least recent */
    assert_int_equal(get(c, "b", 0, -1, v, sizeof v), 0);
    assert_int_equal(get(c, "a", 0, -1, v, sizeof v), 1);
    assert_string_equal(v, "1");
    assert_int_equal(get(c, "c", 0, -1, v, sizeof v), 1);
    assert_int_equal(get(c, "d", 0, -1, v, sizeof v), 1);
    wp_lru_stats s;
    wp_lru_stats_get(c, &s);
    assert_int_equal(s.entries, 3);
    assert_int_equal(s.evictions, 1);
    /* many more keys: never more than the bound */
    for (int i = 0; i < 1000; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        put(c, k, "x", 0);
        wp_lru_stats_get(c, &s);
        assert_true(s.entries <= 3);
    }
    wp_lru_free(c);
}

static void test_byte_bound(void **state)
{
    (void)state;
    wp_lru *c = mk(1000, 100);
    char big[60];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    put(c, "k1", big, 0); /* 2 + 60 bytes */
    put(c, "k2", big, 0); /* 124 > 100: k1 goes */
    wp_lru_stats s;
    wp_lru_stats_get(c, &s);
    assert_int_equal(s.entries, 1);
    assert_true(s.bytes <= 100);
    char v[64];
    assert_int_equal(get(c, "k1", 0, -1, v, sizeof v), 0);
    assert_int_equal(get(c, "k2", 0, -1, v, sizeof v), 1);
    /* larger than the whole cache: not stored, nothing else dropped */
    char huge[200];
    memset(huge, 'y', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    put(c, "k3", huge, 0);
    assert_int_equal(get(c, "k3", 0, -1, v, sizeof v), 0);
    assert_int_equal(get(c, "k2", 0, -1, v, sizeof v), 1);
    wp_lru_free(c);
}

static void test_max_age(void **state)
{
    (void)state;
    wp_lru *c = mk(10, 1 << 20);
    char v[8];
    put(c, "a", "1", 100.0);
    assert_int_equal(get(c, "a", 104.9, 5.0, v, sizeof v), 1);
    assert_int_equal(get(c, "a", 105.1, 5.0, v, sizeof v), 0); /* too old: gone */
    assert_int_equal(get(c, "a", 105.1, -1, v, sizeof v), 0);  /* and dropped */
    wp_lru_stats s;
    wp_lru_stats_get(c, &s);
    assert_int_equal(s.expired, 1);
    assert_int_equal(s.entries, 0);
    wp_lru_free(c);
}

/* A value read before an invalidation is not stored after it. */
static void test_generation_refuses_stale_put(void **state)
{
    (void)state;
    wp_lru *c = mk(10, 1 << 20);
    char v[8];
    uint64_t g = wp_lru_generation(c); /* a reader starts reading its source */
    wp_lru_remove(c, "a", 1);          /* meanwhile the value changes and is invalidated */
    assert_int_equal(wp_lru_put(c, "a", 1, "old", 4, g, 0), WP_OK);
    assert_int_equal(get(c, "a", 0, -1, v, sizeof v), 0);
    g = wp_lru_generation(c);
    wp_lru_clear(c);
    assert_int_equal(wp_lru_put(c, "a", 1, "old", 4, g, 0), WP_OK);
    assert_int_equal(get(c, "a", 0, -1, v, sizeof v), 0);
    put(c, "a", "new", 0);
    assert_int_equal(get(c, "a", 0, -1, v, sizeof v), 1);
    assert_string_equal(v, "new");
    wp_lru_clear(c);
    assert_int_equal(get(c, "a", 0, -1, v, sizeof v), 0);
    wp_lru_free(c);
}

static void test_replace_and_truncated_copy(void **state)
{
    (void)state;
    wp_lru *c = mk(10, 1 << 20);
    put(c, "a", "first", 0);
    put(c, "a", "second", 0);
    wp_lru_stats s;
    wp_lru_stats_get(c, &s);
    assert_int_equal(s.entries, 1);
    char v[4];
    size_t len = 0;
    assert_int_equal(wp_lru_get(c, "a", 1, 0, -1, v, sizeof v, &len), 1);
    assert_int_equal(len, 7); /* the full length is told; only cap bytes copied */
    assert_memory_equal(v, "seco", 4);
    wp_lru_free(c);
}

static void test_zero_entries_stores_nothing(void **state)
{
    (void)state;
    wp_lru *c = mk(0, 1 << 20);
    char v[8];
    put(c, "a", "1", 0);
    assert_int_equal(get(c, "a", 0, -1, v, sizeof v), 0);
    wp_lru_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entry_bound_evicts_least_recent),
        cmocka_unit_test(test_byte_bound),
        cmocka_unit_test(test_max_age),
        cmocka_unit_test(test_generation_refuses_stale_put),
        cmocka_unit_test(test_replace_and_truncated_copy),
        cmocka_unit_test(test_zero_entries_stores_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
