/*
 * jobs_events_bench - drives the core's job queue and event bus (jobs.h,
 * events.h) for tests/bench/jobs_events.sh.  A measurement, not a test.
 *
 *   jobs_events_bench --db URL --account ACCT_ID [--events N] [--rate R]
 *                     [--jobs N] [--workers W] [--timeout S]
 *
 * The database must be migrated and hold the account (events need one).
 * Two worker processes are forked, each with its own pool and its own
 * queue of W worker threads (the "jobs" defaults otherwise), like two
 * gateway processes on one database.  Each handles:
 *   - "event:bench:bench.ping", a subscriber of event type bench.ping, which
 *     reports (monotonic now - the publish time carried in the event);
 *   - "bench.noop", a job that does nothing but report that it ran.
 * Reports travel to the parent over one pipe in records smaller than
 * PIPE_BUF, so concurrent writes never interleave.
 *
 * Phase 1 (latency): the parent publishes N events with wp_events_publish
 * (conn NULL: one transaction each) at R per second, open loop, and waits
 * for every first delivery.  Latency = handler entry - just before the
 * publish call, so it includes the publish transaction itself.
 * Phase 2 (throughput): the parent enqueues N bench.noop jobs in one
 * transaction and commits; jobs/s = N / (time from the commit until the
 * database shows all N done).
 *
 * Prints two lines of key=value pairs ("WPBENCH events ...", "WPBENCH jobs
 * ...") on stdout; anything else goes to stderr.  Exits 1 when a phase does
 * not complete within --timeout seconds or anything fails.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "events.h"
#include "jobs.h"
#include "log.h"

#define NPROCS 2
#define EVENT_TYPE "bench.ping"
#define SUBSCRIBER "bench"
#define JOB_KIND "bench.noop"
#define WARMUP_EVENTS 20

typedef struct opts {
    const char *db, *account;
    int events, rate, jobs, workers, timeout_s;
} opts;

/* One report from a worker process; well under PIPE_BUF. */
typedef struct report {
    int32_t what; /* 'e' event delivered, 'j' job ran */
    int32_t proc; /* 0 or 1 */
    int64_t seq;  /* event sequence number (events only) */
    int64_t lat_us;
} report;

static int g_report_fd = -1; /* worker processes: the write end */
static int g_proc;           /* worker processes: which one */

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* one clock for every process on the machine */
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_until_us(int64_t t)
{
    struct timespec ts = {(time_t)(t / 1000000), (long)(t % 1000000) * 1000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static void send_report(char what, int64_t seq, int64_t lat_us)
{
    report r = {what, g_proc, seq, lat_us};
    if (write(g_report_fd, &r, sizeof r) != (ssize_t)sizeof r) wp_log_error("bench: report pipe: %s", strerror(errno));
}

/* ---- worker processes ---- */

static wp_status on_ping(const wp_event_delivery *d, void *ud, wp_err *err)
{
    const char *event_id = d->event_id;
    json_object *data = d->data;
    int64_t now = mono_us();
    json_object *seq, *t;
    if (!json_object_object_get_ex(data, "seq", &seq) || !json_object_object_get_ex(data, "t_us", &t))
        return wp_err_set(err, WP_FAIL, "event %s: no seq/t_us in its data", event_id);
    send_report('e', json_object_get_int64(seq), now - json_object_get_int64(t));
    return WP_OK;
}

static wp_status on_noop(const char *kind, json_object *payload, const char *job_id, int attempt, void *ud, wp_err *err)
{
    send_report('j', 0, 0);
    return WP_OK;
}

/* Runs until a byte (or EOF) arrives on stop_fd.  Never returns. */
static void worker_process(const opts *o, int proc, int ready_fd, int stop_fd)
{
    g_proc = proc;
    wp_err err;
    wp_err_clear(&err);
    wp_db *db = NULL;
    wp_jobs *q = NULL;
    wp_events *ev = NULL;
    wp_db_options dbo = {.url = o->db, .pool_size = o->workers + 2, .acquire_timeout_ms = 10000,
                         .application_name = "jobs_events_bench"};
    wp_jobs_config jc;
    wp_jobs_config_defaults(&jc);
    jc.workers = o->workers;
    int code = 0;
    if (wp_db_open(&dbo, &db, &err) != WP_OK || wp_jobs_new_cfg(db, NULL, &jc, &q, &err) != WP_OK ||
        wp_events_new(q, &ev, &err) != WP_OK ||
        wp_events_subscribe(ev, EVENT_TYPE, SUBSCRIBER, on_ping, NULL, NULL, 0, &err) != WP_OK ||
        wp_jobs_register(q, JOB_KIND, on_noop, NULL, NULL, 0, &err) != WP_OK || wp_jobs_start(q, &err) != WP_OK) {
        fprintf(stderr, "jobs_events_bench: worker process %d: %s\n", proc, err.msg);
        code = 3;
    } else {
        char b = 'r';
        if (write(ready_fd, &b, 1) != 1) code = 4;
        else if (read(stop_fd, &b, 1) < 0) code = 5; /* EOF (parent gone) stops us too */
    }
    wp_jobs_free(q);
    wp_events_free(ev);
    wp_db_close(db);
    _exit(code);
}

/* ---- the parent: collecting reports ---- */

typedef struct collector {
    int fd;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int64_t *lat;         /* per event seq; -1 until delivered */
    int64_t nevents;      /* size of lat */
    int64_t delivered;    /* first deliveries */
    int64_t duplicates;   /* repeated deliveries (at-least-once) */
    int64_t jobs_ran;
    int64_t by_proc[NPROCS][2]; /* [proc][0 events, 1 jobs] */
} collector;

static void *collect_main(void *arg)
{
    collector *c = arg;
    report r;
    for (;;) {
        ssize_t n = read(c->fd, &r, sizeof r);
        if (n == 0) break; /* every writer is gone */
        if (n < 0 && errno == EINTR) continue;
        if (n != (ssize_t)sizeof r) break;
        pthread_mutex_lock(&c->mu);
        int p = r.proc >= 0 && r.proc < NPROCS ? r.proc : 0;
        if (r.what == 'e') {
            c->by_proc[p][0]++;
            if (r.seq >= 0 && r.seq < c->nevents) {
                if (c->lat[r.seq] >= 0) c->duplicates++;
                else {
                    c->lat[r.seq] = r.lat_us;
                    c->delivered++;
                }
            }
        } else if (r.what == 'j') {
            c->by_proc[p][1]++;
            c->jobs_ran++;
        }
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
    }
    return NULL;
}

/* Waits until *counter >= want or the deadline (monotonic µs); returns the last value. */
static int64_t wait_count(collector *c, const int64_t *counter, int64_t want, int64_t deadline_us)
{
    pthread_mutex_lock(&c->mu);
    while (*counter < want && mono_us() < deadline_us) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&c->cv, &c->mu, &ts);
    }
    int64_t v = *counter;
    pthread_mutex_unlock(&c->mu);
    return v;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static int64_t pct(const int64_t *v, int64_t n, double p)
{
    if (n == 0) return 0;
    int64_t k = (int64_t)(p / 100.0 * (double)n + 0.999999);
    if (k < 1) k = 1;
    if (k > n) k = n;
    return v[k - 1];
}

/* Done jobs of this run (payload.run), so a database used before does not count. */
static long long count_done(PGconn *c, const char *run)
{
    const char *params[] = {run};
    PGresult *r = PQexecParams(c,
                               "SELECT count(*) FROM jobs WHERE kind = '" JOB_KIND "' AND status = 'done'"
                               " AND payload->>'run' = $1",
                               1, NULL, params, NULL, NULL, 0);
    long long v = PQresultStatus(r) == PGRES_TUPLES_OK ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : -1;
    if (v < 0) fprintf(stderr, "jobs_events_bench: counting done jobs: %s", PQresultErrorMessage(r));
    PQclear(r);
    return v;
}

static bool exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok) fprintf(stderr, "jobs_events_bench: %s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    return ok;
}

/* Publishes `n` events numbered from `first`, paced at o->rate per second.
 * pub_us (may be NULL) receives the duration of each publish call. */
static wp_status publish_events(wp_events *ev, const opts *o, int64_t first, int n, int64_t *pub_us, wp_err *err)
{
    int64_t start = mono_us(), interval = 1000000 / o->rate;
    for (int i = 0; i < n; i++) {
        sleep_until_us(start + (int64_t)i * interval);
        json_object *d = json_object_new_object();
        int64_t t = mono_us();
        json_object_object_add(d, "seq", json_object_new_int64(first + i));
        json_object_object_add(d, "t_us", json_object_new_int64(t));
        wp_status st = wp_events_publish(ev, NULL, o->account, EVENT_TYPE, d, NULL, err);
        json_object_put(d);
        if (st != WP_OK) return st;
        if (pub_us) pub_us[i] = mono_us() - t;
    }
    return WP_OK;
}

static int usage(void)
{
    fprintf(stderr, "usage: jobs_events_bench --db URL --account ACCT_ID [--events N] [--rate R] [--jobs N]"
                    " [--workers W] [--timeout S]\n");
    return 2;
}

static bool parse_opts(int argc, char **argv, opts *o)
{
    *o = (opts){.events = 1000, .rate = 200, .jobs = 5000, .workers = 4, .timeout_s = 120};
    for (int i = 1; i < argc; i += 2) { /* every option takes a value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return false;
        int *num = strcmp(a, "--events") == 0    ? &o->events
                   : strcmp(a, "--rate") == 0    ? &o->rate
                   : strcmp(a, "--jobs") == 0    ? &o->jobs
                   : strcmp(a, "--workers") == 0 ? &o->workers
                   : strcmp(a, "--timeout") == 0 ? &o->timeout_s
                                                 : NULL;
        if (strcmp(a, "--db") == 0) o->db = v;
        else if (strcmp(a, "--account") == 0) o->account = v;
        else if (!num) return false;
        else {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n < 1 || n > 10000000) {
                fprintf(stderr, "jobs_events_bench: %s: expected an integer from 1 to 10000000, got \"%s\"\n", a, v);
                return false;
            }
            *num = (int)n;
        }
    }
    if (o->workers > 256) o->workers = 256;
    if (o->rate > 1000000) o->rate = 1000000;
    return o->db && o->account;
}

typedef struct child {
    pid_t pid;
    int stop_fd;
} child;

int main(int argc, char **argv)
{
    opts o;
    if (!parse_opts(argc, argv, &o)) return usage();
    wp_log_set_level(WP_LOG_WARN);
    signal(SIGPIPE, SIG_IGN);

    /* Fork before the parent opens any connection: a PGconn must not be shared across fork. */
    int rep[2];
    if (pipe(rep) != 0) return perror("pipe"), 1;
    child kids[NPROCS];
    for (int p = 0; p < NPROCS; p++) {
        int ready[2], stop[2];
        if (pipe(ready) != 0 || pipe(stop) != 0) return perror("pipe"), 1;
        pid_t pid = fork();
        if (pid < 0) return perror("fork"), 1;
        if (pid == 0) {
            close(rep[0]);
            close(ready[0]);
            close(stop[1]);
            for (int k = 0; k < p; k++) close(kids[k].stop_fd);
            g_report_fd = rep[1];
            worker_process(&o, p, ready[1], stop[0]);
        }
        close(ready[1]);
        close(stop[0]);
        kids[p] = (child){pid, stop[1]};
        char b;
        ssize_t n = read(ready[0], &b, 1);
        close(ready[0]);
        if (n != 1) {
            fprintf(stderr, "jobs_events_bench: worker process %d did not start\n", p);
            return 1;
        }
    }
    close(rep[1]);

    int rc = 1;
    collector col = {.fd = rep[0], .nevents = WARMUP_EVENTS + o.events};
    pthread_mutex_init(&col.mu, NULL);
    pthread_cond_init(&col.cv, NULL);
    col.lat = malloc((size_t)col.nevents * sizeof *col.lat);
    int64_t *pub = malloc((size_t)o.events * sizeof *pub);
    int64_t *lat = malloc((size_t)o.events * sizeof *lat);
    pthread_t collector_thread;
    bool collecting = false;
    wp_err err;
    wp_err_clear(&err);
    wp_db *db = NULL;
    wp_jobs *q = NULL;
    wp_events *ev = NULL;
    PGconn *conn = NULL;
    if (!col.lat || !pub || !lat) {
        fprintf(stderr, "jobs_events_bench: out of memory\n");
        goto out;
    }
    for (int64_t i = 0; i < col.nevents; i++) col.lat[i] = -1;
    if (pthread_create(&collector_thread, NULL, collect_main, &col) != 0) goto out;
    collecting = true;

    /* The publisher: a queue without workers, subscribed like the workers so
     * that publish creates the deliveries (subscriptions match at publish). */
    wp_db_options dbo = {.url = o.db, .pool_size = 2, .acquire_timeout_ms = 10000,
                         .application_name = "jobs_events_bench"};
    if (wp_db_open(&dbo, &db, &err) != WP_OK || wp_jobs_new(db, NULL, 0, 60, 1000, &q, &err) != WP_OK ||
        wp_events_new(q, &ev, &err) != WP_OK ||
        wp_events_subscribe(ev, EVENT_TYPE, SUBSCRIBER, on_ping, NULL, NULL, 0, &err) != WP_OK) {
        fprintf(stderr, "jobs_events_bench: %s\n", err.msg);
        goto out;
    }
    int64_t deadline = mono_us() + (int64_t)o.timeout_s * 1000000;

    /* Phase 1: warm-up (connections, caches), then the measured events. */
    if (publish_events(ev, &o, 0, WARMUP_EVENTS, NULL, &err) != WP_OK ||
        wait_count(&col, &col.delivered, WARMUP_EVENTS, deadline) < WARMUP_EVENTS) {
        fprintf(stderr, "jobs_events_bench: warm-up events: %s\n", err.msg[0] ? err.msg : "not all delivered in time");
        goto out;
    }
    int64_t t0 = mono_us();
    if (publish_events(ev, &o, WARMUP_EVENTS, o.events, pub, &err) != WP_OK) {
        fprintf(stderr, "jobs_events_bench: publish: %s\n", err.msg);
        goto out;
    }
    double pub_secs = (double)(mono_us() - t0) / 1e6;
    int64_t got = wait_count(&col, &col.delivered, col.nevents, deadline);
    if (got < col.nevents) {
        fprintf(stderr, "jobs_events_bench: %lld of %d events delivered within %d s\n",
                (long long)(got - WARMUP_EVENTS), o.events, o.timeout_s);
        goto out;
    }
    pthread_mutex_lock(&col.mu);
    memcpy(lat, col.lat + WARMUP_EVENTS, (size_t)o.events * sizeof *lat);
    long long dups = (long long)col.duplicates;
    long long ev_by[NPROCS] = {(long long)col.by_proc[0][0], (long long)col.by_proc[1][0]};
    pthread_mutex_unlock(&col.mu);
    qsort(lat, (size_t)o.events, sizeof *lat, cmp_i64);
    qsort(pub, (size_t)o.events, sizeof *pub, cmp_i64);
    printf("WPBENCH events n=%d rate=%d achieved_rate=%.0f p50_us=%lld p90_us=%lld p99_us=%lld max_us=%lld"
           " publish_p50_us=%lld publish_p99_us=%lld duplicates=%lld by_process=%lld,%lld\n",
           o.events, o.rate, o.events / pub_secs, (long long)pct(lat, o.events, 50), (long long)pct(lat, o.events, 90),
           (long long)pct(lat, o.events, 99), (long long)lat[o.events - 1], (long long)pct(pub, o.events, 50),
           (long long)pct(pub, o.events, 99), dups, ev_by[0], ev_by[1]);
    fflush(stdout);

    /* Phase 2: N no-op jobs in one transaction; the clock starts at COMMIT. */
    conn = wp_db_connect_raw(db, &err);
    if (!conn || !exec_ok(conn, "BEGIN")) {
        fprintf(stderr, "jobs_events_bench: %s\n", err.msg);
        goto out;
    }
    char run[32];
    snprintf(run, sizeof run, "%d.%lld", (int)getpid(), (long long)mono_us());
    int64_t e0 = mono_us();
    for (int i = 0; i < o.jobs; i++) {
        json_object *p = json_object_new_object();
        json_object_object_add(p, "run", json_object_new_string(run));
        json_object_object_add(p, "i", json_object_new_int(i));
        wp_status st = wp_jobs_enqueue(q, conn, NULL, JOB_KIND, p, 0, NULL, &err);
        json_object_put(p);
        if (st != WP_OK) {
            fprintf(stderr, "jobs_events_bench: enqueue: %s\n", err.msg);
            goto out;
        }
    }
    if (!exec_ok(conn, "COMMIT")) goto out;
    int64_t j0 = mono_us();
    double enq_secs = (double)(j0 - e0) / 1e6;
    deadline = j0 + (int64_t)o.timeout_s * 1000000;
    got = wait_count(&col, &col.jobs_ran, o.jobs, deadline);
    if (got < o.jobs) {
        fprintf(stderr, "jobs_events_bench: %lld of %d jobs ran within %d s\n", (long long)got, o.jobs, o.timeout_s);
        goto out;
    }
    /* A handler reports before its worker records the outcome: done is what the table says. */
    long long done;
    while ((done = count_done(conn, run)) >= 0 && done < o.jobs && mono_us() < deadline) {
        struct timespec ts = {0, 2 * 1000000L};
        nanosleep(&ts, NULL);
    }
    int64_t j1 = mono_us();
    if (done != o.jobs) {
        fprintf(stderr, "jobs_events_bench: %lld of %d jobs done within %d s\n", done, o.jobs, o.timeout_s);
        goto out;
    }
    double secs = (double)(j1 - j0) / 1e6;
    pthread_mutex_lock(&col.mu);
    long long ran = (long long)col.jobs_ran, jb0 = (long long)col.by_proc[0][1], jb1 = (long long)col.by_proc[1][1];
    pthread_mutex_unlock(&col.mu);
    printf("WPBENCH jobs n=%d processes=%d workers_per_process=%d seconds=%.3f jobs_per_s=%.0f enqueue_per_s=%.0f"
           " runs=%lld by_process=%lld,%lld\n",
           o.jobs, NPROCS, o.workers, secs, o.jobs / secs, o.jobs / enq_secs, ran, jb0, jb1);
    fflush(stdout);
    rc = 0;

out:
    if (conn) PQfinish(conn);
    for (int p = 0; p < NPROCS; p++) {
        close(kids[p].stop_fd); /* EOF: the worker process stops */
        int status = 0;
        if (waitpid(kids[p].pid, &status, 0) == kids[p].pid && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
            fprintf(stderr, "jobs_events_bench: worker process %d ended with status %d\n", p, status);
            rc = 1;
        }
    }
    if (collecting) pthread_join(collector_thread, NULL); /* the pipe reaches EOF once both are gone */
    close(rep[0]);
    wp_events_free(ev);
    wp_jobs_free(q);
    wp_db_close(db);
    free(col.lat);
    free(pub);
    free(lat);
    pthread_mutex_destroy(&col.mu);
    pthread_cond_destroy(&col.cv);
    return rc;
}
