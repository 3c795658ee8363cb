/* migrate.c - see migrate.h. */
#include "migrate.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "db.h"
#include "log.h"

/* Arbitrary but fixed: the key of the advisory lock every migrator takes. */
#define WP_MIGRATE_LOCK_KEY "7215514190"

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_migration_name(const char *n)
{
    size_t len = strlen(n);
    if (len < 9 || strcmp(n + len - 4, ".sql") != 0) return 0;
    for (int i = 0; i < 4; i++)
        if (n[i] < '0' || n[i] > '9') return 0;
    return n[4] == '_';
}

static char *read_file(const char *path, wp_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        wp_err_set(err, WP_EIO, "migration %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size > (64 << 20)) {
        fclose(f);
        wp_err_set(err, WP_EIO, "migration %s: unreadable or larger than 64 MiB", path);
        return NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        fclose(f);
        wp_err_set(err, WP_ENOMEM, "out of memory");
        return NULL;
    }
    size_t n = fread(buf, 1, (size_t)st.st_size, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static wp_status exec_script(PGconn *conn, const char *sql, const char *what, wp_err *err)
{
    PGresult *r = PQexec(conn, sql);
    ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    wp_status st = WP_OK;
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && s != PGRES_EMPTY_QUERY) {
        const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(conn);
        st = wp_err_set(err, PQstatus(conn) == CONNECTION_OK ? WP_EDB : WP_EUNAVAIL, "%s: %s", what, msg);
        size_t n = strlen(err ? err->msg : "");
        if (err && n && err->msg[n - 1] == '\n') err->msg[n - 1] = '\0';
    }
    if (r) PQclear(r);
    return st;
}

wp_status wp_migrate_dir(PGconn *conn, const char *component, const char *dir, int must_exist,
                         int *applied, wp_err *err)
{
    if (applied) *applied = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (!must_exist && errno == ENOENT) return WP_OK;
        return wp_err_set(err, WP_EIO, "migrations directory %s: %s", dir, strerror(errno));
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    wp_status st = WP_OK;
    while ((de = readdir(d)) != NULL) {
        if (!is_migration_name(de->d_name)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = realloc(names, cap * sizeof *names);
            if (!nn) { st = wp_err_set(err, WP_ENOMEM, "out of memory"); break; }
            names = nn;
        }
        if (!(names[n] = strdup(de->d_name))) { st = wp_err_set(err, WP_ENOMEM, "out of memory"); break; }
        n++;
    }
    closedir(d);
    if (st != WP_OK) goto out;
    qsort(names, n, sizeof *names, name_cmp);

    /* Each step is one transaction under a transaction-level advisory lock: two migrators
     * never apply the same migration, and no lock outlives its transaction, so this works
     * through a transaction-pooling PgBouncer too (a session lock could stay behind on a
     * pooled server connection). */
    if ((st = wp_db_begin(conn, err)) == WP_OK &&
        (st = wp_db_query(conn, "SELECT pg_advisory_xact_lock(" WP_MIGRATE_LOCK_KEY ")", 0, NULL, NULL, err)) == WP_OK &&
        (st = exec_script(conn,
                          "CREATE TABLE IF NOT EXISTS schema_migrations ("
                          " component text NOT NULL, version text NOT NULL,"
                          " applied_at timestamptz NOT NULL DEFAULT now(),"
                          " PRIMARY KEY (component, version))",
                          "creating schema_migrations", err)) == WP_OK)
        st = wp_db_commit(conn, err);
    if (st != WP_OK) {
        wp_db_rollback(conn);
        goto out;
    }
    for (size_t i = 0; st == WP_OK && i < n; i++) {
        const char *params[] = {component, names[i]};
        PGresult *r = NULL;
        if ((st = wp_db_begin(conn, err)) != WP_OK) break;
        if ((st = wp_db_query(conn, "SELECT pg_advisory_xact_lock(" WP_MIGRATE_LOCK_KEY ")", 0, NULL, NULL, err)) !=
                WP_OK ||
            (st = wp_db_query(conn, "SELECT 1 FROM schema_migrations WHERE component = $1 AND version = $2", 2,
                              params, &r, err)) != WP_OK) {
            wp_db_rollback(conn);
            break;
        }
        int done = PQntuples(r) > 0;
        PQclear(r);
        if (done) {
            wp_db_rollback(conn);
            continue;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        char *sql = read_file(path, err);
        if (!sql) {
            st = err ? err->status : WP_EIO;
            wp_db_rollback(conn);
            break;
        }
        char what[600];
        snprintf(what, sizeof what, "migration %s (%s)", names[i], component);
        if ((st = exec_script(conn, sql, what, err)) == WP_OK &&
            (st = wp_db_query(conn, "INSERT INTO schema_migrations (component, version) VALUES ($1, $2)", 2,
                              params, NULL, err)) == WP_OK &&
            (st = wp_db_commit(conn, err)) == WP_OK) {
            wp_log_info("applied migration %s (%s)", names[i], component);
            if (applied) (*applied)++;
        } else {
            wp_db_rollback(conn);
        }
        free(sql);
    }
out:
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return st;
}
