/*
 * keepalive.h - which responses keep their connection open, and what the
 * client is told about how long it stays open.
 *
 * CivetWeb serves a connection on one worker thread for as long as it is
 * open, idle keep-alive time included.  So:
 *   - the gateway keeps an idle connection server.keep_alive_timeout_ms
 *     (long: a client that reuses a connection the gateway has just closed
 *     gets no answer, and most clients keep idle connections longer than a
 *     few seconds), but advertises half of that in "Keep-Alive: timeout=N",
 *     so a client that honours it closes first even when it is late;
 *   - idle connections may never hold every worker: while more than three
 *     quarters of the workers hold a connection, responses close theirs, so
 *     connections waiting for a worker get one.
 * The count of open connections is process-wide (one server per process).
 */
#ifndef WP_KEEPALIVE_H
#define WP_KEEPALIVE_H

#include <civetweb.h>

#include "config.h"

/* Adds the connection-counting callbacks (init_connection, connection_close) to cb. */
void wp_keepalive_callbacks(struct mg_callbacks *cb);

/* The N of "Keep-Alive: timeout=N": half the idle timeout, in whole seconds; 0 when that is
 * under a second, which is too short to reuse a connection safely (responses then close). */
int wp_keepalive_hint_s(const wp_config *cfg);

/* 1 when a response may leave its connection open: keep-alive is on, the idle timeout is
 * usable, and at most three quarters of the workers hold a connection (this one included). */
int wp_keepalive_allowed(const wp_config *cfg);

#endif
