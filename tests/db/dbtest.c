/* dbtest.c - see dbtest.h. */
#include "dbtest.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "migrate.h"

int64_t dbt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void dbt_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int admin_exec(const dbt *t, const char *sql)
{
    PGconn *c = PQconnectdb(t->admin);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "dbtest: cannot connect to WP_TEST_PG_ADMIN_URL: %s", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    int rc = dbt_exec(c, sql);
    PQfinish(c);
    return rc;
}

int dbt_setup(dbt *t)
{
    memset(t, 0, sizeof *t);
    const char *admin = getenv("WP_TEST_PG_ADMIN_URL");
    if (!admin || !*admin) {
        fprintf(stderr, "dbtest: WP_TEST_PG_ADMIN_URL is not set: run the db_* suites through scripts/test, or "
                        "export WP_TEST_PG_ADMIN_URL=postgresql://user:pw@host:port/postgres\n");
        return -1;
    }
    snprintf(t->admin, sizeof t->admin, "%s", admin);
    unsigned char r[6];
    RAND_bytes(r, sizeof r);
    snprintf(t->name, sizeof t->name, "wp_test_%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5]);
    /* Same URL with the database path replaced. */
    const char *scheme = strstr(admin, "://");
    const char *path = scheme ? strchr(scheme + 3, '/') : NULL;
    const char *query = path ? strchr(path, '?') : NULL;
    if (!path) {
        fprintf(stderr, "dbtest: WP_TEST_PG_ADMIN_URL must be a postgresql://…/dbname URI\n");
        return -1;
    }
    snprintf(t->url, sizeof t->url, "%.*s/%s%s", (int)(path - admin), admin, t->name, query ? query : "");
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", t->name);
    if (admin_exec(t, sql) != 0) return -1;
    /* connect_timeout: a test machine may be loaded far beyond its cores (DBT_CONNECT_TIMEOUT_S) */
    wp_db_options o = {.url = t->url, .pool_size = 8, .acquire_timeout_ms = 5000, .statement_timeout_ms = 30000,
                       .connect_timeout_s = DBT_CONNECT_TIMEOUT_S,
                       .application_name = "walletpass-dbtest", .max_prepared = 512 /* as the gateway's default */};
    wp_err err;
    wp_err_clear(&err);
    if (wp_db_open(&o, &t->db, &err) != WP_OK) {
        fprintf(stderr, "dbtest: %s\n", err.msg);
        return -1;
    }
    PGconn *c = wp_db_acquire(t->db, &err);
    if (!c || wp_migrate_dir(c, "core", WP_SOURCE_DIR "/migrations", 1, NULL, &err) != WP_OK) {
        fprintf(stderr, "dbtest: migrations: %s\n", err.msg);
        if (c) wp_db_release(t->db, c);
        return -1;
    }
    wp_db_release(t->db, c);
    return 0;
}

void dbt_teardown(dbt *t)
{
    if (t->db) wp_db_close(t->db);
    t->db = NULL;
    if (t->name[0]) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", t->name);
        admin_exec(t, sql);
    }
}

PGconn *dbt_connect(const dbt *t)
{
    PGconn *c = PQconnectdb(t->url);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "dbtest: connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

int dbt_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok) fprintf(stderr, "dbtest: %s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : -1;
}

long long dbt_ll(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    long long v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    else if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fprintf(stderr, "dbtest: %s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    return v;
}

long long dbt_wait_ll(PGconn *c, const char *sql, long long want, int timeout_ms)
{
    int64_t end = dbt_now_ms() + timeout_ms;
    long long v;
    while ((v = dbt_ll(c, sql)) != want && dbt_now_ms() < end) dbt_sleep_ms(20);
    return v;
}

int dbt_account(PGconn *c, const char *id)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO accounts (id, name, email, plan) VALUES ('%s', 'Test', '%s@example.com', 'trial')"
             " ON CONFLICT DO NOTHING",
             id, id);
    return dbt_exec(c, sql);
}
