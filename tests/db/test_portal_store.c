/*
 * db_portal_store: the dashboard's users, sessions, invitations and login
 * throttle (portal_store.h) against PostgreSQL: tokens stored as hashes,
 * idle and absolute session ends, the throttle's window and lock, one use of
 * an invitation, and the sweep.  Times are moved in the rows, never waited for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dbtest.h"
#include "portal_store.h"

static dbt T;
static PGconn *C;
static char user_a[WP_ID_MAX];

static int group_setup(void **state)
{
    (void)state;
    if (dbt_setup(&T) != 0) return -1;
    C = dbt_connect(&T);
    if (!C || dbt_account(C, "acct_a") || dbt_account(C, "acct_b")) return -1;
    wp_err err;
    wp_err_clear(&err);
    if (wp_portal_user_create(C, "acct_a", "Ada@Example.com", "$scrypt$x", user_a, &err) != WP_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (C) PQfinish(C);
    dbt_teardown(&T);
    return 0;
}

static void test_users(void **state)
{
    (void)state;
    wp_err err;
    wp_err_clear(&err);
    wp_portal_user u;
    assert_int_equal(wp_portal_user_by_email(C, "ada@EXAMPLE.com", &u, &err), WP_OK);
    assert_string_equal(u.id, user_a);
    assert_string_equal(u.account_id, "acct_a");
    char other[WP_ID_MAX];
    /* one email, one account: in any case, in any account */
    assert_int_equal(wp_portal_user_create(C, "acct_b", "ADA@example.com", "$scrypt$y", other, &err), WP_ECONFLICT);
    assert_string_equal(err.param, "email");
    assert_int_equal(wp_portal_user_by_email(C, "nobody@example.com", &u, &err), WP_ENOTFOUND);
    /* a deleted account's users sign in no more */
    assert_int_equal(wp_portal_user_create(C, "acct_b", "bob@example.com", "$scrypt$z", other, &err), WP_OK);
    assert_int_equal(dbt_exec(C, "UPDATE accounts SET deleted_at = now() WHERE id = 'acct_b'"), 0);
    assert_int_equal(wp_portal_user_by_email(C, "bob@example.com", &u, &err), WP_ENOTFOUND);
    assert_int_equal(dbt_exec(C, "UPDATE accounts SET deleted_at = NULL WHERE id = 'acct_b'"), 0);
}

static void test_sessions(void **state)
{
    (void)state;
    wp_err err;
    wp_err_clear(&err);
    char token[WP_PORTAL_TOKEN_LEN + 1];
    wp_portal_session s, f;
    assert_int_equal(wp_portal_session_create(C, "acct_a", user_a, "192.0.2.1", 24, token, &s, &err), WP_OK);
    assert_int_equal(strlen(token), WP_PORTAL_TOKEN_LEN);
    /* the token itself is nowhere in the table */
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM portal_sessions WHERE token_hash = '%s'", token);
    assert_int_equal(dbt_ll(C, sql), 0);
    assert_int_equal(wp_portal_session_find(C, token, 60, &f, &err), WP_OK);
    assert_string_equal(f.user_id, user_a);
    assert_string_equal(f.email, "Ada@Example.com");
    assert_string_equal(f.token_hash, s.token_hash);
    /* malformed or unknown tokens */
    assert_int_equal(wp_portal_session_find(C, "short", 60, &f, &err), WP_EAUTH);
    char wrong[WP_PORTAL_TOKEN_LEN + 1];
    memcpy(wrong, token, sizeof wrong);
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    assert_int_equal(wp_portal_session_find(C, wrong, 60, &f, &err), WP_EAUTH);
    /* idle longer than allowed: ended; used within it: marked used again */
    snprintf(sql, sizeof sql,
             "UPDATE portal_sessions SET last_seen_at = now() - interval '30 minutes' WHERE token_hash = '%s'",
             s.token_hash);
    assert_int_equal(dbt_exec(C, sql), 0);
    assert_int_equal(wp_portal_session_find(C, token, 20, &f, &err), WP_EAUTH);
    assert_int_equal(wp_portal_session_find(C, token, 60, &f, &err), WP_OK);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM portal_sessions WHERE token_hash = '%s' AND last_seen_at > now() - interval '1 minute'",
             s.token_hash);
    assert_int_equal(dbt_ll(C, sql), 1);
    /* past its end */
    snprintf(sql, sizeof sql, "UPDATE portal_sessions SET expires_at = now() - interval '1 s' WHERE token_hash = '%s'",
             s.token_hash);
    assert_int_equal(dbt_exec(C, sql), 0);
    assert_int_equal(wp_portal_session_find(C, token, 60, &f, &err), WP_EAUTH);
    long removed = 0;
    assert_int_equal(wp_portal_store_sweep(C, &removed, &err), WP_OK);
    assert_true(removed >= 1);
    assert_int_equal(dbt_ll(C, "SELECT count(*) FROM portal_sessions"), 0);
    /* every session of a user ends at once */
    char t1[WP_PORTAL_TOKEN_LEN + 1], t2[WP_PORTAL_TOKEN_LEN + 1];
    assert_int_equal(wp_portal_session_create(C, "acct_a", user_a, "192.0.2.1", 24, t1, &s, &err), WP_OK);
    assert_int_equal(wp_portal_session_create(C, "acct_a", user_a, "192.0.2.2", 24, t2, &s, &err), WP_OK);
    assert_string_not_equal(t1, t2);
    assert_int_equal(wp_portal_sessions_delete_user(C, "acct_a", user_a, &err), WP_OK);
    assert_int_equal(wp_portal_session_find(C, t1, 60, &f, &err), WP_EAUTH);
    assert_int_equal(wp_portal_session_find(C, t2, 60, &f, &err), WP_EAUTH);
}

static void test_throttle(void **state)
{
    (void)state;
    wp_err err;
    wp_err_clear(&err);
    const char *keys[] = {"email:ada@example.com", "ip:192.0.2.9"};
    long retry = -1;
    int locked = -1;
    assert_int_equal(wp_portal_throttle_check(C, keys, 2, &retry, &err), WP_OK);
    assert_int_equal(retry, 0);
    /* 3 failures within the window lock for 10 minutes */
    assert_int_equal(wp_portal_throttle_fail(C, keys[0], 3, 15, 10, &locked, &err), WP_OK);
    assert_false(locked);
    assert_int_equal(wp_portal_throttle_fail(C, keys[0], 3, 15, 10, &locked, &err), WP_OK);
    assert_false(locked);
    assert_int_equal(wp_portal_throttle_check(C, keys, 2, &retry, &err), WP_OK);
    assert_int_equal(wp_portal_throttle_fail(C, keys[0], 3, 15, 10, &locked, &err), WP_OK);
    assert_true(locked);
    assert_int_equal(wp_portal_throttle_check(C, keys, 2, &retry, &err), WP_ELIMIT);
    assert_true(retry > 9 * 60 && retry <= 10 * 60);
    /* a reset does not lift a lock that holds */
    assert_int_equal(wp_portal_throttle_reset(C, keys[0], &err), WP_OK);
    assert_int_equal(wp_portal_throttle_check(C, keys, 2, &retry, &err), WP_ELIMIT);
    /* the lock ends with its time; counting starts afresh */
    assert_int_equal(dbt_exec(C, "UPDATE portal_login_throttle SET locked_until = now() - interval '1 s'"), 0);
    assert_int_equal(wp_portal_throttle_check(C, keys, 2, &retry, &err), WP_OK);
    assert_int_equal(wp_portal_throttle_fail(C, keys[0], 3, 15, 10, &locked, &err), WP_OK);
    assert_false(locked);
    /* failures older than the window do not count: two old ones and one new are one */
    assert_int_equal(wp_portal_throttle_fail(C, keys[1], 3, 15, 10, &locked, &err), WP_OK);
    assert_int_equal(wp_portal_throttle_fail(C, keys[1], 3, 15, 10, &locked, &err), WP_OK);
    assert_int_equal(dbt_exec(C, "UPDATE portal_login_throttle SET window_start = now() - interval '16 minutes'"
                                 " WHERE key = 'ip:192.0.2.9'"),
                     0);
    assert_int_equal(wp_portal_throttle_fail(C, keys[1], 3, 15, 10, &locked, &err), WP_OK);
    assert_false(locked);
    assert_int_equal(dbt_ll(C, "SELECT failures FROM portal_login_throttle WHERE key = 'ip:192.0.2.9'"), 1);
    /* a key of one failure allowed locks at once */
    assert_int_equal(wp_portal_throttle_fail(C, "ip:192.0.2.10", 1, 15, 10, &locked, &err), WP_OK);
    assert_true(locked);
    /* a success forgets the failures */
    assert_int_equal(wp_portal_throttle_reset(C, keys[1], &err), WP_OK);
    assert_int_equal(dbt_ll(C, "SELECT count(*) FROM portal_login_throttle WHERE key = 'ip:192.0.2.9'"), 0);
    /* key text with quotes and backslashes is a key like any other */
    const char *odd[] = {"email:\"x\\\"@example.com"};
    assert_int_equal(wp_portal_throttle_fail(C, odd[0], 1, 15, 10, &locked, &err), WP_OK);
    assert_int_equal(wp_portal_throttle_check(C, odd, 1, &retry, &err), WP_ELIMIT);
}

static void test_invites(void **state)
{
    (void)state;
    wp_err err;
    wp_err_clear(&err);
    char tok[WP_PORTAL_TOKEN_LEN + 1], acct[WP_ID_MAX];
    /* to join acct_a, for one email, once */
    assert_int_equal(wp_portal_invite_create(C, "acct_a", "new@example.com", 24, tok, &err), WP_OK);
    assert_int_equal(wp_portal_invite_take(C, tok, "other@example.com", acct, &err), WP_ENOTFOUND);
    assert_string_equal(err.param, "invite");
    assert_int_equal(wp_portal_invite_take(C, tok, "NEW@example.com", acct, &err), WP_OK);
    assert_string_equal(acct, "acct_a");
    assert_int_equal(wp_portal_invite_take(C, tok, "new@example.com", acct, &err), WP_ENOTFOUND);
    /* to a new account, anyone; not once expired */
    assert_int_equal(wp_portal_invite_create(C, NULL, NULL, 24, tok, &err), WP_OK);
    assert_int_equal(dbt_exec(C, "UPDATE portal_invites SET expires_at = now() - interval '1 s' WHERE account_id IS NULL"),
                     0);
    assert_int_equal(wp_portal_invite_take(C, tok, "x@example.com", acct, &err), WP_ENOTFOUND);
    assert_int_equal(wp_portal_invite_create(C, NULL, NULL, 24, tok, &err), WP_OK);
    assert_int_equal(wp_portal_invite_take(C, tok, "x@example.com", acct, &err), WP_OK);
    assert_string_equal(acct, "");
    assert_int_equal(wp_portal_invite_take(C, "not a token", "x@example.com", acct, &err), WP_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_users),
        cmocka_unit_test(test_sessions),
        cmocka_unit_test(test_throttle),
        cmocka_unit_test(test_invites),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
