/* test_cred_parsed.c - the credentials a thread keeps parsed: copies of the same text's tree,
 * a new parse for another text (new credentials, new stamp), nothing shared between threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "plugin_host.h"

/* A cache entry: the stamp, NUL, the text. */
static size_t entry(char *buf, size_t cap, const char *stamp, const char *text)
{
    size_t sl = strlen(stamp), tl = strlen(text);
    assert_true(sl + 1 + tl + 1 <= cap);
    memcpy(buf, stamp, sl + 1);
    memcpy(buf + sl + 1, text, tl + 1);
    return sl + 1 + tl + 1;
}

static const char *field(json_object *o, const char *k)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

static void test_same_text_gives_independent_copies(void **state)
{
    (void)state;
    char buf[256];
    size_t len = entry(buf, sizeof buf, "s1", "{\"certificate_pem\":\"one\",\"n\":1}");
    const char *text = buf + 3;
    json_object *a = wp_cred_parsed(buf, len, text), *b = wp_cred_parsed(buf, len, text);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    assert_string_equal(field(b, "certificate_pem"), "one");
    /* a caller changing (or wiping) its copy does not reach the next caller's */
    json_object_object_add(a, "certificate_pem", json_object_new_string("changed"));
    json_object_put(a);
    json_object *c = wp_cred_parsed(buf, len, text);
    assert_string_equal(field(c, "certificate_pem"), "one");
    json_object_put(b);
    json_object_put(c);
}

static void test_another_entry_is_parsed(void **state)
{
    (void)state;
    char one[256], two[256];
    size_t l1 = entry(one, sizeof one, "s1", "{\"certificate_pem\":\"one\"}");
    size_t l2 = entry(two, sizeof two, "s2", "{\"certificate_pem\":\"two\"}");
    json_object *a = wp_cred_parsed(one, l1, one + 3), *b = wp_cred_parsed(two, l2, two + 3);
    assert_string_equal(field(a, "certificate_pem"), "one");
    assert_string_equal(field(b, "certificate_pem"), "two");
    /* the same text under a new stamp (credentials uploaded again): parsed, not mixed up */
    size_t l3 = entry(two, sizeof two, "s3", "{\"certificate_pem\":\"one\"}");
    json_object *c = wp_cred_parsed(two, l3, two + 3);
    assert_string_equal(field(c, "certificate_pem"), "one");
    json_object_put(a);
    json_object_put(b);
    json_object_put(c);
    assert_null(wp_cred_parsed("s\0{", 4, "{"));
}

static void *other_thread(void *arg)
{
    const char *buf = arg;
    json_object *o = wp_cred_parsed(buf, 3 + strlen(buf + 3) + 1, buf + 3);
    char *got = o ? strdup(field(o, "certificate_pem")) : NULL;
    json_object_put(o);
    return got;
}

static void test_each_thread_its_own(void **state)
{
    (void)state;
    char buf[256];
    size_t len = entry(buf, sizeof buf, "s1", "{\"certificate_pem\":\"shared\"}");
    json_object *a = wp_cred_parsed(buf, len, buf + 3);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, other_thread, buf), 0);
    void *got = NULL;
    assert_int_equal(pthread_join(t, &got), 0);
    assert_non_null(got);
    assert_string_equal(got, "shared");
    free(got);
    assert_string_equal(field(a, "certificate_pem"), "shared");
    json_object_put(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_text_gives_independent_copies),
        cmocka_unit_test(test_another_entry_is_parsed),
        cmocka_unit_test(test_each_thread_its_own),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
