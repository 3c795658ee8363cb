/*
 * bb_flat.h - the flat shapes Bubble gets: a pass, a template, a template's
 * fields, a notification, a destination's delivery, and the list wrapper.
 *
 * Bubble's API Connector learns a call's fields from one answer ("Initialize
 * call") and a backend workflow its parameters from one request ("Detect
 * data").  So every object here is flat (no member is an object, no member
 * an array except a list's "data"), no value is null (a typed default
 * instead: "", 0, false, with a companion has_<key> where absence matters),
 * and every key of a shape is present in every object of it, set or not.
 * Dates come twice: <key> (ISO 8601, as the API gives it) and <key>_unix
 * (Unix seconds).  A pass's field values are mirrored as field_<key>.
 *
 * Pure functions (no host, no request): unit_bubble_bridge_flat checks them.
 * Ownership: inputs borrowed; results are new objects (transferred).
 */
#ifndef BB_FLAT_H
#define BB_FLAT_H

#include <stdint.h>

#include <json-c/json.h>

/* ISO 8601 date-time ("2026-11-26T12:00:00.000Z", "2025-06-01T19:30:00+02:00") to Unix seconds:
 * 0 on success, -1 when the text is not one. */
int bb_iso_to_unix(const char *iso, int64_t *out);
/* Unix seconds to "YYYY-MM-DDTHH:MM:SSZ". */
void bb_unix_to_iso(int64_t s, char out[64]);

/* The field keys of a body (a template's body, an API pass, or pass_get's shape with "body"),
 * in the order a pass shows them (header, primary, secondary, auxiliary, back): a new array of strings. */
json_object *bb_flat_field_keys(const json_object *body);

/*
 * Appends the flat pass keys of pass to o: pass is the API's pass resource
 * (also an event's data.pass) or pass_get's shape (its fields under
 * "body").  field_keys NULL: a field_<key> for every field of the pass;
 * else an array of keys: exactly those field_<key>, "" for a key the pass
 * lacks (a list of one template's passes shares its keys).
 */
void bb_flat_pass_into(json_object *o, const json_object *pass, const json_object *field_keys);
json_object *bb_flat_pass(const json_object *pass, const json_object *field_keys);

/* {id, object: "template", name, pass_type, organization_name, version, fields_count, fields_keys
 * (comma-separated), created_at(_unix), updated_at(_unix)} of the API's template resource. */
json_object *bb_flat_template(const json_object *tpl);

/* The list of a template's fields: items {key, label, value, group, position, input_name: "field_<key>"}. */
json_object *bb_flat_template_fields(const json_object *tpl);

/* {id, object: "pass_notification", pass_id, message, status, livemode, created_at(_unix)} of the API's answer. */
json_object *bb_flat_notification(const json_object *n);

/* {data: items, count, has_more, next_starting_after}: items (an array, transferred) of flat objects;
 * next_starting_after is the last item's id when has_more, else "". */
json_object *bb_flat_list(json_object *items, int has_more);

/*
 * The body of a delivery to a Bubble workflow: the event's keys (event_id,
 * event_type, event_created_at(_unix), test_event, destination_id,
 * changed_keys (comma-separated; pass.updated), device_library_identifier
 * (pass.installed, pass.removed)) and the pass's (bb_flat_pass_into).
 * changed: an array of strings or NULL; device: NULL for "".
 */
json_object *bb_flat_delivery(const char *event_id, const char *event_type, const char *created_at, int test,
                              const char *destination_id, const json_object *pass, const json_object *changed,
                              const char *device, const json_object *field_keys);

/*
 * {id, object: "bubble_destination", event_type, url, template_id,
 * has_template_id, description, has_bearer_token, bearer_token ("********"
 * when set: never the token), enabled, disabled_reason, disabled_at(_unix),
 * has_disabled_at, created_at(_unix), updated_at(_unix)} of a destination
 * row (columns id, event_type, url, template_id, description, has_token,
 * enabled, disabled_reason, disabled_at, created_at, updated_at).
 */
json_object *bb_flat_destination(const json_object *row);

/*
 * {id, object: "bubble_delivery", destination_id, event_id, event_type,
 * test_event, status, attempts, max_attempts, last_status_code,
 * has_last_status_code, last_error, next_attempt_at(_unix),
 * has_next_attempt_at, created_at(_unix), updated_at(_unix)} of a delivery
 * row (the same column names; test, next_attempt_at, last_* may be null).
 */
json_object *bb_flat_delivery_row(const json_object *row);

/*
 * A sample pass resource for the test send, with every key of the flat pass
 * set: public_url makes its links; template (the API's template resource,
 * or NULL) gives its pass type and field keys.  bb_flat_fill_sample then
 * makes sure no value of a flat object is empty ("" becomes "sample", 0
 * becomes 1), so Bubble's "Detect data" infers every type.
 */
json_object *bb_flat_sample_pass(const char *public_url, const json_object *template, const char *now_iso);
void bb_flat_fill_sample(json_object *flat);

#endif
