/* The credential vault: round trips, tampering, owner binding, key rotation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "vault.h"

#define K1 "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" /* "0123456789abcdef0123456789abcdef" */
#define K2 "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="

static void test_round_trip_and_no_plaintext(void **state)
{
    (void)state;
    wp_vault *v;
    wp_err err;
    assert_int_equal(wp_vault_new(K1, 1, NULL, &v, &err), WP_OK);
    const char *secret = "-----BEGIN PRIVATE KEY----- very secret";
    char *sealed;
    assert_int_equal(wp_vault_seal(v, "acct_a/google.json", secret, strlen(secret), &sealed, &err), WP_OK);
    assert_non_null(strstr(sealed, "wpv1:1:"));
    assert_null(strstr(sealed, "PRIVATE"));
    unsigned char *plain;
    size_t len;
    assert_int_equal(wp_vault_open(v, "acct_a/google.json", sealed, &plain, &len, &err), WP_OK);
    assert_int_equal(len, strlen(secret));
    assert_memory_equal(plain, secret, len);
    wp_vault_free_plain(plain, len);
    /* two seals of the same value differ (fresh nonce) */
    char *again;
    assert_int_equal(wp_vault_seal(v, "acct_a/google.json", secret, strlen(secret), &again, &err), WP_OK);
    assert_string_not_equal(sealed, again);
    free(again);
    free(sealed);
    wp_vault_free(v);
}

static void test_tamper_and_owner_binding(void **state)
{
    (void)state;
    wp_vault *v;
    wp_err err;
    assert_int_equal(wp_vault_new(K1, 1, NULL, &v, &err), WP_OK);
    char *sealed;
    assert_int_equal(wp_vault_seal(v, "acct_a/apple.p12", "abc", 3, &sealed, &err), WP_OK);
    unsigned char *plain;
    size_t len;
    assert_int_equal(wp_vault_open(v, "acct_b/apple.p12", sealed, &plain, &len, &err), WP_ECRYPTO);
    size_t n = strlen(sealed);
    sealed[n - 6] = sealed[n - 6] == 'A' ? 'B' : 'A';
    assert_int_equal(wp_vault_open(v, "acct_a/apple.p12", sealed, &plain, &len, &err), WP_ECRYPTO);
    assert_int_equal(wp_vault_open(v, "acct_a/apple.p12", "plain text", &plain, &len, &err), WP_ECRYPTO);
    assert_int_equal(wp_vault_open(v, "acct_a/apple.p12", "wpv1:1:!!!!", &plain, &len, &err), WP_ECRYPTO);
    assert_int_equal(wp_vault_open(v, "acct_a/apple.p12", "wpv1:1:QUJD", &plain, &len, &err), WP_ECRYPTO);
    free(sealed);
    wp_vault_free(v);
}

static void test_rotation(void **state)
{
    (void)state;
    wp_vault *old, *cur;
    wp_err err;
    assert_int_equal(wp_vault_new(K1, 1, NULL, &old, &err), WP_OK);
    char *sealed;
    assert_int_equal(wp_vault_seal(old, "x", "hello", 5, &sealed, &err), WP_OK);
    json_object *prev = json_tokener_parse("{\"1\":\"" K1 "\"}");
    assert_int_equal(wp_vault_new(K2, 2, prev, &cur, &err), WP_OK);
    assert_int_equal(wp_vault_key_version(cur), 2);
    unsigned char *plain;
    size_t len;
    assert_int_equal(wp_vault_open(cur, "x", sealed, &plain, &len, &err), WP_OK);
    assert_string_equal((char *)plain, "hello");
    wp_vault_free_plain(plain, len);
    wp_vault *only_new;
    assert_int_equal(wp_vault_new(K2, 2, NULL, &only_new, &err), WP_OK);
    assert_int_equal(wp_vault_open(only_new, "x", sealed, &plain, &len, &err), WP_ECRYPTO);
    assert_non_null(strstr(err.msg, "key version 1"));
    json_object_put(prev);
    free(sealed);
    wp_vault_free(old);
    wp_vault_free(cur);
    wp_vault_free(only_new);
}

static void test_bad_keys_refused(void **state)
{
    (void)state;
    wp_vault *v;
    wp_err err;
    assert_int_equal(wp_vault_new(NULL, 1, NULL, &v, &err), WP_ECONFIG);
    assert_non_null(strstr(err.msg, "WALLETPASS_MASTER_KEY"));
    assert_int_equal(wp_vault_new("c2hvcnQ=", 1, NULL, &v, &err), WP_ECONFIG);
    assert_non_null(strstr(err.msg, "32 bytes"));
    assert_int_equal(wp_vault_new("not base64", 1, NULL, &v, &err), WP_ECONFIG);
    json_object *prev = json_tokener_parse("{\"one\":\"" K1 "\"}");
    assert_int_equal(wp_vault_new(K2, 2, prev, &v, &err), WP_ECONFIG);
    assert_non_null(strstr(err.msg, "vault.previous_keys.one"));
    json_object_put(prev);
}

/* Link MACs: a known answer (computed independently with Python's hmac), binding to
 * purpose and data, truncation, and verification across a key rotation. */
static void test_mac(void **state)
{
    (void)state;
    wp_vault *v;
    wp_err err;
    assert_int_equal(wp_vault_new(K1, 1, NULL, &v, &err), WP_OK);
    char mac[WP_VAULT_MAC_LEN + 1];
    assert_int_equal(wp_vault_mac(v, "pass-link", "acct_a/pass_x", mac, sizeof mac), WP_OK);
    /* base64url(HMAC(HMAC(K1, "walletpass-mac/pass-link"), "acct_a/pass_x"))[:32] */
    assert_string_equal(mac, "ECnn-srBqDnrFaPiaLKD560RjZiOZ8S-");
    assert_int_equal(strlen(mac), 32);
    assert_int_equal(wp_vault_mac_verify(v, "pass-link", "acct_a/pass_x", mac), WP_OK);
    assert_int_equal(wp_vault_mac_verify(v, "pass-link", "acct_a/pass_y", mac), WP_ECRYPTO);
    assert_int_equal(wp_vault_mac_verify(v, "other-purpose", "acct_a/pass_x", mac), WP_ECRYPTO);
    char bad[WP_VAULT_MAC_LEN + 1];
    memcpy(bad, mac, sizeof bad);
    bad[5] = bad[5] == 'A' ? 'B' : 'A';
    assert_int_equal(wp_vault_mac_verify(v, "pass-link", "acct_a/pass_x", bad), WP_ECRYPTO);
    bad[5] = mac[5];
    bad[31] = '\0'; /* a truncated MAC */
    assert_int_equal(wp_vault_mac_verify(v, "pass-link", "acct_a/pass_x", bad), WP_ECRYPTO);
    assert_int_equal(wp_vault_mac_verify(v, "pass-link", "acct_a/pass_x", ""), WP_ECRYPTO);
    assert_int_equal(wp_vault_mac_verify(v, "pass-link", "acct_a/pass_x", NULL), WP_ECRYPTO);
    /* the output buffer must hold the MAC and its NUL */
    char small[WP_VAULT_MAC_LEN];
    assert_int_equal(wp_vault_mac(v, "pass-link", "acct_a/pass_x", small, sizeof small), WP_EINVAL);

    /* rotation: a new current key makes new MACs, old ones still verify while the old key is listed */
    json_object *prev = json_tokener_parse("{\"1\":\"" K1 "\"}");
    wp_vault *cur, *only_new;
    assert_int_equal(wp_vault_new(K2, 2, prev, &cur, &err), WP_OK);
    char mac2[WP_VAULT_MAC_LEN + 1];
    assert_int_equal(wp_vault_mac(cur, "pass-link", "acct_a/pass_x", mac2, sizeof mac2), WP_OK);
    assert_string_not_equal(mac, mac2);
    assert_int_equal(wp_vault_mac_verify(cur, "pass-link", "acct_a/pass_x", mac), WP_OK);
    assert_int_equal(wp_vault_mac_verify(cur, "pass-link", "acct_a/pass_x", mac2), WP_OK);
    assert_int_equal(wp_vault_new(K2, 2, NULL, &only_new, &err), WP_OK);
    assert_int_equal(wp_vault_mac_verify(only_new, "pass-link", "acct_a/pass_x", mac), WP_ECRYPTO);
    assert_int_equal(wp_vault_mac_verify(v, "pass-link", "acct_a/pass_x", mac2), WP_ECRYPTO);
    json_object_put(prev);
    wp_vault_free(v);
    wp_vault_free(cur);
    wp_vault_free(only_new);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_and_no_plaintext),
        cmocka_unit_test(test_tamper_and_owner_binding),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_bad_keys_refused),
        cmocka_unit_test(test_mac),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
