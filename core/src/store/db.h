/*
 * db.h - the libpq connection pool.
 *
 * A fixed number of slots; connections are opened lazily and re-opened
 * after the database restarts, so the gateway itself never needs a
 * restart.  While the database is down, wp_db_acquire() fails fast with
 * WP_EUNAVAIL and callers answer 503.  Such errors carry a generic message
 * (no host, port or libpq text: API clients see it); the detail goes to the
 * log.  Connections get TCP keepalives and tcp_user_timeout unless the URL
 * sets them (db.c).
 *
 * Ownership: wp_db_acquire() lends a PGconn to the caller, who must give it
 * back with wp_db_release() (never PQfinish it).  PGresults returned by
 * wp_db_query() belong to the caller (PQclear).
 */
#ifndef WP_DB_H
#define WP_DB_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "err.h"

typedef struct wp_db wp_db;

typedef struct wp_db_options {
    const char *url;
    int pool_size;
    int acquire_timeout_ms;     /* wait for a free slot at most this long */
    int statement_timeout_ms;   /* 0: none */
    int connect_timeout_s;      /* libpq connect_timeout; 0: 10 s. A connect_timeout in the URL wins */
    const char *application_name;
    int max_prepared;           /* statements each connection keeps prepared (db.c); 0 (and with
                                 * transaction_pooling): none, all run unnamed */
    /* The URL leads to a transaction-pooling PgBouncer, which refuses the startup
     * parameter "options": the session settings (statement_timeout, TimeZone,
     * client_min_messages) are not sent then, and wp_db_open's first use checks
     * that the server's own TimeZone is UTC (docs/operations.md). */
    bool transaction_pooling;
} wp_db_options;

wp_status wp_db_open(const wp_db_options *opt, wp_db **out, wp_err *err);
void wp_db_close(wp_db *db);

/* A healthy connection, or NULL with err (WP_EUNAVAIL: database down or pool exhausted). */
PGconn *wp_db_acquire(wp_db *db, wp_err *err);
/* Returns a connection; an open transaction is rolled back, a broken connection closed. */
void wp_db_release(wp_db *db, PGconn *conn);

/* Opens a connection outside the pool (listeners, migrations); caller PQfinish()es it. */
PGconn *wp_db_connect_raw(wp_db *db, wp_err *err);

/* Opens a direct connection to url (database.listen_url: bypassing a pooler, for LISTEN and
 * the job queue's workers) with the pool's session settings (TimeZone UTC, warnings only) under
 * application_name; caller PQfinish()es it.  NULL with err (WP_EUNAVAIL) when it cannot. */
PGconn *wp_db_connect_url(const char *url, const char *application_name, wp_err *err);

/*
 * At startup: a pooled connection, waiting up to wait_s seconds (retrying every second) while
 * the server does not answer or refuses connections for now (starting up, shutting down, not
 * yet listening).  A server that answers but refuses us (password, unknown database) fails at
 * once: waiting cannot fix that.  The caller releases the connection with wp_db_release().
 */
PGconn *wp_db_acquire_waiting(wp_db *db, int wait_s, wp_err *err);

/*
 * Runs one parameterised statement.  On a connection of a pool it is prepared
 * there on first use and run by name afterwards (up to max_prepared of them).  *res (when res is non-NULL) receives the
 * result on success; the caller PQclear()s it.  Returns WP_EUNAVAIL when the
 * connection is lost (after one transparent reconnect-and-retry when no
 * transaction was open), WP_ECONFLICT for unique violations, WP_EDB for
 * other SQL errors.  Parameter values never appear in err (they may be secret).
 */
wp_status wp_db_query(PGconn *conn, const char *sql, int nparams, const char *const *params,
                      PGresult **res, wp_err *err);

wp_status wp_db_begin(PGconn *conn, wp_err *err);
wp_status wp_db_commit(PGconn *conn, wp_err *err);
void wp_db_rollback(PGconn *conn);

/* Pool gauges for /metrics. */
void wp_db_stats(wp_db *db, int *size, int *in_use, int *open);

/* Checks the database answers (SELECT 1) on a pooled connection. */
wp_status wp_db_ping(wp_db *db, wp_err *err);

#endif
