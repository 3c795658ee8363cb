/*
 * db_prepared: statements on pooled connections are prepared once per
 * connection and run by name (db.h), with the same results and errors as
 * unnamed ones; a table changed under a prepared statement is run afresh;
 * database.prepared_statements 0 (max_prepared 0) prepares nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dbtest.h"

static dbt T;

static int group_setup(void **state)
{
    (void)state;
    return dbt_setup(&T);
}

static int group_teardown(void **state)
{
    (void)state;
    dbt_teardown(&T);
    return 0;
}

static long long prepared_count(PGconn *c, const char *like)
{
    const char *p[] = {like};
    PGresult *r;
    wp_err err;
    assert_int_equal(wp_db_query(c, "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE $1", 1, p, &r, &err), WP_OK);
    long long n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return n;
}

static void test_prepared_once_same_results(void **state)
{
    (void)state;
    wp_err err;
    PGconn *c = wp_db_acquire(T.db, &err);
    assert_non_null(c);
    for (int i = 0; i < 3; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        const char *p[] = {v};
        PGresult *r;
        assert_int_equal(wp_db_query(c, "SELECT $1::int + 40 AS answer_prepared", 1, p, &r, &err), WP_OK);
        assert_int_equal(atoi(PQgetvalue(r, 0, 0)), 40 + i);
        PQclear(r);
    }
    assert_int_equal(prepared_count(c, "%answer_prepared%"), 1);
    /* errors are the same: a unique violation is still a conflict, a bad statement an error */
    assert_int_equal(wp_db_query(c, "CREATE TABLE IF NOT EXISTS prep_t (id int PRIMARY KEY, v text)", 0, NULL, NULL, &err), WP_OK);
    assert_int_equal(wp_db_query(c, "INSERT INTO prep_t VALUES (1, 'a')", 0, NULL, NULL, &err), WP_OK);
    assert_int_equal(wp_db_query(c, "INSERT INTO prep_t VALUES (1, 'a')", 0, NULL, NULL, &err), WP_ECONFLICT);
    assert_int_equal(wp_db_query(c, "SELEC nothing", 0, NULL, NULL, &err), WP_EDB);
    /* a table changed under a prepared statement: run afresh, the new column seen */
    PGresult *r;
    assert_int_equal(wp_db_query(c, "SELECT * FROM prep_t", 0, NULL, &r, &err), WP_OK);
    assert_int_equal(PQnfields(r), 2);
    PQclear(r);
    assert_int_equal(wp_db_query(c, "ALTER TABLE prep_t ADD COLUMN w text", 0, NULL, NULL, &err), WP_OK);
    assert_int_equal(wp_db_query(c, "SELECT * FROM prep_t", 0, NULL, &r, &err), WP_OK);
    assert_int_equal(PQnfields(r), 3);
    PQclear(r);
    wp_db_release(T.db, c);
}

static void test_no_prepare(void **state)
{
    (void)state;
    wp_db_options o = {.url = T.url, .pool_size = 1, .acquire_timeout_ms = 5000, .connect_timeout_s = DBT_CONNECT_TIMEOUT_S};
    wp_db *db = NULL;
    wp_err err;
    assert_int_equal(wp_db_open(&o, &db, &err), WP_OK);
    PGconn *c = wp_db_acquire(db, &err);
    assert_non_null(c);
    for (int i = 0; i < 2; i++)
        assert_int_equal(wp_db_query(c, "SELECT 1 AS unnamed_only", 0, NULL, NULL, &err), WP_OK);
    assert_int_equal(prepared_count(c, "%"), 0);
    wp_db_release(db, c);
    wp_db_close(db);
}

static void test_bound(void **state)
{
    (void)state;
    wp_db_options o = {.url = T.url, .pool_size = 1, .acquire_timeout_ms = 5000, .connect_timeout_s = DBT_CONNECT_TIMEOUT_S,
                       .max_prepared = 1};
    wp_db *db = NULL;
    wp_err err;
    assert_int_equal(wp_db_open(&o, &db, &err), WP_OK);
    PGconn *c = wp_db_acquire(db, &err);
    assert_non_null(c);
    assert_int_equal(wp_db_query(c, "SELECT 1 AS bound_first", 0, NULL, NULL, &err), WP_OK);
    /* the bound reached: still answered, unprepared */
    for (int i = 0; i < 2; i++) assert_int_equal(wp_db_query(c, "SELECT 2 AS bound_second", 0, NULL, NULL, &err), WP_OK);
    assert_int_equal(prepared_count(c, "%bound_first%"), 1);
    assert_int_equal(prepared_count(c, "%bound_second%"), 0);
    wp_db_release(db, c);
    wp_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prepared_once_same_results),
        cmocka_unit_test(test_no_prepare),
        cmocka_unit_test(test_bound),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
