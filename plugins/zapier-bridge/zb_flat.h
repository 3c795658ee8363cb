/*
 * zb_flat.h - the flat shapes Zapier gets: a pass, and an event of each of
 * the six trigger types, as objects whose keys are the same in every object
 * of a kind, each of one type, none null, none an array of objects (Zapier
 * lists, filters and maps such fields; it cannot map a nested list).
 *
 * Pure functions (no host, no request): the REST-hook deliveries, the
 * triggers' sample data (GET /api/v1/zapier/events) and the actions' answers
 * all come from here, so what a Zap was built on is what it later receives.
 * README.md lists the keys; unit_zapier_bridge_flat checks them.
 *
 * Ownership: inputs borrowed; results are new objects (transferred).
 */
#ifndef ZB_FLAT_H
#define ZB_FLAT_H

#include <json-c/json.h>

/*
 * Appends the flat keys of a pass resource (the API's pass, or the pass of
 * an event's data) to o: pass_id, serial_number, pass_type, status,
 * version, template_id, livemode, pass_created_at, pass_updated_at, the
 * links (share_url, pkpass_url, google_save_url), every text field of the
 * unified body, fields_json (the fields arrays as one {key: value} object,
 * in JSON) and metadata_json.  A value the pass lacks is "" (0 for version,
 * true for livemode).
 */
void zb_flat_pass_into(json_object *o, const json_object *pass);

/* {id: <the pass id>, ...zb_flat_pass_into}: the answer of an action or a search. */
json_object *zb_flat_pass(const json_object *pass);

/*
 * The flat event: {id: <event id>, event_type, created_at} and the keys of
 * its type (the pass's for pass.created/updated/voided, plus changed for
 * pass.updated; pass_id, serial_number, device_library_identifier for
 * pass.installed/removed; the batch's for batch.completed).  NULL for a type
 * that is none of the six.  data: the event's data (borrowed; NULL: {}).
 */
json_object *zb_flat_event(const char *id, const char *type, const char *created_at, const json_object *data);

#endif
