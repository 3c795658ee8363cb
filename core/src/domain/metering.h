/*
 * metering.h - operations per account per calendar month (docs/api.md, metering).
 *
 * Creating a pass, a real update and a notification each count one; a
 * batch counts its items.  wp_meter_consume() is called inside the
 * transaction of the operation it counts, so an operation that rolls back
 * is not counted.  The count of a month is spread over slot rows, each
 * holding at most its share of the limit (metering.c, migrations/0015), so
 * concurrent operations of one account lock different rows and together
 * still never pass the limit (docs/caching.md: the one margin, after a
 * limit is lowered within a month).
 */
#ifndef WP_METERING_H
#define WP_METERING_H

#include <libpq-fe.h>

#include "config.h"
#include "err.h"

/*
 * Counts n operations for the account in the current UTC month.
 * WP_ELIMIT (answer 402 plan_limit_reached, err->param naming the limit:
 * "allocation" for a sub-account's own allowance, "plan" for the account's or
 * its agency's plan) when the limit would be passed or a "trial" plan's trial
 * has ended; nothing is counted then.  During an account's trial its plan's
 * limit does not apply yet; a sub-account's operations count against its
 * allocation and its agency's plan; test workspaces are not metered.
 */
wp_status wp_meter_consume(PGconn *conn, const wp_config *cfg, const char *account_id, int n, wp_err *err);

/*
 * The same decision without counting or locking: WP_ELIMIT when n more
 * operations would pass the limit now.  Lets an operation answer 402 in
 * the documented order (before its own 409s) and take the counter's row lock
 * with wp_meter_consume() only at its very end, just before COMMIT, so
 * concurrent operations of one account queue on that lock as briefly as
 * possible.
 */
wp_status wp_meter_check(PGconn *conn, const wp_config *cfg, const char *account_id, int n, wp_err *err);

/* The plan's monthly limit, or -1 for unlimited / unknown plan. */
long long wp_meter_plan_limit(const wp_config *cfg, const char *plan);

#endif
