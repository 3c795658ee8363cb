/* test_hooks.c - the filter bus: order, results, REJECT, re-entrancy, registration closing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hooks.h"

/* Each filter appends its tag (the ud) to doc.trail. */
static wp_filter_result tag(void *ud, wp_req *req, json_object *doc, wp_err *err)
{
    (void)req;
    (void)err;
    json_object *t;
    json_object_object_get_ex(doc, "trail", &t);
    json_object_array_add(t, json_object_new_string(ud));
    return WP_FILTER_MODIFIED;
}

static wp_filter_result untouched(void *ud, wp_req *req, json_object *doc, wp_err *err)
{
    (void)ud, (void)req, (void)doc, (void)err;
    return WP_FILTER_CONTINUE;
}

static wp_filter_result stop(void *ud, wp_req *req, json_object *doc, wp_err *err)
{
    tag(ud, req, doc, err);
    return WP_FILTER_STOP;
}

static wp_filter_result reject(void *ud, wp_req *req, json_object *doc, wp_err *err)
{
    (void)ud, (void)req, (void)doc;
    wp_hooks_error_set(err, WP_EINVAL, "bad_thing", "locations[0]", "too far away");
    return WP_FILTER_REJECT;
}

static wp_filter_result reject_silently(void *ud, wp_req *req, json_object *doc, wp_err *err)
{
    (void)ud, (void)req, (void)doc, (void)err;
    return WP_FILTER_REJECT;
}

static wp_filter_result recurse(void *ud, wp_req *req, json_object *doc, wp_err *err)
{
    (void)ud;
    return wp_hooks_run("t.recurse", doc, req, err);
}

static json_object *doc_new(void)
{
    json_object *d = json_object_new_object();
    json_object_object_add(d, "trail", json_object_new_array());
    return d;
}

static const char *trail(json_object *d)
{
    return json_object_to_json_string_ext(json_object_object_get(d, "trail"), JSON_C_TO_STRING_PLAIN);
}

static int teardown(void **state)
{
    (void)state;
    wp_hooks_reset();
    return 0;
}

static void test_order_priority_then_owner_then_registration(void **state)
{
    (void)state;
    wp_err err;
    wp_err_clear(&err);
    /* registered out of order on purpose */
    assert_int_equal(wp_hooks_add("t.order", WP_PRIO_LATE, "aaa", tag, "late", &err), WP_OK);
    assert_int_equal(wp_hooks_add("t.order", WP_PRIO_DEFAULT, "zeta", tag, "zeta", &err), WP_OK);
    assert_int_equal(wp_hooks_add("t.order", WP_PRIO_DEFAULT, "alpha", tag, "alpha1", &err), WP_OK);
    assert_int_equal(wp_hooks_add("t.order", WP_PRIO_DEFAULT, "alpha", tag, "alpha2", &err), WP_OK);
    assert_int_equal(wp_hooks_add("t.order", WP_PRIO_EARLY - 2, "zz", tag, "early", &err), WP_OK);
    wp_hooks_seal();
    json_object *d = doc_new();
    assert_int_equal(wp_hooks_run("t.order", d, NULL, &err), WP_FILTER_MODIFIED);
    assert_string_equal(trail(d), "[\"early\",\"alpha1\",\"alpha2\",\"zeta\",\"late\"]");
    json_object_put(d);
}

static void test_no_filter_is_continue(void **state)
{
    (void)state;
    wp_err err;
    wp_err_clear(&err);
    assert_int_equal(wp_hooks_add("t.quiet", WP_PRIO_DEFAULT, "p", untouched, NULL, &err), WP_OK);
    wp_hooks_seal();
    json_object *d = doc_new();
    assert_int_equal(wp_hooks_run("t.none", d, NULL, &err), WP_FILTER_CONTINUE);
    assert_int_equal(wp_hooks_run("t.quiet", d, NULL, &err), WP_FILTER_CONTINUE);
    json_object_put(d);
}

static void test_stop_skips_the_rest(void **state)
{
    (void)state;
    wp_err err;
    wp_err_clear(&err);
    wp_hooks_add("t.stop", 10, "a", stop, "first", &err);
    wp_hooks_add("t.stop", 20, "b", tag, "second", &err);
    wp_hooks_seal();
    json_object *d = doc_new();
    assert_int_equal(wp_hooks_run("t.stop", d, NULL, &err), WP_FILTER_STOP);
    assert_string_equal(trail(d), "[\"first\"]");
    json_object_put(d);
}

static void test_reject_carries_the_error(void **state)
{
    (void)state;
    wp_err err;
    wp_err_clear(&err);
    wp_hooks_add("t.reject", 10, "a", tag, "first", &err);
    wp_hooks_add("t.reject", 20, "geo", reject, NULL, &err);
    wp_hooks_add("t.reject", 30, "c", tag, "never", &err);
    wp_hooks_add("t.silent", 30, "sloppy", reject_silently, NULL, &err);
    wp_hooks_seal();
    json_object *d = doc_new();
    assert_int_equal(wp_hooks_run("t.reject", d, NULL, &err), WP_FILTER_REJECT);
    assert_int_equal(err.status, WP_EINVAL);
    assert_string_equal(err.code, "bad_thing");
    assert_string_equal(err.param, "locations[0]");
    assert_string_equal(err.msg, "too far away");
    assert_string_equal(trail(d), "[\"first\"]");
    wp_err_clear(&err);
    assert_int_equal(wp_hooks_run("t.silent", d, NULL, &err), WP_FILTER_REJECT);
    assert_int_equal(err.status, WP_EINTERNAL);
    assert_non_null(strstr(err.msg, "sloppy"));
    json_object_put(d);
}

static void test_recursion_refused(void **state)
{
    (void)state;
    wp_err err;
    wp_err_clear(&err);
    wp_hooks_add("t.recurse", 10, "loop", recurse, NULL, &err);
    wp_hooks_seal();
    json_object *d = doc_new();
    assert_int_equal(wp_hooks_run("t.recurse", d, NULL, &err), WP_FILTER_REJECT);
    assert_int_equal(err.status, WP_EINTERNAL);
    assert_non_null(strstr(err.msg, "again"));
    json_object_put(d);
}

static void test_registration_rules(void **state)
{
    (void)state;
    wp_err err;
    wp_err_clear(&err);
    assert_int_equal(wp_hooks_add("Bad Name", 10, "p", tag, NULL, &err), WP_EINVAL);
    assert_int_equal(wp_hooks_add("t.x", 1000, "p", tag, NULL, &err), WP_EINVAL);
    assert_int_equal(wp_hooks_add("t.x", 10, "p", NULL, NULL, &err), WP_EINVAL);
    assert_int_equal(wp_hooks_add("t.x", 10, "p", tag, NULL, &err), WP_OK);
    wp_hooks_seal();
    assert_int_equal(wp_hooks_add("t.x", 10, "p", tag, NULL, &err), WP_ELATE);
    assert_int_equal(wp_hooks_count("t.x"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_order_priority_then_owner_then_registration, teardown),
        cmocka_unit_test_teardown(test_no_filter_is_continue, teardown),
        cmocka_unit_test_teardown(test_stop_skips_the_rest, teardown),
        cmocka_unit_test_teardown(test_reject_carries_the_error, teardown),
        cmocka_unit_test_teardown(test_recursion_refused, teardown),
        cmocka_unit_test_teardown(test_registration_rules, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
