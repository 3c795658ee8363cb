/*
 * jobs.h - the durable job queue in PostgreSQL (table `jobs`, migration 0002).
 *
 * Any number of gateway processes share one queue.  Each process runs
 * `workers` threads that claim due jobs of the kinds *this* process has
 * registered (UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT k)),
 * marking them running under a lease (locked_by, locked_until).  A
 * maintenance thread per process LISTENs on channel "wp_jobs" (enqueue
 * NOTIFYs in the enqueuing transaction), falls back to polling every
 * poll_ms, renews the leases of the jobs its process is running, requeues
 * jobs whose lease expired (their process died), and deletes old done jobs.
 * A process that died on this machine is noticed sooner: the owner id names
 * host, pid and the machine's boot and PID namespace, and a pid that
 * kill(pid, 0) reports gone (ESRCH) frees its jobs at once, counted like an
 * expired lease (last_error "owner died: ...").  So a restarted gateway
 * takes over its predecessor's jobs within a second, not after the lease.
 *
 * Guarantees: a committed job runs at least once; it is run by one worker
 * at a time as long as its process keeps renewing the lease (a handler
 * running longer than handler_timeout_seconds stops being renewed and may
 * be run again elsewhere); a job enqueued in a rolled-back transaction
 * never exists.  Handlers must therefore be idempotent (the job id is
 * stable across attempts).  Kinds no process handles stay queued.
 *
 * Serial keys: jobs enqueued with the same serial key never run at the
 * same time, in any process (a unique index on the running job of a key
 * enforces it), and among the due jobs of one key the one enqueued first
 * is claimed first.  A job waiting for its run_at (a delayed job, a retry
 * after WP_RETRY) does not hold back the later jobs of its key.
 *
 * Threads: handlers run on the worker threads, concurrently with each
 * other and with HTTP handlers.  wp_jobs_enqueue() is thread-safe.
 * wp_jobs_register() is start-up only (main thread, before wp_jobs_start).
 *
 * Ownership: the queue borrows `db` (which must outlive it) and copies
 * every string and array it is given.  Payloads are borrowed both ways:
 * the caller keeps its payload after enqueue, and the payload a handler
 * receives is valid only until the handler returns.
 */
#ifndef WP_JOBS_H
#define WP_JOBS_H

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdint.h>

#include "db.h"
#include "err.h"
#include "fence.h"

typedef struct wp_jobs wp_jobs;

/*
 * A job handler.  Returns WP_OK (done), WP_RETRY (transient: the host
 * applies the kind's retry schedule and records err->msg as last_error) or
 * WP_FAIL (permanent: status failed).  Any other status counts as WP_RETRY.
 * `attempt` is 1 for the first run.  err is cleared before the call.
 */
typedef wp_status (*wp_job_fn)(const char *kind, json_object *payload /* borrowed */, const char *job_id,
                               int attempt, void *ud, wp_err *err);

/* The "jobs" configuration section (config/walletpass.example.json). */
typedef struct wp_jobs_config {
    int workers;                /* worker threads in this process; 0: enqueue only */
    int lease_seconds;          /* lease of a claimed job; renewed every lease/3 while it runs */
    int poll_ms;                /* polling fallback when no NOTIFY arrives */
    int claim_batch;            /* jobs claimed per query by one worker */
    int handler_timeout_seconds;/* stop renewing a lease after this long (0: never stop) */
    int done_retention_hours;   /* delete done jobs older than this (0: keep forever) */
    int dead_after_seconds;     /* a process whose heartbeat is this old is dead: its jobs are taken over */
    /* Not from the "jobs" section: set by the server.  No LISTEN on the maintenance
     * connection (it goes through a transaction-pooling PgBouncer, where notifications
     * do not reach the session that listened); poll_ms alone finds new jobs. */
    int no_listen;
} wp_jobs_config;

/* Fills the defaults: 4 workers, 60 s lease, 1000 ms poll, batch 1, 900 s timeout, 168 h retention,
 * dead after 10 s, LISTEN. */
void wp_jobs_config_defaults(wp_jobs_config *c);

/*
 * Reads and validates the "jobs" section of the whole configuration
 * document (cfg->root; NULL: defaults).  Unknown keys and values out of
 * range are WP_ECONFIG naming the key ("jobs.workers: …").
 */
wp_status wp_jobs_config_read(json_object *root, wp_jobs_config *out, wp_err *err);

/*
 * Creates the queue (no thread yet).  db_url: NULL to open the dedicated
 * listener and worker connections like the pool does (wp_db_connect_raw);
 * otherwise a libpq URI for them (e.g. a direct connection when the pool
 * goes through a transaction-mode PgBouncer, where LISTEN does not work).
 * nworkers/lease_seconds/poll_ms override the defaults; other settings are
 * defaults (use wp_jobs_new_cfg for all of them).
 */
wp_status wp_jobs_new(wp_db *db, const char *db_url, int nworkers, int lease_seconds, int poll_ms, wp_jobs **out,
                      wp_err *err);
wp_status wp_jobs_new_cfg(wp_db *db, const char *db_url, const wp_jobs_config *cfg, wp_jobs **out, wp_err *err);

/*
 * Registers the handler of `kind` (1..128 characters of [A-Za-z0-9._:*-/]).
 * retry_delays_s[i] is the wait before attempt i+2; nretries of them, so
 * a job gets at most 1 + nretries attempts (nretries 0: no retry).  The
 * array is copied.  WP_ECONFLICT: kind already registered; WP_ELATE:
 * after wp_jobs_start; WP_EINVAL: bad kind or schedule.
 */
wp_status wp_jobs_register(wp_jobs *q, const char *kind, wp_job_fn fn, void *ud, const int *retry_delays_s,
                           int nretries, wp_err *err);

/*
 * Enqueues one job.  conn: the caller's connection, inside its
 * transaction (the job exists iff that transaction commits); NULL: a
 * pooled connection, committed at once.  account_id may be NULL (system
 * job).  payload is borrowed (NULL: {}).  run_at_unix_ms 0 means now.
 * id_out (may be NULL) receives the job id ("job_…").
 * The job's max_attempts comes from this process's registration of kind;
 * for a kind it does not handle, 1 + WP_JOBS_DEFAULT_RETRIES until a
 * handling process records its own schedule on the first attempt.
 */
#define WP_JOBS_DEFAULT_RETRIES 4
wp_status wp_jobs_enqueue(wp_jobs *q, PGconn *conn, const char *account_id, const char *kind,
                          json_object *payload, int64_t run_at_unix_ms, char id_out[48], wp_err *err);

/* The longest serial key (characters of [A-Za-z0-9._:*-/@]). */
#define WP_JOBS_KEY_MAX 255

/* Options of wp_jobs_enqueue_opts; zero-initialise, then set what you need. */
typedef struct wp_job_opts {
    int64_t run_at_unix_ms; /* 0: now */
    const char *serial_key; /* NULL: none (borrowed; copied into the row) */
} wp_job_opts;

/*
 * wp_jobs_enqueue with options (opts may be NULL).  A serial key that is
 * empty, longer than WP_JOBS_KEY_MAX or holds another character is
 * WP_EINVAL (param "serial_key").
 */
wp_status wp_jobs_enqueue_opts(wp_jobs *q, PGconn *conn, const char *account_id, const char *kind,
                               json_object *payload, const wp_job_opts *opts, char id_out[48], wp_err *err);

/* Starts the maintenance thread and (when any kind is registered) the workers.
 * Closes registration. */
wp_status wp_jobs_start(wp_jobs *q, wp_err *err);

/* A job that succeeded waits for wp_fence_sync(fence) (fence.h) before it is marked done.
 * NULL (the default): no wait.  Cleared before the fence stops. */
void wp_jobs_set_fence(wp_jobs *q, wp_fence *fence);
/* Stops claiming, waits for running handlers to return, and hands jobs
 * claimed but not started back to the queue.  Safe to call twice. */
void wp_jobs_stop(wp_jobs *q);
/* Stops (when running) and frees.  NULL is fine. */
void wp_jobs_free(wp_jobs *q);

/* The process's lease owner name ("host:pid:random:node", node naming the
 * boot and PID namespace), as stored in locked_by. */
const char *wp_jobs_owner(const wp_jobs *q);
/* The pool the queue was created with (borrowed). */
wp_db *wp_jobs_db(const wp_jobs *q);

/* The number of live gateway processes sharing the database, this one included
 * (>= 1), as of the last heartbeat (about a second old); 1 before the first.
 * Lock-free: for the request path. */
int wp_jobs_live_processes(const wp_jobs *q);

#endif
