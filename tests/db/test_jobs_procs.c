/*
 * db_jobs_procs: the queue across processes (fork).
 *  - two processes, thousands of jobs: every job runs exactly once, no two
 *    runs of a job overlap, completed == enqueued;
 *  - a job whose process (on another host) is SIGKILLed mid-handler runs
 *    again elsewhere once its lease expires (not before);
 *  - a job whose process on this host is SIGKILLed is taken over at once by
 *    the next process, whatever the lease (the owner's pid is gone);
 *  - a job whose process on another host is SIGKILLed is taken over once the
 *    process's heartbeat row expires (dead_after_seconds), not after the lease;
 *  - a handler running longer than the lease keeps it (renewal), so a second
 *    process never runs the job at the same time.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "dbtest.h"
#include "jobs.h"

static dbt T;
static PGconn *C;
static wp_db *g_pool;  /* this process's pool for the handlers */
static int g_note_fd = -1; /* the SIGKILL test's child reports through it */

static int group_setup(void **state)
{
    (void)state;
    if (dbt_setup(&T) != 0) return -1;
    g_pool = T.db;
    C = dbt_connect(&T);
    if (!C) return -1;
    return dbt_exec(C, "CREATE TABLE runs (job_id text, kind text, pid int, attempt int, t0 bigint, t1 bigint)");
}

static int group_teardown(void **state)
{
    (void)state;
    if (C) PQfinish(C);
    dbt_teardown(&T);
    return 0;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Records one run [t0, t1] of a job (wall-clock µs, comparable across processes). */
static wp_status record_run(const char *kind, const char *job_id, int attempt, int64_t t0, int64_t t1, wp_err *err)
{
    PGconn *c = wp_db_acquire(g_pool, err);
    if (!c) return WP_RETRY;
    char pid[16], a[16], s0[24], s1[24];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    snprintf(a, sizeof a, "%d", attempt);
    snprintf(s0, sizeof s0, "%lld", (long long)t0);
    snprintf(s1, sizeof s1, "%lld", (long long)t1);
    const char *params[] = {job_id, kind, pid, a, s0, t1 ? s1 : NULL};
    wp_status st = wp_db_query(c,
                               "INSERT INTO runs (job_id, kind, pid, attempt, t0, t1)"
                               " VALUES ($1, $2, $3::int, $4::int, $5::bigint, $6::bigint)",
                               6, params, NULL, err);
    wp_db_release(g_pool, c);
    return st == WP_OK ? WP_OK : WP_RETRY;
}

static wp_status work(const char *kind, json_object *payload, const char *job_id, int attempt, void *ud, wp_err *err)
{
    int64_t t0 = now_us();
    int sleep_ms = ud ? *(const int *)ud : 0;
    if (sleep_ms) dbt_sleep_ms(sleep_ms);
    else {
        struct timespec ts = {0, 200000}; /* 0.2 ms: runs have a length to overlap in */
        nanosleep(&ts, NULL);
    }
    return record_run(kind, job_id, attempt, t0, now_us(), err);
}

/* Records the start, tells the parent, then hangs until killed. */
static wp_status hang(const char *kind, json_object *payload, const char *job_id, int attempt, void *ud, wp_err *err)
{
    record_run(kind, job_id, attempt, now_us(), 0, err);
    if (write(g_note_fd, "s", 1) != 1) _exit(7);
    for (;;) pause();
}

/*
 * A worker process: own pool, own queue with `kind` -> fn, started; writes
 * 'r' to ready_fd, runs until a byte arrives on stop_fd, then stops cleanly.
 */
static void worker_process(const char *kind, wp_job_fn fn, void *ud, int nworkers, int lease, int batch, int ready_fd,
                           int stop_fd)
{
    wp_err err;
    wp_err_clear(&err);
    wp_db_options o = {.url = T.url, .pool_size = nworkers + 1, .acquire_timeout_ms = 10000, .connect_timeout_s = DBT_CONNECT_TIMEOUT_S,
                       .application_name = "worker"};
    if (wp_db_open(&o, &g_pool, &err) != WP_OK) _exit(3);
    wp_jobs_config cfg;
    wp_jobs_config_defaults(&cfg);
    cfg.workers = nworkers;
    cfg.lease_seconds = lease;
    cfg.poll_ms = 100;
    cfg.claim_batch = batch;
    wp_jobs *q;
    if (wp_jobs_new_cfg(g_pool, NULL, &cfg, &q, &err) != WP_OK || wp_jobs_register(q, kind, fn, ud, NULL, 0, &err) != WP_OK ||
        wp_jobs_start(q, &err) != WP_OK)
        _exit(4);
    if (write(ready_fd, "r", 1) != 1) _exit(5);
    char b;
    if (stop_fd >= 0) {
        if (read(stop_fd, &b, 1) != 1) _exit(6);
    } else {
        for (;;) pause();
    }
    wp_jobs_free(q);
    wp_db_close(g_pool);
    _exit(0);
}

typedef struct child {
    pid_t pid;
    int ready, stop;
} child;

static child spawn(const char *kind, wp_job_fn fn, void *ud, int nworkers, int lease, int batch)
{
    int r[2], s[2];
    assert_int_equal(pipe(r), 0);
    assert_int_equal(pipe(s), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(r[0]);
        close(s[1]);
        worker_process(kind, fn, ud, nworkers, lease, batch, r[1], s[0]);
    }
    close(r[1]);
    close(s[0]);
    char b;
    assert_int_equal(read(r[0], &b, 1), 1); /* started */
    return (child){pid, r[0], s[1]};
}

static void reap(child *ch)
{
    assert_int_equal(write(ch->stop, "q", 1), 1);
    int status = 0;
    assert_int_equal(waitpid(ch->pid, &status, 0), ch->pid);
    close(ch->ready);
    close(ch->stop);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

#define NJOBS 4000

static void test_two_processes_thousands_of_jobs(void **state)
{
    (void)state;
    child a = spawn("t.work", work, NULL, 3, 30, 1);
    child b = spawn("t.work", work, NULL, 3, 30, 4);
    wp_err err;
    wp_err_clear(&err);
    wp_jobs *q; /* enqueue only */
    assert_int_equal(wp_jobs_new(T.db, NULL, 0, 30, 100, &q, &err), WP_OK);
    /* In transactions of 500, so the workers start while more arrive. */
    for (int i = 0; i < NJOBS; i++) {
        if (i % 500 == 0) assert_int_equal(dbt_exec(C, "BEGIN"), 0);
        json_object *p = json_object_new_object();
        json_object_object_add(p, "i", json_object_new_int(i));
        assert_int_equal(wp_jobs_enqueue(q, C, NULL, "t.work", p, 0, NULL, &err), WP_OK);
        json_object_put(p);
        if (i % 500 == 499) assert_int_equal(dbt_exec(C, "COMMIT"), 0);
    }
    assert_int_equal(dbt_wait_ll(C, "SELECT count(*) FROM jobs WHERE kind = 't.work' AND status = 'done'", NJOBS, DBT_WAIT_MS),
                     NJOBS);
    reap(&a);
    reap(&b);
    wp_jobs_free(q);
    assert_int_equal(dbt_ll(C, "SELECT count(*) FROM jobs WHERE kind = 't.work'"), NJOBS);
    assert_int_equal(dbt_ll(C, "SELECT count(*) FROM jobs WHERE kind = 't.work' AND status <> 'done'"), 0);
    assert_int_equal(dbt_ll(C, "SELECT sum(attempts) FROM jobs WHERE kind = 't.work'"), NJOBS);
    /* every job ran, exactly once (so never twice at once) */
    assert_int_equal(dbt_ll(C, "SELECT count(*) FROM runs WHERE kind = 't.work'"), NJOBS);
    assert_int_equal(dbt_ll(C, "SELECT count(DISTINCT job_id) FROM runs WHERE kind = 't.work'"), NJOBS);
    assert_int_equal(dbt_ll(C, "SELECT count(*) FROM runs x JOIN runs y ON x.job_id = y.job_id AND x.ctid <> y.ctid"
                               " AND x.t0 < y.t1 AND y.t0 < x.t1 WHERE x.kind = 't.work'"),
                     0);
    /* both processes took part */
    assert_int_equal(dbt_ll(C, "SELECT count(DISTINCT pid) FROM runs WHERE kind = 't.work'"), 2);
    /* and the payloads arrived intact */
    assert_int_equal(dbt_ll(C, "SELECT count(DISTINCT payload->>'i') FROM jobs WHERE kind = 't.work'"), NJOBS);
}

static void test_lease_expiry_after_sigkill(void **state)
{
    (void)state;
    wp_err err;
    wp_err_clear(&err);
    wp_jobs *q;
    assert_int_equal(wp_jobs_new(T.db, NULL, 1, 2, 100, &q, &err), WP_OK);
    assert_int_equal(wp_jobs_register(q, "t.hang", work, NULL, NULL, 0, &err), WP_OK);
    char id[48];
    assert_int_equal(wp_jobs_enqueue(q, NULL, NULL, "t.hang", NULL, 0, id, &err), WP_OK);

    int note[2];
    assert_int_equal(pipe(note), 0);
    g_note_fd = note[1];
    child ch = spawn("t.hang", hang, NULL, 1, 2, 1);
    char b;
    assert_int_equal(read(note[0], &b, 1), 1); /* the child is inside the handler */
    kill(ch.pid, SIGKILL);
    int status;
    assert_int_equal(waitpid(ch.pid, &status, 0), ch.pid);
    assert_true(WIFSIGNALED(status));
    close(note[0]);
    close(note[1]);
    close(ch.ready);
    close(ch.stop);
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM jobs WHERE id = '%s' AND status = 'running' AND attempts = 1"
                              " AND locked_by LIKE '%%:%d:%%'", id, (int)ch.pid);
    assert_int_equal(dbt_ll(C, sql), 1);
    /* As if the dead process ran on another host: only the lease can tell it is gone. */
    snprintf(sql, sizeof sql, "UPDATE jobs SET locked_by = 'elsewhere' || substr(locked_by, strpos(locked_by, ':'))"
                              " WHERE id = '%s'", id);
    assert_int_equal(dbt_exec(C, sql), 0);
    snprintf(sql, sizeof sql, "SELECT (extract(epoch FROM locked_until) * 1000000)::bigint FROM jobs WHERE id = '%s'", id);
    long long lease_end = dbt_ll(C, sql);

    /* Another process (this one) picks it up once the lease has lapsed. */
    assert_int_equal(wp_jobs_start(q, &err), WP_OK);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM jobs WHERE id = '%s' AND status = 'done'", id);
    assert_int_equal(dbt_wait_ll(C, sql, 1, DBT_WAIT_MS), 1);
    wp_jobs_free(q);
    snprintf(sql, sizeof sql, "SELECT attempts FROM jobs WHERE id = '%s' AND last_error LIKE 'lease expired%%'", id);
    assert_int_equal(dbt_ll(C, sql), 2);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE job_id = '%s'", id);
    assert_int_equal(dbt_ll(C, sql), 2);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE job_id = '%s' AND pid = %d AND attempt = 2 AND t0 >= %lld",
             id, (int)getpid(), lease_end);
    assert_int_equal(dbt_ll(C, sql), 1);
}

/* Same host: the pid in the owner id is gone, so an hour's lease does not hold the job up. */
static void test_dead_owner_on_this_host_taken_over_at_once(void **state)
{
    (void)state;
    wp_err err;
    wp_err_clear(&err);
    wp_jobs *q;
    assert_int_equal(wp_jobs_new(T.db, NULL, 1, 3600, 100, &q, &err), WP_OK);
    assert_int_equal(wp_jobs_register(q, "t.hang2", work, NULL, NULL, 0, &err), WP_OK);
    char id[48];
    assert_int_equal(wp_jobs_enqueue(q, NULL, NULL, "t.hang2", NULL, 0, id, &err), WP_OK);

    int note[2];
    assert_int_equal(pipe(note), 0);
    g_note_fd = note[1];
    child ch = spawn("t.hang2", hang, NULL, 1, 3600, 1);
    char b;
    assert_int_equal(read(note[0], &b, 1), 1);
    kill(ch.pid, SIGKILL);
    int status;
    assert_int_equal(waitpid(ch.pid, &status, 0), ch.pid);
    close(note[0]);
    close(note[1]);
    close(ch.ready);
    close(ch.stop);
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM jobs WHERE id = '%s' AND status = 'running' AND attempts = 1"
                              " AND locked_by LIKE '%%:%d:%%' AND locked_until > now() + interval '50 minutes'",
             id, (int)ch.pid);
    assert_int_equal(dbt_ll(C, sql), 1);

    assert_int_equal(wp_jobs_start(q, &err), WP_OK);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM jobs WHERE id = '%s' AND status = 'done'", id);
    assert_int_equal(dbt_wait_ll(C, sql, 1, DBT_WAIT_MS), 1);
    wp_jobs_free(q);
    snprintf(sql, sizeof sql, "SELECT attempts FROM jobs WHERE id = '%s' AND last_error LIKE 'owner died: %%:%d:%%'", id,
             (int)ch.pid);
    assert_int_equal(dbt_ll(C, sql), 2);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE job_id = '%s' AND pid = %d AND attempt = 2", id,
             (int)getpid());
    assert_int_equal(dbt_ll(C, sql), 1);
}

/* Another host: no pid to check, but the dead process's heartbeat row expires long before an hour's lease. */
static void test_dead_owner_elsewhere_taken_over_by_heartbeat(void **state)
{
    (void)state;
    wp_err err;
    wp_err_clear(&err);
    wp_jobs *q;
    assert_int_equal(wp_jobs_new(T.db, NULL, 1, 3600, 100, &q, &err), WP_OK);
    assert_int_equal(wp_jobs_register(q, "t.hang3", work, NULL, NULL, 0, &err), WP_OK);
    char id[48];
    assert_int_equal(wp_jobs_enqueue(q, NULL, NULL, "t.hang3", NULL, 0, id, &err), WP_OK);

    int note[2];
    assert_int_equal(pipe(note), 0);
    g_note_fd = note[1];
    child ch = spawn("t.hang3", hang, NULL, 1, 3600, 1);
    char b;
    assert_int_equal(read(note[0], &b, 1), 1);
    char sql[400];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM gateway_processes WHERE owner LIKE '%%:%d:%%'", (int)ch.pid);
    assert_int_equal(dbt_wait_ll(C, sql, 1, DBT_WAIT_MS), 1); /* the child's heartbeat row */
    kill(ch.pid, SIGKILL);
    int status;
    assert_int_equal(waitpid(ch.pid, &status, 0), ch.pid);
    close(note[0]);
    close(note[1]);
    close(ch.ready);
    close(ch.stop);
    /* As if the dead process ran on another host: its job and its row name that host. */
    snprintf(sql, sizeof sql, "UPDATE jobs SET locked_by = 'elsewhere' || substr(locked_by, strpos(locked_by, ':'))"
                              " WHERE id = '%s' AND locked_until > now() + interval '50 minutes'", id);
    assert_int_equal(dbt_exec(C, sql), 0);
    snprintf(sql, sizeof sql, "UPDATE gateway_processes SET owner = 'elsewhere' || substr(owner, strpos(owner, ':'))"
                              " WHERE owner LIKE '%%:%d:%%'", (int)ch.pid);
    assert_int_equal(dbt_exec(C, sql), 0);

    assert_int_equal(wp_jobs_start(q, &err), WP_OK);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM jobs WHERE id = '%s' AND status = 'done'", id);
    assert_int_equal(dbt_wait_ll(C, sql, 1, DBT_WAIT_MS), 1);
    wp_jobs_free(q);
    snprintf(sql, sizeof sql,
             "SELECT attempts FROM jobs WHERE id = '%s' AND last_error LIKE 'owner died: elsewhere:%d:%%heartbeat stopped%%'",
             id, (int)ch.pid);
    assert_int_equal(dbt_ll(C, sql), 2);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM gateway_processes WHERE owner LIKE 'elsewhere:%d:%%'", (int)ch.pid);
    assert_int_equal(dbt_ll(C, sql), 0);
    /* this process left the registry at its stop */
    assert_int_equal(dbt_ll(C, "SELECT count(*) FROM gateway_processes"), 0);
}

static void test_long_handler_keeps_its_lease(void **state)
{
    (void)state;
    static const int ms = 3500; /* over three 1 s leases */
    child a = spawn("t.slow", work, (void *)&ms, 2, 1, 1);
    child b = spawn("t.slow", work, (void *)&ms, 2, 1, 1);
    wp_err err;
    wp_err_clear(&err);
    wp_jobs *q;
    assert_int_equal(wp_jobs_new(T.db, NULL, 0, 1, 100, &q, &err), WP_OK);
    for (int i = 0; i < 3; i++) assert_int_equal(wp_jobs_enqueue(q, NULL, NULL, "t.slow", NULL, 0, NULL, &err), WP_OK);
    assert_int_equal(dbt_wait_ll(C, "SELECT count(*) FROM jobs WHERE kind = 't.slow' AND status = 'done'", 3, DBT_WAIT_MS), 3);
    reap(&a);
    reap(&b);
    wp_jobs_free(q);
    assert_int_equal(dbt_ll(C, "SELECT count(*) FROM runs WHERE kind = 't.slow'"), 3);
    assert_int_equal(dbt_ll(C, "SELECT count(*) FROM runs WHERE kind = 't.slow' AND t1 - t0 >= 3500000"), 3);
    assert_int_equal(dbt_ll(C, "SELECT sum(attempts) FROM jobs WHERE kind = 't.slow' AND last_error IS NULL"), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_processes_thousands_of_jobs),
        cmocka_unit_test(test_lease_expiry_after_sigkill),
        cmocka_unit_test(test_dead_owner_on_this_host_taken_over_at_once),
        cmocka_unit_test(test_dead_owner_elsewhere_taken_over_by_heartbeat),
        cmocka_unit_test(test_long_handler_keeps_its_lease),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
