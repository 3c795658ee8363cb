/*
 * db_pool: what the pool's connections are opened with, and what a caller
 * is told when the database cannot be reached.
 *   - TCP keepalives and tcp_user_timeout are on by default, and a value the
 *     URL gives wins over the default;
 *   - connect_timeout comes from the options (10 s when unset), the URL's wins;
 *   - "the database is unavailable" names no host, port or libpq text;
 *   - the startup wait retries a server that does not answer, not one that refuses us.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dbtest.h"

static dbt T;

static int group_setup(void **state)
{
    (void)state;
    return dbt_setup(&T) != 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
    (void)state;
    dbt_teardown(&T);
    return 0;
}

/* The value of keyword on an open connection ("" when unset). */
static const char *option(PGconn *c, const char *keyword, char *buf, size_t n)
{
    PQconninfoOption *opts = PQconninfo(c);
    buf[0] = '\0';
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, keyword) == 0 && o->val) snprintf(buf, n, "%s", o->val);
    PQconninfoFree(opts);
    return buf;
}

static wp_db *pool(const char *url)
{
    wp_db_options o = {.url = url, .pool_size = 1, .acquire_timeout_ms = 2000, .connect_timeout_s = DBT_CONNECT_TIMEOUT_S};
    wp_db *db = NULL;
    wp_err err;
    wp_err_clear(&err);
    assert_int_equal(wp_db_open(&o, &db, &err), WP_OK);
    return db;
}

static void test_tcp_keepalive_defaults(void **state)
{
    (void)state;
    wp_db *db = pool(T.url);
    wp_err err;
    wp_err_clear(&err);
    PGconn *c = wp_db_acquire(db, &err);
    if (!c) fail_msg("acquire: %s", err.msg);
    char b[32];
    assert_string_equal(option(c, "keepalives", b, sizeof b), "1");
    assert_string_equal(option(c, "keepalives_idle", b, sizeof b), "30");
    assert_string_equal(option(c, "keepalives_interval", b, sizeof b), "10");
    assert_string_equal(option(c, "keepalives_count", b, sizeof b), "3");
    assert_string_equal(option(c, "tcp_user_timeout", b, sizeof b), "30000");
    assert_string_equal(option(c, "connect_timeout", b, sizeof b), "60"); /* DBT_CONNECT_TIMEOUT_S */
    assert_int_equal(wp_db_query(c, "SELECT 1", 0, NULL, NULL, &err), WP_OK);
    wp_db_release(db, c);
    wp_db_close(db);
}

static void test_connect_timeout_default(void **state)
{
    (void)state;
    wp_db_options o = {.url = T.url, .pool_size = 1, .acquire_timeout_ms = 2000};
    wp_db *db = NULL;
    wp_err err;
    wp_err_clear(&err);
    assert_int_equal(wp_db_open(&o, &db, &err), WP_OK);
    PGconn *c = wp_db_acquire(db, &err);
    if (!c) fail_msg("acquire: %s", err.msg);
    char b[32];
    assert_string_equal(option(c, "connect_timeout", b, sizeof b), "10");
    wp_db_release(db, c);
    wp_db_close(db);
}

static void test_url_settings_win(void **state)
{
    (void)state;
    char url[800];
    snprintf(url, sizeof url, "%s%skeepalives_idle=7&tcp_user_timeout=1234&keepalives=0&connect_timeout=77", T.url,
             strchr(T.url, '?') ? "&" : "?");
    wp_db *db = pool(url);
    wp_err err;
    wp_err_clear(&err);
    PGconn *c = wp_db_acquire(db, &err);
    if (!c) fail_msg("acquire: %s", err.msg);
    char b[32];
    assert_string_equal(option(c, "keepalives", b, sizeof b), "0");
    assert_string_equal(option(c, "keepalives_idle", b, sizeof b), "7");
    assert_string_equal(option(c, "tcp_user_timeout", b, sizeof b), "1234");
    assert_string_equal(option(c, "keepalives_count", b, sizeof b), "3"); /* not in the URL: the default */
    assert_string_equal(option(c, "connect_timeout", b, sizeof b), "77");
    wp_db_release(db, c);
    wp_db_close(db);
}

static void test_unreachable_names_no_address(void **state)
{
    (void)state;
    /* port 1 on loopback: nothing listens there */
    wp_db *db = pool("postgresql://walletpass:secret@127.0.0.1:1/walletpass");
    wp_err err;
    wp_err_clear(&err);
    assert_null(wp_db_acquire(db, &err));
    assert_int_equal(err.status, WP_EUNAVAIL);
    assert_string_equal(err.msg, "the database is unavailable; try again");
    wp_db_close(db);
}

/* Runs wp_db_acquire_waiting with stderr (the log) captured into log; returns its connection. */
static PGconn *acquire_waiting_logged(wp_db *db, int wait_s, wp_err *err, char *log, size_t n)
{
    fflush(stderr);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), 2) >= 0);
    PGconn *c = wp_db_acquire_waiting(db, wait_s, err);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t got = fread(log, 1, n - 1, tmp);
    log[got] = '\0';
    fclose(tmp);
    return c;
}

/* Nothing listens: waited for, retrying every second, until the wait is over. */
static void test_startup_wait_retries_no_answer(void **state)
{
    (void)state;
    wp_db *db = pool("postgresql://walletpass:secret@127.0.0.1:1/walletpass");
    wp_err err;
    wp_err_clear(&err);
    int64_t t0 = dbt_now_ms();
    char log[8192];
    assert_null(acquire_waiting_logged(db, 3, &err, log, sizeof log));
    assert_true(dbt_now_ms() - t0 >= 2000); /* it did wait (a lower bound: a slow machine only adds) */
    assert_non_null(strstr(log, "waiting up to 3 s for the database"));
    assert_int_equal(err.status, WP_EUNAVAIL);
    assert_string_equal(err.msg, "the database is unavailable; try again");
    wp_db_close(db);
}

/* The server answers but refuses these credentials: no wait (a wait would last 600 s and say so). */
static void test_startup_wait_not_for_a_refusal(void **state)
{
    (void)state;
    char url[800];
    const char *at = strchr(T.url, '@');
    assert_non_null(at);
    snprintf(url, sizeof url, "postgresql://nobody_%s:wrong%s", T.name, at);
    wp_db *db = pool(url);
    wp_err err;
    wp_err_clear(&err);
    char log[8192];
    assert_null(acquire_waiting_logged(db, 600, &err, log, sizeof log));
    assert_int_equal(err.status, WP_EUNAVAIL);
    assert_null(strstr(log, "waiting up to"));
    wp_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_keepalive_defaults),
        cmocka_unit_test(test_connect_timeout_default),
        cmocka_unit_test(test_url_settings_win),
        cmocka_unit_test(test_unreachable_names_no_address),
        cmocka_unit_test(test_startup_wait_retries_no_answer),
        cmocka_unit_test(test_startup_wait_not_for_a_refusal),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
