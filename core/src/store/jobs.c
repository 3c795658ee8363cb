/*
 * jobs.c - see jobs.h.
 *
 * Wake-ups: a counter of pending wake-ups under one mutex.  The
 * maintenance thread adds one per NOTIFY of a kind we handle (capped at
 * the worker count) and one per poll tick; a worker that consumed a
 * wake-up and claimed something adds one more, so idle workers ramp up
 * while there is work and an idle process costs one query per poll_ms.
 */
#include "jobs.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ids.h"
#include "log.h"
#include "procs.h"
#include "threadlocale.h"

#define KIND_MAX 128

typedef struct job_kind {
    char *kind;
    wp_job_fn fn;
    void *ud;
    int *delays;
    int ndelays;
} job_kind;

/* The jobs one worker holds (claimed and not finished), for lease renewal. */
typedef struct held_job {
    char id[WP_ID_MAX];
    double t_start; /* monotonic; claim time until the handler starts */
} held_job;

typedef struct worker {
    struct wp_jobs *q;
    pthread_t thread;
    held_job *held; /* claim_batch entries */
    int nheld;
} worker;

struct wp_jobs {
    wp_db *db;
    wp_fence *_Atomic fence; /* wp_jobs_set_fence */
    char *db_url;
    wp_jobs_config cfg;
    job_kind *kinds;
    int nkinds;
    char *kinds_literal; /* text[] literal of the registered kinds */
    char owner[160];
    char host[64];   /* gethostname */
    char node[20];   /* this machine and PID namespace (see node_id); "" when unknown */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int wake;
    bool running;
    bool maint_exit; /* set once the workers are gone: the lease renewer outlives them */
    bool started;
    worker *workers;
    int nworkers;
    pthread_t maint;
    bool maint_started;
    int pipefd[2];
    int live; /* live processes (atomic: read by request threads) */
    bool beat_warned;
};

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void wp_jobs_config_defaults(wp_jobs_config *c)
{
    c->workers = 4;
    c->lease_seconds = 60;
    c->poll_ms = 1000;
    c->claim_batch = 1;
    c->handler_timeout_seconds = 900;
    c->done_retention_hours = 168;
    c->dead_after_seconds = 10;
    c->no_listen = 0;
}

wp_status wp_jobs_config_read(json_object *root, wp_jobs_config *out, wp_err *err)
{
    static const struct {
        const char *key;
        size_t off;
        int lo, hi;
    } keys[] = {
        {"workers", offsetof(wp_jobs_config, workers), 0, 256},
        {"lease_seconds", offsetof(wp_jobs_config, lease_seconds), 1, 86400},
        {"poll_ms", offsetof(wp_jobs_config, poll_ms), 10, 600000},
        {"claim_batch", offsetof(wp_jobs_config, claim_batch), 1, 100},
        {"handler_timeout_seconds", offsetof(wp_jobs_config, handler_timeout_seconds), 0, 604800},
        {"done_retention_hours", offsetof(wp_jobs_config, done_retention_hours), 0, 87600},
        {"dead_after_seconds", offsetof(wp_jobs_config, dead_after_seconds), 3, 86400},
    };
    wp_jobs_config_defaults(out);
    json_object *sec;
    if (!root || !json_object_object_get_ex(root, "jobs", &sec) || !sec) return WP_OK;
    if (!json_object_is_type(sec, json_type_object))
        return wp_err_param(err, WP_ECONFIG, "jobs", "jobs: must be an object");
    json_object_object_foreach(sec, k, v) {
        if (strcmp(k, "$comment") == 0) continue;
        size_t i = 0;
        while (i < sizeof keys / sizeof keys[0] && strcmp(keys[i].key, k) != 0) i++;
        char dotted[200];
        snprintf(dotted, sizeof dotted, "jobs.%.180s", k);
        if (i == sizeof keys / sizeof keys[0])
            return wp_err_param(err, WP_ECONFIG, dotted, "%s: unknown configuration key", dotted);
        int64_t n = json_object_get_int64(v);
        if (!json_object_is_type(v, json_type_int) || n < keys[i].lo || n > keys[i].hi)
            return wp_err_param(err, WP_ECONFIG, dotted, "%s: must be an integer %d..%d", dotted, keys[i].lo,
                                keys[i].hi);
        *(int *)((char *)out + keys[i].off) = (int)n;
    }
    return WP_OK;
}

/*
 * Names the set of processes whose pids this process can check with
 * kill(pid, 0): the boot (a pid of an earlier boot is dead whatever it
 * became) and the PID namespace (containers sharing a host name do not see
 * each other's pids).  Hostname alone would let a process in one container
 * declare a live worker in another dead.  "" when either is unreadable:
 * then no owner is ever judged dead, only expired leases count.
 */
static void node_id(char *out, size_t len)
{
    out[0] = '\0';
    char boot[64] = "", ns[64] = "";
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (!f) return;
    int ok = fgets(boot, sizeof boot, f) != NULL;
    fclose(f);
    ssize_t n = readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
    if (!ok || n <= 0) return;
    ns[n] = '\0';
    uint64_t h = 1469598103934665603ULL; /* FNV-1a: a short, stable tag, not a secret */
    for (const char *p = boot; *p && *p != '\n'; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    for (const char *p = ns; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    snprintf(out, len, "%016llx", (unsigned long long)h);
}

wp_status wp_jobs_new_cfg(wp_db *db, const char *db_url, const wp_jobs_config *cfg, wp_jobs **out, wp_err *err)
{
    *out = NULL;
    wp_jobs *q = calloc(1, sizeof *q);
    if (!q) return wp_err_set(err, WP_ENOMEM, "out of memory");
    q->db = db;
    q->cfg = *cfg;
    if (q->cfg.claim_batch < 1) q->cfg.claim_batch = 1;
    if (q->cfg.lease_seconds < 1) q->cfg.lease_seconds = 1;
    if (q->cfg.poll_ms < 10) q->cfg.poll_ms = 10;
    if (q->cfg.dead_after_seconds < 3) q->cfg.dead_after_seconds = 3;
    q->live = 1;
    if (db_url && !(q->db_url = strdup(db_url))) {
        free(q);
        return wp_err_set(err, WP_ENOMEM, "out of memory");
    }
    char tok[16] = "x";
    snprintf(q->host, sizeof q->host, "host");
    gethostname(q->host, sizeof q->host - 1);
    q->host[sizeof q->host - 1] = '\0';
    for (char *h = q->host; *h; h++)
        if (*h == ':') *h = '-'; /* the owner's fields are ':'-separated */
    wp_random_token(6, tok, sizeof tok);
    node_id(q->node, sizeof q->node);
    snprintf(q->owner, sizeof q->owner, "%s:%ld:%s:%s", q->host, (long)getpid(), tok, q->node);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    q->pipefd[0] = q->pipefd[1] = -1;
    *out = q;
    return WP_OK;
}

wp_status wp_jobs_new(wp_db *db, const char *db_url, int nworkers, int lease_seconds, int poll_ms, wp_jobs **out,
                      wp_err *err)
{
    wp_jobs_config c;
    wp_jobs_config_defaults(&c);
    c.workers = nworkers;
    c.lease_seconds = lease_seconds;
    c.poll_ms = poll_ms;
    return wp_jobs_new_cfg(db, db_url, &c, out, err);
}

const char *wp_jobs_owner(const wp_jobs *q) { return q->owner; }

wp_db *wp_jobs_db(const wp_jobs *q) { return q->db; }

int wp_jobs_live_processes(const wp_jobs *q) { return __atomic_load_n(&q->live, __ATOMIC_RELAXED); }

static bool kind_valid(const char *k)
{
    size_t n = k ? strlen(k) : 0;
    if (n == 0 || n > KIND_MAX) return false;
    return strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:*-/") == n;
}

static const job_kind *find_kind(const wp_jobs *q, const char *kind)
{
    for (int i = 0; i < q->nkinds; i++)
        if (strcmp(q->kinds[i].kind, kind) == 0) return &q->kinds[i];
    return NULL;
}

wp_status wp_jobs_register(wp_jobs *q, const char *kind, wp_job_fn fn, void *ud, const int *retry_delays_s,
                           int nretries, wp_err *err)
{
    if (q->started)
        return wp_err_set(err, WP_ELATE, "job kind \"%s\": handlers must be registered before the workers start",
                          kind ? kind : "");
    if (!kind_valid(kind))
        return wp_err_set(err, WP_EINVAL,
                          "job kind \"%s\": must be 1..%d characters of letters, digits and ._:*-/",
                          kind ? kind : "", KIND_MAX);
    if (!fn) return wp_err_set(err, WP_EINVAL, "job kind \"%s\": no handler function", kind);
    if (nretries < 0 || nretries > 100 || (nretries > 0 && !retry_delays_s))
        return wp_err_set(err, WP_EINVAL, "job kind \"%s\": the retry schedule needs 0..100 delays", kind);
    for (int i = 0; i < nretries; i++)
        if (retry_delays_s[i] < 0 || retry_delays_s[i] > 30 * 86400)
            return wp_err_set(err, WP_EINVAL, "job kind \"%s\": retry delay %d is %d s; must be 0..2592000", kind,
                              i, retry_delays_s[i]);
    if (find_kind(q, kind))
        return wp_err_set(err, WP_ECONFLICT, "job kind \"%s\" already has a handler", kind);
    job_kind *nk = realloc(q->kinds, (size_t)(q->nkinds + 1) * sizeof *nk);
    if (!nk) return wp_err_set(err, WP_ENOMEM, "out of memory");
    q->kinds = nk;
    job_kind *k = &q->kinds[q->nkinds];
    memset(k, 0, sizeof *k);
    k->kind = strdup(kind);
    k->delays = nretries ? malloc((size_t)nretries * sizeof(int)) : NULL;
    if (!k->kind || (nretries && !k->delays)) {
        free(k->kind);
        free(k->delays);
        return wp_err_set(err, WP_ENOMEM, "out of memory");
    }
    if (nretries) memcpy(k->delays, retry_delays_s, (size_t)nretries * sizeof(int));
    k->ndelays = nretries;
    k->fn = fn;
    k->ud = ud;
    q->nkinds++;
    return WP_OK;
}

/* ---- connections ---- */

static PGconn *dedicated_conn(wp_jobs *q, wp_err *err)
{
    if (!q->db_url) return wp_db_connect_raw(q->db, err);
    /* A direct connection (database.listen_url), named so operators can find it in pg_stat_activity */
    return wp_db_connect_url(q->db_url, "walletpass-jobs", err);
}

/* ---- enqueue ---- */

static bool key_valid(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > WP_JOBS_KEY_MAX) return false;
    return strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:*-/@") == n;
}

wp_status wp_jobs_enqueue(wp_jobs *q, PGconn *conn, const char *account_id, const char *kind,
                          json_object *payload, int64_t run_at_unix_ms, char id_out[48], wp_err *err)
{
    wp_job_opts o = {.run_at_unix_ms = run_at_unix_ms};
    return wp_jobs_enqueue_opts(q, conn, account_id, kind, payload, &o, id_out, err);
}

wp_status wp_jobs_enqueue_opts(wp_jobs *q, PGconn *conn, const char *account_id, const char *kind,
                               json_object *payload, const wp_job_opts *opts, char id_out[48], wp_err *err)
{
    static const wp_job_opts none = {0};
    if (!opts) opts = &none;
    int64_t run_at_unix_ms = opts->run_at_unix_ms;
    if (id_out) id_out[0] = '\0';
    if (!kind_valid(kind))
        return wp_err_param(err, WP_EINVAL, "kind",
                            "job kind \"%s\": must be 1..%d characters of letters, digits and ._:*-/",
                            kind ? kind : "", KIND_MAX);
    if (run_at_unix_ms < 0) return wp_err_param(err, WP_EINVAL, "run_at", "run_at must not be negative");
    if (opts->serial_key && !key_valid(opts->serial_key))
        return wp_err_param(err, WP_EINVAL, "serial_key",
                            "serial key \"%.64s\": must be 1..%d characters of letters, digits and ._:*-/@",
                            opts->serial_key, WP_JOBS_KEY_MAX);
    char id[WP_ID_MAX];
    if (wp_id_new("job", id) != WP_OK) return wp_err_set(err, WP_ECRYPTO, "no randomness for the job id");
    const job_kind *k = find_kind(q, kind);
    char maxa[16], runat[24];
    snprintf(maxa, sizeof maxa, "%d", 1 + (k ? k->ndelays : WP_JOBS_DEFAULT_RETRIES));
    snprintf(runat, sizeof runat, "%lld", (long long)run_at_unix_ms);
    const char *body = payload ? json_object_to_json_string_ext(payload, JSON_C_TO_STRING_PLAIN) : "{}";
    if (!body) return wp_err_set(err, WP_ENOMEM, "out of memory");
    const char *params[] = {id, account_id, kind, body, maxa, runat, opts->serial_key};
    /* The NOTIFY is delivered when (and only when) the transaction commits. */
    static const char sql[] =
        "WITH j AS (INSERT INTO jobs (id, account_id, kind, payload, max_attempts, run_at, serial_key)"
        " VALUES ($1, $2, $3, $4::jsonb, $5::int,"
        "  CASE WHEN $6::bigint = 0 THEN now() ELSE to_timestamp($6::bigint / 1000.0) END, $7)"
        " RETURNING kind, run_at)"
        " SELECT pg_notify('wp_jobs', kind) FROM j WHERE run_at <= now()";
    wp_status st;
    if (conn) {
        st = wp_db_query(conn, sql, 7, params, NULL, err);
    } else {
        PGconn *c = wp_db_acquire(q->db, err);
        if (!c) return err ? err->status : WP_EUNAVAIL;
        st = wp_db_query(c, sql, 7, params, NULL, err);
        wp_db_release(q->db, c);
    }
    if (st == WP_OK && id_out) snprintf(id_out, WP_ID_MAX, "%s", id);
    return st;
}

/* ---- wake-ups ---- */

static void wake(wp_jobs *q, int n)
{
    if (n <= 0) return;
    pthread_mutex_lock(&q->mu);
    if (q->nworkers == 0) {
        pthread_mutex_unlock(&q->mu);
        return;
    }
    q->wake += n;
    if (q->wake > q->nworkers) q->wake = q->nworkers;
    if (n > 1) pthread_cond_broadcast(&q->cv);
    else pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

/* ---- workers ---- */

typedef struct claimed {
    char id[WP_ID_MAX];
    char *account_id;
    char *kind;
    char *payload;
    int attempts;
    bool keyed; /* has a serial key: its end may let the next job of the key run */
} claimed;

static void finish(wp_jobs *q, PGconn **c, const claimed *j, const job_kind *k, wp_status st, const char *msg)
{
    char attempts[16], maxa[16], delay[16];
    snprintf(attempts, sizeof attempts, "%d", j->attempts);
    int max_attempts = 1 + k->ndelays;
    snprintf(maxa, sizeof maxa, "%d", max_attempts);
    const char *sql;
    int n = 3;
    if (st == WP_OK) {
        /* What the job changed (passes of a template, a batch) is forgotten by every process
         * before the job is seen done (fence.h). */
        wp_fence_sync(atomic_load(&q->fence));
        sql = "UPDATE jobs SET status = 'done', finished_at = now(), updated_at = now(), locked_by = NULL,"
              " locked_until = NULL WHERE id = $1 AND locked_by = $2 AND attempts = $3::int AND status = 'running'";
    } else if (st != WP_FAIL && j->attempts < max_attempts) {
        int d = k->delays[j->attempts - 1 < k->ndelays ? j->attempts - 1 : k->ndelays - 1];
        snprintf(delay, sizeof delay, "%d", d);
        sql = "UPDATE jobs SET status = 'queued', run_at = now() + make_interval(secs => $6::int),"
              " last_error = $4, max_attempts = $5::int, updated_at = now(), locked_by = NULL, locked_until = NULL"
              " WHERE id = $1 AND locked_by = $2 AND attempts = $3::int AND status = 'running'";
        n = 6;
    } else {
        sql = "UPDATE jobs SET status = 'failed', finished_at = now(), last_error = $4, max_attempts = $5::int,"
              " updated_at = now(), locked_by = NULL, locked_until = NULL"
              " WHERE id = $1 AND locked_by = $2 AND attempts = $3::int AND status = 'running'";
        n = 5;
    }
    const char *params[] = {j->id, q->owner, attempts, msg, maxa, delay};
    wp_err err;
    wp_err_clear(&err);
    PGresult *r = NULL;
    if (wp_db_query(*c, sql, n, params, &r, &err) != WP_OK) {
        wp_log_error("jobs: cannot record the outcome of job %s (%s): %s; it will run again when its lease expires",
                     j->id, j->kind, err.msg);
        if (PQstatus(*c) != CONNECTION_OK) {
            PQfinish(*c);
            *c = NULL;
        }
        return;
    }
    if (strcmp(PQcmdTuples(r), "1") != 0)
        wp_log_warn("jobs: job %s (%s) lost its lease while running (renewal failed or handler_timeout_seconds "
                    "passed); its outcome was discarded",
                    j->id, j->kind);
    PQclear(r);
}

static void run_one(wp_jobs *q, PGconn **c, const claimed *j)
{
    const job_kind *k = find_kind(q, j->kind);
    wp_err err;
    wp_err_clear(&err);
    wp_status st;
    json_object *payload = json_tokener_parse(j->payload);
    if (!k) {
        st = WP_RETRY; /* cannot happen: we claim only registered kinds */
        wp_err_set(&err, WP_RETRY, "no handler for kind %s in this process", j->kind);
        static const job_kind none = {0};
        k = &none;
    } else if (!payload && strcmp(j->payload, "null") != 0) {
        st = WP_FAIL;
        wp_err_set(&err, WP_FAIL, "the payload is not valid JSON");
    } else {
        st = k->fn(j->kind, payload, j->id, j->attempts, k->ud, &err);
        if (st != WP_OK && st != WP_FAIL && st != WP_RETRY) {
            if (!err.msg[0]) wp_err_set(&err, st, "%s", wp_status_str(st));
            st = WP_RETRY;
        }
    }
    json_object_put(payload);
    const char *msg = err.msg[0] ? err.msg : wp_status_str(st);
    if (st != WP_OK)
        wp_log_info("jobs: job %s (%s) attempt %d of %d: %s: %s", j->id, j->kind, j->attempts, 1 + k->ndelays,
                    st == WP_FAIL || j->attempts >= 1 + k->ndelays ? "failed" : "will retry", msg);
    finish(q, c, j, k, st, msg);
}

/* Hands claimed-but-unstarted jobs back (shutdown); the attempt never happened. */
static void release_unstarted(wp_jobs *q, PGconn *c, const claimed *js, int from, int n)
{
    for (int i = from; i < n; i++) {
        const char *params[] = {js[i].id, q->owner};
        wp_db_query(c,
                    "UPDATE jobs SET status = 'queued', attempts = attempts - 1, locked_by = NULL,"
                    " locked_until = NULL, updated_at = now() WHERE id = $1 AND locked_by = $2 AND status = 'running'",
                    2, params, NULL, NULL);
    }
}

static int claim(wp_jobs *q, worker *w, PGconn **c, claimed *out)
{
    char lease[16], lim[16];
    snprintf(lease, sizeof lease, "%d", q->cfg.lease_seconds);
    snprintf(lim, sizeof lim, "%d", q->cfg.claim_batch);
    const char *params[] = {q->owner, lease, q->kinds_literal, lim};
    PGresult *r;
    wp_err err;
    wp_err_clear(&err);
    /* A keyed job is claimable when no job of its key is running and no
     * older one of its key is due: so at most one per key per claim, in
     * enqueue order.  A concurrent claim may still pick another job of the
     * same key from an older snapshot; the unique index on the running job
     * of a key (jobs_key_running_idx) then fails the later claim. */
    if (wp_db_query(*c,
                    "UPDATE jobs SET status = 'running', locked_by = $1,"
                    " locked_until = now() + make_interval(secs => $2::int), attempts = attempts + 1,"
                    " updated_at = now()"
                    " WHERE id IN (SELECT j.id FROM jobs j WHERE j.status = 'queued' AND j.run_at <= now()"
                    "   AND j.kind = ANY($3::text[])"
                    "   AND (j.serial_key IS NULL OR NOT EXISTS (SELECT 1 FROM jobs o"
                    "     WHERE o.serial_key = j.serial_key AND o.id <> j.id AND o.status IN ('queued', 'running')"
                    "       AND (o.status = 'running' OR (o.run_at <= now() AND o.seq < j.seq))))"
                    "   ORDER BY j.run_at LIMIT $4::int FOR UPDATE SKIP LOCKED)"
                    " RETURNING id, account_id, kind, payload::text, attempts, serial_key IS NOT NULL",
                    4, params, &r, &err) != WP_OK) {
        if (err.status == WP_ECONFLICT) {
            /* Lost a race for a serial key: nothing was claimed; look again. */
            wp_log_debug("jobs: claim lost a serial-key race; retrying");
            wake(q, 1);
            return 0;
        }
        wp_log_warn("jobs: claim failed: %s", err.msg);
        if (PQstatus(*c) != CONNECTION_OK) {
            PQfinish(*c);
            *c = NULL;
        }
        return -1;
    }
    int n = PQntuples(r);
    double now = mono_now();
    pthread_mutex_lock(&q->mu);
    for (int i = 0; i < n; i++) {
        snprintf(out[i].id, sizeof out[i].id, "%s", PQgetvalue(r, i, 0));
        out[i].account_id = PQgetisnull(r, i, 1) ? NULL : strdup(PQgetvalue(r, i, 1));
        out[i].kind = strdup(PQgetvalue(r, i, 2));
        out[i].payload = strdup(PQgetvalue(r, i, 3));
        out[i].attempts = atoi(PQgetvalue(r, i, 4));
        out[i].keyed = PQgetvalue(r, i, 5)[0] == 't';
        snprintf(w->held[i].id, sizeof w->held[i].id, "%s", out[i].id);
        w->held[i].t_start = now;
    }
    w->nheld = n;
    pthread_mutex_unlock(&q->mu);
    PQclear(r);
    return n;
}

static void *worker_main(void *arg)
{
    wp_thread_locale_c(); /* handlers parse JSON (threadlocale.h) */
    worker *w = arg;
    wp_jobs *q = w->q;
    PGconn *c = NULL;
    claimed *js = calloc((size_t)q->cfg.claim_batch, sizeof *js);
    if (!js) {
        wp_log_error("jobs: worker out of memory");
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&q->mu);
        while (q->running && q->wake == 0) pthread_cond_wait(&q->cv, &q->mu);
        if (!q->running) {
            pthread_mutex_unlock(&q->mu);
            break;
        }
        q->wake--;
        pthread_mutex_unlock(&q->mu);
        if (!c) {
            wp_err err;
            wp_err_clear(&err);
            c = dedicated_conn(q, &err);
            if (!c) {
                wp_log_warn("jobs: worker cannot connect: %s", err.msg);
                continue; /* the next poll tick tries again */
            }
        }
        int n = claim(q, w, &c, js);
        if (n <= 0) continue;
        wake(q, 1); /* there may be more: let another worker look */
        for (int i = 0; i < n; i++) {
            pthread_mutex_lock(&q->mu);
            bool stop = !q->running;
            if (!stop) w->held[i].t_start = mono_now();
            pthread_mutex_unlock(&q->mu);
            if (stop && c) {
                release_unstarted(q, c, js, i, n);
                break;
            }
            if (!c) break; /* connection lost: the leases expire and the jobs run elsewhere */
            run_one(q, &c, &js[i]);
            /* The next job of its key may be waiting (its claim found this one running). */
            if (js[i].keyed) wake(q, 1);
            if (!c) {
                wp_err err;
                c = dedicated_conn(q, &err);
            }
        }
        pthread_mutex_lock(&q->mu);
        w->nheld = 0;
        pthread_mutex_unlock(&q->mu);
        for (int i = 0; i < n; i++) {
            free(js[i].account_id);
            free(js[i].kind);
            free(js[i].payload);
        }
        memset(js, 0, (size_t)q->cfg.claim_batch * sizeof *js);
    }
    free(js);
    if (c) PQfinish(c);
    return NULL;
}

/* ---- maintenance: LISTEN, poll ticks, lease renewal, lease recovery, retention ---- */

static void renew_leases(wp_jobs *q, PGconn *c)
{
    size_t cap = 4, len = 1;
    double now = mono_now();
    pthread_mutex_lock(&q->mu);
    for (int i = 0; i < q->nworkers; i++) cap += (size_t)q->workers[i].nheld * (WP_ID_MAX + 1);
    char *lit = malloc(cap);
    if (!lit) {
        pthread_mutex_unlock(&q->mu);
        return;
    }
    lit[0] = '{';
    int n = 0;
    for (int i = 0; i < q->nworkers; i++)
        for (int h = 0; h < q->workers[i].nheld; h++) {
            const held_job *hj = &q->workers[i].held[h];
            /* A hung handler is let go so another process may try the job. */
            if (q->cfg.handler_timeout_seconds && now - hj->t_start > q->cfg.handler_timeout_seconds) continue;
            len += (size_t)snprintf(lit + len, cap - len, "%s%s", n++ ? "," : "", hj->id);
        }
    snprintf(lit + len, cap - len, "}");
    pthread_mutex_unlock(&q->mu);
    if (n) {
        char lease[16];
        snprintf(lease, sizeof lease, "%d", q->cfg.lease_seconds);
        const char *params[] = {lit, q->owner, lease};
        wp_err err;
        wp_err_clear(&err);
        if (wp_db_query(c,
                        "UPDATE jobs SET locked_until = now() + make_interval(secs => $3::int)"
                        " WHERE id = ANY($1::text[]) AND locked_by = $2 AND status = 'running'",
                        3, params, NULL, &err) != WP_OK)
            wp_log_warn("jobs: lease renewal failed: %s", err.msg);
    }
    free(lit);
}

static void recover_leases(wp_jobs *q, PGconn *c)
{
    PGresult *r;
    wp_err err;
    wp_err_clear(&err);
    /* A job whose lease lapsed lost its worker (process killed, host gone,
     * handler hung past handler_timeout_seconds).  The attempt counts, so a
     * job that kills its worker every time ends up failed; but every job
     * gets at least one run after a lost lease (greatest(max_attempts, 2)),
     * so a crash never silently drops a job that has no retries. */
    if (wp_db_query(c,
                    "WITH r AS (UPDATE jobs SET"
                    "  status = CASE WHEN attempts >= greatest(max_attempts, 2) THEN 'failed' ELSE 'queued' END,"
                    "  finished_at = CASE WHEN attempts >= greatest(max_attempts, 2) THEN now() END,"
                    "  last_error = 'lease expired: ' || coalesce(locked_by, '?') ||"
                    "    ' stopped renewing it (process died or handler timed out)',"
                    "  run_at = now(), locked_by = NULL, locked_until = NULL, updated_at = now()"
                    " WHERE status = 'running' AND locked_until < now() RETURNING id, kind, status)"
                    " SELECT id, kind, status, pg_notify('wp_jobs', CASE WHEN status = 'queued' THEN kind END) FROM r",
                    0, NULL, &r, &err) != WP_OK) {
        wp_log_warn("jobs: lease recovery failed: %s", err.msg);
        return;
    }
    for (int i = 0; i < PQntuples(r); i++)
        wp_log_warn("jobs: job %s (%s) lease expired; %s", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
                    strcmp(PQgetvalue(r, i, 2), "queued") == 0 ? "requeued" : "no attempts left, failed");
    PQclear(r);
}

/*
 * 1 when owner ("host:pid:token:node") is a process of this machine and PID
 * namespace that no longer exists: kill(pid, 0) fails with ESRCH.  A pid
 * reused by another process (or this one: a process may run several queues)
 * looks alive: its jobs then wait for the lease, as do those of other hosts
 * and of owners without a node.
 */
static int owner_is_dead(const wp_jobs *q, const char *owner)
{
    if (!q->node[0] || strcmp(owner, q->owner) == 0) return 0;
    const char *c3 = strrchr(owner, ':');
    if (!c3 || strcmp(c3 + 1, q->node) != 0) return 0;
    size_t hl = strlen(q->host);
    if (strncmp(owner, q->host, hl) != 0 || owner[hl] != ':') return 0;
    char *end;
    errno = 0;
    long pid = strtol(owner + hl + 1, &end, 10);
    if (errno || end == owner + hl + 1 || *end != ':' || pid <= 0) return 0;
    return kill((pid_t)pid, 0) == -1 && errno == ESRCH;
}

/* Jobs held by dead owners of this machine are requeued at once, counted like an expired lease. */
static void recover_dead_owners(wp_jobs *q, PGconn *c)
{
    if (!q->node[0]) return;
    char suffix[24];
    snprintf(suffix, sizeof suffix, ":%s", q->node);
    const char *p1[] = {q->owner, suffix};
    PGresult *r;
    wp_err err;
    wp_err_clear(&err);
    if (wp_db_query(c,
                    "SELECT DISTINCT locked_by FROM jobs WHERE status = 'running' AND locked_by <> $1"
                    " AND right(locked_by, length($2)) = $2",
                    2, p1, &r, &err) != WP_OK) {
        wp_log_warn("jobs: dead-owner check failed: %s", err.msg);
        return;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        const char *owner = PQgetvalue(r, i, 0);
        if (!owner_is_dead(q, owner)) continue;
        const char *p2[] = {owner};
        PGresult *u;
        if (wp_db_query(c,
                        "WITH r AS (UPDATE jobs SET"
                        "  status = CASE WHEN attempts >= greatest(max_attempts, 2) THEN 'failed' ELSE 'queued' END,"
                        "  finished_at = CASE WHEN attempts >= greatest(max_attempts, 2) THEN now() END,"
                        "  last_error = 'owner died: ' || locked_by || ' (process gone; taken over before the lease ended)',"
                        "  run_at = now(), locked_by = NULL, locked_until = NULL, updated_at = now()"
                        " WHERE status = 'running' AND locked_by = $1 RETURNING id, kind, status)"
                        " SELECT id, kind, status, pg_notify('wp_jobs', CASE WHEN status = 'queued' THEN kind END) FROM r",
                        1, p2, &u, &err) != WP_OK) {
            wp_log_warn("jobs: taking over the jobs of dead owner %s failed: %s", owner, err.msg);
            continue;
        }
        for (int k = 0; k < PQntuples(u); k++)
            wp_log_warn("jobs: job %s (%s) held by %s, whose process is gone; %s", PQgetvalue(u, k, 0),
                        PQgetvalue(u, k, 1), owner,
                        strcmp(PQgetvalue(u, k, 2), "queued") == 0 ? "requeued" : "no attempts left, failed");
        PQclear(u);
    }
    PQclear(r);
}

/*
 * The heartbeat: renews this process's row in the registry and reads the live count;
 * then takes over the running jobs of processes whose rows expired (any machine), in
 * one statement that also deletes those rows, so only one process takes them over.
 */
static void heartbeat(wp_jobs *q, PGconn *c)
{
    int live = 1;
    wp_err err;
    wp_err_clear(&err);
    if (wp_procs_beat(c, q->owner, q->host, (long)getpid(), q->cfg.dead_after_seconds, &live, &err) != WP_OK) {
        if (!q->beat_warned) /* once: a database without the registry (older schema) warns every second else */
            wp_log_warn("jobs: heartbeat failed (%s); dead processes' jobs wait for their leases", err.msg);
        q->beat_warned = true;
        return;
    }
    q->beat_warned = false;
    __atomic_store_n(&q->live, live, __ATOMIC_RELAXED);
    const char *p1[] = {q->owner};
    PGresult *r;
    if (wp_db_query(c,
                    "WITH d AS (DELETE FROM gateway_processes WHERE expires_at < now() AND owner <> $1"
                    "  RETURNING owner),"
                    " r AS (UPDATE jobs SET"
                    "  status = CASE WHEN attempts >= greatest(max_attempts, 2) THEN 'failed' ELSE 'queued' END,"
                    "  finished_at = CASE WHEN attempts >= greatest(max_attempts, 2) THEN now() END,"
                    "  last_error = 'owner died: ' || locked_by || ' (heartbeat stopped; taken over before the"
                    " lease ended)',"
                    "  run_at = now(), locked_by = NULL, locked_until = NULL, updated_at = now()"
                    "  WHERE status = 'running' AND locked_by IN (SELECT owner FROM d) RETURNING id, kind, status)"
                    " SELECT id, kind, status, pg_notify('wp_jobs', CASE WHEN status = 'queued' THEN kind END) FROM r"
                    " UNION ALL SELECT owner, NULL, 'gone', NULL FROM d",
                    1, p1, &r, &err) != WP_OK) {
        wp_log_warn("jobs: taking over the jobs of dead processes failed: %s", err.msg);
        return;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        if (strcmp(PQgetvalue(r, i, 2), "gone") == 0)
            wp_log_warn("jobs: process %s stopped its heartbeat; counted dead", PQgetvalue(r, i, 0));
        else
            wp_log_warn("jobs: job %s (%s) held by a process whose heartbeat stopped; %s", PQgetvalue(r, i, 0),
                        PQgetvalue(r, i, 1),
                        strcmp(PQgetvalue(r, i, 2), "queued") == 0 ? "requeued" : "no attempts left, failed");
    }
    PQclear(r);
}

static void clean_done(wp_jobs *q, PGconn *c)
{
    if (!q->cfg.done_retention_hours) return;
    char h[16];
    snprintf(h, sizeof h, "%d", q->cfg.done_retention_hours);
    const char *params[] = {h};
    wp_err err;
    wp_err_clear(&err);
    if (wp_db_query(c,
                    "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE status = 'done'"
                    " AND finished_at < now() - make_interval(hours => $1::int) LIMIT 10000)",
                    1, params, NULL, &err) != WP_OK)
        wp_log_warn("jobs: retention cleanup failed: %s", err.msg);
}

static int count_our_notifies(wp_jobs *q, PGconn *c)
{
    int n = 0;
    PGnotify *nt;
    while ((nt = PQnotifies(c)) != NULL) {
        if (nt->extra && find_kind(q, nt->extra)) n++;
        PQfreemem(nt);
    }
    return n;
}

static void *maint_main(void *arg)
{
    wp_thread_locale_c();
    wp_jobs *q = arg;
    PGconn *c = NULL;
    double now = mono_now();
    double poll_s = q->cfg.poll_ms / 1000.0;
    double hb_s = q->cfg.lease_seconds / 3.0;
    double next_tick = now + poll_s, next_hb = now + hb_s, next_reap = now, next_clean = now + 5,
           next_connect = now, next_beat = now;
    for (;;) {
        pthread_mutex_lock(&q->mu);
        bool running = q->running, exit_now = q->maint_exit;
        pthread_mutex_unlock(&q->mu);
        if (exit_now) break;
        now = mono_now();
        if (!c && now >= next_connect) {
            wp_err err;
            wp_err_clear(&err);
            c = dedicated_conn(q, &err);
            if (c && !q->cfg.no_listen && wp_db_query(c, "LISTEN wp_jobs", 0, NULL, NULL, &err) != WP_OK) {
                PQfinish(c);
                c = NULL;
            }
            if (!c) {
                wp_log_warn("jobs: listener cannot connect (%s); polling every %d ms", err.msg, q->cfg.poll_ms);
                next_connect = now + 2;
            } else {
                wake(q, 1); /* catch up on anything missed while not listening */
            }
        }
        if (c) {
            if (now >= next_hb) {
                renew_leases(q, c);
                next_hb = now + hb_s;
            }
            if (now >= next_beat) {
                heartbeat(q, c);
                next_beat = now + 1; /* well inside dead_after_seconds (>= 3) */
            }
            if (now >= next_reap) {
                recover_leases(q, c);
                recover_dead_owners(q, c);
                next_reap = now + (poll_s < 1 ? poll_s : 1);
            }
            if (now >= next_clean) {
                clean_done(q, c);
                next_clean = now + 60;
            }
            wake(q, count_our_notifies(q, c));
            if (PQstatus(c) != CONNECTION_OK) {
                PQfinish(c);
                c = NULL;
                next_connect = now + 1;
            }
        }
        if (running && now >= next_tick) {
            wake(q, 1); /* polling fallback: delayed jobs, retries, lost notifications */
            next_tick = now + poll_s;
        }
        double until = next_tick;
        if (c) {
            if (next_hb < until) until = next_hb;
            if (next_reap < until) until = next_reap;
            if (next_beat < until) until = next_beat;
        } else if (next_connect < until) {
            until = next_connect;
        }
        int timeout = (int)((until - mono_now()) * 1000) + 1;
        if (timeout < 0) timeout = 0;
        struct pollfd pf[2] = {{.fd = q->pipefd[0], .events = POLLIN}, {.fd = c ? PQsocket(c) : -1, .events = POLLIN}};
        int pr = poll(pf, c ? 2 : 1, timeout);
        if (pr > 0 && (pf[0].revents & POLLIN)) {
            char buf[16];
            while (read(q->pipefd[0], buf, sizeof buf) > 0) {
            }
        }
        if (pr > 0 && c && (pf[1].revents & (POLLIN | POLLERR | POLLHUP))) {
            if (!PQconsumeInput(c)) {
                wp_log_warn("jobs: listener connection lost; reconnecting");
                PQfinish(c);
                c = NULL;
                next_connect = mono_now() + 1;
            } else {
                wake(q, count_our_notifies(q, c));
            }
        }
    }
    if (c) {
        wp_err err;
        wp_err_clear(&err);
        if (wp_procs_leave(c, q->owner, &err) != WP_OK && !q->beat_warned)
            wp_log_warn("jobs: leaving the registry of live processes failed: %s", err.msg);
        PQfinish(c);
    }
    return NULL;
}

static char *kinds_literal(const wp_jobs *q)
{
    size_t cap = 3;
    for (int i = 0; i < q->nkinds; i++) cap += strlen(q->kinds[i].kind) + 3;
    char *s = malloc(cap);
    if (!s) return NULL;
    size_t len = 0;
    s[len++] = '{';
    /* Kinds hold no quote, backslash, comma or brace (kind_valid), so quoting suffices. */
    for (int i = 0; i < q->nkinds; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s\"%s\"", i ? "," : "", q->kinds[i].kind);
    snprintf(s + len, cap - len, "}");
    return s;
}

void wp_jobs_set_fence(wp_jobs *q, wp_fence *fence) { atomic_store(&q->fence, fence); }

wp_status wp_jobs_start(wp_jobs *q, wp_err *err)
{
    if (q->started) return wp_err_set(err, WP_ELATE, "the job workers are already started");
    q->started = true;
    free(q->kinds_literal);
    if (!(q->kinds_literal = kinds_literal(q))) return wp_err_set(err, WP_ENOMEM, "out of memory");
    if (pipe(q->pipefd) != 0) return wp_err_set(err, WP_EIO, "jobs: pipe: %s", strerror(errno));
    fcntl(q->pipefd[0], F_SETFL, O_NONBLOCK);
    fcntl(q->pipefd[1], F_SETFL, O_NONBLOCK);
    q->running = true;
    /* The first heartbeat before anything is served: the live count (the divisor of the shared
     * limits) is right from the first request, not a second later. */
    wp_err berr;
    wp_err_clear(&berr);
    PGconn *bc = wp_db_acquire(q->db, &berr);
    if (bc) {
        int live = 1;
        if (wp_procs_beat(bc, q->owner, q->host, (long)getpid(), q->cfg.dead_after_seconds, &live, &berr) == WP_OK)
            __atomic_store_n(&q->live, live, __ATOMIC_RELAXED);
        wp_db_release(q->db, bc);
    }
    int n = q->nkinds ? q->cfg.workers : 0;
    if (n) {
        q->workers = calloc((size_t)n, sizeof *q->workers);
        if (!q->workers) return wp_err_set(err, WP_ENOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        worker *w = &q->workers[i];
        w->q = q;
        w->held = calloc((size_t)q->cfg.claim_batch, sizeof *w->held);
        if (!w->held || pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            free(w->held);
            w->held = NULL;
            wp_jobs_stop(q);
            return wp_err_set(err, WP_EINTERNAL, "cannot start job worker thread %d", i);
        }
        pthread_mutex_lock(&q->mu);
        q->nworkers = i + 1;
        pthread_mutex_unlock(&q->mu);
    }
    if (pthread_create(&q->maint, NULL, maint_main, q) != 0) {
        wp_jobs_stop(q);
        return wp_err_set(err, WP_EINTERNAL, "cannot start the job queue listener thread");
    }
    q->maint_started = true;
    if (q->cfg.no_listen)
        wp_log_info("jobs: no LISTEN (transaction pooling without database.listen_url): new jobs are found by "
                    "polling every %d ms", q->cfg.poll_ms);
    wp_log_info("jobs: %d workers for %d kinds, lease %d s, poll %d ms (owner %s)", n, q->nkinds,
                q->cfg.lease_seconds, q->cfg.poll_ms, q->owner);
    return WP_OK;
}

void wp_jobs_stop(wp_jobs *q)
{
    if (!q) return;
    pthread_mutex_lock(&q->mu);
    bool was = q->running;
    q->running = false;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    if (!was && !q->maint_started && !q->nworkers) return;
    if (q->pipefd[1] >= 0) {
        ssize_t w = write(q->pipefd[1], "x", 1);
        (void)w;
    }
    /* Workers first: the maintenance thread keeps renewing the leases of
     * the handlers still finishing. */
    for (int i = 0; i < q->nworkers; i++) pthread_join(q->workers[i].thread, NULL);
    pthread_mutex_lock(&q->mu);
    for (int i = 0; i < q->nworkers; i++) free(q->workers[i].held);
    free(q->workers);
    q->workers = NULL;
    q->nworkers = 0;
    q->maint_exit = true;
    pthread_mutex_unlock(&q->mu);
    if (q->pipefd[1] >= 0) {
        ssize_t w = write(q->pipefd[1], "x", 1);
        (void)w;
    }
    if (q->maint_started) pthread_join(q->maint, NULL);
    q->maint_started = false;
    for (int i = 0; i < 2; i++)
        if (q->pipefd[i] >= 0) close(q->pipefd[i]);
    q->pipefd[0] = q->pipefd[1] = -1;
}

void wp_jobs_free(wp_jobs *q)
{
    if (!q) return;
    wp_jobs_stop(q);
    for (int i = 0; i < q->nkinds; i++) {
        free(q->kinds[i].kind);
        free(q->kinds[i].delays);
    }
    free(q->kinds);
    free(q->kinds_literal);
    free(q->db_url);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    free(q);
}
