/*
 * geofence.c - the geofence plugin: locations and beacons on passes.
 *
 *   filter pass.validate       locations (latitude, longitude, altitude, relevant_text), beacons
 *                              (proximity_uuid, major, minor, relevant_text), max_distance: 400 naming
 *                              the element ("locations[0].latitude"); on passes and templates
 *   filter pass.render.apple   pass.json locations, beacons, maxDistance (lock-screen relevance)
 *   filter pass.render.google  object.merchantLocations (at most 10)
 *
 * The ?near= search of GET /api/v1/passes is the core's (locations are core
 * pass fields): see docs/api.md.  Requires ABI 1.0 only, so it loads on any 1.x host.
 * No mutable state: the filters run concurrently on any thread.
 */
#define WP_REQUIRE_ABI_MINOR 0
#include <walletpass/plugin.h>
#include <walletpass/plugin_config.h>

#include "geofence_rules.h"

static const wp_host *host;

static wp_filter_result on_validate(void *ud, wp_req *req, json_object *doc, wp_err *err)
{
    (void)ud;
    (void)req;
    json_object *body = NULL;
    if (!json_object_object_get_ex(doc, "body", &body)) return WP_FILTER_CONTINUE;
    geo_error e;
    if (geo_validate(body, &e) == 0) return WP_FILTER_CONTINUE;
    host->error_set(err, WP_EINVAL, e.code, e.param, "%s", e.msg);
    return WP_FILTER_REJECT;
}

static wp_filter_result on_render_apple(void *ud, wp_req *req, json_object *doc, wp_err *err)
{
    (void)ud;
    (void)req;
    (void)err;
    json_object *pass = NULL, *pj = NULL;
    if (!json_object_object_get_ex(doc, "pass", &pass) || !json_object_object_get_ex(doc, "pass_json", &pj) ||
        !json_object_is_type(pj, json_type_object))
        return WP_FILTER_CONTINUE;
    return geo_render_apple(pass, pj) ? WP_FILTER_MODIFIED : WP_FILTER_CONTINUE;
}

static wp_filter_result on_render_google(void *ud, wp_req *req, json_object *doc, wp_err *err)
{
    (void)ud;
    (void)req;
    (void)err;
    json_object *pass = NULL, *obj = NULL;
    if (!json_object_object_get_ex(doc, "pass", &pass) || !json_object_object_get_ex(doc, "object", &obj) ||
        !json_object_is_type(obj, json_type_object))
        return WP_FILTER_CONTINUE;
    return geo_render_google(pass, obj) ? WP_FILTER_MODIFIED : WP_FILTER_CONTINUE;
}

static wp_status init(const wp_host *h, wp_plugin *self, const json_object *config)
{
    host = h;
    /* No settings: the empty table refuses every key, naming it. */
    static const wp_cfg_key no_keys[] = {WP_CFG_END};
    char why[300];
    wp_status st = wp_cfg_parse(no_keys, config, NULL, why, sizeof why);
    if (st != WP_OK) {
        host->init_error(self, "%s (the geofence plugin takes no settings)", why);
        return st;
    }
    if ((st = host->filter_add(self, "pass.validate", WP_PRIO_DEFAULT, on_validate, NULL)) != WP_OK ||
        (st = host->filter_add(self, "pass.render.apple", WP_PRIO_DEFAULT, on_render_apple, NULL)) != WP_OK ||
        (st = host->filter_add(self, "pass.render.google", WP_PRIO_DEFAULT, on_render_google, NULL)) != WP_OK) {
        host->init_error(self, "registering the filters: %s", host->last_error());
        return st;
    }
    return WP_OK;
}

static void shutdown_(wp_plugin *self) { (void)self; }

/* Needs no other plugin: its render filters simply wait for apple-signer and google-jwt to run their hooks. */
WP_PLUGIN_DEFINE_NEEDS("geofence", "1.0.0", "Locations and beacons: validation, Apple and Google rendering", init,
                       shutdown_, NULL, NULL, NULL, NULL)
