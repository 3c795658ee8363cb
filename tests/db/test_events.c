/*
 * db_events: the transactional outbox.  An event published in a
 * transaction that rolls back is never delivered; one that commits is
 * delivered, also when the publishing process is SIGKILLed right after
 * the commit and a fresh process starts the workers.  The deliveries of one
 * pass's events to one subscriber run one at a time, in publish order.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "dbtest.h"
#include "events.h"
#include "jobs.h"

static dbt T;
static wp_db *g_pool; /* the pool the handlers of this process record through */

static int group_setup(void **state)
{
    (void)state;
    if (dbt_setup(&T) != 0) return -1;
    g_pool = T.db;
    PGconn *c = dbt_connect(&T);
    if (!c) return -1;
    int rc = dbt_account(c, "acct_a") || dbt_account(c, "acct_b") ||
             dbt_exec(c, "CREATE TABLE spans (subscriber text, pass text, n int, t0 timestamptz, t1 timestamptz)") ||
             dbt_exec(c, "CREATE TABLE delivered (event_id text, subscriber text, type text, account_id text,"
                         " data jsonb, pid int, at timestamptz DEFAULT clock_timestamp())");
    PQfinish(c);
    return rc ? -1 : 0;
}

static int group_teardown(void **state)
{
    (void)state;
    dbt_teardown(&T);
    return 0;
}

static wp_status record(const wp_event_delivery *d, void *ud, wp_err *err)
{
    const char *type = d->type, *event_id = d->event_id, *account_id = d->account_id;
    json_object *data = d->data;
    /* every delivery says when the event was published and which attempt this is */
    if (!d->created_at || strlen(d->created_at) < 20 || d->created_at[10] != 'T' || d->attempt < 1)
        return wp_err_set(err, WP_FAIL, "delivery of %s lacks created_at or attempt", event_id);
    PGconn *c = wp_db_acquire(g_pool, err);
    if (!c) return WP_RETRY;
    char pid[16];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    const char *params[] = {event_id, ud, type, account_id, json_object_to_json_string(data), pid};
    wp_status st = wp_db_query(c,
                               "INSERT INTO delivered (event_id, subscriber, type, account_id, data, pid)"
                               " VALUES ($1, $2, $3, $4, $5::jsonb, $6::int)",
                               6, params, NULL, err);
    wp_db_release(g_pool, c);
    return st == WP_OK ? WP_OK : WP_RETRY;
}

static const int delays[] = {1, 1};

/* A queue with the suite's two subscriptions: "rec" on pass.created, "all" on "*". */
static void make_bus(wp_jobs **q, wp_events **ev)
{
    wp_err err;
    wp_err_clear(&err);
    assert_int_equal(wp_jobs_new(g_pool, NULL, 2, 30, 100, q, &err), WP_OK);
    assert_int_equal(wp_events_new(*q, ev, &err), WP_OK);
    assert_int_equal(wp_events_subscribe(*ev, "pass.created", "rec", record, "rec", delays, 2, &err), WP_OK);
    assert_int_equal(wp_events_subscribe(*ev, "*", "all", record, "all", delays, 2, &err), WP_OK);
}

static long long count(PGconn *c, const char *fmt, const char *arg)
{
    char sql[512];
    snprintf(sql, sizeof sql, fmt, arg);
    return dbt_ll(c, sql);
}

static void test_rollback_never_delivered_commit_delivered(void **state)
{
    (void)state;
    wp_jobs *q;
    wp_events *ev;
    make_bus(&q, &ev);
    wp_err err;
    wp_err_clear(&err);
    PGconn *c = dbt_connect(&T);
    assert_non_null(c);
    json_object *d1 = json_tokener_parse("{\"n\":1}"), *d2 = json_tokener_parse("{\"n\":2,\"s\":\"caf\\u00e9\"}");
    char rb[48], ok[48], voided[48];

    assert_int_equal(dbt_exec(c, "BEGIN"), 0);
    assert_int_equal(wp_events_publish(ev, c, "acct_a", "pass.created", d1, rb, &err), WP_OK);
    assert_int_equal(dbt_exec(c, "ROLLBACK"), 0);

    assert_int_equal(dbt_exec(c, "BEGIN"), 0);
    assert_int_equal(wp_events_publish(ev, c, "acct_a", "pass.created", d2, ok, &err), WP_OK);
    assert_int_equal(dbt_exec(c, "COMMIT"), 0);
    /* conn NULL: its own transaction */
    assert_int_equal(wp_events_publish(ev, NULL, "acct_b", "pass.voided", NULL, voided, &err), WP_OK);
    assert_true(strncmp(ok, "evt_", 4) == 0);

    /* Nothing of the rolled-back one exists: neither the event nor a delivery job. */
    assert_int_equal(count(c, "SELECT count(*) FROM events WHERE id = '%s'", rb), 0);
    assert_int_equal(count(c, "SELECT count(*) FROM jobs WHERE payload->>'event_id' = '%s'", rb), 0);
    assert_int_equal(count(c, "SELECT count(*) FROM jobs WHERE payload->>'event_id' = '%s'", ok), 2);
    assert_int_equal(count(c, "SELECT count(*) FROM jobs WHERE payload->>'event_id' = '%s'", voided), 1);

    assert_int_equal(wp_jobs_start(q, &err), WP_OK);
    /* Registration is closed once the workers run. */
    assert_int_equal(wp_events_subscribe(ev, "pass.updated", "late", record, "late", NULL, 0, &err), WP_ELATE);

    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM delivered WHERE event_id IN ('%s', '%s')", ok, voided);
    assert_int_equal(dbt_wait_ll(c, sql, 3, DBT_WAIT_MS), 3);
    assert_int_equal(count(c, "SELECT count(*) FROM delivered WHERE event_id = '%s' AND subscriber = 'rec'"
                              " AND type = 'pass.created' AND account_id = 'acct_a'"
                              " AND data = '{\"n\":2,\"s\":\"caf\\u00e9\"}'::jsonb", ok), 1);
    assert_int_equal(count(c, "SELECT count(*) FROM delivered WHERE event_id = '%s' AND subscriber = 'all'", ok), 1);
    assert_int_equal(count(c, "SELECT count(*) FROM delivered WHERE event_id = '%s' AND subscriber = 'all'"
                              " AND data = '{}'::jsonb AND account_id = 'acct_b'", voided), 1);
    dbt_sleep_ms(500); /* several poll periods: a stray delivery would show now */
    assert_int_equal(count(c, "SELECT count(*) FROM delivered WHERE event_id = '%s'", rb), 0);
    assert_int_equal(dbt_ll(c, "SELECT count(*) FROM delivered"), 3);
    assert_int_equal(dbt_ll(c, "SELECT count(*) FROM jobs WHERE status <> 'done'"), 0);

    /* The stored document. */
    json_object *doc = NULL;
    assert_int_equal(wp_events_get(ev, NULL, "acct_a", ok, &doc, &err), WP_OK);
    json_object *v;
    assert_true(json_object_object_get_ex(doc, "schema", &v) && json_object_get_int(v) == WP_EVENT_SCHEMA);
    assert_true(json_object_object_get_ex(doc, "type", &v) && strcmp(json_object_get_string(v), "pass.created") == 0);
    assert_true(json_object_object_get_ex(doc, "created_at", &v) && strlen(json_object_get_string(v)) == 24);
    json_object_put(doc);
    /* another account's event is not found */
    assert_int_equal(wp_events_get(ev, NULL, "acct_b", ok, &doc, &err), WP_ENOTFOUND);
    /* an unknown account is refused, naming the field */
    assert_int_equal(wp_events_publish(ev, NULL, "acct_nobody", "pass.created", NULL, NULL, &err), WP_ENOTFOUND);
    assert_string_equal(err.param, "account_id");
    assert_int_equal(wp_events_publish(ev, NULL, "acct_a", "bad type!", NULL, NULL, &err), WP_EINVAL);

    wp_jobs_stop(q);
    wp_events_free(ev);
    wp_jobs_free(q);
    json_object_put(d1);
    json_object_put(d2);
    assert_int_equal(dbt_exec(c, "TRUNCATE delivered"), 0);
    PQfinish(c);
}

/* Records [t0, t1] of a delivery of {pass: {id}, n}, holding it a while so
 * that deliveries of one pass would overlap if nothing ordered them. */
static wp_status span(const wp_event_delivery *d, void *ud, wp_err *err)
{
    json_object *p = NULL, *id = NULL, *n = NULL;
    json_object_object_get_ex(d->data, "pass", &p);
    if (p) json_object_object_get_ex(p, "id", &id);
    json_object_object_get_ex(d->data, "n", &n);
    PGconn *c = wp_db_acquire(g_pool, err);
    if (!c) return WP_RETRY;
    PGresult *r = NULL;
    char t0[64] = "";
    wp_status st = wp_db_query(c, "SELECT clock_timestamp()::text", 0, NULL, &r, err);
    if (st == WP_OK) snprintf(t0, sizeof t0, "%s", PQgetvalue(r, 0, 0));
    if (r) PQclear(r);
    dbt_sleep_ms(25);
    const char *params[] = {ud, id ? json_object_get_string(id) : NULL, json_object_get_string(n), t0};
    if (st == WP_OK)
        st = wp_db_query(c, "INSERT INTO spans VALUES ($1, $2, $3::int, $4::timestamptz, clock_timestamp())", 4, params,
                         NULL, err);
    wp_db_release(g_pool, c);
    return st == WP_OK ? WP_OK : WP_RETRY;
}

static void test_deliveries_of_a_pass_in_order(void **state)
{
    (void)state;
    wp_err err;
    wp_err_clear(&err);
    wp_jobs_config cfg;
    wp_jobs_config_defaults(&cfg);
    cfg.workers = 8;
    cfg.poll_ms = 50;
    wp_jobs *q;
    wp_events *ev;
    assert_int_equal(wp_jobs_new_cfg(g_pool, NULL, &cfg, &q, &err), WP_OK);
    assert_int_equal(wp_events_new(q, &ev, &err), WP_OK);
    assert_int_equal(wp_events_subscribe(ev, "pass.updated", "one", span, "one", delays, 2, &err), WP_OK);
    assert_int_equal(wp_events_subscribe(ev, "*", "two", span, "two", delays, 2, &err), WP_OK);
    /* Ten events about each of two passes, and ten about none, published before the workers start. */
    for (int n = 0; n < 10; n++) {
        static const char *const passes[] = {"pass_1", "pass_2", NULL};
        for (int i = 0; i < 3; i++) {
            json_object *d = json_object_new_object();
            if (passes[i]) {
                json_object *p = json_object_new_object();
                json_object_object_add(p, "id", json_object_new_string(passes[i]));
                json_object_object_add(d, "pass", p);
            }
            json_object_object_add(d, "n", json_object_new_int(n));
            json_object_object_add(d, "case", json_object_new_string("order"));
            assert_int_equal(wp_events_publish(ev, NULL, "acct_a", "pass.updated", d, NULL, &err), WP_OK);
            json_object_put(d);
        }
    }
    PGconn *c = dbt_connect(&T);
    assert_non_null(c);
    assert_int_equal(wp_jobs_start(q, &err), WP_OK);
    assert_int_equal(dbt_wait_ll(c, "SELECT count(*) FROM spans", 60, DBT_WAIT_MS), 60);
    /* For each subscriber and pass: no overlap, and publish order. */
    assert_int_equal(dbt_ll(c, "SELECT count(*) FROM spans a JOIN spans b ON a.subscriber = b.subscriber"
                               " AND a.pass = b.pass AND a.n < b.n WHERE a.t1 > b.t0"),
                     0);
    assert_int_equal(dbt_ll(c, "SELECT count(*) FROM jobs WHERE serial_key = 'event:one:acct_a:pass_1'"), 10);
    assert_int_equal(dbt_ll(c, "SELECT count(*) FROM jobs WHERE payload->'data'->>'case' = 'order' AND serial_key IS NULL"),
                     20);
    wp_jobs_stop(q);
    wp_events_free(ev);
    wp_jobs_free(q);
    assert_int_equal(dbt_exec(c, "DELETE FROM jobs"), 0);
    PQfinish(c);
}

/* The child: publishes and commits, reports the id, then waits to be killed
 * without ever starting its workers. */
static void child_publish(int wfd)
{
    wp_err err;
    wp_err_clear(&err);
    wp_db_options o = {.url = T.url, .pool_size = 2, .acquire_timeout_ms = 5000, .application_name = "child", .connect_timeout_s = DBT_CONNECT_TIMEOUT_S};
    wp_db *db;
    if (wp_db_open(&o, &db, &err) != WP_OK) _exit(3);
    g_pool = db;
    wp_jobs *q;
    wp_events *ev;
    if (wp_jobs_new(db, NULL, 2, 30, 100, &q, &err) != WP_OK || wp_events_new(q, &ev, &err) != WP_OK ||
        wp_events_subscribe(ev, "pass.created", "rec", record, "rec", delays, 2, &err) != WP_OK)
        _exit(4);
    PGconn *c = wp_db_acquire(db, &err);
    char id[48];
    json_object *d = json_tokener_parse("{\"killed\":true}");
    if (!c || wp_db_begin(c, &err) != WP_OK ||
        wp_events_publish(ev, c, "acct_a", "pass.created", d, id, &err) != WP_OK || wp_db_commit(c, &err) != WP_OK)
        _exit(5);
    if (write(wfd, id, sizeof id) != (ssize_t)sizeof id) _exit(6);
    for (;;) pause();
}

static void test_committed_event_survives_sigkill(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        child_publish(fds[1]);
    }
    close(fds[1]);
    char id[48] = "";
    ssize_t n = read(fds[0], id, sizeof id);
    close(fds[0]);
    kill(pid, SIGKILL);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(n, (ssize_t)sizeof id);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    PGconn *c = dbt_connect(&T);
    assert_non_null(c);
    assert_int_equal(count(c, "SELECT count(*) FROM events WHERE id = '%s'", id), 1);
    assert_int_equal(count(c, "SELECT count(*) FROM jobs WHERE payload->>'event_id' = '%s' AND status = 'queued'", id),
                     1);
    assert_int_equal(count(c, "SELECT count(*) FROM delivered WHERE event_id = '%s'", id), 0);

    /* A fresh "process": new queue, same subscriptions, workers started. */
    wp_jobs *q;
    wp_events *ev;
    make_bus(&q, &ev);
    wp_err err;
    assert_int_equal(wp_jobs_start(q, &err), WP_OK);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM delivered WHERE event_id = '%s' AND subscriber = 'rec'"
                              " AND data->>'killed' = 'true'", id);
    assert_int_equal(dbt_wait_ll(c, sql, 1, DBT_WAIT_MS), 1);
    wp_jobs_stop(q);
    wp_events_free(ev);
    wp_jobs_free(q);
    PQfinish(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rollback_never_delivered_commit_delivered),
        cmocka_unit_test(test_committed_event_survives_sigkill),
        cmocka_unit_test(test_deliveries_of_a_pass_in_order),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
