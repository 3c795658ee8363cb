/*
 * listener.h - a LISTEN connection that hands notifications to in-process caches.
 *
 * One thread with its own connection (outside the pool) LISTENs on one
 * channel and calls fn(ud, payload) for each notification, in order.  When it
 * (re)connects it calls fn(ud, NULL): notifications sent while it was not
 * listening are lost, so the caller must assume anything changed.  While the
 * database is unreachable it retries every second; callers bound staleness
 * themselves (keycache.h: a time to live), never on notifications alone.
 *
 * fn runs on the listener's thread: it must be quick and thread-safe.
 */
#ifndef WP_LISTENER_H
#define WP_LISTENER_H

#include "db.h"
#include "err.h"

typedef struct wp_listener wp_listener;

typedef void (*wp_listener_fn)(void *ud, const char *payload);

/* Starts listening on channel ([a-z_]+).  The first connection is made by the thread: to
 * direct_url when given (database.listen_url; copied), else like the pool's (db).  Through a
 * transaction pooler a LISTEN hears nothing: the caller gives direct_url or does not listen. */
wp_status wp_listener_start(wp_db *db, const char *direct_url, const char *channel, wp_listener_fn fn, void *ud,
                            wp_listener **out, wp_err *err);

/* Stops the thread and closes its connection.  NULL is fine. */
void wp_listener_stop(wp_listener *n);

/* 1 while the listener is connected and listening (for /metrics and tests). */
int wp_listener_listening(wp_listener *n);

#endif
