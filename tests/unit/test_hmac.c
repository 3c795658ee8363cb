/* test_hmac.c - HMAC-SHA256 with per-thread prepared contexts: RFC 4231's vectors, the same
 * answer from a prepared context as from a fresh one, more keys than a thread keeps, threads, and
 * results kept for MACs asked again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/hmac.h>
#include <pthread.h>

#include "hmac.h"
#include "ids.h"

static void hex_of(const unsigned char *key, size_t kl, const char *data, char out[65])
{
    unsigned char mac[32];
    assert_int_equal(wp_hmac_sha256(key, kl, data, strlen(data), mac), WP_OK);
    wp_hex(mac, sizeof mac, out);
}

static void test_rfc4231(void **state)
{
    (void)state;
    char h[65];
    /* test case 2 */
    hex_of((const unsigned char *)"Jefe", 4, "what do ya want for nothing?", h);
    assert_string_equal(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* again, now from the thread's prepared context */
    hex_of((const unsigned char *)"Jefe", 4, "what do ya want for nothing?", h);
    assert_string_equal(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* test case 1 */
    unsigned char k1[20];
    memset(k1, 0x0b, sizeof k1);
    hex_of(k1, sizeof k1, "Hi There", h);
    assert_string_equal(h, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    unsigned char mac[32];
    assert_int_equal(wp_hmac_sha256(k1, 0, "x", 1, mac), WP_EINVAL);
    unsigned char big[65] = {0};
    assert_int_equal(wp_hmac_sha256(big, sizeof big, "x", 1, mac), WP_EINVAL);
}

/* Twenty keys in turn, three rounds: every answer is OpenSSL's one-shot HMAC's. */
static void test_many_keys(void **state)
{
    (void)state;
    for (int round = 0; round < 3; round++)
        for (int k = 0; k < 20; k++) {
            unsigned char key[32], mine[32], theirs[32];
            memset(key, k + 1, sizeof key);
            key[0] = (unsigned char)k;
            char data[32];
            snprintf(data, sizeof data, "data-%d-%d", round, k);
            unsigned int tl = 0;
            assert_int_equal(wp_hmac_sha256(key, sizeof key, data, strlen(data), mine), WP_OK);
            assert_non_null(HMAC(EVP_sha256(), key, sizeof key, (const unsigned char *)data, strlen(data), theirs, &tl));
            assert_memory_equal(mine, theirs, 32);
        }
}

/* Kept results: every answer is OpenSSL's, for more (key, data) pairs than a thread keeps, data
 * at and past the longest kept, keys differing in one byte, and data differing in length only. */
static void test_kept(void **state)
{
    (void)state;
    unsigned char data[120];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (unsigned char)(i * 13 + 1);
    for (int round = 0; round < 3; round++)
        for (int k = 0; k < 24; k++) {
            unsigned char key[32], mine[32], theirs[32];
            memset(key, 7, sizeof key);
            key[31] = (unsigned char)(k % 12); /* pairs of calls share a key, differ in data */
            size_t len = (size_t)(k < 12 ? 40 : 90 + round * 10); /* 110: longer than kept */
            if (k % 2) len--;
            unsigned int tl = 0;
            assert_int_equal(wp_hmac_sha256_kept(key, sizeof key, data, len, mine), WP_OK);
            assert_non_null(HMAC(EVP_sha256(), key, sizeof key, data, len, theirs, &tl));
            assert_memory_equal(mine, theirs, 32);
        }
    unsigned char mac[32];
    assert_int_equal(wp_hmac_sha256_kept(NULL, 0, data, 1, mac), WP_EINVAL);
}

static void *on_thread(void *arg)
{
    (void)arg;
    char h[65];
    unsigned char mac[32];
    if (wp_hmac_sha256((const unsigned char *)"Jefe", 4, "what do ya want for nothing?", 28, mac) != WP_OK) return NULL;
    wp_hex(mac, sizeof mac, h);
    return strcmp(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843") == 0 ? (void *)1 : NULL;
}

static void test_threads(void **state)
{
    (void)state;
    pthread_t t[4];
    for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&t[i], NULL, on_thread, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *ok = NULL;
        assert_int_equal(pthread_join(t[i], &ok), 0);
        assert_non_null(ok);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4231),
        cmocka_unit_test(test_many_keys),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
