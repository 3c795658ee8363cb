/*
 * db_passes: the C helpers platform plugins read passes with (pass_service.h):
 * wp_pass_load (no secret in it: those are pass_secrets.h's) and the pass
 * link capability (wp_pass_link_token, wp_pass_load_by_link), including a
 * master key rotation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dbtest.h"
#include "pass_service.h"
#include "domain.h"
#include "vault.h"

#define K1 "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
#define K2 "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="

static dbt T;
static wp_domain S;

/* Inserts a pass the way the pass service stores one. */
static void add_pass(PGconn *c, const char *acct, const char *id, const char *serial)
{
    const char *params[] = {acct, id, serial};
    PGresult *r = PQexecParams(c,
                               "INSERT INTO passes (account_id, id, serial_number, pass_type, body, overrides)"
                               " VALUES ($1, $2, $3, 'loyalty', '{\"pass_type\": \"loyalty\", \"organization_name\":"
                               " \"Solstice\", \"logo_text\": \"S\"}', '{\"logo_text\": true}')",
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
    PGconn *c = dbt_connect(&T);
    if (!c) return -1;
    int rc = dbt_account(c, "acct_a") || dbt_account(c, "acct_b");
    if (!rc) {
        add_pass(c, "acct_a", "pass_a1", "SN-SHARED1");
        add_pass(c, "acct_b", "pass_b1", "SN-SHARED1");
        add_pass(c, "acct_a", "pass_a2", "SN-ONLYA");
    }
    PQfinish(c);
    return rc ? -1 : 0;
}

static int group_teardown(void **state)
{
    (void)state;
    wp_vault_free(S.vault);
    dbt_teardown(&T);
    return 0;
}

static const char *str(json_object *o, const char *k)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

static void test_load(void **state)
{
    (void)state;
    wp_err err;
    json_object *o = NULL;
    assert_int_equal(wp_pass_load(&S, NULL, "acct_a", "pass_a1", &o, &err), WP_OK);
    assert_string_equal(str(o, "account_id"), "acct_a");
    assert_false(json_object_object_get_ex(o, "authentication_token", NULL));
    json_object *pass = NULL, *body = NULL, *ovr = NULL;
    assert_true(json_object_object_get_ex(o, "pass", &pass));
    assert_true(json_object_object_get_ex(o, "body", &body));
    assert_true(json_object_object_get_ex(o, "overrides", &ovr));
    assert_string_equal(str(pass, "id"), "pass_a1");
    assert_string_equal(str(pass, "serial_number"), "SN-SHARED1");
    assert_string_equal(str(pass, "pass_type"), "loyalty");
    assert_string_equal(str(pass, "organization_name"), "Solstice");
    assert_null(str(pass, "authentication_token"));
    assert_null(str(pass, "apple_pass_type_id")); /* a platform's keys are its plugin's (pass.links) */
    assert_string_equal(str(body, "logo_text"), "S");
    assert_int_equal(json_object_array_length(ovr), 1);
    json_object_put(o);
    /* another account's pass, and a missing one, are not found */
    assert_int_equal(wp_pass_load(&S, NULL, "acct_b", "pass_a1", &o, &err), WP_ENOTFOUND);
    assert_null(o);
    assert_int_equal(wp_pass_load(&S, NULL, "acct_a", "pass_none", &o, &err), WP_ENOTFOUND);
    /* with the caller's connection */
    PGconn *c = wp_db_acquire(T.db, &err);
    assert_non_null(c);
    assert_int_equal(wp_pass_load(&S, c, "acct_b", "pass_b1", &o, &err), WP_OK);
    assert_string_equal(str(o, "account_id"), "acct_b");
    json_object_put(o);
    wp_db_release(T.db, c);
}

static void test_link_capability(void **state)
{
    (void)state;
    wp_err err;
    char t1[WP_PASS_LINK_TOKEN_LEN + 1], t2[WP_PASS_LINK_TOKEN_LEN + 1], tb[WP_PASS_LINK_TOKEN_LEN + 1];
    assert_int_equal(wp_pass_link_token(&S, "acct_a", "pass_a1", t1), WP_OK);
    assert_int_equal(strlen(t1), WP_PASS_LINK_TOKEN_LEN);
    assert_int_equal(wp_pass_link_token(&S, "acct_a", "pass_a2", t2), WP_OK);
    assert_int_equal(wp_pass_link_token(&S, "acct_b", "pass_b1", tb), WP_OK);
    assert_string_not_equal(t1, t2);
    assert_int_equal(wp_pass_link_verify(&S, "acct_a", "pass_a1", t1), WP_OK);
    assert_int_equal(wp_pass_link_verify(&S, "acct_a", "pass_a1", t2), WP_ENOTFOUND);
    assert_int_equal(wp_pass_link_verify(&S, "acct_b", "pass_a1", t1), WP_ENOTFOUND);

    json_object *o = NULL;
    assert_int_equal(wp_pass_load_by_link(&S, NULL, "pass_a1", t1, &o, &err), WP_OK);
    assert_string_equal(str(o, "account_id"), "acct_a");
    json_object_put(o);
    /* another pass's token, a token of another account's pass, garbage, an unknown id: 404 */
    assert_int_equal(wp_pass_load_by_link(&S, NULL, "pass_a1", t2, &o, &err), WP_ENOTFOUND);
    assert_int_equal(wp_pass_load_by_link(&S, NULL, "pass_a1", tb, &o, &err), WP_ENOTFOUND);
    assert_int_equal(wp_pass_load_by_link(&S, NULL, "pass_a1", "", &o, &err), WP_ENOTFOUND);
    assert_int_equal(wp_pass_load_by_link(&S, NULL, "pass_none", t1, &o, &err), WP_ENOTFOUND);
    assert_null(o);

    /* the master key rotates: old links keep working while the old key is listed */
    wp_vault *old = S.vault, *rotated = NULL, *only_new = NULL;
    json_object *prev = json_tokener_parse("{\"1\":\"" K1 "\"}");
    assert_int_equal(wp_vault_new(K2, 2, prev, &rotated, &err), WP_OK);
    assert_int_equal(wp_vault_new(K2, 2, NULL, &only_new, &err), WP_OK);
    S.vault = rotated;
    assert_int_equal(wp_pass_link_verify(&S, "acct_a", "pass_a1", t1), WP_OK);
    assert_int_equal(wp_pass_load_by_link(&S, NULL, "pass_a1", t1, &o, &err), WP_OK);
    json_object_put(o);
    char fresh[WP_PASS_LINK_TOKEN_LEN + 1];
    assert_int_equal(wp_pass_link_token(&S, "acct_a", "pass_a1", fresh), WP_OK);
    assert_string_not_equal(fresh, t1);
    S.vault = only_new;
    assert_int_equal(wp_pass_link_verify(&S, "acct_a", "pass_a1", t1), WP_ENOTFOUND);
    S.vault = old;
    json_object_put(prev);
    wp_vault_free(rotated);
    wp_vault_free(only_new);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_link_capability),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
