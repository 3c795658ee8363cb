/*
 * db_jobs: the queue in one process.  Retries follow the kind's schedule
 * with attempts and last_error visible; after the last attempt the job is
 * failed; WP_FAIL is final at once; an enqueue in a rolled-back
 * transaction never runs; run_at delays a job; a kind nobody handles stays
 * queued; registration closes at start.  Serial keys: jobs of one key never
 * overlap and start in enqueue order while other keys run in parallel; a
 * job waiting for a retry or its run_at does not hold back its key.
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
#include "jobs.h"

static dbt T;
static PGconn *C;

static int group_setup(void **state)
{
    (void)state;
    if (dbt_setup(&T) != 0) return -1;
    C = dbt_connect(&T);
    if (!C) return -1;
    if (dbt_exec(C, "CREATE TABLE keyed_runs (k text, n int, attempt int, t0 timestamptz, t1 timestamptz)") != 0)
        return -1;
    return dbt_exec(C, "CREATE TABLE attempts (job_id text, kind text, attempt int,"
                       " at timestamptz DEFAULT clock_timestamp())");
}

static int group_teardown(void **state)
{
    (void)state;
    if (C) PQfinish(C);
    dbt_teardown(&T);
    return 0;
}

static void note(const char *kind, const char *job_id, int attempt)
{
    wp_err err;
    PGconn *c = wp_db_acquire(T.db, &err);
    if (!c) return;
    char a[16];
    snprintf(a, sizeof a, "%d", attempt);
    const char *params[] = {job_id, kind, a};
    wp_db_query(c, "INSERT INTO attempts (job_id, kind, attempt) VALUES ($1, $2, $3::int)", 3, params, NULL, &err);
    wp_db_release(T.db, c);
}

/* Succeeds on attempt payload.succeed_on (0: never); otherwise asks for a retry. */
static wp_status flaky(const char *kind, json_object *payload, const char *job_id, int attempt, void *ud, wp_err *err)
{
    note(kind, job_id, attempt);
    json_object *v;
    int succeed_on = json_object_object_get_ex(payload, "succeed_on", &v) ? json_object_get_int(v) : 0;
    if (attempt == succeed_on) return WP_OK;
    return wp_err_set(err, WP_RETRY, "boom %d", attempt);
}

static wp_status permanent(const char *kind, json_object *payload, const char *job_id, int attempt, void *ud,
                           wp_err *err)
{
    note(kind, job_id, attempt);
    return wp_err_set(err, WP_FAIL, "the input can never work");
}

static wp_status ok(const char *kind, json_object *payload, const char *job_id, int attempt, void *ud, wp_err *err)
{
    note(kind, job_id, attempt);
    return WP_OK;
}

/* Records its run [t0, t1] of payload {k, n}, holding the job for a while so
 * that runs of one key would overlap if the queue let them; payload.retry_once
 * asks for one retry first. */
static wp_status keyed(const char *kind, json_object *payload, const char *job_id, int attempt, void *ud, wp_err *err)
{
    (void)kind, (void)job_id, (void)ud;
    json_object *k, *n, *r;
    json_object_object_get_ex(payload, "k", &k);
    json_object_object_get_ex(payload, "n", &n);
    int retry_once = json_object_object_get_ex(payload, "retry_once", &r) && json_object_get_boolean(r);
    PGconn *c = wp_db_acquire(T.db, err);
    if (!c) return WP_RETRY;
    char a[16];
    snprintf(a, sizeof a, "%d", attempt);
    const char *params[] = {json_object_get_string(k), json_object_get_string(n), a};
    PGresult *res = NULL;
    wp_status st = wp_db_query(c, "SELECT clock_timestamp()::text", 0, NULL, &res, err);
    char t0[64] = "";
    if (st == WP_OK) snprintf(t0, sizeof t0, "%s", PQgetvalue(res, 0, 0));
    if (res) PQclear(res);
    dbt_sleep_ms(30);
    const char *p4[] = {params[0], params[1], params[2], t0};
    if (st == WP_OK)
        st = wp_db_query(c, "INSERT INTO keyed_runs VALUES ($1, $2::int, $3::int, $4::timestamptz, clock_timestamp())",
                         4, p4, NULL, err);
    wp_db_release(T.db, c);
    if (st != WP_OK) return WP_RETRY;
    if (retry_once && attempt == 1) return wp_err_set(err, WP_RETRY, "once more");
    return WP_OK;
}

static long long q1(const char *fmt, const char *id)
{
    char sql[512];
    snprintf(sql, sizeof sql, fmt, id);
    return dbt_ll(C, sql);
}

static long long wait1(const char *fmt, const char *id, long long want, int ms)
{
    char sql[512];
    snprintf(sql, sizeof sql, fmt, id);
    return dbt_wait_ll(C, sql, want, ms);
}

static void test_retry_schedule_attempts_and_failure(void **state)
{
    (void)state;
    wp_err err;
    wp_err_clear(&err);
    wp_jobs *q;
    assert_int_equal(wp_jobs_new(T.db, NULL, 3, 30, 100, &q, &err), WP_OK);
    static const int sched[] = {2, 1}; /* 2 s: the queued state between attempts stays long enough to see */
    assert_int_equal(wp_jobs_register(q, "t.flaky", flaky, NULL, sched, 2, &err), WP_OK);
    assert_int_equal(wp_jobs_register(q, "t.perm", permanent, NULL, sched, 2, &err), WP_OK);
    assert_int_equal(wp_jobs_register(q, "t.flaky", flaky, NULL, sched, 2, &err), WP_ECONFLICT);
    assert_int_equal(wp_jobs_register(q, "bad kind", flaky, NULL, NULL, 0, &err), WP_EINVAL);
    assert_int_equal(wp_jobs_register(q, "t.x", flaky, NULL, NULL, 1, &err), WP_EINVAL);

    char never[48], second[48], perm[48];
    json_object *p0 = json_tokener_parse("{\"succeed_on\":0}"), *p2 = json_tokener_parse("{\"succeed_on\":2}");
    assert_int_equal(wp_jobs_enqueue(q, NULL, NULL, "t.flaky", p0, 0, never, &err), WP_OK);
    assert_int_equal(wp_jobs_enqueue(q, NULL, "acct_x", "t.flaky", p2, 0, second, &err), WP_OK);
    assert_int_equal(wp_jobs_enqueue(q, NULL, NULL, "t.perm", NULL, 0, perm, &err), WP_OK);
    assert_int_equal(q1("SELECT max_attempts FROM jobs WHERE id = '%s'", never), 3);
    assert_int_equal(wp_jobs_start(q, &err), WP_OK);
    assert_int_equal(wp_jobs_register(q, "t.late", ok, NULL, NULL, 0, &err), WP_ELATE);

    /* Between attempts: queued again, the attempt and its error are visible. */
    /* run_at is the requeue's now() plus the schedule's delay: exactly 2 s after updated_at. */
    assert_int_equal(wait1("SELECT count(*) FROM jobs WHERE id = '%s' AND status = 'queued' AND attempts = 1"
                           " AND last_error = 'boom 1' AND run_at = updated_at + interval '2 s'",
                           never, 1, DBT_WAIT_MS),
                     1);
    assert_int_equal(wait1("SELECT count(*) FROM jobs WHERE id = '%s' AND status = 'failed'", never, 1, DBT_WAIT_MS), 1);
    assert_int_equal(q1("SELECT attempts FROM jobs WHERE id = '%s'", never), 3);
    assert_int_equal(q1("SELECT count(*) FROM jobs WHERE id = '%s' AND last_error = 'boom 3'"
                        " AND finished_at IS NOT NULL AND locked_by IS NULL",
                        never),
                     1);
    /* The schedule: 2 s, then 1 s between attempts, never less (a busy machine may take longer:
     * the delay itself is checked above, on the requeued row). */
    assert_int_equal(q1("SELECT count(*) FROM (SELECT attempt, at - lag(at) OVER (ORDER BY attempt) AS gap FROM attempts"
                        " WHERE job_id = '%s') g WHERE gap >= CASE attempt WHEN 2 THEN interval '2 s' ELSE interval '1 s' END",
                        never),
                     2);
    assert_int_equal(q1("SELECT count(*) FROM attempts WHERE job_id = '%s'", never), 3);

    assert_int_equal(wait1("SELECT count(*) FROM jobs WHERE id = '%s' AND status = 'done'", second, 1, DBT_WAIT_MS), 1);
    assert_int_equal(q1("SELECT attempts FROM jobs WHERE id = '%s'", second), 2);
    assert_int_equal(q1("SELECT count(*) FROM jobs WHERE id = '%s' AND account_id = 'acct_x'", second), 1);

    assert_int_equal(q1("SELECT count(*) FROM jobs WHERE id = '%s' AND status = 'failed' AND attempts = 1"
                        " AND last_error = 'the input can never work'",
                        perm),
                     1);
    wp_jobs_free(q);
    json_object_put(p0);
    json_object_put(p2);
}

static void test_transactions_delays_and_unhandled_kinds(void **state)
{
    (void)state;
    wp_err err;
    wp_err_clear(&err);
    wp_jobs *q;
    assert_int_equal(wp_jobs_new(T.db, NULL, 2, 30, 100, &q, &err), WP_OK);
    assert_int_equal(wp_jobs_register(q, "t.ok", ok, NULL, NULL, 0, &err), WP_OK);
    char rolled[48], committed[48], later[48], nobody[48];
    assert_int_equal(dbt_exec(C, "BEGIN"), 0);
    assert_int_equal(wp_jobs_enqueue(q, C, NULL, "t.ok", NULL, 0, rolled, &err), WP_OK);
    assert_int_equal(dbt_exec(C, "ROLLBACK"), 0);
    assert_int_equal(dbt_exec(C, "BEGIN"), 0);
    assert_int_equal(wp_jobs_enqueue(q, C, NULL, "t.ok", NULL, 0, committed, &err), WP_OK);
    assert_int_equal(dbt_exec(C, "COMMIT"), 0);
    int64_t run_at = dbt_now_ms() + 1500; /* run no earlier: checked on the attempt's own time */
    assert_int_equal(wp_jobs_enqueue(q, NULL, NULL, "t.ok", NULL, run_at, later, &err), WP_OK);
    assert_int_equal(wp_jobs_enqueue(q, NULL, NULL, "t.nobody", NULL, 0, nobody, &err), WP_OK);
    assert_int_equal(wp_jobs_enqueue(q, NULL, NULL, "no spaces", NULL, 0, NULL, &err), WP_EINVAL);
    assert_int_equal(q1("SELECT max_attempts FROM jobs WHERE id = '%s'", nobody), 1 + WP_JOBS_DEFAULT_RETRIES);

    assert_int_equal(wp_jobs_start(q, &err), WP_OK);
    assert_int_equal(wait1("SELECT count(*) FROM jobs WHERE id = '%s' AND status = 'done'", committed, 1, DBT_WAIT_MS), 1);
    assert_int_equal(q1("SELECT count(*) FROM jobs WHERE id = '%s'", rolled), 0);
    assert_int_equal(wait1("SELECT count(*) FROM jobs WHERE id = '%s' AND status = 'done'", later, 1, DBT_WAIT_MS), 1);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM attempts WHERE job_id = '%s' AND at >= to_timestamp(%lld / 1000.0)",
             later, (long long)run_at);
    assert_int_equal(dbt_ll(C, sql), 1);
    assert_int_equal(q1("SELECT count(*) FROM jobs WHERE id = '%s' AND status = 'queued' AND attempts = 0", nobody), 1);
    wp_jobs_stop(q);
    wp_jobs_stop(q); /* twice is fine */
    wp_jobs_free(q);
}

static void test_serial_keys(void **state)
{
    (void)state;
    wp_err err;
    wp_err_clear(&err);
    wp_jobs_config cfg;
    wp_jobs_config_defaults(&cfg);
    cfg.workers = 8;
    cfg.claim_batch = 2;
    cfg.poll_ms = 50;
    wp_jobs *q;
    assert_int_equal(wp_jobs_new_cfg(T.db, NULL, &cfg, &q, &err), WP_OK);
    static const int sched[] = {1}, hour[] = {3600};
    assert_int_equal(wp_jobs_register(q, "t.keyed", keyed, NULL, sched, 1, &err), WP_OK);
    /* The same handler, retried an hour later: a retry that waits until the test lets it run. */
    assert_int_equal(wp_jobs_register(q, "t.keyed_later", keyed, NULL, hour, 1, &err), WP_OK);

    /* Malformed keys are refused, naming the parameter. */
    wp_job_opts bad = {.serial_key = "has space"};
    assert_int_equal(wp_jobs_enqueue_opts(q, NULL, NULL, "t.keyed", NULL, &bad, NULL, &err), WP_EINVAL);
    assert_string_equal(err.param, "serial_key");
    bad.serial_key = "";
    assert_int_equal(wp_jobs_enqueue_opts(q, NULL, NULL, "t.keyed", NULL, &bad, NULL, &err), WP_EINVAL);

    /* Three keys of 12 jobs each, and 12 without a key, all queued before the workers start. */
    enum { PER_KEY = 12 };
    static const char *const keys[] = {"t:acct_a:pass_1", "t:acct_a:pass_2", "t:acct_b:pass_1", NULL};
    for (int n = 0; n < PER_KEY; n++) {
        for (int i = 0; i < 4; i++) {
            json_object *p = json_object_new_object();
            json_object_object_add(p, "k", json_object_new_string(keys[i] ? keys[i] : "none"));
            json_object_object_add(p, "n", json_object_new_int(n));
            wp_job_opts o = {.serial_key = keys[i]};
            assert_int_equal(wp_jobs_enqueue_opts(q, NULL, "acct_a", "t.keyed", p, &o, NULL, &err), WP_OK);
            json_object_put(p);
        }
    }
    assert_int_equal(wp_jobs_start(q, &err), WP_OK);
    assert_int_equal(dbt_wait_ll(C, "SELECT count(*) FROM jobs WHERE kind = 't.keyed' AND status = 'done'", 4 * PER_KEY,
                                 DBT_WAIT_MS),
                     4 * PER_KEY);
    /* No two runs of one key overlap ... */
    assert_int_equal(dbt_ll(C, "SELECT count(*) FROM keyed_runs a JOIN keyed_runs b ON a.k = b.k AND a.n < b.n"
                               " WHERE a.k <> 'none' AND a.t0 < b.t1 AND b.t0 < a.t1"),
                     0);
    /* ... and they ran in enqueue order. */
    assert_int_equal(dbt_ll(C, "SELECT count(*) FROM keyed_runs a JOIN keyed_runs b ON a.k = b.k AND a.n < b.n"
                               " WHERE a.k <> 'none' AND a.t1 > b.t0"),
                     0);
    assert_int_equal(dbt_ll(C, "SELECT count(*) FROM keyed_runs WHERE k <> 'none'"), 3 * PER_KEY);
    /* Nothing is left running, so no key is held. */
    assert_int_equal(dbt_ll(C, "SELECT count(*) FROM jobs WHERE status = 'running'"), 0);

    /* A job waiting for its retry, or for its run_at, does not hold back its key.  Both waits
     * are an hour long, so the other job of each key runs first however slow the machine; then
     * the waits are cut short and the waiting jobs run too. */
    assert_int_equal(dbt_exec(C, "DELETE FROM keyed_runs"), 0);
    json_object *first = json_tokener_parse("{\"k\":\"t:r\",\"n\":1,\"retry_once\":true}");
    json_object *second = json_tokener_parse("{\"k\":\"t:r\",\"n\":2}");
    json_object *delayed = json_tokener_parse("{\"k\":\"t:d\",\"n\":1}");
    json_object *now = json_tokener_parse("{\"k\":\"t:d\",\"n\":2}");
    wp_job_opts r = {.serial_key = "t:r"}, d = {.serial_key = "t:d", .run_at_unix_ms = dbt_now_ms() + 3600 * 1000},
                dn = {.serial_key = "t:d"};
    char id1[48], idd[48], sql[256];
    assert_int_equal(wp_jobs_enqueue_opts(q, NULL, NULL, "t.keyed_later", first, &r, id1, &err), WP_OK);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM jobs WHERE id = '%s' AND status = 'queued' AND attempts = 1", id1);
    assert_int_equal(dbt_wait_ll(C, sql, 1, DBT_WAIT_MS), 1); /* ran once, waits for its retry */
    assert_int_equal(wp_jobs_enqueue_opts(q, NULL, NULL, "t.keyed", second, &r, NULL, &err), WP_OK);
    assert_int_equal(wp_jobs_enqueue_opts(q, NULL, NULL, "t.keyed", delayed, &d, idd, &err), WP_OK);
    assert_int_equal(wp_jobs_enqueue_opts(q, NULL, NULL, "t.keyed", now, &dn, NULL, &err), WP_OK);
    assert_int_equal(dbt_wait_ll(C, "SELECT count(*) FROM keyed_runs", 3, DBT_WAIT_MS), 3);
    snprintf(sql, sizeof sql, "UPDATE jobs SET run_at = now() WHERE id IN ('%s', '%s') AND status = 'queued'", id1, idd);
    assert_int_equal(dbt_exec(C, sql), 0);
    assert_int_equal(dbt_wait_ll(C, "SELECT count(*) FROM keyed_runs", 5, DBT_WAIT_MS), 5);
    /* n = 2 of "t:r" ran between the two attempts of n = 1; n = 2 of "t:d" before n = 1. */
    assert_int_equal(dbt_ll(C, "SELECT count(*) FROM keyed_runs a JOIN keyed_runs b ON a.k = b.k"
                               " WHERE a.k = 't:r' AND a.n = 1 AND a.attempt = 2 AND b.n = 2 AND b.t1 <= a.t0"),
                     1);
    assert_int_equal(dbt_ll(C, "SELECT count(*) FROM keyed_runs a JOIN keyed_runs b ON a.k = b.k"
                               " WHERE a.k = 't:d' AND a.n = 1 AND b.n = 2 AND b.t1 <= a.t0"),
                     1);
    json_object_put(first);
    json_object_put(second);
    json_object_put(delayed);
    json_object_put(now);
    wp_jobs_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_schedule_attempts_and_failure),
        cmocka_unit_test(test_transactions_delays_and_unhandled_kinds),
        cmocka_unit_test(test_serial_keys),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
