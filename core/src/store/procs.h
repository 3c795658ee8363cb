/*
 * procs.h - the registry of live gateway processes (table gateway_processes,
 * migration 0016).
 *
 * Each process's job-queue maintenance thread renews its row about once a
 * second (wp_procs_beat) and deletes it at a clean stop (wp_procs_leave).
 * A row not renewed for dead_after seconds names a dead process: the queue
 * takes over its jobs (jobs.c), and it no longer counts in the live count
 * that deployment-wide limits are divided by.
 *
 * The functions run one statement on the connection they are given (no
 * transaction, no session state: they work through a transaction-pooling
 * PgBouncer too).
 */
#ifndef WP_PROCS_H
#define WP_PROCS_H

#include <libpq-fe.h>

#include "err.h"

/*
 * Inserts or renews the row of `owner` (host, pid: for operators), valid for
 * dead_after_s seconds from now; *live receives the number of live processes,
 * this one included (>= 1).
 */
wp_status wp_procs_beat(PGconn *c, const char *owner, const char *host, long pid, int dead_after_s, int *live,
                        wp_err *err);

/* Deletes the row of `owner` (a clean stop): the others' shares grow at their next beat. */
wp_status wp_procs_leave(PGconn *c, const char *owner, wp_err *err);

#endif
