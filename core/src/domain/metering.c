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

/* What decides one account's operations this month (its agency's too, for a sub-account). */
typedef struct usage {
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
} usage;

#define MONTH "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM')"
#define USED(acct) "coalesce((SELECT operations FROM usage_counters u WHERE u.account_id = " acct " AND u.period = " MONTH "), 0)"

static wp_status read_usage(PGconn *conn, const char *account_id, usage *u, wp_err *err)
{
    const char *p1[] = {account_id};
    PGresult *r;
    wp_status st = wp_db_query(conn,
                               "SELECT a.plan, a.trial_ends_at > now(), a.plan = 'trial' AND a.trial_ends_at < now(),"
                               " " MONTH ", " USED("a.id") ", a.livemode, a.allocation, a.parent_account_id,"
                               " p.plan, p.trial_ends_at > now(), p.plan = 'trial' AND p.trial_ends_at < now(), "
                               USED("p.id")
                               " FROM accounts a LEFT JOIN accounts p ON p.id = a.parent_account_id WHERE a.id = $1",
                               1, p1, &r, err);
    if (st != WP_OK) return st;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return wp_err_set(err, WP_ENOTFOUND, "account %s not found", account_id);
    }
    memset(u, 0, sizeof *u);
#define T(c) (strcmp(PQgetvalue(r, 0, c), "t") == 0)
    snprintf(u->plan, sizeof u->plan, "%s", PQgetvalue(r, 0, 0));
    u->trial_active = T(1);
    u->trial_plan_over = T(2);
    snprintf(u->period, sizeof u->period, "%s", PQgetvalue(r, 0, 3));
    u->used = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
    u->livemode = T(5);
    u->allocation = PQgetisnull(r, 0, 6) ? -1 : strtoll(PQgetvalue(r, 0, 6), NULL, 10);
    if (!PQgetisnull(r, 0, 7)) {
        snprintf(u->parent, sizeof u->parent, "%s", PQgetvalue(r, 0, 7));
        snprintf(u->parent_plan, sizeof u->parent_plan, "%s", PQgetvalue(r, 0, 8));
        u->parent_trial_active = T(9);
        u->parent_trial_plan_over = T(10);
        u->parent_used = strtoll(PQgetvalue(r, 0, 11), NULL, 10);
    }
#undef T
    PQclear(r);
    return WP_OK;
}

static wp_status refuse(wp_err *err, const char *code, const char *param)
{
    wp_err_code(err, code);
    if (param) snprintf(err->param, sizeof err->param, "%s", param);
    return WP_ELIMIT;
}

static wp_status trial_over(wp_err *err, int agency)
{
    wp_err_set(err, WP_ELIMIT, "the trial of %s has ended; choose a plan to continue",
               agency ? "this account's agency" : "this account");
    return refuse(err, "plan_limit_reached", "plan");
}

/* The cap an account's own counter may reach this month: -1 none. */
static long long own_cap(const wp_config *cfg, const usage *u)
{
    if (u->parent[0]) return u->allocation;
    return u->trial_active ? -1 : wp_meter_plan_limit(cfg, u->plan);
}

static long long parent_cap(const wp_config *cfg, const usage *u)
{
    return u->parent_trial_active ? -1 : wp_meter_plan_limit(cfg, u->parent_plan);
}

static wp_status over_own(wp_err *err, const usage *u, long long cap)
{
    if (u->parent[0]) {
        wp_err_set(err, WP_ELIMIT, "this sub-account's allocation of %lld operations a month is used up", cap);
        return refuse(err, "plan_limit_reached", "allocation");
    }
    wp_err_set(err, WP_ELIMIT, "plan %s allows %lld operations a month and this month's are used up", u->plan, cap);
    return refuse(err, "plan_limit_reached", "plan");
}

static wp_status over_parent(wp_err *err, const usage *u, long long cap)
{
    wp_err_set(err, WP_ELIMIT, "the agency's plan %s allows %lld operations a month and this month's are used up",
               u->parent_plan, cap);
    return refuse(err, "plan_limit_reached", "plan");
}

wp_status wp_meter_check(PGconn *conn, const wp_config *cfg, const char *account_id, int n, wp_err *err)
{
    usage u;
    wp_status st = read_usage(conn, account_id, &u, err);
    if (st != WP_OK) return st;
    if (!u.livemode) return WP_OK; /* test mode is not metered */
    if (u.trial_plan_over) return trial_over(err, 0);
    long long cap = own_cap(cfg, &u);
    if (cap >= 0 && u.used + n > cap) return over_own(err, &u, cap);
    if (u.parent[0]) {
        if (u.parent_trial_plan_over) return trial_over(err, 1);
        long long pc = parent_cap(cfg, &u);
        if (pc >= 0 && u.parent_used + n > pc) return over_parent(err, &u, pc);
    }
    return WP_OK;
}

/* Adds n to the account's counter unless it would pass cap (-1: no cap); 1 counted, 0 refused, -1 error. */
static int bump(PGconn *conn, const char *account_id, const char *period, int n, long long cap, wp_err *err)
{
    char nbuf[16], lbuf[24];
    snprintf(nbuf, sizeof nbuf, "%d", n);
    snprintf(lbuf, sizeof lbuf, "%lld", cap < 0 ? (long long)9e18 : cap);
    if (cap >= 0 && n > cap) return 0;
    const char *p2[] = {account_id, period, nbuf, lbuf};
    PGresult *r;
    if (wp_db_query(conn,
                    "INSERT INTO usage_counters (account_id, period, operations) VALUES ($1, $2, $3::bigint)"
                    " ON CONFLICT (account_id, period) DO UPDATE"
                    " SET operations = usage_counters.operations + EXCLUDED.operations"
                    " WHERE usage_counters.operations + EXCLUDED.operations <= $4::bigint"
                    " RETURNING operations",
                    4, p2, &r, err) != WP_OK)
        return -1;
    int counted = PQntuples(r) == 1;
    PQclear(r);
    return counted;
}

wp_status wp_meter_consume(PGconn *conn, const wp_config *cfg, const char *account_id, int n, wp_err *err)
{
    usage u;
    wp_status st = read_usage(conn, account_id, &u, err);
    if (st != WP_OK) return st;
    if (!u.livemode) return WP_OK;
    if (u.trial_plan_over) return trial_over(err, 0);
    if (u.parent[0] && u.parent_trial_plan_over) return trial_over(err, 1);
    /* The sub-account's row first, then its agency's: always in this order,
     * so two operations never wait on each other's locks. */
    long long cap = own_cap(cfg, &u);
    int c = bump(conn, account_id, u.period, n, cap, err);
    if (c < 0) return err->status;
    if (c == 0) return over_own(err, &u, cap);
    if (u.parent[0]) {
        long long pc = parent_cap(cfg, &u);
        c = bump(conn, u.parent, u.period, n, pc, err);
        if (c < 0) return err->status;
        if (c == 0) return over_parent(err, &u, pc); /* the caller rolls back the sub-account's count */
    }
    return WP_OK;
}
