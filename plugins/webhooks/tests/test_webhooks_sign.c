/* Unit suite for wh_sign: secrets and Standard Webhooks signatures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wh_sign.h"

/* The vector of the Standard Webhooks reference libraries. */
#define VEC_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define VEC_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define VEC_TS "1614265330"
#define VEC_BODY "{\"test\": 2432232314}"
#define VEC_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static void reference_vector(void **state)
{
    (void)state;
    char out[256] = "";
    assert_int_equal(wh_sign_append(VEC_SECRET, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY), out, sizeof out), 0);
    assert_string_equal(out, VEC_SIG);
}

static void two_secrets_space_separated(void **state)
{
    (void)state;
    char fresh[WH_SECRET_MAX], out[256] = "";
    assert_int_equal(wh_secret_new(fresh), 0);
    assert_int_equal(wh_sign_append(fresh, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY), out, sizeof out), 0);
    assert_int_equal(wh_sign_append(VEC_SECRET, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY), out, sizeof out), 0);
    assert_int_equal(strlen(out), 2 * WH_SIG_LEN + 1);
    assert_int_equal(out[WH_SIG_LEN], ' ');
    assert_string_equal(out + WH_SIG_LEN + 1, VEC_SIG);
    assert_true(strncmp(out, VEC_SIG, WH_SIG_LEN) != 0);
}

static void body_changes_signature(void **state)
{
    (void)state;
    char out[256] = "";
    assert_int_equal(wh_sign_append(VEC_SECRET, VEC_ID, VEC_TS, "{\"test\": 2432232315}", 20, out, sizeof out), 0);
    assert_string_not_equal(out, VEC_SIG);
}

static void secret_format(void **state)
{
    (void)state;
    char s[WH_SECRET_MAX];
    unsigned char key[64];
    assert_int_equal(wh_secret_new(s), 0);
    assert_int_equal(strncmp(s, "whsec_", 6), 0);
    assert_int_equal(wh_secret_key(s, key), WH_SECRET_BYTES);
    assert_int_equal(wh_secret_key(VEC_SECRET, key), 24);
    char other[WH_SECRET_MAX];
    assert_int_equal(wh_secret_new(other), 0);
    assert_string_not_equal(s, other);
}

static void bad_secrets_refused(void **state)
{
    (void)state;
    unsigned char key[64];
    char out[256] = "";
    assert_int_equal(wh_secret_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key), -1);   /* no prefix */
    assert_int_equal(wh_secret_key("whsec_", key), -1);                             /* empty */
    assert_int_equal(wh_secret_key("whsec_AAAA", key), -1);                         /* 3 bytes: too short */
    assert_int_equal(wh_secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!", key), -1); /* not base64 */
    assert_int_equal(wh_secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", key), -1);  /* bad length */
    assert_int_equal(wh_sign_append("whsec_AAAA", VEC_ID, VEC_TS, "x", 1, out, sizeof out), -1);
    char small[20] = "";
    assert_int_equal(wh_sign_append(VEC_SECRET, VEC_ID, VEC_TS, "x", 1, small, sizeof small), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reference_vector),  cmocka_unit_test(two_secrets_space_separated),
        cmocka_unit_test(body_changes_signature), cmocka_unit_test(secret_format),
        cmocka_unit_test(bad_secrets_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
