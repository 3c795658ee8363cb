/* unit_jobs_config: the "jobs" configuration section (jobs.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "jobs.h"

static wp_status read_doc(const char *json, wp_jobs_config *c, wp_err *err)
{
    json_object *doc = json_tokener_parse(json);
    assert_non_null(doc);
    wp_status st = wp_jobs_config_read(doc, c, err);
    json_object_put(doc);
    return st;
}

static void test_defaults(void **state)
{
    (void)state;
    wp_jobs_config c;
    wp_err err;
    wp_err_clear(&err);
    assert_int_equal(wp_jobs_config_read(NULL, &c, &err), WP_OK);
    assert_int_equal(c.workers, 4);
    assert_int_equal(c.lease_seconds, 60);
    assert_int_equal(c.poll_ms, 1000);
    assert_int_equal(read_doc("{\"server\":{}}", &c, &err), WP_OK);
    assert_int_equal(c.claim_batch, 1);
}

static void test_values(void **state)
{
    (void)state;
    wp_jobs_config c;
    wp_err err;
    wp_err_clear(&err);
    assert_int_equal(read_doc("{\"jobs\":{\"$comment\":\"x\",\"workers\":0,\"lease_seconds\":5,\"poll_ms\":50,"
                              "\"claim_batch\":8,\"handler_timeout_seconds\":0,\"done_retention_hours\":1}}",
                              &c, &err),
                     WP_OK);
    assert_int_equal(c.workers, 0);
    assert_int_equal(c.lease_seconds, 5);
    assert_int_equal(c.poll_ms, 50);
    assert_int_equal(c.claim_batch, 8);
    assert_int_equal(c.handler_timeout_seconds, 0);
    assert_int_equal(c.done_retention_hours, 1);
}

static void test_errors_name_the_key(void **state)
{
    (void)state;
    wp_jobs_config c;
    wp_err err;
    wp_err_clear(&err);
    assert_int_equal(read_doc("{\"jobs\":{\"worker\":2}}", &c, &err), WP_ECONFIG);
    assert_string_equal(err.param, "jobs.worker");
    assert_non_null(strstr(err.msg, "unknown configuration key"));
    assert_int_equal(read_doc("{\"jobs\":{\"workers\":\"4\"}}", &c, &err), WP_ECONFIG);
    assert_string_equal(err.param, "jobs.workers");
    assert_int_equal(read_doc("{\"jobs\":{\"workers\":257}}", &c, &err), WP_ECONFIG);
    assert_int_equal(read_doc("{\"jobs\":{\"lease_seconds\":0}}", &c, &err), WP_ECONFIG);
    assert_string_equal(err.param, "jobs.lease_seconds");
    assert_int_equal(read_doc("{\"jobs\":{\"poll_ms\":1.5}}", &c, &err), WP_ECONFIG);
    assert_int_equal(read_doc("{\"jobs\":[]}", &c, &err), WP_ECONFIG);
    assert_string_equal(err.param, "jobs");
}

static void test_example_file_is_valid(void **state)
{
    (void)state;
    json_object *doc = json_object_from_file(WP_SOURCE_DIR "/config/walletpass.example.json");
    assert_non_null(doc);
    wp_jobs_config c;
    wp_err err;
    wp_err_clear(&err);
    assert_int_equal(wp_jobs_config_read(doc, &c, &err), WP_OK);
    json_object *jobs;
    assert_true(json_object_object_get_ex(doc, "jobs", &jobs)); /* the section is documented */
    json_object_put(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_errors_name_the_key),
        cmocka_unit_test(test_example_file_is_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
