/*
 * db_citus_ready: the schema stays distributable by account (docs/operations.md,
 * "Distributing the database by account").  The core's migrations and every
 * in-tree plugin's are applied, then the catalog is read:
 *
 *   - a table with an account_id column is a tenant table: account_id is NOT
 *     NULL, its primary key and every unique index lead with account_id, every
 *     other index leads with it too unless it is a cross-account look-up listed
 *     below with its reason, and every foreign key to another tenant table
 *     pairs account_id with account_id first;
 *   - a table without account_id, or a tenant table that stays on the
 *     coordinator, is listed below with its reason;
 *   - every entry of those lists still names something that exists;
 *   - access_logs, keyed by account since migration 0017, still takes the
 *     NULL account of an older gateway's unauthenticated request.
 *
 * A new table or index that breaks the rule fails here, naming it.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dbtest.h"
#include "migrate.h"

typedef struct {
    const char *name, *why;
} listed;

/* Tables without account_id: copied to every node, or kept on the coordinator. */
static const listed global_tables[] = {
    {"accounts", "reference table: small; its email indexes and parent/test-workspace references need it whole"},
    {"schema_migrations", "local table on the coordinator: the migrator's record"},
    {"gateway_processes", "local table on the coordinator: the registry of live gateway processes, written by "
                          "every process's heartbeat each second and read with jobs (whose dead owners it frees); "
                          "it belongs to no account"},
    {"portal_login_throttle", "local table on the coordinator: failed dashboard logins per email and per address, "
                              "before any account is known"},
    {NULL, NULL}};

/* Tables with account_id that are not distributed. */
static const listed local_tables[] = {
    {"jobs", "local table on the coordinator: the queue every gateway claims from across accounts; system jobs "
             "have no account"},
    {"portal_users", "local table on the coordinator: a dashboard login finds its user by email, unique across "
                     "accounts, before the account is known"},
    {"portal_sessions", "local table on the coordinator: a dashboard request finds its session by the cookie's "
                        "token alone"},
    {"portal_invites", "local table on the coordinator: an invitation to sign up has no account yet"},
    {NULL, NULL}};

/* Non-unique indexes of tenant tables that do not lead with account_id: looked up before the account
 * is known, one indexed query per shard (Citus keeps a local index on every shard). */
static const listed cross_account_indexes[] = {
    {"api_keys_prefix_idx", "authentication finds a key by its prefix before the account is known"},
    {"passes_serial_idx", "device protocols name a pass by its serial number only"},
    {"passes_id_idx", "a pass link names the pass by id only"},
    {"pass_secrets_lookup_idx", "a device proves a pass with a secret, found by its MAC across accounts"},
    {"apns_registrations_device_idx", "Apple's list call knows only the device and the pass type"},
    {"idempotency_keys_created_idx", "the 24-hour retention deletes across accounts"},
    {NULL, NULL}};

static dbt T;
static PGconn *C;

static const listed *find(const listed *l, const char *name)
{
    for (; l->name; l++)
        if (strcmp(l->name, name) == 0) return l;
    return NULL;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Core first (a plugin's migration may read the core's tables), then the plugins in name order. */
static int migrate_all(void)
{
    wp_err err;
    wp_err_clear(&err);
    PGconn *c = wp_db_acquire(T.db, &err);
    if (!c) return -1;
    int rc = 0;
    DIR *d = opendir(WP_SOURCE_DIR "/plugins");
    char *names[64];
    size_t n = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        char dir[600];
        snprintf(dir, sizeof dir, WP_SOURCE_DIR "/plugins/%s/migrations", e->d_name);
        DIR *m = e->d_name[0] != '.' ? opendir(dir) : NULL;
        if (m) {
            closedir(m);
            if (n < sizeof names / sizeof names[0]) names[n++] = strdup(e->d_name);
        }
    }
    if (d) closedir(d);
    qsort(names, n, sizeof names[0], cmp_str);
    for (size_t i = 0; i < n; i++) {
        char dir[600];
        snprintf(dir, sizeof dir, WP_SOURCE_DIR "/plugins/%s/migrations", names[i]);
        if (rc == 0 && wp_migrate_dir(c, names[i], dir, 1, NULL, &err) != WP_OK) {
            fprintf(stderr, "migrations of %s: %s\n", names[i], err.msg);
            rc = -1;
        }
        free(names[i]);
    }
    if (n < 6) {
        fprintf(stderr, "found the migrations of only %zu plugins under %s/plugins\n", n, WP_SOURCE_DIR);
        rc = -1;
    }
    wp_db_release(T.db, c);
    return rc;
}

static int group_setup(void **state)
{
    (void)state;
    if (dbt_setup(&T) != 0 || migrate_all() != 0) return -1;
    C = dbt_connect(&T);
    return C ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    if (C) PQfinish(C);
    dbt_teardown(&T);
    return 0;
}

static PGresult *q(const char *sql)
{
    PGresult *r = PQexec(C, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    return r;
}

static void test_tables(void **state)
{
    (void)state;
    int bad = 0;
    /* Every table: whether it has account_id, whether that is NOT NULL, and its primary key's first column. */
    PGresult *r = q("SELECT c.relname, a.attname IS NOT NULL, coalesce(a.attnotnull, false),"
                    " (SELECT f.attname FROM pg_index i JOIN pg_attribute f ON f.attrelid = i.indrelid"
                    "    AND f.attnum = i.indkey[0] WHERE i.indrelid = c.oid AND i.indisprimary)"
                    " FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace"
                    " LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'account_id' AND NOT a.attisdropped"
                    " WHERE s.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1");
    for (int i = 0; i < PQntuples(r); i++) {
        const char *t = PQgetvalue(r, i, 0);
        int has = PQgetvalue(r, i, 1)[0] == 't', notnull = PQgetvalue(r, i, 2)[0] == 't';
        const char *pk = PQgetisnull(r, i, 3) ? NULL : PQgetvalue(r, i, 3);
        if (!has) {
            if (!find(global_tables, t)) {
                fprintf(stderr, "table %s has no account_id column: distribute it by account, or list it as a "
                                "reference or coordinator table (with the reason) in %s\n", t, __FILE__);
                bad++;
            }
            continue;
        }
        if (find(global_tables, t)) {
            fprintf(stderr, "table %s is listed as a table without account_id, but it has one\n", t);
            bad++;
        }
        if (find(local_tables, t)) continue;
        if (!notnull) {
            fprintf(stderr, "table %s: account_id may be NULL (a distribution column never is)\n", t);
            bad++;
        }
        if (!pk || strcmp(pk, "account_id") != 0) {
            fprintf(stderr, "table %s: its primary key must lead with account_id (it %s)\n", t,
                    pk ? "leads with another column" : "has none");
            bad++;
        }
    }
    PQclear(r);
    for (const listed *l = global_tables; l->name; l++) {
        char sql[300];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM pg_class WHERE relname = '%s' AND relkind IN ('r', 'p')",
                 l->name);
        if (dbt_ll(C, sql) != 1) {
            fprintf(stderr, "listed table %s does not exist any more: remove it from the list\n", l->name);
            bad++;
        }
    }
    for (const listed *l = local_tables; l->name; l++) {
        char sql[300];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM pg_class WHERE relname = '%s' AND relkind IN ('r', 'p')",
                 l->name);
        if (dbt_ll(C, sql) != 1) {
            fprintf(stderr, "listed table %s does not exist any more: remove it from the list\n", l->name);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

static void test_indexes(void **state)
{
    (void)state;
    int bad = 0;
    /* Every index of a table with account_id: its first key column (NULL for an expression). */
    PGresult *r = q("SELECT c.relname, x.relname, i.indisunique,"
                    " (SELECT f.attname FROM pg_attribute f WHERE f.attrelid = i.indrelid AND f.attnum = i.indkey[0])"
                    " FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class x ON x.oid = i.indexrelid"
                    " JOIN pg_namespace s ON s.oid = c.relnamespace"
                    " WHERE s.nspname = 'public' AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid"
                    "   AND a.attname = 'account_id' AND NOT a.attisdropped) ORDER BY 1, 2");
    int seen_allowed = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *t = PQgetvalue(r, i, 0), *ix = PQgetvalue(r, i, 1);
        int unique = PQgetvalue(r, i, 2)[0] == 't';
        const char *first = PQgetisnull(r, i, 3) ? "(an expression)" : PQgetvalue(r, i, 3);
        if (find(local_tables, t)) continue;
        if (strcmp(first, "account_id") == 0) {
            if (find(cross_account_indexes, ix)) {
                fprintf(stderr, "index %s leads with account_id now: remove it from the cross-account list\n", ix);
                bad++;
            }
            continue;
        }
        if (unique) {
            fprintf(stderr, "unique index %s on %s leads with %s: a unique index of a distributed table must "
                            "lead with account_id\n", ix, t, first);
            bad++;
        } else if (find(cross_account_indexes, ix)) {
            seen_allowed++;
        } else {
            fprintf(stderr, "index %s on %s leads with %s, not account_id: lead with account_id, or list it as a "
                            "cross-account look-up (with the reason) in %s\n", ix, t, first, __FILE__);
            bad++;
        }
    }
    PQclear(r);
    size_t listed_n = 0;
    for (const listed *l = cross_account_indexes; l->name; l++) listed_n++;
    if ((size_t)seen_allowed != listed_n) {
        fprintf(stderr, "the cross-account list names %zu indexes, %d of them exist as listed: remove the others\n",
                listed_n, seen_allowed);
        bad++;
    }
    assert_int_equal(bad, 0);
}

static void test_foreign_keys(void **state)
{
    (void)state;
    int bad = 0;
    /* Foreign keys between two tenant tables: the first columns on both sides must be account_id. */
    PGresult *r = q("SELECT k.conname, c.relname, p.relname,"
                    " (SELECT attname FROM pg_attribute WHERE attrelid = k.conrelid AND attnum = k.conkey[1]),"
                    " (SELECT attname FROM pg_attribute WHERE attrelid = k.confrelid AND attnum = k.confkey[1])"
                    " FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid"
                    " JOIN pg_namespace s ON s.oid = c.relnamespace"
                    " WHERE k.contype = 'f' AND s.nspname = 'public'"
                    " AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = k.confrelid AND a.attname = 'account_id'"
                    "   AND NOT a.attisdropped) ORDER BY 1");
    for (int i = 0; i < PQntuples(r); i++) {
        const char *name = PQgetvalue(r, i, 0), *t = PQgetvalue(r, i, 1), *p = PQgetvalue(r, i, 2);
        if (find(local_tables, t) && find(local_tables, p)) continue; /* both on the coordinator */
        if (find(local_tables, t) || find(local_tables, p)) {
            fprintf(stderr, "foreign key %s joins %s and %s, one of which stays on the coordinator\n", name, t, p);
            bad++;
            continue;
        }
        if (strcmp(PQgetvalue(r, i, 3), "account_id") != 0 || strcmp(PQgetvalue(r, i, 4), "account_id") != 0) {
            fprintf(stderr, "foreign key %s from %s to %s must pair account_id with account_id first\n", name, t, p);
            bad++;
        }
    }
    PQclear(r);
    assert_int_equal(bad, 0);
}

/* Migration 0017: a gateway of the release before it logs an unauthenticated request with a NULL
 * account_id; the row is still written, under ''. */
static void test_access_log_null_account(void **state)
{
    (void)state;
    assert_int_equal(dbt_exec(C, "INSERT INTO access_logs (account_id, ts, ip, method, path, status, latency_us,"
                                 " request_id) VALUES (NULL, now(), '127.0.0.1', 'GET', '/x', 401, 1, 'req_null')"),
                     0);
    assert_int_equal(dbt_ll(C, "SELECT count(*) FROM access_logs WHERE request_id = 'req_null' AND account_id = ''"),
                     1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tables),
        cmocka_unit_test(test_indexes),
        cmocka_unit_test(test_foreign_keys),
        cmocka_unit_test(test_access_log_null_account),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
