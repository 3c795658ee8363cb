/*
 * unit_apple_credcheck: the "apple" credential kind's check
 * (apple_credcheck.c), without a gateway.  The P12s are made here with
 * OpenSSL: a self-issued Pass Type ID certificate and its key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "apple_credcheck.h"

#define PTID "pass.com.example.test"
#define TEAM "ABCDE12345"
#define PASSWORD "Sup3r-s3cret-pw"

static EVP_PKEY *key;
static X509 *cert;
static char *p12_b64, *cert_pem;
static time_t now;

static X509 *make_cert(EVP_PKEY *k, const char *uid, const char *ou, const char *cn)
{
    X509 *c = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(c), 4242);
    X509_gmtime_adj(X509_getm_notBefore(c), -86400);
    X509_gmtime_adj(X509_getm_notAfter(c), 30L * 86400);
    X509_NAME *n = X509_get_subject_name(c);
    if (uid) X509_NAME_add_entry_by_NID(n, NID_userId, MBSTRING_UTF8, (const unsigned char *)uid, -1, -1, 0);
    if (cn) X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    if (ou) X509_NAME_add_entry_by_NID(n, NID_organizationalUnitName, MBSTRING_UTF8, (const unsigned char *)ou, -1, -1, 0);
    X509_set_issuer_name(c, n);
    X509_set_pubkey(c, k);
    X509_sign(c, k, EVP_sha256());
    return c;
}

static char *p12_of(EVP_PKEY *k, X509 *c, const char *pw)
{
    PKCS12 *p = PKCS12_create(pw, NULL, k, c, NULL, 0, 0, 0, 0, 0);
    unsigned char *der = NULL;
    int n = i2d_PKCS12(p, &der);
    PKCS12_free(p);
    char *b64 = malloc(4 * ((size_t)n + 2) / 3 + 4);
    EVP_EncodeBlock((unsigned char *)b64, der, n);
    OPENSSL_free(der);
    return b64;
}

static char *pem_of(X509 *c)
{
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, c);
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char *s = strndup(p, (size_t)n);
    BIO_free(b);
    return s;
}

static int setup(void **state)
{
    (void)state;
    now = time(NULL);
    key = EVP_RSA_gen(2048);
    if (!key) return -1;
    cert = make_cert(key, PTID, TEAM, "Pass Type ID: " PTID);
    p12_b64 = p12_of(key, cert, PASSWORD);
    cert_pem = pem_of(cert);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    X509_free(cert);
    EVP_PKEY_free(key);
    free(p12_b64);
    free(cert_pem);
    return 0;
}

static json_object *body(const char *p12)
{
    json_object *b = json_object_new_object();
    json_object_object_add(b, "p12_base64", json_object_new_string(p12));
    json_object_object_add(b, "p12_password", json_object_new_string(PASSWORD));
    json_object_object_add(b, "pass_type_identifier", json_object_new_string(PTID));
    json_object_object_add(b, "team_identifier", json_object_new_string(TEAM));
    return b;
}

static const char *str(json_object *o, const char *k) { return json_object_get_string(json_object_object_get(o, k)); }

static void test_accepts_a_pass_type_id_p12(void **state)
{
    (void)state;
    json_object *b = body(p12_b64), *secret = NULL, *meta = NULL;
    apple_credcheck_err err;
    memset(&err, 0, sizeof err);
    assert_int_equal(apple_credcheck(b, now, NULL, &secret, &meta, &err), WP_OK);
    assert_string_equal(str(secret, "pass_type_identifier"), PTID);
    assert_string_equal(str(secret, "team_identifier"), TEAM);
    assert_string_equal(str(secret, "certificate_pem"), cert_pem);
    assert_non_null(strstr(str(secret, "private_key_pem"), "-----BEGIN PRIVATE KEY-----"));
    assert_true(json_object_object_get_ex(secret, "wwdr_pem", NULL));
    assert_null(json_object_object_get(secret, "wwdr_pem"));
    assert_string_equal(str(meta, "serial"), "1092"); /* 4242 in hex */
    assert_string_equal(str(meta, "pass_type_identifier"), PTID);
    assert_false(json_object_get_boolean(json_object_object_get(meta, "has_wwdr")));
    assert_false(json_object_object_get_ex(meta, "private_key_pem", NULL));
    wpc_cred_wipe_put(secret);
    json_object_put(meta);
    json_object_put(b);
}

static void expect(json_object *b, time_t when, const apple_credcheck_opts *opts, const char *param, const char *code,
                   const char *needle)
{
    json_object *secret = NULL, *meta = NULL;
    apple_credcheck_err err;
    memset(&err, 0, sizeof err);
    assert_int_equal(apple_credcheck(b, when, opts, &secret, &meta, &err), WP_EINVAL);
    assert_null(secret);
    assert_null(meta);
    assert_string_equal(err.param, param);
    assert_string_equal(err.code, code);
    if (!strstr(err.msg, needle)) fail_msg("\"%s\" not in \"%s\"", needle, err.msg);
    assert_null(strstr(err.msg, PASSWORD));
    json_object_put(b);
}

static void test_refusals_name_the_field(void **state)
{
    (void)state;
    json_object *b = body(p12_b64);
    json_object_object_add(b, "p12_password", json_object_new_string("wrong password"));
    expect(b, now, NULL, "p12_password", "parameter_invalid", "not the password");
    expect(body("!!!not base64!!!"), now, NULL, "p12_base64", "parameter_invalid", "base64");
    expect(body(p12_b64), now + 400L * 86400, NULL, "p12_base64", "parameter_invalid", "expired on");
    b = body(p12_b64);
    json_object_object_add(b, "pass_type_identifier", json_object_new_string("pass.com.example.other"));
    expect(b, now, NULL, "pass_type_identifier", "parameter_invalid", "does not match the certificate");
    b = body(p12_b64);
    json_object_object_add(b, "team_identifier", json_object_new_string("abc"));
    expect(b, now, NULL, "team_identifier", "parameter_invalid", "10-character");
    b = body(p12_b64);
    json_object_object_del(b, "p12_password");
    expect(b, now, NULL, "p12_password", "parameter_missing", "required");
    b = body(p12_b64);
    json_object_object_add(b, "colour", json_object_new_string("blue"));
    expect(b, now, NULL, "colour", "parameter_unknown", "unknown field");
    b = body(p12_b64);
    json_object_object_add(b, "wwdr_pem", json_object_new_string("not a certificate"));
    expect(b, now, NULL, "wwdr_pem", "parameter_invalid", "not a PEM certificate");

    /* not a Pass Type ID certificate: no UID */
    X509 *other = make_cert(key, NULL, TEAM, "Apple Push Services: com.example.app");
    char *p = p12_of(key, other, PASSWORD);
    expect(body(p), now, NULL, "p12_base64", "parameter_invalid", "no UID");
    free(p);
    X509_free(other);
}

/* require_apple_wwdr: a certificate that does not chain to the trusted file is refused. */
static void test_require_wwdr(void **state)
{
    (void)state;
    EVP_PKEY *k2 = EVP_RSA_gen(2048);
    X509 *ca = make_cert(k2, NULL, "G4", "Stand-in WWDR");
    char *ca_pem = pem_of(ca);
    apple_credcheck_opts opts = {.require_apple_wwdr = true, .trusted_pem = ca_pem};
    expect(body(p12_b64), now, &opts, "wwdr_pem", "parameter_invalid", "does not chain to Apple's WWDR");
    apple_credcheck_err err;
    memset(&err, 0, sizeof err);
    int count = 0;
    assert_int_equal(apple_credcheck_trust_pem(ca_pem, "config.wwdr_ca_file x.pem", &count, &err), WP_OK);
    assert_int_equal(count, 1);
    assert_int_equal(apple_credcheck_trust_pem("no certificates here\n", "config.wwdr_ca_file x.pem", &count, &err),
                     WP_ECONFIG);
    assert_int_equal(count, 0);
    assert_string_equal(err.param, "config.wwdr_ca_file x.pem");
    assert_non_null(strstr(err.msg, "holds no PEM certificate"));
    free(ca_pem);
    X509_free(ca);
    EVP_PKEY_free(k2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_a_pass_type_id_p12),
        cmocka_unit_test(test_refusals_name_the_field),
        cmocka_unit_test(test_require_wwdr),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
