/* Unified pass validation: a table of bad bodies, each expecting its field in the error. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "pass_schema.h"

static const wp_pass_limits lim = {.max_string = 4096, .max_image = 1024, .max_metadata = 64};

static wp_status run(const char *json, wp_pass_mode mode, wp_err *err)
{
    json_object *o = json_tokener_parse(json);
    assert_non_null(o);
    wp_err_clear(err);
    wp_status st = wp_pass_validate(o, mode, &lim, err);
    json_object_put(o);
    return st;
}

static void test_solstice_example_is_valid(void **state)
{
    (void)state;
    wp_err err;
    const char *ex = "{\"pass_type\":\"loyalty\",\"organization_name\":\"Solstice Coffee Co.\",\"logo_text\":\"Solstice\","
                     "\"background_color\":\"#1a1a2e\",\"foreground_color\":\"#ffffff\","
                     "\"primary_fields\":[{\"key\":\"points\",\"label\":\"Points\",\"value\":\"2,450\"}],"
                     "\"barcode_message\":\"MEMBER-00421\"}";
    assert_int_equal(run(ex, WP_PASS_CREATE, &err), WP_OK);
}

static void test_valid_bodies(void **state)
{
    (void)state;
    wp_err err;
    const char *ok[] = {
        "{\"pass_type\":\"event\",\"organization_name\":\"O\",\"event_name\":\"Gig\",\"event_start\":\"2026-05-01T19:30:00+02:00\"}",
        "{\"pass_type\":\"coupon\",\"organization_name\":\"O\",\"offer_title\":\"10% off\",\"redemption_channel\":\"both\"}",
        "{\"pass_type\":\"generic\",\"organization_name\":\"O\",\"back_fields\":[{\"key\":\"a\",\"value\":3,\"change_message\":\"Now %@\"}],\"images\":{\"icon\":\"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==\",\"logo\":\"https://cdn.example.com/l.png\"}}",
        "{\"pass_type\":\"loyalty\",\"organization_name\":\"O\",\"points\":12,\"metadata\":{\"crm\":\"x\"}}",
        "{\"pass_type\":\"generic\",\"organization_name\":\"O\",\"locations\":[{\"latitude\":1,\"longitude\":2}],\"max_distance\":120.5}",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        wp_status st = run(ok[i], WP_PASS_CREATE, &err);
        if (st != WP_OK) fail_msg("body %zu refused: %s", i, err.msg);
    }
    assert_int_equal(run("{\"background_color\":null,\"primary_fields\":[]}", WP_PASS_UPDATE, &err), WP_OK);
    assert_int_equal(run("{\"organization_name\":\"T\"}", WP_PASS_TEMPLATE, &err), WP_OK);
}

typedef struct {
    const char *body;
    wp_pass_mode mode;
    const char *param;
} bad_case;

static void test_bad_bodies_name_their_field(void **state)
{
    (void)state;
#define BASE "\"pass_type\":\"generic\",\"organization_name\":\"O\""
    static const bad_case cases[] = {
        {"{\"organization_name\":\"O\"}", WP_PASS_CREATE, "pass_type"},
        {"{\"pass_type\":\"boarding\",\"organization_name\":\"O\"}", WP_PASS_CREATE, "pass_type"},
        {"{\"pass_type\":\"generic\"}", WP_PASS_CREATE, "organization_name"},
        {"{\"pass_type\":\"generic\",\"organization_name\":\"\"}", WP_PASS_CREATE, "organization_name"},
        {"{\"pass_type\":\"event\",\"organization_name\":\"O\"}", WP_PASS_CREATE, "event_name"},
        {"{\"pass_type\":\"coupon\",\"organization_name\":\"O\"}", WP_PASS_CREATE, "offer_title"},
        {"{" BASE ",\"colour\":\"#000000\"}", WP_PASS_CREATE, "colour"},
        {"{" BASE ",\"background_color\":\"#12345\"}", WP_PASS_CREATE, "background_color"},
        {"{" BASE ",\"foreground_color\":\"rgb(1,2,3)\"}", WP_PASS_CREATE, "foreground_color"},
        {"{" BASE ",\"label_color\":\"#gggggg\"}", WP_PASS_CREATE, "label_color"},
        {"{" BASE ",\"barcode_format\":\"ean13\"}", WP_PASS_CREATE, "barcode_format"},
        {"{" BASE ",\"relevant_date\":\"2017-04-05T20:00:00\"}", WP_PASS_CREATE, "relevant_date"},
        {"{" BASE ",\"expiration_date\":\"2024-03-06T08:05:52+0000\"}", WP_PASS_CREATE, "expiration_date"},
        {"{" BASE ",\"expiration_date\":\"2024-02-30T08:05:52Z\"}", WP_PASS_CREATE, "expiration_date"},
        {"{" BASE ",\"primary_fields\":{}}", WP_PASS_CREATE, "primary_fields"},
        {"{" BASE ",\"primary_fields\":[{\"key\":\"a\",\"value\":1},{\"key\":\"b\",\"value\":2}]}", WP_PASS_CREATE, "primary_fields"},
        {"{" BASE ",\"secondary_fields\":[{\"key\":\"a\",\"value\":1},{\"key\":\"b\",\"value\":1},{\"value\":1}]}", WP_PASS_CREATE, "secondary_fields[2]"},
        {"{" BASE ",\"header_fields\":[{\"key\":\"a\"}]}", WP_PASS_CREATE, "header_fields[0]"},
        {"{" BASE ",\"header_fields\":[{\"key\":\"\",\"value\":1}]}", WP_PASS_CREATE, "header_fields[0].key"},
        {"{" BASE ",\"header_fields\":[{\"key\":\"a b\",\"value\":1}]}", WP_PASS_CREATE, "header_fields[0].key"},
        {"{" BASE ",\"header_fields\":[{\"key\":\"a\",\"value\":true}]}", WP_PASS_CREATE, "header_fields[0].value"},
        {"{" BASE ",\"header_fields\":[{\"key\":\"a\",\"value\":1,\"colour\":1}]}", WP_PASS_CREATE, "header_fields[0].colour"},
        {"{" BASE ",\"header_fields\":[{\"key\":\"a\",\"value\":1}],\"back_fields\":[{\"key\":\"b\",\"value\":1},{\"key\":\"a\",\"value\":2}]}",
         WP_PASS_CREATE, "back_fields[1].key"},
        {"{" BASE ",\"back_fields\":[{\"key\":\"a\",\"value\":\"x\",\"change_message\":\"changed\"}]}", WP_PASS_CREATE,
         "back_fields[0].change_message"},
        {"{" BASE ",\"images\":{\"banner\":\"iVBORw0KGgo=\"}}", WP_PASS_CREATE, "images.banner"},
        {"{" BASE ",\"images\":{\"icon\":\"R0lGODlhAQABAAAAACw=\"}}", WP_PASS_CREATE, "images.icon"},
        {"{" BASE ",\"images\":{\"icon\":\"not base64!\"}}", WP_PASS_CREATE, "images.icon"},
        {"{" BASE ",\"images\":{\"logo\":\"http://example.com/l.png\"}}", WP_PASS_CREATE, "images.logo"},
        {"{" BASE ",\"locations\":[{},{},{},{},{},{},{},{},{},{},{}]}", WP_PASS_CREATE, "locations"},
        {"{" BASE ",\"locations\":[1]}", WP_PASS_CREATE, "locations[0]"},
        {"{" BASE ",\"max_distance\":\"100\"}", WP_PASS_CREATE, "max_distance"},
        {"{" BASE ",\"metadata\":[1]}", WP_PASS_CREATE, "metadata"},
        {"{" BASE ",\"metadata\":{\"k\":\"0123456789012345678901234567890123456789012345678901234567890123456789\"}}", WP_PASS_CREATE, "metadata"},
        {"{" BASE ",\"event_name\":\"x\"}", WP_PASS_CREATE, "event_name"},
        {"{" BASE ",\"serial_number\":\"has space\"}", WP_PASS_CREATE, "serial_number"},
        {"{\"serial_number\":\"SN-1\"}", WP_PASS_UPDATE, "serial_number"},
        {"{\"id\":\"pass_x\"}", WP_PASS_UPDATE, "id"},
        {"{\"status\":\"voided\"}", WP_PASS_UPDATE, "status"},
        {"{\"created_at\":\"2025-01-01T00:00:00Z\"}", WP_PASS_UPDATE, "created_at"},
        {"{\"organization_name\":null}", WP_PASS_UPDATE, "organization_name"},
        {"{\"serial_number\":\"A\"}", WP_PASS_TEMPLATE, "serial_number"},
        {"{\"template_id\":\"tpl_x\"}", WP_PASS_TEMPLATE, "template_id"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wp_err err;
        wp_status st = run(cases[i].body, cases[i].mode, &err);
        if (st != WP_EINVAL) fail_msg("case %zu (%s) accepted", i, cases[i].body);
        if (strcmp(err.param, cases[i].param) != 0)
            fail_msg("case %zu (%s): param \"%s\", expected \"%s\" (%s)", i, cases[i].body, err.param, cases[i].param, err.msg);
    }
}

/* The schema knows the unified types and fields only; what a platform calls them is its plugin's. */
static void test_type_and_field_names(void **state)
{
    (void)state;
    for (const char *const *t = (const char *const[]){"generic", "loyalty", "coupon", "event", NULL}; *t; t++)
        assert_true(wp_pass_type_known(*t));
    assert_false(wp_pass_type_known("boarding"));
    assert_false(wp_pass_type_known("storeCard"));
    assert_false(wp_pass_type_known(NULL));
    assert_true(wp_pass_field_known("organization_name"));
    assert_true(wp_pass_field_known("points"));    /* a loyalty field */
    assert_true(wp_pass_field_known("event_name")); /* an event field */
    assert_false(wp_pass_field_known("share_url")); /* a resource key, not a body field */
    assert_false(wp_pass_field_known("unknown"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_solstice_example_is_valid),
        cmocka_unit_test(test_valid_bodies),
        cmocka_unit_test(test_bad_bodies_name_their_field),
        cmocka_unit_test(test_type_and_field_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
