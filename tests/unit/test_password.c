/* test_password.c - scrypt password hashes: format, salt, verification, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "password.h"

/* The cheapest cost the module takes: the tests check the format, not the work. */
static const wp_password_cost cheap = {.log2_n = 10};

static void test_round_trip(void **state)
{
    (void)state;
    char h[WP_PASSWORD_HASH_MAX];
    wp_err err;
    wp_err_clear(&err);
    assert_int_equal(wp_password_hash("correct horse battery staple", cheap, h, sizeof h, &err), WP_OK);
    assert_int_equal(strncmp(h, "$scrypt$ln=10,r=8,p=3$", 22), 0);
    int match = -1, weaker = -1;
    assert_int_equal(wp_password_verify("correct horse battery staple", h, cheap, &match, &weaker, &err), WP_OK);
    assert_int_equal(match, 1);
    assert_int_equal(weaker, 0);
    assert_int_equal(wp_password_verify("correct horse battery stapl", h, cheap, &match, NULL, &err), WP_OK);
    assert_int_equal(match, 0);
    assert_int_equal(wp_password_verify("", h, cheap, &match, NULL, &err), WP_OK);
    assert_int_equal(match, 0);
    /* a stronger current setting marks the stored hash for rehashing */
    wp_password_cost more = {.log2_n = 12};
    assert_int_equal(wp_password_verify("correct horse battery staple", h, more, &match, &weaker, &err), WP_OK);
    assert_int_equal(match, 1);
    assert_int_equal(weaker, 1);
}

static void test_salt_per_hash(void **state)
{
    (void)state;
    char a[WP_PASSWORD_HASH_MAX], b[WP_PASSWORD_HASH_MAX];
    wp_err err;
    wp_err_clear(&err);
    assert_int_equal(wp_password_hash("same password", cheap, a, sizeof a, &err), WP_OK);
    assert_int_equal(wp_password_hash("same password", cheap, b, sizeof b, &err), WP_OK);
    assert_string_not_equal(a, b);
    assert_null(strstr(a, "same password"));
}

/* RFC 7914's test vector (P "password", S "NaCl", N 1024, r 8, p 16) written in the stored format. */
static void test_rfc7914_vector(void **state)
{
    (void)state;
    const char *stored = "$scrypt$ln=10,r=8,p=16$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWIurzDZLiKjiG/xCSedmDDax"
                         "yevuUqD7m2DYMvfoswGQA";
    wp_err err;
    wp_err_clear(&err);
    int match = -1;
    assert_int_equal(wp_password_verify("password", stored, cheap, &match, NULL, &err), WP_OK);
    assert_int_equal(match, 1);
    assert_int_equal(wp_password_verify("Password", stored, cheap, &match, NULL, &err), WP_OK);
    assert_int_equal(match, 0);
}

static void test_refusals(void **state)
{
    (void)state;
    char h[WP_PASSWORD_HASH_MAX];
    wp_err err;
    wp_err_clear(&err);
    char *long_pw = malloc(WP_PASSWORD_MAX_BYTES + 2);
    assert_non_null(long_pw);
    memset(long_pw, 'a', WP_PASSWORD_MAX_BYTES + 1);
    long_pw[WP_PASSWORD_MAX_BYTES + 1] = '\0';
    assert_int_equal(wp_password_hash(long_pw, cheap, h, sizeof h, &err), WP_EINVAL);
    assert_string_equal(err.param, "password");
    long_pw[WP_PASSWORD_MAX_BYTES] = '\0';
    assert_int_equal(wp_password_hash(long_pw, cheap, h, sizeof h, &err), WP_OK);
    free(long_pw);
    wp_password_cost silly = {.log2_n = 30};
    assert_int_equal(wp_password_hash("x", silly, h, sizeof h, &err), WP_EINVAL);
    int match = -1;
    const char *bad[] = {"", "plain text", "$scrypt$ln=10,r=8,p=3$", "$scrypt$ln=10,r=8,p=3$c2FsdHNhbHQ",
                         "$scrypt$ln=40,r=8,p=3$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "$argon2id$v=19$m=65536,t=3,p=4$x$y",
                         NULL};
    for (int i = 0; bad[i]; i++) {
        assert_int_equal(wp_password_verify("x", bad[i], cheap, &match, NULL, &err), WP_EINVAL);
        assert_int_equal(match, 0);
    }
    wp_password_burn("anything", cheap); /* runs, returns nothing */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_salt_per_hash),
        cmocka_unit_test(test_rfc7914_vector),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
