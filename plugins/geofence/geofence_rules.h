/*
 * geofence_rules.h - the geofence plugin's pure part: the rules of a pass's
 * `locations`, `beacons` and `max_distance`, and their Apple and Google
 * renderings.  No host calls: unit-testable without a gateway.
 *
 * Ownership: every json_object argument is borrowed; renderers add new
 * members (or references to the pass's own values) to the target object.
 */
#ifndef GEOFENCE_RULES_H
#define GEOFENCE_RULES_H

#include <json-c/json.h>
#include <stddef.h>

#define GEO_MAX_LOCATIONS 10   /* Apple and Google both honour 10 */
#define GEO_MAX_BEACONS 10
#define GEO_MAX_DISTANCE_M 1000000.0

/* Why a body was refused: the API code, the field in API notation, a message. */
typedef struct geo_error {
    const char *code;           /* static: parameter_invalid, parameter_unknown, parameter_missing */
    char param[96];
    char msg[256];
} geo_error;

/* Checks a unified pass body (or a template body).  0 when valid, else -1 and *e. */
int geo_validate(const json_object *body, geo_error *e);

/*
 * Apple pass.json: sets `locations` (latitude, longitude, altitude,
 * relevantText), `beacons` (proximityUUID, major, minor, relevantText) and
 * `maxDistance` from the pass, at most 10 of each; removes them when the pass
 * has none.  Returns 1 when pass_json changed.
 */
int geo_render_apple(const json_object *pass, json_object *pass_json);

/* Google: object.merchantLocations = [{latitude, longitude}] (at most 10).  Returns 1 when changed. */
int geo_render_google(const json_object *pass, json_object *object);

#endif
