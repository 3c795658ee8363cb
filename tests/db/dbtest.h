/*
 * dbtest.h - helpers for the db_* suites: a fresh database per suite in the
 * cluster named by WP_TEST_PG_ADMIN_URL, migrated with the core's files,
 * dropped at the end.  Without the variable the suite fails with a message
 * saying so (scripts/test sets it).
 */
#ifndef WP_DBTEST_H
#define WP_DBTEST_H

#include <libpq-fe.h>
#include <stdint.h>

#include "db.h"

/* libpq connect_timeout of the suites' pools: generous, since a test machine may be loaded far
 * beyond its cores (a backend fork under a sanitizer then takes seconds). */
#define DBT_CONNECT_TIMEOUT_S 60
/* How long the suites wait for what must happen (dbt_wait_ll): it only ends a wait for something
 * that never comes, so it is generous for the same reason. */
#define DBT_WAIT_MS 120000

typedef struct dbt {
    char admin[512];
    char url[600];
    char name[64];
    wp_db *db;          /* pool on the test database (8 connections) */
} dbt;

/* Creates and migrates the database; returns 0, or -1 after printing why. */
int dbt_setup(dbt *t);
void dbt_teardown(dbt *t);

/* A new connection to the test database (PQfinish it), or NULL after printing why. */
PGconn *dbt_connect(const dbt *t);
/* Runs sql (no parameters) and returns the first column of the first row as
 * an integer; -1 on error (printed). */
long long dbt_ll(PGconn *c, const char *sql);
/* Runs sql; 0 on success, -1 on error (printed). */
int dbt_exec(PGconn *c, const char *sql);
/* Polls dbt_ll(sql) until it equals want or timeout_ms passes; returns the last value. */
long long dbt_wait_ll(PGconn *c, const char *sql, long long want, int timeout_ms);
/* Wall-clock milliseconds. */
int64_t dbt_now_ms(void);
void dbt_sleep_ms(int ms);
/* Inserts the account id used by the suites ("acct_test" style ids). */
int dbt_account(PGconn *c, const char *id);

#endif
