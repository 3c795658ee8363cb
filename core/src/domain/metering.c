/* metering.c - see metering.h. */
#include "metering.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

long long wp_meter_plan_limit(const wp_config *cfg, const char *plan)
{
    json_object *p, *ops;
    if (!cfg->plans || !json_object_object_get_ex(cfg->plans, plan, &p) ||
        !json_object_object_get_ex(p, "operations_per_month", &ops))
        return -1;
    return json_object_get_int64(ops);
}

/* Reads the account's plan, whether its trial is over, the current period
 * and the operations counted in it so far. */
static wp_status account_usage(PGconn *conn, const char *account_id, PGresult **r, wp_err *err)
{
    const char *p1[] = {account_id};
    return wp_db_query(conn,
                       "SELECT a.plan, a.trial_ends_at IS NOT NULL AND a.trial_ends_at < now(),"
                       " to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM'),"
                       " coalesce((SELECT operations FROM usage_counters u WHERE u.account_id = a.id"
                       "   AND u.period = to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM')), 0)"
                       " FROM accounts a WHERE a.id = $1",
                       1, p1, r, err);
}

wp_status wp_meter_check(PGconn *conn, const wp_config *cfg, const char *account_id, int n, wp_err *err)
{
    PGresult *r;
    wp_status st = account_usage(conn, account_id, &r, err);
    if (st != WP_OK) return st;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return wp_err_set(err, WP_ENOTFOUND, "account %s not found", account_id);
    }
    int trial_over = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
    long long limit = wp_meter_plan_limit(cfg, PQgetvalue(r, 0, 0));
    long long used = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
    char plan[64];
    snprintf(plan, sizeof plan, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (trial_over) {
        wp_err_set(err, WP_ELIMIT, "the trial of this account has ended; choose a plan to continue");
        return wp_err_code(err, "plan_limit_reached");
    }
    if (limit >= 0 && used + n > limit) {
        wp_err_set(err, WP_ELIMIT, "plan %s allows %lld operations a month and this month's are used up", plan, limit);
        return wp_err_code(err, "plan_limit_reached");
    }
    return WP_OK;
}

wp_status wp_meter_consume(PGconn *conn, const wp_config *cfg, const char *account_id, int n, wp_err *err)
{
    PGresult *r;
    wp_status st = account_usage(conn, account_id, &r, err);
    if (st != WP_OK) return st;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return wp_err_set(err, WP_ENOTFOUND, "account %s not found", account_id);
    }
    char plan[64], period[16];
    snprintf(plan, sizeof plan, "%s", PQgetvalue(r, 0, 0));
    snprintf(period, sizeof period, "%s", PQgetvalue(r, 0, 2));
    int trial_over = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
    PQclear(r);
    if (trial_over) {
        wp_err_set(err, WP_ELIMIT, "the trial of this account has ended; choose a plan to continue");
        return wp_err_code(err, "plan_limit_reached");
    }
    long long limit = wp_meter_plan_limit(cfg, plan);
    if (limit >= 0 && n > limit) {
        wp_err_set(err, WP_ELIMIT, "this would use %d operations; plan %s allows %lld a month", n, plan, limit);
        return wp_err_code(err, "plan_limit_reached");
    }
    char nbuf[16], lbuf[24];
    snprintf(nbuf, sizeof nbuf, "%d", n);
    snprintf(lbuf, sizeof lbuf, "%lld", limit < 0 ? (long long)9e18 : limit);
    const char *p2[] = {account_id, period, nbuf, lbuf};
    st = wp_db_query(conn,
                     "INSERT INTO usage_counters (account_id, period, operations) VALUES ($1, $2, $3::bigint)"
                     " ON CONFLICT (account_id, period) DO UPDATE"
                     " SET operations = usage_counters.operations + EXCLUDED.operations"
                     " WHERE usage_counters.operations + EXCLUDED.operations <= $4::bigint"
                     " RETURNING operations",
                     4, p2, &r, err);
    if (st != WP_OK) return st;
    int counted = PQntuples(r) == 1;
    PQclear(r);
    if (!counted) {
        wp_err_set(err, WP_ELIMIT, "plan %s allows %lld operations a month and this month's are used up", plan, limit);
        return wp_err_code(err, "plan_limit_reached");
    }
    return WP_OK;
}
