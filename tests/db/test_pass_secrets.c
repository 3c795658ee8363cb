/*
 * db_pass_secrets: per-pass secrets of plugins (pass_secrets.h): minting
 * once, sealing at rest, bound to their row, a pass found by serial number
 * and secret across accounts (and nothing else found), master key rotation,
 * and the tokens moved from passes.auth_token by migration 0009.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dbtest.h"
#include "pass_secrets.h"
#include "domain.h"
#include "vault.h"

#define K1 "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
#define K2 "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="

static dbt T;
static wp_domain S;
static PGconn *C;

static void add_pass(const char *acct, const char *id, const char *serial)
{
    const char *params[] = {acct, id, serial};
    PGresult *r = PQexecParams(C,
                               "INSERT INTO passes (account_id, id, serial_number, pass_type, body)"
                               " VALUES ($1, $2, $3, 'generic', '{\"pass_type\": \"generic\", \"organization_name\": \"X\"}')",
                               3, NULL, params, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
}

static int group_setup(void **state)
{
    (void)state;
    if (dbt_setup(&T) != 0) return -1;
    wp_err err;
    if (wp_vault_new(K1, 1, NULL, &S.vault, &err) != WP_OK) return -1;
    S.db = T.db;
    if (!(C = dbt_connect(&T))) return -1;
    if (dbt_account(C, "acct_a") || dbt_account(C, "acct_b")) return -1;
    add_pass("acct_a", "pass_a1", "SN-SHARED1");
    add_pass("acct_b", "pass_b1", "SN-SHARED1");
    add_pass("acct_a", "pass_a2", "SN-ONLYA");
    add_pass("acct_a", "pass_a3", "SN-LEGACY");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    PQfinish(C);
    wp_vault_free(S.vault);
    dbt_teardown(&T);
    return 0;
}

static char *get(const char *acct, const char *pass, const char *plugin, const char *name, int mint, wp_status want)
{
    wp_err err;
    wp_err_clear(&err);
    char *v = NULL;
    size_t n = 0;
    wp_status st = wp_pass_secret_get(&S, NULL, acct, pass, plugin, name, mint, &v, &n, &err);
    if (st != want) fail_msg("get %s/%s %s/%s: %d (%s), want %d", acct, pass, plugin, name, st, err.msg, want);
    if (st == WP_OK) assert_int_equal(strlen(v), n);
    else assert_null(v);
    return v;
}

static wp_status find(const char *plugin, const char *name, const char *serial, const char *secret, char acct[64],
                      char pass[64])
{
    wp_err err;
    wp_err_clear(&err);
    return wp_pass_secret_find(&S, NULL, plugin, name, serial, secret, acct, 64, pass, 64, &err);
}

static long long rows(const char *where)
{
    char sql[400];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM pass_secrets WHERE %s", where);
    return dbt_ll(C, sql);
}

static void test_mint_once_sealed_and_bound(void **state)
{
    (void)state;
    char *t1 = get("acct_a", "pass_a1", "tiny", "device_token", 1, WP_OK);
    assert_int_equal(strlen(t1), 43);
    assert_int_equal(strspn(t1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
    char *again = get("acct_a", "pass_a1", "tiny", "device_token", 1, WP_OK);
    assert_string_equal(again, t1);
    free(again);
    again = get("acct_a", "pass_a1", "tiny", "device_token", 0, WP_OK);
    assert_string_equal(again, t1);
    free(again);
    /* another pass, another name, another plugin: another secret (or none) */
    char *t2 = get("acct_a", "pass_a2", "tiny", "device_token", 1, WP_OK);
    assert_string_not_equal(t2, t1);
    get("acct_a", "pass_a1", "other", "device_token", 0, WP_ENOTFOUND);
    get("acct_a", "pass_a1", "tiny", "other_name", 0, WP_ENOTFOUND);
    /* another account's pass, an unknown pass: nothing minted */
    get("acct_b", "pass_a1", "tiny", "device_token", 1, WP_ENOTFOUND);
    get("acct_a", "pass_none", "tiny", "device_token", 1, WP_ENOTFOUND);
    assert_int_equal(rows("account_id = 'acct_b' AND pass_id = 'pass_a1'"), 0);
    assert_int_equal(rows("pass_id = 'pass_none'"), 0);
    /* bad names */
    get("acct_a", "pass_a1", "Tiny", "device_token", 1, WP_EINVAL);
    get("acct_a", "pass_a1", "tiny", "device token", 1, WP_EINVAL);

    /* at rest: sealed, the look-up a MAC, neither holds the value */
    char sql[300];
    PGresult *r = PQexec(C, "SELECT sealed, lookup, legacy FROM pass_secrets WHERE pass_id = 'pass_a1' AND plugin = 'tiny'");
    assert_int_equal(PQntuples(r), 1);
    assert_true(strncmp(PQgetvalue(r, 0, 0), "wpv1:1:", 7) == 0);
    assert_null(strstr(PQgetvalue(r, 0, 0), t1));
    assert_int_equal(strlen(PQgetvalue(r, 0, 1)), WP_VAULT_MAC_LEN);
    assert_string_not_equal(PQgetvalue(r, 0, 1), t1);
    assert_string_equal(PQgetvalue(r, 0, 2), "f");
    PQclear(r);

    /* a sealed value copied to another row does not open there */
    snprintf(sql, sizeof sql,
             "UPDATE pass_secrets SET sealed = (SELECT sealed FROM pass_secrets WHERE pass_id = 'pass_a1'"
             " AND plugin = 'tiny') WHERE pass_id = 'pass_a2' AND plugin = 'tiny'");
    assert_int_equal(dbt_exec(C, sql), 0);
    get("acct_a", "pass_a2", "tiny", "device_token", 0, WP_ECRYPTO);
    assert_int_equal(dbt_exec(C, "DELETE FROM pass_secrets WHERE pass_id = 'pass_a2'"), 0);
    free(t1);
    free(t2);
}

static void test_find_across_accounts(void **state)
{
    (void)state;
    char *ta = get("acct_a", "pass_a1", "tiny", "device_token", 1, WP_OK);
    char *tb = get("acct_b", "pass_b1", "tiny", "device_token", 1, WP_OK);
    char acct[64], pass[64];
    /* one serial in two accounts: the secret decides */
    assert_int_equal(find("tiny", "device_token", "SN-SHARED1", tb, acct, pass), WP_OK);
    assert_string_equal(acct, "acct_b");
    assert_string_equal(pass, "pass_b1");
    assert_int_equal(find("tiny", "device_token", "SN-SHARED1", ta, acct, pass), WP_OK);
    assert_string_equal(acct, "acct_a");
    assert_string_equal(pass, "pass_a1");
    /* the same refusal for a wrong secret, an unknown serial, another pass's serial,
     * another plugin's or name's secret, an empty or oversized one */
    char big[WP_PASS_SECRET_MAX + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    const struct { const char *plugin, *name, *serial, *secret; } bad[] = {
        {"tiny", "device_token", "SN-SHARED1", "not-the-token"},
        {"tiny", "device_token", "SN-NONE", ta},
        {"tiny", "device_token", "SN-ONLYA", ta},
        {"other", "device_token", "SN-SHARED1", ta},
        {"tiny", "other_name", "SN-SHARED1", ta},
        {"tiny", "device_token", "SN-SHARED1", ""},
        {"tiny", "device_token", "SN-SHARED1", big},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wp_status st = find(bad[i].plugin, bad[i].name, bad[i].serial, bad[i].secret, acct, pass);
        if (st != WP_EAUTH) fail_msg("case %zu: %d, want WP_EAUTH", i, st);
        assert_string_equal(acct, "");
        assert_string_equal(pass, "");
    }

    /* a value of the plugin's own (put), replaced, found by its new value only */
    wp_err err;
    assert_int_equal(wp_pass_secret_put(&S, NULL, "acct_a", "pass_a2", "tiny", "code", "first", 5, &err), WP_OK);
    assert_int_equal(wp_pass_secret_put(&S, NULL, "acct_a", "pass_a2", "tiny", "code", "second", 6, &err), WP_OK);
    char *v = get("acct_a", "pass_a2", "tiny", "code", 0, WP_OK);
    assert_string_equal(v, "second");
    free(v);
    assert_int_equal(find("tiny", "code", "SN-ONLYA", "first", acct, pass), WP_EAUTH);
    assert_int_equal(find("tiny", "code", "SN-ONLYA", "second", acct, pass), WP_OK);
    assert_string_equal(pass, "pass_a2");
    assert_int_equal(wp_pass_secret_put(&S, NULL, "acct_b", "pass_a2", "tiny", "code", "x", 1, &err), WP_ENOTFOUND);
    assert_int_equal(wp_pass_secret_put(&S, NULL, "acct_a", "pass_a2", "tiny", "code", "a\0b", 3, &err), WP_EINVAL);
    assert_int_equal(wp_pass_secret_put(&S, NULL, "acct_a", "pass_a2", "tiny", "code", "", 0, &err), WP_EINVAL);

    /* the master key rotates: stored values open and are found while the old key is listed */
    wp_vault *old = S.vault, *rotated = NULL, *only_new = NULL;
    json_object *prev = json_tokener_parse("{\"1\":\"" K1 "\"}");
    assert_int_equal(wp_vault_new(K2, 2, prev, &rotated, &err), WP_OK);
    assert_int_equal(wp_vault_new(K2, 2, NULL, &only_new, &err), WP_OK);
    S.vault = rotated;
    assert_int_equal(find("tiny", "device_token", "SN-SHARED1", tb, acct, pass), WP_OK);
    assert_string_equal(pass, "pass_b1");
    v = get("acct_b", "pass_b1", "tiny", "device_token", 0, WP_OK);
    assert_string_equal(v, tb);
    free(v);
    S.vault = only_new;
    assert_int_equal(find("tiny", "device_token", "SN-SHARED1", tb, acct, pass), WP_EAUTH);
    S.vault = old;
    json_object_put(prev);
    wp_vault_free(rotated);
    wp_vault_free(only_new);
    free(ta);
    free(tb);
}

/* A row as migration 0009 moves one (then claimed by a plugin's own migration). */
static void test_moved_tokens(void **state)
{
    (void)state;
    static const char token[] = "moved-token-0123456789abcdef0123456789abcdef";
    char *sealed = NULL;
    wp_err err;
    assert_int_equal(wp_vault_seal(S.vault, "acct_a/pass/pass_a3/auth_token", token, strlen(token), &sealed, &err), WP_OK);
    const char *params[] = {sealed};
    PGresult *r = PQexecParams(C,
                               "INSERT INTO pass_secrets (account_id, pass_id, plugin, name, sealed, legacy)"
                               " VALUES ('acct_a', 'pass_a3', 'tiny', 'auth_token', $1, true)",
                               1, NULL, params, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    free(sealed);
    char *v = get("acct_a", "pass_a3", "tiny", "auth_token", 1, WP_OK);
    assert_string_equal(v, token);
    free(v);
    char acct[64], pass[64];
    assert_int_equal(find("tiny", "auth_token", "SN-LEGACY", "wrong", acct, pass), WP_EAUTH);
    assert_int_equal(rows("pass_id = 'pass_a3' AND lookup IS NULL"), 1);
    assert_int_equal(find("tiny", "auth_token", "SN-LEGACY", token, acct, pass), WP_OK);
    assert_string_equal(pass, "pass_a3");
    /* matched once: indexed from then on, and still found */
    assert_int_equal(rows("pass_id = 'pass_a3' AND lookup IS NOT NULL AND legacy"), 1);
    assert_int_equal(find("tiny", "auth_token", "SN-LEGACY", token, acct, pass), WP_OK);
    assert_string_equal(acct, "acct_a");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mint_once_sealed_and_bound),
        cmocka_unit_test(test_find_across_accounts),
        cmocka_unit_test(test_moved_tokens),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
