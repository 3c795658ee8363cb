/*
 * db_jobs: the queue in one process.  Retries follow the kind's schedule
 * with attempts and last_error visible; after the last attempt the job is
 * failed; WP_FAIL is final at once; an enqueue in a rolled-back
 * transaction never runs; run_at delays a job; a kind nobody handles stays
 * queued; registration closes at start.
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
    static const int sched[] = {1, 1};
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
    assert_int_equal(wait1("SELECT count(*) FROM jobs WHERE id = '%s' AND status = 'queued' AND attempts = 1"
                           " AND last_error = 'boom 1' AND run_at > now()",
                           never, 1, 5000),
                     1);
    assert_int_equal(wait1("SELECT count(*) FROM jobs WHERE id = '%s' AND status = 'failed'", never, 1, 10000), 1);
    assert_int_equal(q1("SELECT attempts FROM jobs WHERE id = '%s'", never), 3);
    assert_int_equal(q1("SELECT count(*) FROM jobs WHERE id = '%s' AND last_error = 'boom 3'"
                        " AND finished_at IS NOT NULL AND locked_by IS NULL",
                        never),
                     1);
    /* The schedule: about 1 s between attempts (never less). */
    assert_int_equal(q1("SELECT count(*) FROM (SELECT at - lag(at) OVER (ORDER BY attempt) AS gap FROM attempts"
                        " WHERE job_id = '%s') g WHERE gap >= interval '1 s' AND gap < interval '2.5 s'",
                        never),
                     2);
    assert_int_equal(q1("SELECT count(*) FROM attempts WHERE job_id = '%s'", never), 3);

    assert_int_equal(wait1("SELECT count(*) FROM jobs WHERE id = '%s' AND status = 'done'", second, 1, 5000), 1);
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
    int64_t run_at = dbt_now_ms() + 1500;
    assert_int_equal(wp_jobs_enqueue(q, NULL, NULL, "t.ok", NULL, run_at, later, &err), WP_OK);
    assert_int_equal(wp_jobs_enqueue(q, NULL, NULL, "t.nobody", NULL, 0, nobody, &err), WP_OK);
    assert_int_equal(wp_jobs_enqueue(q, NULL, NULL, "no spaces", NULL, 0, NULL, &err), WP_EINVAL);
    assert_int_equal(q1("SELECT max_attempts FROM jobs WHERE id = '%s'", nobody), 1 + WP_JOBS_DEFAULT_RETRIES);

    assert_int_equal(wp_jobs_start(q, &err), WP_OK);
    assert_int_equal(wait1("SELECT count(*) FROM jobs WHERE id = '%s' AND status = 'done'", committed, 1, 5000), 1);
    assert_int_equal(q1("SELECT count(*) FROM jobs WHERE id = '%s'", rolled), 0);
    assert_int_equal(q1("SELECT count(*) FROM jobs WHERE id = '%s' AND status = 'queued'", later), 1);
    assert_int_equal(wait1("SELECT count(*) FROM jobs WHERE id = '%s' AND status = 'done'", later, 1, 5000), 1);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM attempts WHERE job_id = '%s' AND at >= to_timestamp(%lld / 1000.0)",
             later, (long long)run_at);
    assert_int_equal(dbt_ll(C, sql), 1);
    assert_int_equal(q1("SELECT count(*) FROM jobs WHERE id = '%s' AND status = 'queued' AND attempts = 0", nobody), 1);
    wp_jobs_stop(q);
    wp_jobs_stop(q); /* twice is fine */
    wp_jobs_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_schedule_attempts_and_failure),
        cmocka_unit_test(test_transactions_delays_and_unhandled_kinds),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
