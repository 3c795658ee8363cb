/* portal_store.c - see portal_store.h. */
#include "portal_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

static wp_status copy_field(char *dst, size_t len, const char *src, const char *what, wp_err *err)
{
    int n = snprintf(dst, len, "%s", src);
    if (n < 0 || (size_t)n >= len) return wp_err_set(err, WP_EINTERNAL, "stored %s is too long", what);
    return WP_OK;
}

static wp_status fill_user(PGresult *r, wp_portal_user *out, wp_err *err)
{
    wp_status st = copy_field(out->id, sizeof out->id, PQgetvalue(r, 0, 0), "user id", err);
    if (st == WP_OK) st = copy_field(out->account_id, sizeof out->account_id, PQgetvalue(r, 0, 1), "account id", err);
    if (st == WP_OK) st = copy_field(out->email, sizeof out->email, PQgetvalue(r, 0, 2), "email", err);
    if (st == WP_OK)
        st = copy_field(out->password_hash, sizeof out->password_hash, PQgetvalue(r, 0, 3), "password hash", err);
    return st;
}

static wp_status one_user(PGconn *db, const char *sql, int n, const char *const *p, wp_portal_user *out, wp_err *err)
{
    PGresult *r;
    wp_status st = wp_db_query(db, sql, n, p, &r, err);
    if (st != WP_OK) return st;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return wp_err_set(err, WP_ENOTFOUND, "no such user");
    }
    st = fill_user(r, out, err);
    PQclear(r);
    return st;
}

wp_status wp_portal_user_by_email(PGconn *db, const char *email, wp_portal_user *out, wp_err *err)
{
    const char *p[] = {email};
    return one_user(db,
                    "SELECT u.id, u.account_id, u.email, u.password_hash FROM portal_users u"
                    " JOIN accounts a ON a.id = u.account_id"
                    " WHERE lower(u.email) = lower($1) AND a.livemode AND a.deleted_at IS NULL",
                    1, p, out, err);
}

wp_status wp_portal_user_get(PGconn *db, const char *account_id, const char *user_id, wp_portal_user *out, wp_err *err)
{
    const char *p[] = {account_id, user_id};
    return one_user(db,
                    "SELECT id, account_id, email, password_hash FROM portal_users WHERE account_id = $1 AND id = $2", 2,
                    p, out, err);
}

wp_status wp_portal_user_create(PGconn *db, const char *account_id, const char *email, const char *password_hash,
                                char id_out[WP_ID_MAX], wp_err *err)
{
    if (wp_id_new("user", id_out) != WP_OK) return wp_err_set(err, WP_ECRYPTO, "random number generator failed");
    const char *p[] = {account_id, id_out, email, password_hash};
    wp_status st = wp_db_query(db,
                               "INSERT INTO portal_users (account_id, id, email, password_hash) VALUES ($1, $2, $3, $4)",
                               4, p, NULL, err);
    if (st == WP_ECONFLICT)
        return wp_err_param(err, WP_ECONFLICT, "email", "a dashboard user with email %s exists already", email);
    return st;
}

wp_status wp_portal_user_set_password(PGconn *db, const char *account_id, const char *user_id, const char *password_hash,
                                      wp_err *err)
{
    const char *p[] = {account_id, user_id, password_hash};
    PGresult *r;
    wp_status st = wp_db_query(db,
                               "UPDATE portal_users SET password_hash = $3, password_changed_at = now()"
                               " WHERE account_id = $1 AND id = $2 RETURNING id",
                               3, p, &r, err);
    if (st != WP_OK) return st;
    int n = PQntuples(r);
    PQclear(r);
    return n == 1 ? WP_OK : wp_err_set(err, WP_ENOTFOUND, "no such user");
}

wp_status wp_portal_user_touch(PGconn *db, const char *account_id, const char *user_id, wp_err *err)
{
    const char *p[] = {account_id, user_id};
    return wp_db_query(db, "UPDATE portal_users SET last_login_at = now() WHERE account_id = $1 AND id = $2", 2, p, NULL,
                       err);
}

wp_status wp_portal_session_create(PGconn *db, const char *account_id, const char *user_id, const char *ip,
                                   int max_hours, char token_out[WP_PORTAL_TOKEN_LEN + 1], wp_portal_session *out,
                                   wp_err *err)
{
    if (wp_random_token(32, token_out, WP_PORTAL_TOKEN_LEN + 1) != WP_OK)
        return wp_err_set(err, WP_ECRYPTO, "random number generator failed");
    char hash[65], hours[16];
    wp_sha256_hex(token_out, strlen(token_out), hash);
    snprintf(hours, sizeof hours, "%d", max_hours);
    const char *p[] = {account_id, hash, user_id, hours, ip};
    PGresult *r;
    wp_status st = wp_db_query(db,
                               "WITH s AS (INSERT INTO portal_sessions (account_id, token_hash, user_id, expires_at, ip)"
                               "  VALUES ($1, $2, $3, now() + make_interval(hours => $4::int), $5)"
                               "  RETURNING account_id, user_id, expires_at)"
                               " SELECT s.account_id, s.user_id, u.email, " ISO("s.expires_at")
                               " FROM s JOIN portal_users u ON u.account_id = s.account_id AND u.id = s.user_id",
                               5, p, &r, err);
    if (st != WP_OK) return st;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return wp_err_set(err, WP_ENOTFOUND, "no such user");
    }
    memset(out, 0, sizeof *out);
    st = copy_field(out->account_id, sizeof out->account_id, PQgetvalue(r, 0, 0), "account id", err);
    if (st == WP_OK) st = copy_field(out->user_id, sizeof out->user_id, PQgetvalue(r, 0, 1), "user id", err);
    if (st == WP_OK) st = copy_field(out->email, sizeof out->email, PQgetvalue(r, 0, 2), "email", err);
    if (st == WP_OK) st = copy_field(out->expires_at, sizeof out->expires_at, PQgetvalue(r, 0, 3), "time", err);
    memcpy(out->token_hash, hash, sizeof hash);
    PQclear(r);
    return st;
}

/* A cookie's value: 43 base64url characters, nothing else. */
static int token_shaped(const char *t)
{
    size_t n = 0;
    for (; t[n]; n++) {
        char c = t[n];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return 0;
    }
    return n == WP_PORTAL_TOKEN_LEN;
}

wp_status wp_portal_session_find(PGconn *db, const char *token, int idle_minutes, wp_portal_session *out, wp_err *err)
{
    if (!token || !token_shaped(token)) return wp_err_set(err, WP_EAUTH, "the session cookie is malformed");
    char hash[65], idle[16];
    wp_sha256_hex(token, strlen(token), hash);
    snprintf(idle, sizeof idle, "%d", idle_minutes);
    const char *p[] = {hash, idle};
    PGresult *r;
    wp_status st = wp_db_query(db,
                               "SELECT s.account_id, s.user_id, u.email, " ISO("s.expires_at") ","
                               " s.last_seen_at < now() - interval '1 minute'"
                               " FROM portal_sessions s"
                               " JOIN portal_users u ON u.account_id = s.account_id AND u.id = s.user_id"
                               " JOIN accounts a ON a.id = s.account_id"
                               " WHERE s.token_hash = $1 AND s.expires_at > now() AND a.deleted_at IS NULL"
                               "   AND s.last_seen_at > now() - make_interval(mins => $2::int)",
                               2, p, &r, err);
    if (st != WP_OK) return st;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return wp_err_set(err, WP_EAUTH, "the session has ended: sign in again");
    }
    memset(out, 0, sizeof *out);
    st = copy_field(out->account_id, sizeof out->account_id, PQgetvalue(r, 0, 0), "account id", err);
    if (st == WP_OK) st = copy_field(out->user_id, sizeof out->user_id, PQgetvalue(r, 0, 1), "user id", err);
    if (st == WP_OK) st = copy_field(out->email, sizeof out->email, PQgetvalue(r, 0, 2), "email", err);
    if (st == WP_OK) st = copy_field(out->expires_at, sizeof out->expires_at, PQgetvalue(r, 0, 3), "time", err);
    int stale = strcmp(PQgetvalue(r, 0, 4), "t") == 0;
    PQclear(r);
    if (st != WP_OK) return st;
    memcpy(out->token_hash, hash, sizeof hash);
    if (stale) {
        const char *p2[] = {out->account_id, hash};
        st = wp_db_query(db, "UPDATE portal_sessions SET last_seen_at = now() WHERE account_id = $1 AND token_hash = $2",
                         2, p2, NULL, err);
    }
    return st;
}

wp_status wp_portal_session_delete(PGconn *db, const char *token_hash, wp_err *err)
{
    const char *p[] = {token_hash};
    return wp_db_query(db, "DELETE FROM portal_sessions WHERE token_hash = $1", 1, p, NULL, err);
}

wp_status wp_portal_sessions_delete_user(PGconn *db, const char *account_id, const char *user_id, wp_err *err)
{
    const char *p[] = {account_id, user_id};
    return wp_db_query(db, "DELETE FROM portal_sessions WHERE account_id = $1 AND user_id = $2", 2, p, NULL, err);
}

wp_status wp_portal_throttle_check(PGconn *db, const char *const *keys, int n, long *retry_after_s, wp_err *err)
{
    *retry_after_s = 0;
    /* the keys as a text array literal: each quoted, quotes and backslashes escaped */
    char arr[1024];
    size_t o = 0;
    arr[o++] = '{';
    for (int i = 0; i < n; i++) {
        if (o + 4 >= sizeof arr) return wp_err_set(err, WP_EINTERNAL, "throttle keys too long");
        if (i) arr[o++] = ',';
        arr[o++] = '"';
        for (const char *c = keys[i]; *c; c++) {
            if (o + 4 >= sizeof arr) return wp_err_set(err, WP_EINTERNAL, "throttle keys too long");
            if (*c == '"' || *c == '\\') arr[o++] = '\\';
            arr[o++] = *c;
        }
        arr[o++] = '"';
    }
    arr[o++] = '}';
    arr[o] = '\0';
    const char *p[] = {arr};
    PGresult *r;
    wp_status st = wp_db_query(db,
                               "SELECT coalesce(max(ceil(extract(epoch FROM locked_until - now())))::bigint, 0)"
                               " FROM portal_login_throttle WHERE key = ANY($1::text[]) AND locked_until > now()",
                               1, p, &r, err);
    if (st != WP_OK) return st;
    long s = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (s > 0) {
        *retry_after_s = s;
        return wp_err_set(err, WP_ELIMIT, "too many failed sign-ins: try again in %ld minute%s", (s + 59) / 60,
                          (s + 59) / 60 == 1 ? "" : "s");
    }
    return WP_OK;
}

wp_status wp_portal_throttle_fail(PGconn *db, const char *key, int max, int window_minutes, int lockout_minutes,
                                  int *locked, wp_err *err)
{
    *locked = 0;
    char smax[16], win[16], lock[16];
    snprintf(smax, sizeof smax, "%d", max);
    snprintf(win, sizeof win, "%d", window_minutes);
    snprintf(lock, sizeof lock, "%d", lockout_minutes);
    const char *p[] = {key, smax, win, lock};
    PGresult *r;
    /* One statement, so that two processes counting failures of one key at once both count:
     * the row's lock orders them.  A failure past the window starts a new one; the max-th locks
     * the key and starts counting afresh. */
    wp_status st = wp_db_query(
        db,
        "INSERT INTO portal_login_throttle AS t (key, failures, window_start, locked_until)"
        " VALUES ($1, 1, now(), CASE WHEN $2::int <= 1 THEN now() + make_interval(mins => $4::int) END)"
        " ON CONFLICT (key) DO UPDATE SET"
        "  failures = CASE WHEN t.window_start < now() - make_interval(mins => $3::int) THEN 1"
        "                  WHEN t.failures + 1 >= $2::int THEN 0 ELSE t.failures + 1 END,"
        "  window_start = CASE WHEN t.window_start < now() - make_interval(mins => $3::int)"
        "                        OR t.failures + 1 >= $2::int THEN now() ELSE t.window_start END,"
        "  locked_until = CASE WHEN t.window_start >= now() - make_interval(mins => $3::int)"
        "                        AND t.failures + 1 >= $2::int THEN now() + make_interval(mins => $4::int)"
        "                      WHEN t.window_start < now() - make_interval(mins => $3::int) AND $2::int <= 1"
        "                        THEN now() + make_interval(mins => $4::int)"
        "                      ELSE t.locked_until END"
        " RETURNING locked_until IS NOT NULL AND locked_until > now()",
        4, p, &r, err);
    if (st != WP_OK) return st;
    *locked = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return WP_OK;
}

wp_status wp_portal_throttle_reset(PGconn *db, const char *key, wp_err *err)
{
    const char *p[] = {key};
    return wp_db_query(db, "DELETE FROM portal_login_throttle WHERE key = $1 AND coalesce(locked_until, now()) <= now()",
                       1, p, NULL, err);
}

wp_status wp_portal_invite_create(PGconn *db, const char *account_id, const char *email, int ttl_hours,
                                  char token_out[WP_PORTAL_TOKEN_LEN + 1], wp_err *err)
{
    if (wp_random_token(32, token_out, WP_PORTAL_TOKEN_LEN + 1) != WP_OK)
        return wp_err_set(err, WP_ECRYPTO, "random number generator failed");
    char hash[65], hours[16];
    wp_sha256_hex(token_out, strlen(token_out), hash);
    snprintf(hours, sizeof hours, "%d", ttl_hours);
    const char *p[] = {hash, account_id && *account_id ? account_id : NULL, email && *email ? email : NULL, hours};
    return wp_db_query(db,
                       "INSERT INTO portal_invites (token_hash, account_id, email, expires_at)"
                       " VALUES ($1, $2, $3, now() + make_interval(hours => $4::int))",
                       4, p, NULL, err);
}

wp_status wp_portal_invite_take(PGconn *db, const char *token, const char *email, char account_id[WP_ID_MAX],
                                wp_err *err)
{
    account_id[0] = '\0';
    if (!token || !token_shaped(token))
        return wp_err_param(err, WP_ENOTFOUND, "invite", "the invitation is not valid (unknown, used or expired)");
    char hash[65];
    wp_sha256_hex(token, strlen(token), hash);
    const char *p[] = {hash, email};
    PGresult *r;
    wp_status st = wp_db_query(db,
                               "SELECT coalesce(i.account_id, '') FROM portal_invites i"
                               " LEFT JOIN accounts a ON a.id = i.account_id"
                               " WHERE i.token_hash = $1 AND i.used_at IS NULL AND i.expires_at > now()"
                               "   AND (i.email IS NULL OR lower(i.email) = lower($2))"
                               "   AND (i.account_id IS NULL OR a.deleted_at IS NULL)"
                               " FOR UPDATE OF i",
                               2, p, &r, err);
    if (st != WP_OK) return st;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return wp_err_param(err, WP_ENOTFOUND, "invite",
                            "the invitation is not valid (unknown, used, expired, or for another email)");
    }
    st = copy_field(account_id, WP_ID_MAX, PQgetvalue(r, 0, 0), "account id", err);
    PQclear(r);
    if (st != WP_OK) return st;
    return wp_db_query(db, "UPDATE portal_invites SET used_at = now() WHERE token_hash = $1", 1, p, NULL, err);
}

wp_status wp_portal_store_sweep(PGconn *db, long *removed, wp_err *err)
{
    *removed = 0;
    PGresult *r;
    wp_status st = wp_db_query(db,
                               "WITH s AS (DELETE FROM portal_sessions WHERE expires_at < now() RETURNING 1),"
                               " t AS (DELETE FROM portal_login_throttle WHERE window_start < now() - interval '7 days'"
                               "   AND coalesce(locked_until, now()) <= now() RETURNING 1),"
                               " i AS (DELETE FROM portal_invites WHERE expires_at < now() - interval '30 days' RETURNING 1)"
                               " SELECT (SELECT count(*) FROM s) + (SELECT count(*) FROM t) + (SELECT count(*) FROM i)",
                               0, NULL, &r, err);
    if (st != WP_OK) return st;
    *removed = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return WP_OK;
}
