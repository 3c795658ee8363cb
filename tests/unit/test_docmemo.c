/* test_docmemo.c - a thread's last documents by the bytes they were built from: copies of
 * exactly the same bytes' document, the oldest replaced, nothing shared between threads. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copies_of_the_same_bytes_only),
        cmocka_unit_test(test_oldest_replaced),
        cmocka_unit_test(test_per_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
