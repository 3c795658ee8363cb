/*
 * geofence_rules.c - see geofence_rules.h.  Apple's keys (Location: latitude, longitude, altitude, relevantText; Beacon:
 * proximityUUID, major, minor 0-65535, relevantText); Google's:
 * Google's Wallet API reference (merchantLocations: latitude and longitude only).
 */
#include "geofence_rules.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "wpc_json.h"

static int fail(geo_error *e, const char *code, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(geo_error *e, const char *code, const char *param, const char *fmt, ...)
{
    e->code = code;
    snprintf(e->param, sizeof e->param, "%s", param);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static int is_number(const json_object *v)
{
    return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

static int in_list(const char *k, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(*list, k) == 0) return 1;
    return 0;
}

/* 8-4-4-4-12 hexadecimal digits, as Apple's proximityUUID and CoreLocation take it. */
static int is_uuid(const char *s)
{
    static const int groups[] = {8, 4, 4, 4, 12};
    for (int g = 0; g < 5; g++) {
        for (int i = 0; i < groups[g]; i++, s++)
            if (!isxdigit((unsigned char)*s)) return 0;
        if (g < 4 && *s++ != '-') return 0;
    }
    return *s == '\0';
}

static int check_text(const json_object *v, const char *param, geo_error *e)
{
    if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
        return fail(e, "parameter_invalid", param, "%s must be a non-empty string", param);
    return 0;
}

static int check_range(const json_object *v, const char *param, double lo, double hi, geo_error *e)
{
    if (!is_number(v) || !isfinite(json_object_get_double(v)) || json_object_get_double(v) < lo ||
        json_object_get_double(v) > hi)
        return fail(e, "parameter_invalid", param, "%s must be a number from %g to %g", param, lo, hi);
    return 0;
}

static int check_locations(json_object *arr, geo_error *e)
{
    static const char *const keys[] = {"latitude", "longitude", "altitude", "relevant_text", NULL};
    char param[96];
    if (!json_object_is_type(arr, json_type_array))
        return fail(e, "parameter_invalid", "locations", "locations must be an array of at most %d locations",
                    GEO_MAX_LOCATIONS);
    size_t n = json_object_array_length(arr);
    if (n > GEO_MAX_LOCATIONS)
        return fail(e, "parameter_invalid", "locations", "locations has %zu entries; at most %d are allowed", n,
                    GEO_MAX_LOCATIONS);
    for (size_t i = 0; i < n; i++) {
        json_object *l = json_object_array_get_idx(arr, i);
        snprintf(param, sizeof param, "locations[%zu]", i);
        if (!json_object_is_type(l, json_type_object))
            return fail(e, "parameter_invalid", param, "%s must be an object with latitude and longitude", param);
        json_object_object_foreach(l, k, v) {
            snprintf(param, sizeof param, "locations[%zu].%s", i, k);
            if (!in_list(k, keys))
                return fail(e, "parameter_unknown", param,
                            "unknown field \"%s\" in a location (latitude, longitude, altitude, relevant_text)", k);
            int bad = strcmp(k, "latitude") == 0    ? check_range(v, param, -90, 90, e)
                      : strcmp(k, "longitude") == 0 ? check_range(v, param, -180, 180, e)
                      : strcmp(k, "altitude") == 0  ? check_range(v, param, -1e6, 1e6, e)
                                                    : check_text(v, param, e);
            if (bad) return -1;
        }
        for (int r = 0; r < 2; r++) {
            const char *req = r ? "longitude" : "latitude";
            if (!json_object_object_get_ex(l, req, NULL)) {
                snprintf(param, sizeof param, "locations[%zu].%s", i, req);
                return fail(e, "parameter_missing", param, "%s is required", param);
            }
        }
    }
    return 0;
}

static int check_beacons(json_object *arr, geo_error *e)
{
    static const char *const keys[] = {"proximity_uuid", "major", "minor", "relevant_text", NULL};
    char param[96];
    if (!json_object_is_type(arr, json_type_array))
        return fail(e, "parameter_invalid", "beacons", "beacons must be an array of at most %d beacons", GEO_MAX_BEACONS);
    size_t n = json_object_array_length(arr);
    if (n > GEO_MAX_BEACONS)
        return fail(e, "parameter_invalid", "beacons", "beacons has %zu entries; at most %d are allowed", n,
                    GEO_MAX_BEACONS);
    for (size_t i = 0; i < n; i++) {
        json_object *b = json_object_array_get_idx(arr, i);
        snprintf(param, sizeof param, "beacons[%zu]", i);
        if (!json_object_is_type(b, json_type_object))
            return fail(e, "parameter_invalid", param, "%s must be an object with a proximity_uuid", param);
        json_object_object_foreach(b, k, v) {
            snprintf(param, sizeof param, "beacons[%zu].%s", i, k);
            if (!in_list(k, keys))
                return fail(e, "parameter_unknown", param,
                            "unknown field \"%s\" in a beacon (proximity_uuid, major, minor, relevant_text)", k);
            if (strcmp(k, "proximity_uuid") == 0) {
                if (!json_object_is_type(v, json_type_string) || !is_uuid(json_object_get_string(v)))
                    return fail(e, "parameter_invalid", param,
                                "%s must be a UUID (E2C56DB5-DFFB-48D2-B060-D0F5A71096E0)", param);
            } else if (strcmp(k, "relevant_text") == 0) {
                if (check_text(v, param, e)) return -1;
            } else if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0 ||
                       json_object_get_int64(v) > 65535) {
                return fail(e, "parameter_invalid", param, "%s must be an integer from 0 to 65535", param);
            }
        }
        if (!json_object_object_get_ex(b, "proximity_uuid", NULL)) {
            snprintf(param, sizeof param, "beacons[%zu].proximity_uuid", i);
            return fail(e, "parameter_missing", param, "%s is required", param);
        }
        if (json_object_object_get_ex(b, "minor", NULL) && !json_object_object_get_ex(b, "major", NULL)) {
            snprintf(param, sizeof param, "beacons[%zu].minor", i);
            return fail(e, "parameter_invalid", param, "%s needs major: a beacon region is uuid, uuid+major or "
                        "uuid+major+minor", param);
        }
    }
    return 0;
}

int geo_validate(const json_object *body, geo_error *e)
{
    json_object *v = NULL;
    if (!json_object_is_type(body, json_type_object)) return 0;
    if (json_object_object_get_ex(body, "locations", &v) && v && check_locations(v, e)) return -1;
    if (json_object_object_get_ex(body, "beacons", &v) && v && check_beacons(v, e)) return -1;
    if (json_object_object_get_ex(body, "max_distance", &v) && v) {
        if (!is_number(v) || !(json_object_get_double(v) > 0) || json_object_get_double(v) > GEO_MAX_DISTANCE_M)
            return fail(e, "parameter_invalid", "max_distance",
                        "max_distance must be a number of metres above 0 and at most %.0f", GEO_MAX_DISTANCE_M);
    }
    return 0;
}

/* Copies src[from] to dst[to] when present (a reference to the same value). */
static void copy_key(json_object *dst, const char *to, json_object *src, const char *from)
{
    json_object *v = NULL;
    if (json_object_object_get_ex(src, from, &v) && v) json_object_object_add(dst, to, json_object_get(v));
}

int geo_render_apple(const json_object *pass, json_object *pj)
{
    int changed = 0;
    json_object *locs = wpc_pass_field(pass, "locations"), *beacons = wpc_pass_field(pass, "beacons"),
                *md = wpc_pass_field(pass, "max_distance");
    json_object *arr = json_object_new_array();
    for (size_t i = 0; locs && json_object_is_type(locs, json_type_array) && i < json_object_array_length(locs) &&
                       json_object_array_length(arr) < GEO_MAX_LOCATIONS;
         i++) {
        json_object *l = json_object_array_get_idx(locs, i), *o = json_object_new_object();
        copy_key(o, "latitude", l, "latitude");
        copy_key(o, "longitude", l, "longitude");
        copy_key(o, "altitude", l, "altitude");
        copy_key(o, "relevantText", l, "relevant_text");
        json_object_array_add(arr, o);
    }
    if (json_object_array_length(arr) > 0 || json_object_object_get_ex(pj, "locations", NULL)) changed = 1;
    if (json_object_array_length(arr) > 0) json_object_object_add(pj, "locations", arr);
    else {
        json_object_put(arr);
        json_object_object_del(pj, "locations");
    }
    arr = json_object_new_array();
    for (size_t i = 0; beacons && json_object_is_type(beacons, json_type_array) &&
                       i < json_object_array_length(beacons) && json_object_array_length(arr) < GEO_MAX_BEACONS;
         i++) {
        json_object *b = json_object_array_get_idx(beacons, i), *o = json_object_new_object();
        copy_key(o, "proximityUUID", b, "proximity_uuid");
        copy_key(o, "major", b, "major");
        copy_key(o, "minor", b, "minor");
        copy_key(o, "relevantText", b, "relevant_text");
        json_object_array_add(arr, o);
    }
    if (json_object_array_length(arr) > 0 || json_object_object_get_ex(pj, "beacons", NULL)) changed = 1;
    if (json_object_array_length(arr) > 0) json_object_object_add(pj, "beacons", arr);
    else {
        json_object_put(arr);
        json_object_object_del(pj, "beacons");
    }
    if (md && (json_object_is_type(md, json_type_int) || json_object_is_type(md, json_type_double))) {
        json_object_object_add(pj, "maxDistance", json_object_get(md));
        changed = 1;
    } else if (json_object_object_get_ex(pj, "maxDistance", NULL)) {
        json_object_object_del(pj, "maxDistance");
        changed = 1;
    }
    return changed;
}

int geo_render_google(const json_object *pass, json_object *object)
{
    json_object *locs = wpc_pass_field(pass, "locations");
    json_object *arr = json_object_new_array();
    for (size_t i = 0; locs && json_object_is_type(locs, json_type_array) && i < json_object_array_length(locs) &&
                       json_object_array_length(arr) < GEO_MAX_LOCATIONS;
         i++) {
        json_object *l = json_object_array_get_idx(locs, i), *lat = NULL, *lng = NULL;
        if (!json_object_object_get_ex(l, "latitude", &lat) || !json_object_object_get_ex(l, "longitude", &lng)) continue;
        json_object *m = json_object_new_object();
        json_object_object_add(m, "latitude", json_object_get(lat));
        json_object_object_add(m, "longitude", json_object_get(lng));
        json_object_array_add(arr, m);
    }
    int had = json_object_object_get_ex(object, "merchantLocations", NULL);
    if (json_object_array_length(arr) > 0) {
        json_object_object_add(object, "merchantLocations", arr);
        return 1;
    }
    json_object_put(arr);
    if (had) json_object_object_del(object, "merchantLocations");
    return had;
}
