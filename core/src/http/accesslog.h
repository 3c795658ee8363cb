/*
 * accesslog.h - the per-request access log, written off the request path.
 *
 * wp_accesslog_push() copies the entry into a bounded in-memory queue (a
 * mutex held for a memcpy); a background thread drains the queue into
 * access_logs in multi-row batches.  When the queue is full the entry is
 * dropped and counted, never blocking a request.
 */
#ifndef WP_ACCESSLOG_H
#define WP_ACCESSLOG_H

#include <stdint.h>

#include "db.h"
#include "err.h"

typedef struct wp_access_entry {
    int64_t ts_us;          /* unix microseconds */
    char ip[48];
    char method[8];
    char path[256];
    int status;
    int latency_us;
    char account_id[48];
    char agency_account_id[48]; /* the key's account when it acted on a sub-account, else "" */
    char key_prefix[24];
    char request_id[32];
    char kind[12];          /* "api" | "portal" | "login" */
} wp_access_entry;

typedef struct wp_accesslog wp_accesslog;

wp_status wp_accesslog_start(wp_db *db, int queue_capacity, int batch, int flush_ms, wp_accesslog **out,
                             wp_err *err);
void wp_accesslog_push(wp_accesslog *al, const wp_access_entry *e);
/* Writes everything queued so far, then returns (tests and shutdown). */
void wp_accesslog_flush(wp_accesslog *al);
/* Flushes, stops the thread and frees. */
void wp_accesslog_stop(wp_accesslog *al);
uint64_t wp_accesslog_dropped(wp_accesslog *al);

#endif
