/* unit_google_credcheck: the "google" credential kind's check (google_credcheck.c), without a gateway. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "google_credcheck.h"

static char *rsa_pem, *ec_pem;

static char *pem_of(EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char *s = strndup(p, (size_t)n);
    BIO_free(b);
    return s;
}

static int setup(void **state)
{
    (void)state;
    EVP_PKEY *r = EVP_RSA_gen(2048), *e = EVP_EC_gen("P-256");
    if (!r || !e) return -1;
    rsa_pem = pem_of(r);
    ec_pem = pem_of(e);
    EVP_PKEY_free(r);
    EVP_PKEY_free(e);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(rsa_pem);
    free(ec_pem);
    return 0;
}

static json_object *body_with(const char *key_pem)
{
    json_object *sa = json_object_new_object();
    json_object_object_add(sa, "type", json_object_new_string("service_account"));
    json_object_object_add(sa, "client_email", json_object_new_string("wallet@p.iam.gserviceaccount.com"));
    json_object_object_add(sa, "private_key_id", json_object_new_string("3f2a9c0d1e5b"));
    json_object_object_add(sa, "private_key", json_object_new_string(key_pem));
    json_object_object_add(sa, "project_id", json_object_new_string("ignored"));
    json_object *b = json_object_new_object();
    json_object_object_add(b, "issuer_id", json_object_new_string("3388000000022122304"));
    json_object_object_add(b, "service_account_json", sa);
    return b;
}

static void test_accepts_a_key_file(void **state)
{
    (void)state;
    json_object *b = body_with(rsa_pem), *secret = NULL, *meta = NULL;
    google_credcheck_err err;
    memset(&err, 0, sizeof err);
    assert_int_equal(google_credcheck(b, &secret, &meta, &err), WP_OK);
    assert_string_equal(json_object_get_string(json_object_object_get(secret, "issuer_id")), "3388000000022122304");
    assert_string_equal(json_object_get_string(json_object_object_get(secret, "token_uri")),
                        "https://oauth2.googleapis.com/token");
    assert_non_null(strstr(json_object_get_string(json_object_object_get(secret, "private_key_pem")),
                           "BEGIN PRIVATE KEY"));
    assert_int_equal(json_object_object_length(secret), 5);
    assert_int_equal(json_object_object_length(meta), 3);
    assert_false(json_object_object_get_ex(meta, "private_key_pem", NULL));
    wpc_cred_wipe_put(secret);
    json_object_put(meta);
    json_object_put(b);
}

/* Each refusal: status, code and the field at fault; no key material in the message. */
static void expect(json_object *b, const char *param, const char *code, const char *needle)
{
    json_object *secret = NULL, *meta = NULL;
    google_credcheck_err err;
    memset(&err, 0, sizeof err);
    assert_int_equal(google_credcheck(b, &secret, &meta, &err), WP_EINVAL);
    assert_null(secret);
    assert_null(meta);
    assert_string_equal(err.param, param);
    assert_string_equal(err.code, code);
    if (!strstr(err.msg, needle)) fail_msg("\"%s\" not in \"%s\"", needle, err.msg);
    assert_null(strstr(err.msg, "MII"));
    json_object_put(b);
}

static void test_refusals_name_the_field(void **state)
{
    (void)state;
    json_object *b = body_with(rsa_pem);
    json_object_object_add(b, "issuer_id", json_object_new_int64(3388000000022122LL));
    expect(b, "issuer_id", "parameter_invalid", "string of digits");
    b = body_with(rsa_pem);
    json_object_object_del(b, "issuer_id");
    expect(b, "issuer_id", "parameter_missing", "required");
    b = body_with(ec_pem);
    expect(b, "service_account_json.private_key", "parameter_invalid", "RSA");
    b = body_with(rsa_pem);
    json_object_object_del(json_object_object_get(b, "service_account_json"), "client_email");
    expect(b, "service_account_json.client_email", "parameter_missing", "required");
    b = body_with(rsa_pem);
    json_object_object_add(json_object_object_get(b, "service_account_json"), "token_uri",
                           json_object_new_string("ftp://example.com/token"));
    expect(b, "service_account_json.token_uri", "parameter_invalid", "https");
    b = body_with(rsa_pem);
    json_object_object_add(b, "colour", json_object_new_string("blue"));
    expect(b, "colour", "parameter_unknown", "unknown field");
    expect(json_object_new_array(), "body", "parameter_invalid", "JSON object");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_a_key_file),
        cmocka_unit_test(test_refusals_name_the_field),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
