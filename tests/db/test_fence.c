/*
 * db_fence: the cache fence (store/fence.h) between two "processes" (two
 * fences on one database): a lease once a process's own ping came back;
 * invalidations handed over in order; a sync that returns only once the
 * other process, which handles its notifications late, has handled what was
 * committed before it; a process that cannot listen holds no lease and its
 * syncs wait the lease out.  Waits poll with generous limits; nothing is timed.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dbtest.h"
#include "fence.h"

static dbt T;

/* What a fence handed its handler, in order, ';'-separated ("*" for NULL). */
typedef struct seen {
    pthread_mutex_t mu;
    char log[8192];
} seen;

static void on_inval(void *ud, const char *what)
{
    seen *s = ud;
    pthread_mutex_lock(&s->mu);
    size_t n = strlen(s->log);
    snprintf(s->log + n, sizeof s->log - n, "%s;", what ? what : "(all)");
    pthread_mutex_unlock(&s->mu);
}

static int has(seen *s, const char *what)
{
    char want[256];
    snprintf(want, sizeof want, "%s;", what);
    pthread_mutex_lock(&s->mu);
    int r = strstr(s->log, want) != NULL;
    pthread_mutex_unlock(&s->mu);
    return r;
}

static int group_setup(void **state)
{
    (void)state;
    return dbt_setup(&T);
}

static int group_teardown(void **state)
{
    (void)state;
    dbt_teardown(&T);
    return 0;
}

static void wait_leased(wp_fence *f, int peers)
{
    int64_t end = dbt_now_ms() + DBT_WAIT_MS;
    wp_fence_stats st;
    for (;;) {
        wp_fence_stats_get(f, &st);
        if (st.leased && st.peers >= peers) return;
        assert_true(dbt_now_ms() < end);
        dbt_sleep_ms(20);
    }
}

static void notify(const char *payload)
{
    PGconn *c = dbt_connect(&T);
    assert_non_null(c);
    const char *p[] = {payload};
    PGresult *r = PQexecParams(c, "SELECT pg_notify('" WP_FENCE_CHANNEL "', $1)", 1, NULL, p, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    PQfinish(c);
}

static void test_lease_and_invalidations_in_order(void **state)
{
    (void)state;
    seen s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    wp_fence *a;
    wp_err err;
    wp_fence_options o = {.lease_ms = 4000};
    assert_int_equal(wp_fence_start(T.db, &o, on_inval, &s, &a, &err), WP_OK);
    wait_leased(a, 0);
    assert_true(has(&s, "(all)")); /* on connecting: anything may have changed */
    notify("x acct_1/pass_1");
    notify("x *");
    notify("p not-a-process 1"); /* malformed: ignored */
    /* alone, a sync is over once the fence has handled everything committed before it */
    assert_int_equal(wp_fence_sync(a), 1);
    assert_true(has(&s, "acct_1/pass_1;*"));
    wp_fence_stats st;
    wp_fence_stats_get(a, &st);
    assert_int_equal(st.syncs, 1);
    assert_int_equal(st.syncs_waited_out, 0);
    wp_fence_stop(a);
}

static void test_sync_waits_for_a_late_peer(void **state)
{
    (void)state;
    seen sa = {.mu = PTHREAD_MUTEX_INITIALIZER}, sb = {.mu = PTHREAD_MUTEX_INITIALIZER};
    wp_fence *a, *b;
    wp_err err;
    /* B handles each batch of notifications 300 ms late; the lease is far longer */
    wp_fence_options oa = {.lease_ms = 20000}, ob = {.lease_ms = 20000, .test_delay_ms = 300};
    assert_int_equal(wp_fence_start(T.db, &oa, on_inval, &sa, &a, &err), WP_OK);
    assert_int_equal(wp_fence_start(T.db, &ob, on_inval, &sb, &b, &err), WP_OK);
    wait_leased(a, 1);
    wait_leased(b, 1);
    char what[64];
    for (int i = 0; i < 5; i++) {
        snprintf(what, sizeof what, "acct_2/pass_%d", i);
        char payload[80];
        snprintf(payload, sizeof payload, "x %s", what);
        notify(payload);
        assert_int_equal(wp_fence_sync(a), 1);
        /* the sync came back: B has handled the change, late as it is */
        assert_true(has(&sb, what));
        assert_true(has(&sa, what));
    }
    /* and the other way round */
    notify("x acct_2/other");
    assert_int_equal(wp_fence_sync(b), 1);
    assert_true(has(&sa, "acct_2/other"));
    wp_fence_stats st;
    wp_fence_stats_get(a, &st);
    assert_int_equal(st.syncs_waited_out, 0);
    wp_fence_stop(b);
    wp_fence_stop(a);
}

static void test_no_listener_no_lease(void **state)
{
    (void)state;
    seen s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    wp_fence *f;
    wp_err err;
    /* a port nothing listens on: the fence never connects */
    wp_fence_options o = {.lease_ms = 200, .direct_url = "postgresql://127.0.0.1:1/nobody?connect_timeout=1"};
    assert_int_equal(wp_fence_start(T.db, &o, on_inval, &s, &f, &err), WP_OK);
    assert_int_equal(wp_fence_leased(f), 0);
    /* nobody can confirm: the sync waits out the lease (after which no process that missed a
     * change still holds one) */
    assert_int_equal(wp_fence_sync(f), 0);
    assert_int_equal(wp_fence_leased(f), 0);
    wp_fence_stats st;
    wp_fence_stats_get(f, &st);
    assert_int_equal(st.syncs_waited_out, 1);
    wp_fence_stop(f);
    /* NULL: no fence, nothing to wait for, nothing served */
    assert_int_equal(wp_fence_sync(NULL), 1);
    assert_int_equal(wp_fence_leased(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lease_and_invalidations_in_order),
        cmocka_unit_test(test_sync_waits_for_a_late_peer),
        cmocka_unit_test(test_no_listener_no_lease),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
