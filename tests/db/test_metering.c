/*
 * db_metering: the spread usage counters (metering.h, migrations/0015): the
 * count of a month is the sum of its slot rows, each within its share of the
 * limit, so the limit holds exactly, a count too large for one slot is split
 * over several, a refusal counts nothing, and a limit lowered within the
 * month stops further operations at once.  A gateway of the release before
 * 0015 keeps counting on the migrated schema (an upgrade side by side).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "dbtest.h"
#include "metering.h"

static dbt T;
static wp_config C;
static PGconn *c;

static int group_setup(void **state)
{
    (void)state;
    if (dbt_setup(&T) != 0) return -1;
    json_object *doc = json_tokener_parse("{\"database\": {\"url\": \"x\"}, \"plans\": {\"small\": {\"operations_per_month\": 20},"
                                          " \"tiny\": {\"operations_per_month\": 8}, \"unlimited\": {\"operations_per_month\": -1},"
                                          " \"trial\": {\"operations_per_month\": 5}}}");
    wp_err err;
    if (!doc || wp_config_from_json(doc, &C, &err) != WP_OK) {
        fprintf(stderr, "config: %s\n", doc ? err.msg : "parse");
        return -1;
    }
    json_object_put(doc);
    c = dbt_connect(&T);
    return c ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    if (c) PQfinish(c);
    wp_config_free(&C);
    dbt_teardown(&T);
    return 0;
}

static void account(const char *id, const char *plan)
{
    assert_int_equal(dbt_account(c, id), 0);
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE accounts SET plan = '%s', trial_ends_at = NULL WHERE id = '%s'", plan, id);
    assert_int_equal(dbt_exec(c, sql), 0);
}

/* One operation of n in its own transaction, committed when counted, rolled back when refused. */
static wp_status consume(const char *id, int n)
{
    wp_err err;
    wp_err_clear(&err);
    assert_int_equal(dbt_exec(c, "BEGIN"), 0);
    wp_status st = wp_meter_consume(c, &C, id, n, &err);
    assert_int_equal(dbt_exec(c, st == WP_OK ? "COMMIT" : "ROLLBACK"), 0);
    return st;
}

static long long used(const char *id)
{
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT coalesce(sum(operations), 0) FROM usage_counter_rows WHERE account_id = '%s'", id);
    return dbt_ll(c, sql);
}

static void test_singles_stop_exactly_at_the_limit(void **state)
{
    (void)state;
    account("acct_m1", "small");
    for (int i = 0; i < 20; i++) assert_int_equal(consume("acct_m1", 1), WP_OK);
    assert_int_equal(consume("acct_m1", 1), WP_ELIMIT);
    assert_int_equal(used("acct_m1"), 20);
    /* spread: several rows, none above its share (20 / 8: 3 for slots 0-3, 2 for 4-7) */
    assert_true(dbt_ll(c, "SELECT count(*) FROM usage_counter_rows WHERE account_id = 'acct_m1'") > 1);
    assert_int_equal(dbt_ll(c, "SELECT count(*) FROM usage_counter_rows WHERE account_id = 'acct_m1'"
                               " AND operations > CASE WHEN slot < 4 THEN 3 ELSE 2 END"), 0);
}

static void test_a_large_count_is_split_over_slots(void **state)
{
    (void)state;
    account("acct_m2", "small");
    for (int i = 0; i < 3; i++) assert_int_equal(consume("acct_m2", 1), WP_OK);
    assert_int_equal(consume("acct_m2", 18), WP_ELIMIT); /* 3 + 18 > 20: nothing counted */
    assert_int_equal(used("acct_m2"), 3);
    assert_int_equal(consume("acct_m2", 17), WP_OK); /* no slot holds 17: split */
    assert_int_equal(used("acct_m2"), 20);
    assert_int_equal(consume("acct_m2", 1), WP_ELIMIT);
    assert_int_equal(used("acct_m2"), 20);
}

static void test_a_lowered_limit_stops_at_once(void **state)
{
    (void)state;
    account("acct_m3", "small");
    for (int i = 0; i < 10; i++) assert_int_equal(consume("acct_m3", 1), WP_OK);
    /* the slots' old shares would still let operations in; the month's sum does not */
    assert_int_equal(dbt_exec(c, "UPDATE accounts SET plan = 'tiny' WHERE id = 'acct_m3'"), 0);
    assert_int_equal(consume("acct_m3", 1), WP_ELIMIT);
    assert_int_equal(used("acct_m3"), 10);
}

static void test_unlimited_counts_every_operation(void **state)
{
    (void)state;
    account("acct_m4", "unlimited");
    for (int i = 0; i < 50; i++) assert_int_equal(consume("acct_m4", 1), WP_OK);
    assert_int_equal(consume("acct_m4", 7), WP_OK);
    assert_int_equal(used("acct_m4"), 57);
}

/* How a gateway of the release before 0015 counts: an upsert on usage_counters' key (account_id, period). */
#define PREVIOUS_RELEASE_COUNT(acct)                                                                              \
    "INSERT INTO usage_counters (account_id, period, operations)"                                                 \
    " VALUES ('" acct "', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM'), 1::bigint)"                               \
    " ON CONFLICT (account_id, period) DO UPDATE SET operations = usage_counters.operations + EXCLUDED.operations" \
    " WHERE usage_counters.operations + EXCLUDED.operations <= 20::bigint RETURNING operations"

static void test_the_previous_release_still_counts(void **state)
{
    (void)state;
    account("acct_m5", "small");
    for (int i = 0; i < 3; i++) assert_int_equal(consume("acct_m5", 1), WP_OK);
    /* its statement still finds its conflict target, and what it counts is in the month's sum */
    for (int i = 0; i < 2; i++) assert_int_equal(dbt_exec(c, PREVIOUS_RELEASE_COUNT("acct_m5")), 0);
    assert_int_equal(used("acct_m5"), 5);
    /* and this release still stops exactly at the limit, counting the previous release's operations */
    int counted = 0;
    while (consume("acct_m5", 1) == WP_OK) assert_true(++counted <= 20);
    assert_int_equal(counted, 15);
    assert_int_equal(used("acct_m5"), 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_singles_stop_exactly_at_the_limit),
        cmocka_unit_test(test_a_large_count_is_split_over_slots),
        cmocka_unit_test(test_a_lowered_limit_stops_at_once),
        cmocka_unit_test(test_unlimited_counts_every_operation),
        cmocka_unit_test(test_the_previous_release_still_counts),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
