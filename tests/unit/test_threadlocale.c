/* test_threadlocale.c - a thread on the C locale object: json-c's parser then needs no
 * process-wide lock (threadlocale.h), and numbers still parse as they did. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <locale.h>
#include <pthread.h>

#include "threadlocale.h"

static void *on_thread(void *arg)
{
    (void)arg;
    locale_t before = uselocale((locale_t)0);
    wp_thread_locale_c();
    locale_t after = uselocale((locale_t)0);
    /* glibc's duplocale and freelocale return at once for the C locale object, without the lock */
    locale_t dup = duplocale(after);
    int same = dup == after;
    if (!same) freelocale(dup);
    json_object *o = json_tokener_parse("{\"a\": 1.5, \"b\": [2, \"x\"]}");
    json_object *a = NULL;
    int ok = before == LC_GLOBAL_LOCALE && after != LC_GLOBAL_LOCALE && same && o &&
             json_object_object_get_ex(o, "a", &a) && json_object_get_double(a) == 1.5;
    json_object_put(o);
    return ok ? (void *)1 : NULL;
}

static void test_thread_on_c_locale_object(void **state)
{
    (void)state;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, on_thread, NULL), 0);
    void *ok = NULL;
    assert_int_equal(pthread_join(t, &ok), 0);
    assert_non_null(ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_thread_on_c_locale_object)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
