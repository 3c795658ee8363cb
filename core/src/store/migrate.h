/*
 * migrate.h - schema migrations: numbered SQL files applied in order.
 *
 * Each file NNNN_name.sql runs in its own transaction and is recorded in
 * schema_migrations (component, version).  A transaction-level advisory
 * lock, taken by each file's transaction, makes concurrent runs from
 * several processes safe: the second waits, then finds the file applied.
 * No lock outlives its transaction (a transaction-pooling PgBouncer may
 * hand the next statement another server connection).  The core's files use component "core"; each
 * plugin's use the plugin's name.
 */
#ifndef WP_MIGRATE_H
#define WP_MIGRATE_H

#include <libpq-fe.h>

#include "err.h"

/* Applies the pending files of `dir` for `component`.  *applied (optional)
 * receives how many were applied now.  A missing dir is not an error for
 * plugins (they may own no tables): pass must_exist = 0. */
wp_status wp_migrate_dir(PGconn *conn, const char *component, const char *dir, int must_exist,
                         int *applied, wp_err *err);

#endif
