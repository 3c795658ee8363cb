/* sweep.c - see sweep.h. */
#include "sweep.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "portal_store.h"

struct wp_sweep {
    wp_db *db;
    int retention_days, test_days, interval_s;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
};

/* Tables (of this schema) with the given columns, plugins' included. */
static wp_status tables_with(PGconn *c, const char *cols_sql, PGresult **r, wp_err *err)
{
    const char *p[] = {cols_sql};
    return wp_db_query(c,
                       "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema()"
                       " AND column_name = ANY(string_to_array($1, ',')) AND table_name <> 'accounts'"
                       " AND table_name IN (SELECT table_name FROM information_schema.tables"
                       "   WHERE table_schema = current_schema() AND table_type = 'BASE TABLE')"
                       " GROUP BY table_name HAVING count(*) = array_length(string_to_array($1, ','), 1)"
                       " ORDER BY table_name",
                       1, p, r, err);
}

/* DELETE FROM every table in t with `where` ($1 the array); a table that refuses (a
 * foreign key of another table) is tried again after the others. */
static wp_status delete_everywhere(PGconn *c, PGresult *t, const char *where, const char *arr, wp_err *err)
{
    int n = PQntuples(t);
    char *done = calloc((size_t)n + 1, 1);
    if (!done) return wp_err_set(err, WP_ENOMEM, "out of memory");
    wp_status last = WP_OK;
    for (int round = 0; round < 4; round++) {
        last = WP_OK;
        for (int i = 0; i < n; i++) {
            if (done[i]) continue;
            char sql[512];
            /* the name comes from the catalogue: quoted as an identifier all the same */
            char *id = PQescapeIdentifier(c, PQgetvalue(t, i, 0), strlen(PQgetvalue(t, i, 0)));
            if (!id) continue;
            snprintf(sql, sizeof sql, "DELETE FROM %s WHERE %s", id, where);
            PQfreemem(id);
            const char *p[] = {arr};
            wp_err e;
            wp_err_clear(&e);
            if (wp_db_query(c, sql, 1, p, NULL, &e) == WP_OK) done[i] = 1;
            else {
                last = e.status;
                *err = e;
            }
        }
        if (last == WP_OK) break;
    }
    free(done);
    return last;
}

wp_status wp_sweep_once(PGconn *c, const wp_config *cfg, long *test_passes, long *accounts, wp_err *err)
{
    if (test_passes) *test_passes = 0;
    if (accounts) *accounts = 0;
    char days[16];
    PGresult *r, *t;
    /* 1. Test passes past their retention, with the rows of other tables that name them. */
    snprintf(days, sizeof days, "%d", cfg->test_retention_days);
    const char *p1[] = {days};
    wp_status st = wp_db_query(c,
                               "SELECT coalesce(array_agg(p.account_id || '/' || p.id), '{}')::text, count(*)"
                               " FROM (SELECT p.account_id, p.id FROM passes p JOIN accounts a ON a.id = p.account_id"
                               "   WHERE NOT a.livemode AND p.created_at < now() - make_interval(days => $1::int)"
                               "   LIMIT 5000) p",
                               1, p1, &r, err);
    if (st != WP_OK) return st;
    long np = strtol(PQgetvalue(r, 0, 1), NULL, 10);
    char *ids = np ? strdup(PQgetvalue(r, 0, 0)) : NULL;
    PQclear(r);
    if (np && !ids) return wp_err_set(err, WP_ENOMEM, "out of memory");
    if (np) {
        st = tables_with(c, "account_id,pass_id", &t, err);
        if (st == WP_OK) {
            st = delete_everywhere(c, t, "(account_id || '/' || pass_id) = ANY($1::text[])", ids, err);
            PQclear(t);
        }
        const char *p2[] = {ids};
        if (st == WP_OK)
            st = wp_db_query(c, "DELETE FROM passes WHERE (account_id || '/' || id) = ANY($1::text[])", 1, p2, NULL, err);
        free(ids);
        if (st != WP_OK) return st;
        if (test_passes) *test_passes = np;
    }
    /* 2. Deleted accounts past their retention, with their test workspaces. */
    snprintf(days, sizeof days, "%d", cfg->deleted_retention_days);
    st = wp_db_query(c,
                     "SELECT coalesce(array_agg(id), '{}')::text, count(*) FROM accounts WHERE deleted_at IS NOT NULL"
                     " AND deleted_at < now() - make_interval(days => $1::int)",
                     1, p1, &r, err);
    if (st != WP_OK) return st;
    long na = strtol(PQgetvalue(r, 0, 1), NULL, 10);
    char *accts = na ? strdup(PQgetvalue(r, 0, 0)) : NULL;
    PQclear(r);
    if (na && !accts) return wp_err_set(err, WP_ENOMEM, "out of memory");
    if (na) {
        st = tables_with(c, "account_id", &t, err);
        if (st == WP_OK) {
            st = delete_everywhere(c, t, "account_id = ANY($1::text[])", accts, err);
            PQclear(t);
        }
        const char *p3[] = {accts};
        if (st == WP_OK)
            st = wp_db_query(c, "DELETE FROM accounts WHERE id = ANY($1::text[]) OR live_account_id = ANY($1::text[])",
                             1, p3, NULL, err);
        free(accts);
        if (st != WP_OK) return st;
        if (accounts) *accounts = na;
    }
    return WP_OK;
}

static void *sweep_main(void *arg)
{
    wp_sweep *s = arg;
    wp_config cfg; /* only the retention fields are read */
    memset(&cfg, 0, sizeof cfg);
    cfg.deleted_retention_days = s->retention_days;
    cfg.test_retention_days = s->test_days;
    for (;;) {
        wp_err err;
        wp_err_clear(&err);
        PGconn *c = wp_db_acquire(s->db, &err);
        if (c) {
            long np = 0, na = 0;
            if (wp_sweep_once(c, &cfg, &np, &na, &err) != WP_OK) wp_log_warn("retention sweep failed: %s", err.msg);
            else if (np || na) wp_log_info("retention sweep: %ld test pass(es) deleted, %ld deleted account(s) purged", np, na);
            long ns = 0; /* ended dashboard sessions, old login counts, expired invitations */
            wp_err_clear(&err);
            if (wp_portal_store_sweep(c, &ns, &err) != WP_OK) wp_log_warn("retention sweep (dashboard): %s", err.msg);
            wp_db_release(s->db, c);
        }
        pthread_mutex_lock(&s->mu);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += s->interval_s;
        while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &until) != ETIMEDOUT) {
        }
        int stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        if (stop) break;
    }
    return NULL;
}

wp_status wp_sweep_start(wp_db *db, const wp_config *cfg, wp_sweep **out, wp_err *err)
{
    *out = NULL;
    wp_sweep *s = calloc(1, sizeof *s);
    if (!s) return wp_err_set(err, WP_ENOMEM, "out of memory");
    s->db = db;
    s->retention_days = cfg->deleted_retention_days;
    s->test_days = cfg->test_retention_days;
    s->interval_s = cfg->sweep_interval_seconds;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->th, NULL, sweep_main, s) != 0) {
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        free(s);
        return wp_err_set(err, WP_ENOMEM, "cannot start the retention sweep thread");
    }
    *out = s;
    return WP_OK;
}

void wp_sweep_stop(wp_sweep *s)
{
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->th, NULL);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}
