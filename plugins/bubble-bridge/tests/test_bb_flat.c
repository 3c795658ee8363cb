/*
 * unit_bubble_bridge_flat: the bubble-bridge's pure modules.  The flat
 * shapes (a full and an empty object of each kind have the same keys and
 * types, nothing null or nested), dates both ways, the form reader, the
 * input readers and the Bubble workflow URL rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "bb_flat.h"
#include "bb_input.h"

static json_object *parse(const char *s)
{
    json_object *o = json_tokener_parse(s);
    assert_non_null(o);
    return o;
}

/* A JSON type as Bubble sees it: integers and doubles are both numbers. */
static int kind(json_object *v)
{
    json_type t = json_object_get_type(v);
    return t == json_type_double ? json_type_int : (int)t;
}

/* Flat: no null, no object, no array. */
static void assert_flat(json_object *o)
{
    json_object_object_foreach(o, k, v) {
        if (!v || json_object_is_type(v, json_type_null) || json_object_is_type(v, json_type_object) ||
            json_object_is_type(v, json_type_array))
            fail_msg("%s is not a flat value", k);
    }
}

/* The same keys, in the same order, each of the same type. */
static void assert_same_shape(json_object *a, json_object *b)
{
    assert_flat(a);
    assert_flat(b);
    assert_int_equal(json_object_object_length(a), json_object_object_length(b));
    struct json_object_iterator ia = json_object_iter_begin(a), ea = json_object_iter_end(a);
    struct json_object_iterator ib = json_object_iter_begin(b);
    while (!json_object_iter_equal(&ia, &ea)) {
        assert_string_equal(json_object_iter_peek_name(&ia), json_object_iter_peek_name(&ib));
        if (kind(json_object_iter_peek_value(&ia)) != kind(json_object_iter_peek_value(&ib)))
            fail_msg("%s: types differ", json_object_iter_peek_name(&ia));
        json_object_iter_next(&ia);
        json_object_iter_next(&ib);
    }
}

static const char *FULL_PASS =
    "{\"id\":\"pass_01\",\"object\":\"pass\",\"serial_number\":\"SN-1\",\"pass_type\":\"loyalty\","
    "\"apple_pass_type_id\":\"storeCard\",\"google_pass_type\":\"loyalty\",\"google_save_url\":\"https://pay.google.com/x\","
    "\"pkpass_url\":\"https://w.example.com/p.pkpass\",\"share_url\":\"https://w.example.com/p/x\",\"status\":\"voided\","
    "\"livemode\":false,\"version\":3,\"template_id\":\"tpl_1\",\"created_at\":\"2026-11-26T12:00:00.000Z\","
    "\"updated_at\":\"2026-11-26T12:05:00.000Z\",\"organization_name\":\"Solstice\",\"logo_text\":\"S\","
    "\"relevant_date\":\"2025-06-01T19:30:00+02:00\",\"points\":2450,\"max_distance\":120.5,"
    "\"locations\":[{\"latitude\":1,\"longitude\":2}],\"images\":{\"logo\":\"https://cdn.example.com/l.png\","
    "\"icon\":\"iVBORw0KGgo=\"},\"metadata\":{\"user\":\"u1\"},"
    "\"primary_fields\":[{\"key\":\"points\",\"label\":\"Points\",\"value\":2450}],"
    "\"back_fields\":[{\"key\":\"terms\",\"label\":\"Terms\",\"value\":\"None\"}]}";
static const char *EMPTY_PASS =
    "{\"id\":\"pass_02\",\"object\":\"pass\",\"serial_number\":\"SN-2\",\"pass_type\":\"generic\","
    "\"share_url\":\"https://w.example.com/p/y\",\"status\":\"active\",\"version\":1,\"template_id\":null,"
    "\"created_at\":\"2026-11-26T12:00:00.000Z\",\"updated_at\":\"2026-11-26T12:00:00.000Z\","
    "\"organization_name\":\"O\",\"primary_fields\":[{\"key\":\"points\",\"label\":\"P\",\"value\":\"\"}],"
    "\"back_fields\":[{\"key\":\"terms\",\"label\":\"T\",\"value\":\"x\"}]}";

static void test_dates(void **s)
{
    (void)s;
    int64_t t;
    assert_int_equal(bb_iso_to_unix("1970-01-01T00:00:00Z", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(bb_iso_to_unix("2026-11-26T12:00:00.517Z", &t), 0);
    assert_int_equal(t, 1795694400);
    assert_int_equal(bb_iso_to_unix("2025-06-01T19:30:00+02:00", &t), 0);
    assert_int_equal(t, 1748799000);
    assert_int_equal(bb_iso_to_unix("2025-06-01", &t), 0);
    assert_int_equal(t, 1748736000);
    assert_int_equal(bb_iso_to_unix("2025-06-01T19:30:00", &t), -1); /* no zone */
    assert_int_equal(bb_iso_to_unix("June 1", &t), -1);
    assert_int_equal(bb_iso_to_unix("2025-13-01T00:00:00Z", &t), -1);
    char iso[64];
    bb_unix_to_iso(1795694400, iso);
    assert_string_equal(iso, "2026-11-26T12:00:00Z");
    bb_unix_to_iso(951782400, iso); /* a leap day */
    assert_string_equal(iso, "2000-02-29T00:00:00Z");
}

static void test_pass_shape(void **s)
{
    (void)s;
    json_object *full = parse(FULL_PASS), *empty = parse(EMPTY_PASS);
    json_object *a = bb_flat_pass(full, NULL), *b = bb_flat_pass(empty, NULL);
    assert_same_shape(a, b);
    json_object *v;
    assert_true(json_object_object_get_ex(a, "field_points", &v));
    assert_string_equal(json_object_get_string(v), "2450"); /* a number mirrored as text */
    assert_true(json_object_object_get_ex(a, "points", &v));
    assert_string_equal(json_object_get_string(v), "2450");
    assert_true(json_object_object_get_ex(a, "relevant_date_unix", &v));
    assert_int_equal(json_object_get_int64(v), 1748799000);
    assert_true(json_object_object_get_ex(a, "has_relevant_date", &v));
    assert_true(json_object_get_boolean(v));
    assert_true(json_object_object_get_ex(b, "has_relevant_date", &v));
    assert_false(json_object_get_boolean(v));
    assert_true(json_object_object_get_ex(a, "image_logo", &v));
    assert_string_equal(json_object_get_string(v), "https://cdn.example.com/l.png");
    assert_true(json_object_object_get_ex(a, "image_icon", &v));
    assert_string_equal(json_object_get_string(v), ""); /* base64 data has no URL to give */
    assert_true(json_object_object_get_ex(a, "livemode", &v));
    assert_false(json_object_get_boolean(v));
    assert_true(json_object_object_get_ex(b, "livemode", &v));
    assert_true(json_object_get_boolean(v)); /* no livemode: live */
    assert_true(json_object_object_get_ex(a, "voided", &v));
    assert_true(json_object_get_boolean(v));
    assert_true(json_object_object_get_ex(b, "has_template_id", &v));
    assert_false(json_object_get_boolean(v));
    assert_true(json_object_object_get_ex(a, "metadata_json", &v));
    assert_string_equal(json_object_get_string(v), "{\"user\":\"u1\"}");
    /* pass_get's shape (the fields under "body") flattens to the same keys */
    json_object *got = parse("{\"id\":\"pass_01\",\"serial_number\":\"SN-1\",\"pass_type\":\"loyalty\",\"status\":\"active\","
                             "\"template_id\":\"tpl_1\",\"created_at\":\"2026-11-26T12:00:00.000Z\",\"updated_at\":"
                             "\"2026-11-26T12:00:00.000Z\",\"version\":2,\"owner_account_id\":\"acct_1\",\"body\":"
                             "{\"organization_name\":\"S\",\"primary_fields\":[{\"key\":\"points\",\"label\":\"P\","
                             "\"value\":\"7\"}],\"back_fields\":[{\"key\":\"terms\",\"label\":\"T\",\"value\":\"y\"}]}}");
    json_object *c = bb_flat_pass(got, NULL);
    assert_same_shape(a, c);
    assert_true(json_object_object_get_ex(c, "field_points", &v));
    assert_string_equal(json_object_get_string(v), "7");
    /* a list's keys: exactly the given ones, "" where the pass has no such field */
    json_object *keys = parse("[\"points\",\"tier\"]");
    json_object *d = bb_flat_pass(empty, keys);
    assert_true(json_object_object_get_ex(d, "field_tier", &v));
    assert_string_equal(json_object_get_string(v), "");
    assert_false(json_object_object_get_ex(d, "field_terms", NULL));
    json_object_put(d);
    json_object_put(keys);
    json_object_put(c);
    json_object_put(got);
    json_object_put(a);
    json_object_put(b);
    json_object_put(full);
    json_object_put(empty);
}

static void test_delivery_and_sample(void **s)
{
    (void)s;
    json_object *full = parse(FULL_PASS), *empty = parse(EMPTY_PASS), *changed = parse("[\"logo_text\",\"points\"]");
    json_object *a = bb_flat_delivery("evt_1", "pass.updated", "2026-11-26T12:00:00.000Z", 0, "bdst_1", full, changed,
                                      NULL, NULL);
    json_object *b = bb_flat_delivery("evt_2", "pass.installed", "2026-11-26T12:00:00.000Z", 0, "bdst_1", empty, NULL,
                                      "dev1", NULL);
    assert_same_shape(a, b);
    json_object *v;
    assert_true(json_object_object_get_ex(a, "changed_keys", &v));
    assert_string_equal(json_object_get_string(v), "logo_text,points");
    /* the test send's sample: every key of a delivery, none empty */
    json_object *tpl = parse("{\"id\":\"tpl_1\",\"body\":{\"pass_type\":\"loyalty\",\"primary_fields\":[{\"key\":"
                             "\"points\",\"label\":\"P\",\"value\":\"\"}],\"back_fields\":[{\"key\":\"terms\",\"label\":"
                             "\"T\",\"value\":\"x\"}]}}");
    json_object *sp = bb_flat_sample_pass("https://w.example.com", tpl, "2026-11-26T12:00:00.000Z");
    json_object *c = bb_flat_delivery("evt_3", "pass.updated", "2026-11-26T12:00:00.000Z", 1, "bdst_1", sp, changed,
                                      "dev", NULL);
    bb_flat_fill_sample(c);
    assert_same_shape(a, c);
    json_object_object_foreach(c, k, val) {
        if (json_object_is_type(val, json_type_string) && json_object_get_string_len(val) == 0)
            fail_msg("%s is empty in the sample", k);
        if (json_object_is_type(val, json_type_int) && json_object_get_int64(val) == 0) fail_msg("%s is 0", k);
        if (json_object_is_type(val, json_type_double) && json_object_get_double(val) == 0) fail_msg("%s is 0", k);
    }
    json_object_put(c);
    json_object_put(sp);
    json_object_put(tpl);
    json_object_put(a);
    json_object_put(b);
    json_object_put(changed);
    json_object_put(full);
    json_object_put(empty);
}

static void test_rows_and_lists(void **s)
{
    (void)s;
    json_object *d1 = parse("{\"id\":\"bdst_1\",\"event_type\":\"pass.installed\",\"url\":\"https://a.bubbleapps.io/api/"
                            "1.1/wf/x\",\"template_id\":\"tpl_1\",\"description\":\"d\",\"has_token\":true,\"enabled\":"
                            "false,\"disabled_reason\":\"Bubble answered 401\",\"disabled_at\":\"2026-11-26T12:00:00.000Z\","
                            "\"created_at\":\"2026-11-26T12:00:00.000Z\",\"updated_at\":\"2026-11-26T12:00:00.000Z\"}");
    json_object *d2 = parse("{\"id\":\"bdst_2\",\"event_type\":\"pass.created\",\"url\":\"https://a.bubbleapps.io/api/"
                            "1.1/wf/x\",\"template_id\":\"\",\"description\":\"\",\"has_token\":false,\"enabled\":true,"
                            "\"disabled_reason\":\"\",\"disabled_at\":null,\"created_at\":\"2026-11-26T12:00:00.000Z\","
                            "\"updated_at\":\"2026-11-26T12:00:00.000Z\"}");
    json_object *a = bb_flat_destination(d1), *b = bb_flat_destination(d2), *v;
    assert_same_shape(a, b);
    assert_true(json_object_object_get_ex(a, "bearer_token", &v));
    assert_string_equal(json_object_get_string(v), "********");
    json_object *r1 = parse("{\"id\":\"bdlv_1\",\"destination_id\":\"bdst_1\",\"event_id\":\"evt_1\",\"event_type\":"
                            "\"pass.created\",\"test\":true,\"status\":\"failed\",\"attempts\":5,\"max_attempts\":5,"
                            "\"last_status_code\":500,\"last_error\":\"HTTP 500\",\"next_attempt_at\":\"2026-11-26T12:00:"
                            "00.000Z\",\"created_at\":\"2026-11-26T12:00:00.000Z\",\"updated_at\":\"2026-11-26T12:00:"
                            "00.000Z\"}");
    json_object *r2 = parse("{\"id\":\"bdlv_2\",\"destination_id\":\"bdst_1\",\"event_id\":\"evt_2\",\"event_type\":"
                            "\"pass.created\",\"test\":false,\"status\":\"pending\",\"attempts\":0,\"max_attempts\":5,"
                            "\"last_status_code\":null,\"last_error\":null,\"next_attempt_at\":null,\"created_at\":"
                            "\"2026-11-26T12:00:00.000Z\",\"updated_at\":\"2026-11-26T12:00:00.000Z\"}");
    json_object *c = bb_flat_delivery_row(r1), *d = bb_flat_delivery_row(r2);
    assert_same_shape(c, d);
    json_object *items = json_object_new_array();
    json_object_array_add(items, json_object_get(c));
    json_object *list = bb_flat_list(items, 1);
    assert_true(json_object_object_get_ex(list, "next_starting_after", &v));
    assert_string_equal(json_object_get_string(v), "bdlv_1");
    assert_true(json_object_object_get_ex(list, "count", &v));
    assert_int_equal(json_object_get_int(v), 1);
    json_object *tpl = parse("{\"id\":\"tpl_1\",\"name\":\"T\",\"body\":{\"pass_type\":\"loyalty\",\"primary_fields\":"
                             "[{\"key\":\"points\",\"label\":\"P\",\"value\":0}]},\"version\":1,\"created_at\":"
                             "\"2026-11-26T12:00:00.000Z\",\"updated_at\":\"2026-11-26T12:00:00.000Z\"}");
    json_object *t0 = parse("{\"id\":\"tpl_2\",\"name\":\"E\",\"body\":{},\"version\":1,\"created_at\":"
                            "\"2026-11-26T12:00:00.000Z\",\"updated_at\":\"2026-11-26T12:00:00.000Z\"}");
    json_object *ta = bb_flat_template(tpl), *tb = bb_flat_template(t0);
    assert_same_shape(ta, tb);
    assert_true(json_object_object_get_ex(ta, "fields_keys", &v));
    assert_string_equal(json_object_get_string(v), "points");
    /* a template's keys, however many, are never cut */
    json_object *big = parse("{\"id\":\"tpl_3\",\"body\":{\"back_fields\":[]}}"), *bb, *arr;
    assert_true(json_object_object_get_ex(big, "body", &bb));
    assert_true(json_object_object_get_ex(bb, "back_fields", &arr));
    for (int i = 0; i < 100; i++) {
        char key[80];
        snprintf(key, sizeof key, "k%02d_%s", i, "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz0123");
        json_object *f = json_object_new_object();
        json_object_object_add(f, "key", json_object_new_string(key));
        json_object_object_add(f, "value", json_object_new_string("v"));
        json_object_array_add(arr, f);
    }
    json_object *tbig = bb_flat_template(big);
    assert_true(json_object_object_get_ex(tbig, "fields_keys", &v));
    assert_int_equal(json_object_get_string_len(v), 100 * 60 + 99); /* 100 keys of 60 bytes, 99 commas */
    json_object_put(tbig);
    json_object_put(big);
    json_object *fields = bb_flat_template_fields(tpl), *data;
    assert_true(json_object_object_get_ex(fields, "data", &data));
    assert_int_equal(json_object_array_length(data), 1);
    assert_true(json_object_object_get_ex(json_object_array_get_idx(data, 0), "input_name", &v));
    assert_string_equal(json_object_get_string(v), "field_points");
    assert_true(json_object_object_get_ex(json_object_array_get_idx(data, 0), "value", &v));
    assert_string_equal(json_object_get_string(v), "0");
    for (json_object **o = (json_object *[]){fields, ta, tb, tpl, t0, list, c, d, r1, r2, a, b, d1, d2, NULL}; *o; o++)
        json_object_put(*o);
}

static void test_form(void **s)
{
    (void)s;
    json_object *o = NULL, *v;
    bb_verr e = {0};
    const char *f = "pass_type=loyalty&organization_name=Solstice+Coffee&field_points=2%2C450&empty=&x";
    assert_int_equal(bb_form_parse(f, strlen(f), &o, &e), 0);
    assert_true(json_object_object_get_ex(o, "organization_name", &v));
    assert_string_equal(json_object_get_string(v), "Solstice Coffee");
    assert_true(json_object_object_get_ex(o, "field_points", &v));
    assert_string_equal(json_object_get_string(v), "2,450");
    assert_true(json_object_object_get_ex(o, "x", &v));
    assert_string_equal(json_object_get_string(v), "");
    json_object_put(o);
    f = "a=1&a=2";
    assert_int_equal(bb_form_parse(f, strlen(f), &o, &e), -1);
    assert_string_equal(e.param, "a");
    f = "a=%zz";
    assert_int_equal(bb_form_parse(f, strlen(f), &o, &e), -1);
    assert_string_equal(e.param, "a");
    f = "a=%ff%fe";
    assert_int_equal(bb_form_parse(f, strlen(f), &o, &e), -1);
    f = "a=%00";
    assert_int_equal(bb_form_parse(f, strlen(f), &o, &e), -1);
    f = "=1";
    assert_int_equal(bb_form_parse(f, strlen(f), &o, &e), -1);
    assert_string_equal(e.param, "body");
    f = "a=%4";
    assert_int_equal(bb_form_parse(f, strlen(f), &o, &e), -1);
    f = "caf%C3%A9=%E2%82%AC";
    assert_int_equal(bb_form_parse(f, strlen(f), &o, &e), 0);
    assert_true(json_object_object_get_ex(o, "caf\xc3\xa9", &v));
    assert_string_equal(json_object_get_string(v), "\xe2\x82\xac");
    json_object_put(o);
}

static void test_multipart(void **s)
{
    (void)s;
    char b[72];
    json_object *o = NULL, *v;
    bb_verr e = {0};
    assert_int_equal(bb_multipart_boundary("multipart/form-data; boundary=----abc123", b), 0);
    assert_string_equal(b, "----abc123");
    assert_int_equal(bb_multipart_boundary("multipart/form-data; boundary=\"x y\"", b), 0);
    assert_string_equal(b, "x y");
    assert_int_equal(bb_multipart_boundary("multipart/form-data", b), -1);
    const char *body = "preamble\r\n--XX\r\nContent-Disposition: form-data; name=\"template_id\"\r\n\r\ntpl_1\r\n"
                       "--XX\r\nContent-Disposition: form-data; name=\"field_points\"\r\nContent-Type: text/plain\r\n\r\n"
                       "2,450\r\nline 2\r\n--XX--\r\n";
    assert_int_equal(bb_multipart_parse(body, strlen(body), "XX", &o, &e), 0);
    assert_true(json_object_object_get_ex(o, "template_id", &v));
    assert_string_equal(json_object_get_string(v), "tpl_1");
    assert_true(json_object_object_get_ex(o, "field_points", &v));
    assert_string_equal(json_object_get_string(v), "2,450\r\nline 2");
    json_object_put(o);
    const char *file = "--XX\r\nContent-Disposition: form-data; name=\"image_logo\"; filename=\"l.png\"\r\n\r\nPNG\r\n--XX--";
    assert_int_equal(bb_multipart_parse(file, strlen(file), "XX", &o, &e), -1);
    assert_string_equal(e.param, "image_logo");
    const char *dup = "--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XX\r\n"
                      "Content-Disposition: form-data; name=\"a\"\r\n\r\n2\r\n--XX--";
    assert_int_equal(bb_multipart_parse(dup, strlen(dup), "XX", &o, &e), -1);
    assert_string_equal(e.param, "a");
    const char *cut = "--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1";
    assert_int_equal(bb_multipart_parse(cut, strlen(cut), "XX", &o, &e), -1);
    assert_string_equal(e.param, "body");
    assert_int_equal(bb_multipart_parse("--XX--", 6, "XX", &o, &e), 0);
    assert_int_equal(json_object_object_length(o), 0);
    json_object_put(o);
}

static void test_readers(void **s)
{
    (void)s;
    bb_verr e = {0};
    json_object *in = parse("{\"a\":\"\",\"b\":null,\"c\":\"yes\",\"d\":\"maybe\",\"n\":\"12.5\",\"bad\":\"12x\","
                            "\"s\":1748799000,\"ms\":\"1748799000000\",\"iso\":\"2025-06-01T19:30:00Z\",\"t\":true,"
                            "\"nested\":[1]}");
    const char *t;
    int b;
    double d;
    char iso[64];
    assert_int_equal(bb_in_text(in, "a", &t, &e), BB_IN_ABSENT);
    assert_int_equal(bb_in_text(in, "b", &t, &e), BB_IN_NULL);
    assert_int_equal(bb_in_text(in, "zz", &t, &e), BB_IN_ABSENT);
    assert_int_equal(bb_in_text(in, "t", &t, &e), -1);
    assert_int_equal(bb_in_bool(in, "c", &b, &e), BB_IN_SET);
    assert_true(b);
    assert_int_equal(bb_in_bool(in, "d", &b, &e), -1);
    assert_string_equal(e.param, "d");
    assert_int_equal(bb_in_number(in, "n", &d, &e), BB_IN_SET);
    assert_true(d == 12.5);
    assert_int_equal(bb_in_number(in, "bad", &d, &e), -1);
    assert_int_equal(bb_in_date(in, "s", iso, &e), BB_IN_SET);
    assert_string_equal(iso, "2025-06-01T17:30:00Z");
    assert_int_equal(bb_in_date(in, "ms", iso, &e), BB_IN_SET);
    assert_string_equal(iso, "2025-06-01T17:30:00Z");
    assert_int_equal(bb_in_date(in, "iso", iso, &e), BB_IN_SET);
    assert_string_equal(iso, "2025-06-01T19:30:00Z");
    assert_int_equal(bb_input_flat(in, &e), -1);
    assert_string_equal(e.param, "nested");
    json_object_put(in);
}

static void test_urls(void **s)
{
    (void)s;
    bb_verr e = {0};
    assert_int_equal(bb_url_check_shape("https://myapp.bubbleapps.io/version-test/api/1.1/wf/pass_installed", 0, "url", &e), 0);
    assert_int_equal(bb_url_check_shape("https://myapp.bubbleapps.io/api/1.1/wf/pass-installed", 0, "url", &e), 0);
    assert_int_equal(bb_url_check_shape("https://app.example.com/version-dev2/api/1.1/wf/x/", 0, "url", &e), 0);
    assert_int_equal(bb_url_check_shape("http://127.0.0.1:9/version-test/api/1.1/wf/x", 1, "url", &e), 0);
    assert_int_equal(bb_url_check_shape("http://myapp.bubbleapps.io/api/1.1/wf/x", 0, "url", &e), -1);
    assert_non_null(strstr(e.msg, "allow_http"));
    assert_int_equal(bb_url_check_shape("https://myapp.bubbleapps.io/version-test/api/1.1/wf/x/initialize", 0, "url", &e),
                     -1);
    assert_non_null(strstr(e.msg, "initialize=true"));
    assert_int_equal(bb_url_check_shape("https://myapp.bubbleapps.io/api/1.1/obj/user", 0, "url", &e), -1);
    assert_int_equal(bb_url_check_shape("https://myapp.bubbleapps.io/api/1.1/wf/x?a=1", 0, "url", &e), -1);
    assert_int_equal(bb_url_check_shape("https://u:p@myapp.bubbleapps.io/api/1.1/wf/x", 0, "url", &e), -1);
    assert_int_equal(bb_url_check_shape("https:///api/1.1/wf/x", 0, "url", &e), -1);
    assert_int_equal(bb_url_check_shape("https://a.bubbleapps.io/api/1.1/wf/x y", 0, "url", &e), -1);
    char out[64];
    assert_int_equal(bb_image_url("//s3.amazonaws.com/appforest_uf/f1/logo.png", out, sizeof out), 0);
    assert_string_equal(out, "https://s3.amazonaws.com/appforest_uf/f1/logo.png");
    assert_int_equal(bb_image_url("https://cdn.example.com/a.png", out, sizeof out), 0);
    assert_string_equal(out, "https://cdn.example.com/a.png");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates),       cmocka_unit_test(test_pass_shape), cmocka_unit_test(test_delivery_and_sample),
        cmocka_unit_test(test_rows_and_lists), cmocka_unit_test(test_form), cmocka_unit_test(test_multipart),    cmocka_unit_test(test_readers),
        cmocka_unit_test(test_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
