/* test_docmemo.c - a thread's last documents by the bytes they were built from: copies of
 * exactly the same bytes' document, the oldest replaced, nothing shared between threads; the
 * copy keeps what the document shares (a pass's body fields), serialises the same (parsed
 * numbers keep their text) and shares nothing with the original; long keys are not kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "docmemo.h"

static json_object *doc(int v)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "v", json_object_new_int(v));
    return o;
}

static int v_of(json_object *o)
{
    json_object *v = NULL;
    return o && json_object_object_get_ex(o, "v", &v) ? json_object_get_int(v) : -1;
}

static void test_copies_of_the_same_bytes_only(void **state)
{
    (void)state;
    json_object *d = doc(1);
    wp_docmemo_put("row-1", 5, d);
    json_object_object_add(d, "v", json_object_new_int(99)); /* the caller's object stays the caller's */
    json_object_put(d);
    json_object *a = wp_docmemo_get("row-1", 5);
    assert_int_equal(v_of(a), 1);
    json_object_object_add(a, "v", json_object_new_int(7)); /* and a copy handed out stays its holder's */
    json_object_put(a);
    json_object *b = wp_docmemo_get("row-1", 5);
    assert_int_equal(v_of(b), 1);
    json_object_put(b);
    assert_null(wp_docmemo_get("row-2", 5));
    assert_null(wp_docmemo_get("row-1x", 6)); /* a longer row is another row */
    assert_null(wp_docmemo_get("row-", 4));
}

static void test_oldest_replaced(void **state)
{
    (void)state;
    char k[8];
    for (int i = 0; i < 5; i++) {
        snprintf(k, sizeof k, "k%d", i);
        json_object *d = doc(i);
        wp_docmemo_put(k, 2, d);
        json_object_put(d);
    }
    assert_null(wp_docmemo_get("k0", 2));
    for (int i = 1; i < 5; i++) {
        snprintf(k, sizeof k, "k%d", i);
        json_object *o = wp_docmemo_get(k, 2);
        assert_int_equal(v_of(o), i);
        json_object_put(o);
    }
}

static void *other(void *arg)
{
    (void)arg;
    return wp_docmemo_get("k4", 2); /* another thread's memo: absent here */
}

static void test_per_thread(void **state)
{
    (void)state;
    pthread_t t;
    void *got = (void *)1;
    assert_int_equal(pthread_create(&t, NULL, other, NULL), 0);
    assert_int_equal(pthread_join(t, &got), 0);
    assert_null(got);
}

/* A document like a pass's: the body's values also hang beside the resource's keys. */
static json_object *shared_doc(void)
{
    json_object *body = json_tokener_parse("{\"points\":1.50,\"fields\":[{\"k\":\"a\"},{\"k\":\"b\"}],\"n\":null,\"s\":\"x\"}");
    json_object *pass = json_object_new_object();
    json_object_object_add(pass, "id", json_object_new_string("pass_1"));
    json_object_object_foreach(body, k, v) json_object_object_add(pass, k, json_object_get(v));
    json_object *o = json_object_new_object();
    json_object_object_add(o, "pass", pass);
    json_object_object_add(o, "body", body);
    return o;
}

static void test_copy_keeps_sharing(void **state)
{
    (void)state;
    json_object *o = shared_doc();
    json_object *c = wp_docmemo_copy(o);
    assert_non_null(c);
    assert_string_equal(json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN),
                        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    assert_non_null(strstr(json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN), "1.50"));
    json_object *cp, *cb, *f1, *f2, *of;
    assert_true(json_object_object_get_ex(c, "pass", &cp) && json_object_object_get_ex(c, "body", &cb));
    assert_true(json_object_object_get_ex(cp, "fields", &f1) && json_object_object_get_ex(cb, "fields", &f2));
    assert_ptr_equal(f1, f2); /* shared in the copy as in the original */
    assert_true(json_object_object_get_ex(json_object_object_get(o, "body"), "fields", &of));
    assert_ptr_not_equal(f1, of); /* and nothing shared with the original */
    json_object_array_add(f1, json_object_new_string("added"));
    assert_int_equal(json_object_array_length(of), 2);
    json_object_put(c);
    /* the original outlives its copy intact */
    assert_int_equal(json_object_array_length(of), 2);
    json_object_put(o);
}

static void test_copy_large(void **state)
{
    (void)state;
    /* more values than the copy's first table holds */
    json_object *a = json_object_new_array();
    for (int i = 0; i < 500; i++) json_object_array_add(a, doc(i));
    json_object *twice = json_object_new_object();
    json_object_object_add(twice, "a", a);
    json_object_object_add(twice, "b", json_object_get(a));
    json_object *c = wp_docmemo_copy(twice);
    assert_non_null(c);
    assert_string_equal(json_object_to_json_string(c), json_object_to_json_string(twice));
    assert_ptr_equal(json_object_object_get(c, "a"), json_object_object_get(c, "b"));
    assert_int_equal(v_of(json_object_array_get_idx(json_object_object_get(c, "b"), 499)), 499);
    json_object_put(c);
    json_object_put(twice);
}

static void test_long_keys_not_kept(void **state)
{
    (void)state;
    size_t n = WP_DOCMEMO_KEY_MAX + 1;
    unsigned char *k = calloc(1, n);
    assert_non_null(k);
    json_object *d = doc(9);
    wp_docmemo_put(k, n, d);
    assert_null(wp_docmemo_get(k, n));
    wp_docmemo_put(k, n - 1, d);
    json_object *got = wp_docmemo_get(k, n - 1);
    assert_int_equal(v_of(got), 9);
    json_object_put(got);
    json_object_put(d);
    free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copies_of_the_same_bytes_only),
        cmocka_unit_test(test_oldest_replaced),
        cmocka_unit_test(test_per_thread),
        cmocka_unit_test(test_copy_keeps_sharing),
        cmocka_unit_test(test_copy_large),
        cmocka_unit_test(test_long_keys_not_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
