/*
 * portal_store.h - the dashboard's users, sessions, invitations and login
 * throttle in PostgreSQL (migrations/0012_portal.sql).
 *
 * Every secret a browser holds is stored as its SHA-256 only: a session's
 * token (the cookie) and an invitation's token.  Passwords arrive here
 * already hashed (password.h).  Sessions and the throttle live in the
 * database, so every gateway process of a deployment sees the same
 * sessions and the same lockouts.
 *
 * Ownership: every argument is borrowed; the out structs are the caller's.
 */
#ifndef WP_PORTAL_STORE_H
#define WP_PORTAL_STORE_H

#include <libpq-fe.h>
#include <stdint.h>

#include "err.h"
#include "ids.h"
#include "password.h"

#define WP_PORTAL_EMAIL_MAX 254    /* an address's longest form (RFC 5321 path) */
#define WP_PORTAL_TOKEN_LEN 43     /* 32 random bytes, base64url */

typedef struct wp_portal_user {
    char id[WP_ID_MAX];
    char account_id[WP_ID_MAX];
    char email[WP_PORTAL_EMAIL_MAX + 1];
    char password_hash[WP_PASSWORD_HASH_MAX];
} wp_portal_user;

typedef struct wp_portal_session {
    char account_id[WP_ID_MAX];
    char user_id[WP_ID_MAX];
    char email[WP_PORTAL_EMAIL_MAX + 1];
    char token_hash[65];
    char expires_at[40];           /* ISO 8601 UTC */
} wp_portal_session;

/* The user with this email (any case), of a live account that is not deleted; WP_ENOTFOUND otherwise. */
wp_status wp_portal_user_by_email(PGconn *db, const char *email, wp_portal_user *out, wp_err *err);

/* The user (account_id, id); WP_ENOTFOUND otherwise. */
wp_status wp_portal_user_get(PGconn *db, const char *account_id, const char *user_id, wp_portal_user *out,
                             wp_err *err);

/* A new user of the account; WP_ECONFLICT (param "email") when the email signs in elsewhere already. */
wp_status wp_portal_user_create(PGconn *db, const char *account_id, const char *email, const char *password_hash,
                                char id_out[WP_ID_MAX], wp_err *err);

wp_status wp_portal_user_set_password(PGconn *db, const char *account_id, const char *user_id, const char *password_hash,
                                      wp_err *err);

/* Records a successful login (last_login_at). */
wp_status wp_portal_user_touch(PGconn *db, const char *account_id, const char *user_id, wp_err *err);

/*
 * A new session for the user, ending after max_hours at the latest; token_out
 * receives the cookie's value (WP_PORTAL_TOKEN_LEN characters and a NUL).
 */
wp_status wp_portal_session_create(PGconn *db, const char *account_id, const char *user_id, const char *ip,
                                   int max_hours, char token_out[WP_PORTAL_TOKEN_LEN + 1], wp_portal_session *out,
                                   wp_err *err);

/*
 * The session of a cookie's token: WP_EAUTH when there is none, it expired,
 * it was idle longer than idle_minutes, or its account was deleted.  Marks it
 * used (at most once a minute, to spare the database a write per request).
 */
wp_status wp_portal_session_find(PGconn *db, const char *token, int idle_minutes, wp_portal_session *out, wp_err *err);

/* Ends one session (logout); ending one that is gone already is no error. */
wp_status wp_portal_session_delete(PGconn *db, const char *token_hash, wp_err *err);

/* Ends every session of the user (after a password change). */
wp_status wp_portal_sessions_delete_user(PGconn *db, const char *account_id, const char *user_id, wp_err *err);

/*
 * Login throttle.  Keys are "email:<address, lower case>" and "ip:<address>".
 * check: WP_ELIMIT with *retry_after_s when any of the n keys is locked.
 * fail: counts a failure of key within window_minutes; the max-th locks it
 * for lockout_minutes (*locked set to 1).  reset: forgets the key's failures.
 */
wp_status wp_portal_throttle_check(PGconn *db, const char *const *keys, int n, long *retry_after_s, wp_err *err);
wp_status wp_portal_throttle_fail(PGconn *db, const char *key, int max, int window_minutes, int lockout_minutes,
                                  int *locked, wp_err *err);
wp_status wp_portal_throttle_reset(PGconn *db, const char *key, wp_err *err);

/*
 * Invitations.  create: a token for joining account_id (NULL: for signing
 * up a new account), bound to email when given, valid ttl_hours; token_out
 * as for sessions.  take: uses up an unused, unexpired invitation inside the
 * caller's transaction (FOR UPDATE), filling *account_id ("" for a new
 * account); WP_ENOTFOUND (param "invite") otherwise, or when it is bound to
 * another email.
 */
wp_status wp_portal_invite_create(PGconn *db, const char *account_id, const char *email, int ttl_hours,
                                  char token_out[WP_PORTAL_TOKEN_LEN + 1], wp_err *err);
wp_status wp_portal_invite_take(PGconn *db, const char *token, const char *email, char account_id[WP_ID_MAX],
                                wp_err *err);

/* Deletes sessions past their end and throttle rows past their window and lock (the retention sweep). */
wp_status wp_portal_store_sweep(PGconn *db, long *removed, wp_err *err);

#endif
