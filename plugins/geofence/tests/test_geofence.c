/*
 * unit_geofence: the geofence rules without a gateway - every validation
 * rule (valid bodies pass, each bad one names its element) and both renderings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "geofence_rules.h"

typedef struct {
    const char *body;
    const char *param;   /* NULL: valid */
    const char *code;
} vcase;

static const vcase cases[] = {
    {"{}", NULL, NULL},
    {"{\"locations\": [{\"latitude\": 48.8584, \"longitude\": 2.2945, \"altitude\": 35, \"relevant_text\": \"Eiffel\"}]}", NULL, NULL},
    {"{\"locations\": [{\"latitude\": -90, \"longitude\": -180}, {\"latitude\": 90, \"longitude\": 180}]}", NULL, NULL},
    {"{\"locations\": [{\"latitude\": 91, \"longitude\": 0}]}", "locations[0].latitude", "parameter_invalid"},
    {"{\"locations\": [{\"latitude\": -90.0001, \"longitude\": 0}]}", "locations[0].latitude", "parameter_invalid"},
    {"{\"locations\": [{\"latitude\": 0, \"longitude\": 0}, {\"latitude\": 0, \"longitude\": 180.5}]}", "locations[1].longitude", "parameter_invalid"},
    {"{\"locations\": [{\"latitude\": \"1\", \"longitude\": 0}]}", "locations[0].latitude", "parameter_invalid"},
    {"{\"locations\": [{\"longitude\": 0}]}", "locations[0].latitude", "parameter_missing"},
    {"{\"locations\": [{\"latitude\": 0}]}", "locations[0].longitude", "parameter_missing"},
    {"{\"locations\": [{\"latitude\": 0, \"longitude\": 0, \"altitude\": \"high\"}]}", "locations[0].altitude", "parameter_invalid"},
    {"{\"locations\": [{\"latitude\": 0, \"longitude\": 0, \"relevant_text\": \"\"}]}", "locations[0].relevant_text", "parameter_invalid"},
    {"{\"locations\": [{\"latitude\": 0, \"longitude\": 0, \"radius\": 5}]}", "locations[0].radius", "parameter_unknown"},
    {"{\"locations\": [5]}", "locations[0]", "parameter_invalid"},
    {"{\"locations\": {}}", "locations", "parameter_invalid"},
    {"{\"locations\": [{\"latitude\":0,\"longitude\":0},{\"latitude\":0,\"longitude\":0},{\"latitude\":0,\"longitude\":0},"
     "{\"latitude\":0,\"longitude\":0},{\"latitude\":0,\"longitude\":0},{\"latitude\":0,\"longitude\":0},{\"latitude\":0,\"longitude\":0},"
     "{\"latitude\":0,\"longitude\":0},{\"latitude\":0,\"longitude\":0},{\"latitude\":0,\"longitude\":0},{\"latitude\":0,\"longitude\":0}]}",
     "locations", "parameter_invalid"},
    {"{\"beacons\": [{\"proximity_uuid\": \"E2C56DB5-DFFB-48D2-B060-D0F5A71096E0\", \"major\": 0, \"minor\": 65535, \"relevant_text\": \"Door\"}]}", NULL, NULL},
    {"{\"beacons\": [{\"proximity_uuid\": \"e2c56db5-dffb-48d2-b060-d0f5a71096e0\"}]}", NULL, NULL},
    {"{\"beacons\": [{\"proximity_uuid\": \"E2C56DB5-DFFB-48D2-B060-D0F5A71096E\"}]}", "beacons[0].proximity_uuid", "parameter_invalid"},
    {"{\"beacons\": [{\"proximity_uuid\": \"E2C56DB5DFFB-48D2-B060-D0F5A71096E0X\"}]}", "beacons[0].proximity_uuid", "parameter_invalid"},
    {"{\"beacons\": [{\"proximity_uuid\": \"G2C56DB5-DFFB-48D2-B060-D0F5A71096E0\"}]}", "beacons[0].proximity_uuid", "parameter_invalid"},
    {"{\"beacons\": [{\"major\": 1}]}", "beacons[0].proximity_uuid", "parameter_missing"},
    {"{\"beacons\": [{\"proximity_uuid\": \"E2C56DB5-DFFB-48D2-B060-D0F5A71096E0\", \"major\": 65536}]}", "beacons[0].major", "parameter_invalid"},
    {"{\"beacons\": [{\"proximity_uuid\": \"E2C56DB5-DFFB-48D2-B060-D0F5A71096E0\", \"major\": -1}]}", "beacons[0].major", "parameter_invalid"},
    {"{\"beacons\": [{\"proximity_uuid\": \"E2C56DB5-DFFB-48D2-B060-D0F5A71096E0\", \"major\": 1.5}]}", "beacons[0].major", "parameter_invalid"},
    {"{\"beacons\": [{\"proximity_uuid\": \"E2C56DB5-DFFB-48D2-B060-D0F5A71096E0\", \"minor\": 3}]}", "beacons[0].minor", "parameter_invalid"},
    {"{\"beacons\": [{\"proximity_uuid\": \"E2C56DB5-DFFB-48D2-B060-D0F5A71096E0\", \"txpower\": 3}]}", "beacons[0].txpower", "parameter_unknown"},
    {"{\"max_distance\": 100}", NULL, NULL},
    {"{\"max_distance\": 0}", "max_distance", "parameter_invalid"},
    {"{\"max_distance\": 1000001}", "max_distance", "parameter_invalid"},
    {"{\"max_distance\": \"5\"}", "max_distance", "parameter_invalid"},
};

static void test_validate(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_object *b = json_tokener_parse(cases[i].body);
        assert_non_null(b);
        geo_error e = {0};
        int rc = geo_validate(b, &e);
        if (!cases[i].param) {
            if (rc != 0) fail_msg("case %zu refused: %s: %s", i, e.param, e.msg);
        } else {
            if (rc == 0) fail_msg("case %zu accepted, expected %s", i, cases[i].param);
            assert_string_equal(e.param, cases[i].param);
            assert_string_equal(e.code, cases[i].code);
        }
        json_object_put(b);
    }
}

static void test_render(void **state)
{
    (void)state;
    json_object *pass = json_tokener_parse(
        "{\"id\": \"pass_1\", \"body\": {\"locations\": [{\"latitude\": 1.5, \"longitude\": 2, \"altitude\": 3,"
        " \"relevant_text\": \"Hi\"}, {\"latitude\": -4, \"longitude\": 5}], \"beacons\": [{\"proximity_uuid\":"
        " \"E2C56DB5-DFFB-48D2-B060-D0F5A71096E0\", \"major\": 7, \"minor\": 8, \"relevant_text\": \"B\"}],"
        " \"max_distance\": 250}}");
    json_object *pj = json_tokener_parse("{\"formatVersion\": 1}");
    assert_int_equal(geo_render_apple(pass, pj), 1);
    json_object *want = json_tokener_parse(
        "{\"formatVersion\": 1, \"locations\": [{\"latitude\": 1.5, \"longitude\": 2, \"altitude\": 3, \"relevantText\":"
        " \"Hi\"}, {\"latitude\": -4, \"longitude\": 5}], \"beacons\": [{\"proximityUUID\":"
        " \"E2C56DB5-DFFB-48D2-B060-D0F5A71096E0\", \"major\": 7, \"minor\": 8, \"relevantText\": \"B\"}],"
        " \"maxDistance\": 250}");
    assert_true(json_object_equal(pj, want));
    json_object *obj = json_object_new_object();
    assert_int_equal(geo_render_google(pass, obj), 1);
    json_object *gwant = json_tokener_parse(
        "{\"merchantLocations\": [{\"latitude\": 1.5, \"longitude\": 2}, {\"latitude\": -4, \"longitude\": 5}]}");
    assert_true(json_object_equal(obj, gwant));
    /* a pass without any: nothing added, stale keys removed */
    json_object *bare = json_tokener_parse("{\"id\": \"pass_2\", \"body\": {}}");
    json_object *pj2 = json_tokener_parse("{\"formatVersion\": 1}");
    assert_int_equal(geo_render_apple(bare, pj2), 0);
    assert_int_equal(json_object_object_length(pj2), 1);
    assert_int_equal(geo_render_google(bare, obj), 1);
    assert_int_equal(json_object_object_length(obj), 0);
    json_object_put(bare);
    json_object_put(pj2);
    json_object_put(gwant);
    json_object_put(obj);
    json_object_put(want);
    json_object_put(pj);
    json_object_put(pass);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_validate), cmocka_unit_test(test_render)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
