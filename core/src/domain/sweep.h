/*
 * sweep.h - the retention sweeps of accounts and test mode (docs/operations.md).
 *
 * A thread of its own runs both at start and every accounts.sweep_interval_seconds:
 *  - passes of test workspaces older than test_mode.retention_days are deleted;
 *  - sub-accounts deleted more than accounts.deleted_retention_days ago are
 *    purged, with their test workspaces: every row of every table with an
 *    account_id column (plugins' tables too), then the accounts rows.
 * Rows of plugin tables that name a deleted test pass (account_id, pass_id)
 * go with it.  A sweep that fails is logged and tried again next time.
 */
#ifndef WP_SWEEP_H
#define WP_SWEEP_H

#include <libpq-fe.h>

#include "config.h"
#include "db.h"
#include "err.h"

typedef struct wp_sweep wp_sweep;

wp_status wp_sweep_start(wp_db *db, const wp_config *cfg, wp_sweep **out, wp_err *err);
/* Stops the thread (waits for a sweep under way) and frees; NULL is a no-op. */
void wp_sweep_stop(wp_sweep *s);

/* One sweep on conn: counts of test passes deleted and accounts purged (either may be NULL). */
wp_status wp_sweep_once(PGconn *conn, const wp_config *cfg, long *test_passes, long *accounts, wp_err *err);

#endif
