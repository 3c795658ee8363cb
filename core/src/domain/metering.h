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

/*
 * What wp_meter_check_read() read of an account, for the wp_meter_consume_read()
 * of the same operation, which then does not read it again: the committed
 * count it checks is the one read at the check, a moment before in the same
 * transaction (the slots still hold the limit; docs/caching.md's margin after
 * a lowered limit counts the operations past their check).  Plain data.
 */
typedef struct wp_meter_read {
    int valid;              /* filled by a check */
    char account[64];       /* the account it was read for */
    char plan[64], period[16];
    int livemode;
    int trial_active;       /* in its trial: the plan's limit does not apply yet */
    int trial_plan_over;    /* on the "trial" plan and the trial has ended */
    long long used;
    long long allocation;   /* -1: none set */
    char parent[64];        /* "" for a top-level account */
    char parent_plan[64];
    int parent_trial_active, parent_trial_plan_over;
    long long parent_used;
} wp_meter_read;

/* wp_meter_check, keeping what it read in *out (zeroed when it could not read). */
wp_status wp_meter_check_read(PGconn *conn, const wp_config *cfg, const char *account_id, int n, wp_meter_read *out,
                              wp_err *err);

/* wp_meter_consume, deciding on pre when it was read for account_id (else reading afresh). */
wp_status wp_meter_consume_read(PGconn *conn, const wp_config *cfg, const char *account_id, int n,
                                const wp_meter_read *pre, wp_err *err);

/* The plan's monthly limit, or -1 for unlimited / unknown plan. */
long long wp_meter_plan_limit(const wp_config *cfg, const char *plan);

#endif
