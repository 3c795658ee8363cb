/* test_sha256.c - SHA-256 through the thread's context: FIPS 180-2's vectors, the same digest
 * again from the kept context, lengths around the block size against OpenSSL's one-shot SHA256(),
 * and threads each with their own context. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/sha.h>
#include <pthread.h>

#include "ids.h"
#include "sha256.h"

static void hex_of(const char *data, size_t len, char out[65])
{
    unsigned char md[32];
    assert_int_equal(wp_sha256(data, len, md), WP_OK);
    wp_hex(md, sizeof md, out);
}

static void test_vectors(void **state)
{
    (void)state;
    char h[65];
    hex_of("abc", 3, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    hex_of("", 0, h);
    assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex_of(two, strlen(two), h);
    assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* the kept context starts afresh each time */
    hex_of("abc", 3, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_lengths(void **state)
{
    (void)state;
    unsigned char buf[300], a[32], b[32];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)(i * 7 + 3);
    for (size_t n = 0; n <= sizeof buf; n++) {
        assert_int_equal(wp_sha256(buf, n, a), WP_OK);
        SHA256(buf, n, b);
        assert_memory_equal(a, b, 32);
    }
}

static void *worker(void *arg)
{
    int *bad = arg;
    unsigned char a[32], b[32];
    char data[64];
    for (int i = 0; i < 2000; i++) {
        int n = snprintf(data, sizeof data, "key-%d-%p", i, (void *)&i);
        if (wp_sha256(data, (size_t)n, a) != WP_OK) (*bad)++;
        SHA256((const unsigned char *)data, (size_t)n, b);
        if (memcmp(a, b, 32) != 0) (*bad)++;
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    pthread_t t[4];
    int bad[4] = {0};
    for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&t[i], NULL, worker, &bad[i]), 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(bad[i], 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
