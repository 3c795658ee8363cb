/*
 * Unit suite for zb_flat: every flat object of a kind has the same keys, each
 * of one type, none null, none an array or object, whatever the pass or the
 * event holds (a bare pass, a full one, missing data).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "zb_flat.h"

static const char *const types[] = {"pass.created", "pass.updated", "pass.voided", "pass.installed", "pass.removed",
                                    "batch.completed"};

static const char *FULL_PASS =
    "{\"id\":\"pass_1\",\"object\":\"pass\",\"serial_number\":\"SN-1\",\"pass_type\":\"loyalty\","
    "\"pkpass_url\":null,\"share_url\":\"http://x/p/1\",\"status\":\"active\",\"version\":3,\"template_id\":null,"
    "\"livemode\":false,\"created_at\":\"2026-01-01T00:00:00.000Z\",\"updated_at\":\"2026-01-02T00:00:00.000Z\","
    "\"organization_name\":\"Solstice\",\"points\":2450,\"barcode_message\":\"M-1\","
    "\"primary_fields\":[{\"key\":\"points\",\"label\":\"Points\",\"value\":\"2,450\"}],"
    "\"back_fields\":[{\"key\":\"terms\",\"label\":\"Terms\",\"value\":\"none\"}],"
    "\"metadata\":{\"crm\":\"42\"},\"locations\":[{\"latitude\":1,\"longitude\":2}]}";

/* The keys of o with a one-letter type each: s string, i integer, d number, b boolean. */
static void shape(json_object *o, char *out, size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    json_object_object_foreach(o, k, v) {
        char t;
        switch (json_object_get_type(v)) {
        case json_type_string: t = 's'; break;
        case json_type_int: t = 'i'; break;
        case json_type_double: t = 'd'; break;
        case json_type_boolean: t = 'b'; break;
        default: t = '?'; /* null, array, object: never allowed */
        }
        n += (size_t)snprintf(out + n, len - n, "%s:%c,", k, t);
    }
}

static json_object *event_data(const char *type, int full)
{
    char buf[4096];
    if (strncmp(type, "batch", 5) == 0)
        snprintf(buf, sizeof buf, full ? "{\"schema\":1,\"batch\":{\"id\":\"batch_1\",\"status\":\"completed\",\"total\":2,"
                                         "\"succeeded\":1,\"failed\":1,\"progress\":1,\"template_id\":null,"
                                         "\"created_at\":\"t\",\"completed_at\":\"u\"}}"
                                       : "{\"schema\":1}");
    else if (strcmp(type, "pass.installed") == 0 || strcmp(type, "pass.removed") == 0)
        snprintf(buf, sizeof buf, full ? "{\"schema\":1,\"pass\":{\"id\":\"pass_1\",\"serial_number\":\"SN-1\"},"
                                         "\"device_library_identifier\":\"dev\"}"
                                       : "{\"schema\":1}");
    else
        snprintf(buf, sizeof buf, "{\"schema\":1,\"pass\":%s%s}", full ? FULL_PASS : "{\"id\":\"pass_2\"}",
                 full ? ",\"changed\":[\"logo_text\",\"points\"]" : "");
    return json_tokener_parse(buf);
}

static void same_keys_and_types_whatever_the_data(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        json_object *df = event_data(types[i], 1), *de = event_data(types[i], 0);
        json_object *full = zb_flat_event("evt_1", types[i], "2026-01-01T00:00:00.000Z", df);
        json_object *bare = zb_flat_event("evt_2", types[i], NULL, de);
        json_object *none = zb_flat_event("evt_3", types[i], "x", NULL);
        char a[4096], b[4096], c[4096];
        shape(full, a, sizeof a);
        shape(bare, b, sizeof b);
        shape(none, c, sizeof c);
        assert_string_equal(a, b);
        assert_string_equal(a, c);
        assert_null(strchr(a, '?'));
        assert_true(strncmp(a, "id:s,event_type:s,created_at:s,", 31) == 0);
        json_object_put(df), json_object_put(de), json_object_put(full), json_object_put(bare), json_object_put(none);
    }
    assert_null(zb_flat_event("evt_1", "pass.notify", "t", NULL)); /* internal: no trigger */
}

static void values_of_a_full_pass(void **state)
{
    (void)state;
    json_object *data = event_data("pass.updated", 1);
    json_object *o = zb_flat_event("evt_1", "pass.updated", "2026-01-01T00:00:00.000Z", data);
    assert_string_equal(json_object_get_string(json_object_object_get(o, "id")), "evt_1");
    assert_string_equal(json_object_get_string(json_object_object_get(o, "pass_id")), "pass_1");
    assert_int_equal(json_object_get_int(json_object_object_get(o, "version")), 3);
    assert_false(json_object_get_boolean(json_object_object_get(o, "livemode")));
    assert_string_equal(json_object_get_string(json_object_object_get(o, "template_id")), "");
    assert_string_equal(json_object_get_string(json_object_object_get(o, "pkpass_url")), "");
    assert_string_equal(json_object_get_string(json_object_object_get(o, "google_save_url")), "");
    assert_string_equal(json_object_get_string(json_object_object_get(o, "points")), "2450");
    assert_string_equal(json_object_get_string(json_object_object_get(o, "changed")), "logo_text,points");
    assert_string_equal(json_object_get_string(json_object_object_get(o, "fields_json")),
                        "{\"points\":\"2,450\",\"terms\":\"none\"}");
    assert_string_equal(json_object_get_string(json_object_object_get(o, "metadata_json")), "{\"crm\":\"42\"}");
    assert_null(json_object_object_get(o, "locations")); /* arrays of objects are never flat keys */
    json_object_put(o);
    json_object_put(data);
}

static void an_action_answer_is_the_pass_with_its_id(void **state)
{
    (void)state;
    json_object *p = json_tokener_parse(FULL_PASS), *o = zb_flat_pass(p);
    assert_string_equal(json_object_get_string(json_object_object_get(o, "id")), "pass_1");
    assert_string_equal(json_object_get_string(json_object_object_get(o, "pass_id")), "pass_1");
    /* pass_get's shape (the body under "body") reads the same */
    json_object *q = json_tokener_parse("{\"id\":\"pass_1\",\"body\":{\"organization_name\":\"Solstice\"}}");
    json_object *r = zb_flat_pass(q);
    assert_string_equal(json_object_get_string(json_object_object_get(r, "organization_name")), "Solstice");
    char a[4096], b[4096];
    shape(o, a, sizeof a);
    shape(r, b, sizeof b);
    assert_string_equal(a, b);
    json_object_put(p), json_object_put(o), json_object_put(q), json_object_put(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_keys_and_types_whatever_the_data),
        cmocka_unit_test(values_of_a_full_pass),
        cmocka_unit_test(an_action_answer_is_the_pass_with_its_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
