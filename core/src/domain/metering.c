/* metering.c - see metering.h. */
#include "metering.h"

#include <stdatomic.h>
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

#define MONTH "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM')"
/* the month's count: the sum of its slots (migrations/0015) */
#define USED(acct) "coalesce((SELECT sum(operations) FROM usage_counter_rows u WHERE u.account_id = " acct " AND u.period = " MONTH "), 0)"

static wp_status read_usage(PGconn *conn, const char *account_id, wp_meter_read *u, wp_err *err)
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
    snprintf(u->account, sizeof u->account, "%s", account_id);
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
static long long own_cap(const wp_config *cfg, const wp_meter_read *u)
{
    if (u->parent[0]) return u->allocation;
    return u->trial_active ? -1 : wp_meter_plan_limit(cfg, u->plan);
}

static long long parent_cap(const wp_config *cfg, const wp_meter_read *u)
{
    return u->parent_trial_active ? -1 : wp_meter_plan_limit(cfg, u->parent_plan);
}

static wp_status over_own(wp_err *err, const wp_meter_read *u, long long cap)
{
    if (u->parent[0]) {
        wp_err_set(err, WP_ELIMIT, "this sub-account's allocation of %lld operations a month is used up", cap);
        return refuse(err, "plan_limit_reached", "allocation");
    }
    wp_err_set(err, WP_ELIMIT, "plan %s allows %lld operations a month and this month's are used up", u->plan, cap);
    return refuse(err, "plan_limit_reached", "plan");
}

static wp_status over_parent(wp_err *err, const wp_meter_read *u, long long cap)
{
    wp_err_set(err, WP_ELIMIT, "the agency's plan %s allows %lld operations a month and this month's are used up",
               u->parent_plan, cap);
    return refuse(err, "plan_limit_reached", "plan");
}

wp_status wp_meter_check(PGconn *conn, const wp_config *cfg, const char *account_id, int n, wp_err *err)
{
    wp_meter_read u;
    return wp_meter_check_read(conn, cfg, account_id, n, &u, err);
}

wp_status wp_meter_check_read(PGconn *conn, const wp_config *cfg, const char *account_id, int n, wp_meter_read *out,
                              wp_err *err)
{
    wp_meter_read u;
    memset(out, 0, sizeof *out);
    wp_status st = read_usage(conn, account_id, &u, err);
    if (st != WP_OK) return st;
    u.valid = 1;
    *out = u;
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

/*
 * Spread counters: the month's count of an account is WP_METER_SLOTS rows,
 * each allowed its share of the limit, so the sum never passes the limit
 * while concurrent operations of one account lock different rows.
 * An operation adds to one slot, starting from the next in turn and moving on
 * while a slot is full: a refused UPDATE locks nothing, so it holds at most the
 * one row it counted on and never waits while holding another of the account.
 * Only when every slot is full (the sum is the limit) is it refused.  A count
 * too large for any one slot's room (a batch) locks all the slots in order and
 * is split over them.
 */
#define WP_METER_SLOTS 8 /* as in migrations/0015_usage_slots.sql */

static atomic_uint next_slot;

static long long share(long long cap, int slot)
{
    return cap / WP_METER_SLOTS + (slot < cap % WP_METER_SLOTS ? 1 : 0);
}

/* Runs one counting statement; 1 when it returned a row, 0 when none, -1 on error. */
static int counted(PGconn *conn, const char *sql, int np, const char *const *p, wp_err *err)
{
    PGresult *r;
    if (wp_db_query(conn, sql, np, p, &r, err) != WP_OK) return -1;
    int c = PQntuples(r) > 0;
    PQclear(r);
    return c;
}

/*
 * Slot 0 is the usage_counters row of the month, whose key (account_id, period)
 * is the one a gateway of the release before counts on: it keeps counting during
 * an upgrade (docs/operations.md).  Slots 1-7 are rows of usage_counter_slots.
 * The statements of both take the same parameters: $1 account, $2 period,
 * $3 slot, $4 count, $5 the slot's share ("$3 = 0" only types the slot 0 ones').
 */
typedef struct slot_sql {
    const char *update, *insert, *upsert;
} slot_sql;

static const slot_sql slot0_sql = {
    "UPDATE usage_counters SET operations = operations + $4::bigint"
    " WHERE account_id = $1 AND period = $2 AND $3::smallint = 0 AND operations + $4::bigint <= $5::bigint RETURNING 1",
    "INSERT INTO usage_counters (account_id, period, operations)"
    " SELECT $1, $2, $4::bigint WHERE $3::smallint = 0 AND $4::bigint <= $5::bigint"
    " ON CONFLICT (account_id, period) DO NOTHING RETURNING 1",
    "INSERT INTO usage_counters (account_id, period, operations) SELECT $1, $2, $4::bigint WHERE $3::smallint = 0"
    " ON CONFLICT (account_id, period) DO UPDATE SET operations = usage_counters.operations + EXCLUDED.operations"
    " RETURNING 1"};

static const slot_sql slots_sql = {
    "UPDATE usage_counter_slots SET operations = operations + $4::bigint"
    " WHERE account_id = $1 AND period = $2 AND slot = $3::smallint AND operations + $4::bigint <= $5::bigint"
    " RETURNING 1",
    "INSERT INTO usage_counter_slots (account_id, period, slot, operations)"
    " SELECT $1, $2, $3::smallint, $4::bigint WHERE $4::bigint <= $5::bigint"
    " ON CONFLICT (account_id, period, slot) DO NOTHING RETURNING 1",
    "INSERT INTO usage_counter_slots (account_id, period, slot, operations) VALUES ($1, $2, $3::smallint, $4::bigint)"
    " ON CONFLICT (account_id, period, slot) DO UPDATE"
    " SET operations = usage_counter_slots.operations + EXCLUDED.operations RETURNING 1"};

static const slot_sql *sql_of(int slot) { return slot == 0 ? &slot0_sql : &slots_sql; }

static int bump_slot(PGconn *conn, const char *account_id, const char *period, int slot, const char *nbuf,
                     long long room, wp_err *err)
{
    char sbuf[8], lbuf[24];
    snprintf(sbuf, sizeof sbuf, "%d", slot);
    snprintf(lbuf, sizeof lbuf, "%lld", room);
    const char *p[] = {account_id, period, sbuf, nbuf, lbuf};
    const slot_sql *q = sql_of(slot);
    int c = counted(conn, q->update, 5, p, err);
    if (c != 0) return c;
    /* no row yet, or a full one: the INSERT takes the first case, and locks nothing in the second */
    c = counted(conn, q->insert, 5, p, err);
    if (c != 0) return c;
    return counted(conn, q->update, 5, p, err); /* created meanwhile by another operation */
}

/* Locks every slot of the month in order (slot 0 first, as a single count does) and spreads n over
 * their room; 1 counted, 0 refused, -1 error. */
static int bump_split(PGconn *conn, const char *account_id, const char *period, int n, long long cap, wp_err *err)
{
    const char *p[] = {account_id, period};
    if (wp_db_query(conn,
                    "INSERT INTO usage_counters (account_id, period, operations) VALUES ($1, $2, 0)"
                    " ON CONFLICT DO NOTHING",
                    2, p, NULL, err) != WP_OK ||
        wp_db_query(conn,
                    "INSERT INTO usage_counter_slots (account_id, period, slot, operations)"
                    " SELECT $1, $2, s, 0 FROM generate_series(1, 7) AS s ON CONFLICT DO NOTHING",
                    2, p, NULL, err) != WP_OK)
        return -1;
    PGresult *r0, *r;
    if (wp_db_query(conn, "SELECT operations FROM usage_counters WHERE account_id = $1 AND period = $2 FOR UPDATE",
                    2, p, &r0, err) != WP_OK)
        return -1;
    if (wp_db_query(conn,
                    "SELECT slot, operations FROM usage_counter_slots WHERE account_id = $1 AND period = $2"
                    " ORDER BY slot FOR UPDATE",
                    2, p, &r, err) != WP_OK) {
        PQclear(r0);
        return -1;
    }
    long long used = 0, ops[WP_METER_SLOTS] = {0}, room[WP_METER_SLOTS], total_room = 0;
    if (PQntuples(r0) == 1) ops[0] = strtoll(PQgetvalue(r0, 0, 0), NULL, 10);
    used += ops[0];
    for (int i = 0; i < PQntuples(r); i++) {
        int slot = atoi(PQgetvalue(r, i, 0));
        long long o = strtoll(PQgetvalue(r, i, 1), NULL, 10);
        used += o;
        if (slot > 0 && slot < WP_METER_SLOTS) ops[slot] = o;
    }
    for (int i = 0; i < WP_METER_SLOTS; i++) {
        room[i] = share(cap, i) - ops[i] > 0 ? share(cap, i) - ops[i] : 0;
        total_room += room[i];
    }
    PQclear(r0);
    PQclear(r);
    if (used + n > cap || total_room < n) return 0;
    char slots[64] = "{", adds[256] = "{", add0[24] = "0";
    long long left = n;
    for (int i = 0; i < WP_METER_SLOTS && left > 0; i++) {
        long long take = room[i] < left ? room[i] : left;
        if (take == 0) continue;
        left -= take;
        if (i == 0) {
            snprintf(add0, sizeof add0, "%lld", take);
            continue;
        }
        size_t sl = strlen(slots), al = strlen(adds);
        snprintf(slots + sl, sizeof slots - sl, "%s%d", sl > 1 ? "," : "", i);
        snprintf(adds + al, sizeof adds - al, "%s%lld", al > 1 ? "," : "", take);
    }
    strcat(slots, "}");
    strcat(adds, "}");
    const char *p0[] = {account_id, period, add0};
    if (strcmp(add0, "0") != 0 &&
        wp_db_query(conn,
                    "UPDATE usage_counters SET operations = operations + $3::bigint WHERE account_id = $1 AND period = $2",
                    3, p0, NULL, err) != WP_OK)
        return -1;
    const char *p2[] = {account_id, period, slots, adds};
    if (strcmp(slots, "{}") != 0 &&
        wp_db_query(conn,
                    "UPDATE usage_counter_slots u SET operations = u.operations + d.n"
                    " FROM unnest($3::smallint[], $4::bigint[]) AS d(slot, n)"
                    " WHERE u.account_id = $1 AND u.period = $2 AND u.slot = d.slot",
                    4, p2, NULL, err) != WP_OK)
        return -1;
    return 1;
}

/* Adds n to the account's counter unless it would pass cap (-1: no cap); 1 counted, 0 refused, -1 error. */
static int bump(PGconn *conn, const char *account_id, const char *period, int n, long long cap, wp_err *err)
{
    char nbuf[16];
    snprintf(nbuf, sizeof nbuf, "%d", n);
    if (cap >= 0 && n > cap) return 0;
    int start = (int)(atomic_fetch_add(&next_slot, 1) % WP_METER_SLOTS);
    if (cap < 0) {
        char sbuf[8];
        snprintf(sbuf, sizeof sbuf, "%d", start);
        const char *p[] = {account_id, period, sbuf, nbuf};
        return counted(conn, sql_of(start)->upsert, 4, p, err);
    }
    for (int k = 0; k < WP_METER_SLOTS; k++) {
        int slot = (start + k) % WP_METER_SLOTS;
        if (n > share(cap, slot)) continue;
        int c = bump_slot(conn, account_id, period, slot, nbuf, share(cap, slot), err);
        if (c != 0) return c;
    }
    /* no one slot has room for n: a batch may still fit split over several */
    return n > 1 ? bump_split(conn, account_id, period, n, cap, err) : 0;
}

wp_status wp_meter_consume(PGconn *conn, const wp_config *cfg, const char *account_id, int n, wp_err *err)
{
    return wp_meter_consume_read(conn, cfg, account_id, n, NULL, err);
}

wp_status wp_meter_consume_read(PGconn *conn, const wp_config *cfg, const char *account_id, int n,
                                const wp_meter_read *pre, wp_err *err)
{
    wp_meter_read u;
    if (pre && pre->valid && strcmp(pre->account, account_id) == 0) {
        u = *pre;
    } else {
        wp_status st = read_usage(conn, account_id, &u, err);
        if (st != WP_OK) return st;
    }
    if (!u.livemode) return WP_OK;
    if (u.trial_plan_over) return trial_over(err, 0);
    if (u.parent[0] && u.parent_trial_plan_over) return trial_over(err, 1);
    /* The sub-account's row first, then its agency's: always in this order,
     * so two operations never wait on each other's locks. */
    long long cap = own_cap(cfg, &u);
    /* the slots alone hold the limit while it stays the same; after a limit is lowered
     * within the month, the committed sum stops what the old shares would still let in */
    if (cap >= 0 && u.used + n > cap) return over_own(err, &u, cap);
    int c = bump(conn, account_id, u.period, n, cap, err);
    if (c < 0) return err->status;
    if (c == 0) return over_own(err, &u, cap);
    if (u.parent[0]) {
        long long pc = parent_cap(cfg, &u);
        if (pc >= 0 && u.parent_used + n > pc) return over_parent(err, &u, pc);
        c = bump(conn, u.parent, u.period, n, pc, err);
        if (c < 0) return err->status;
        if (c == 0) return over_parent(err, &u, pc); /* the caller rolls back the sub-account's count */
    }
    return WP_OK;
}
