/*
 * wpc_json.h - reading members of json-c objects the way the plugins do:
 * a missing member and a JSON null are the same "absent" (NULL), and a member
 * of the wrong type reads as absent too, so a caller checks one pointer.
 *
 * Everything returned is borrowed from the object it was read from (valid
 * while that object lives).  o may be NULL or not an object: every getter
 * then answers absent.
 */
#ifndef WPC_JSON_H
#define WPC_JSON_H

#include <json-c/json.h>
#include <stdint.h>

/* The member k of o, or NULL when absent or null. */
json_object *wpc_json_get(const json_object *o, const char *k);

/* The member k when it is a string, else NULL. */
const char *wpc_json_str(const json_object *o, const char *k);

/* The member k as text whatever its type (a number as its JSON text), NULL when
 * absent or null: rows the host's db_query answers carry columns this way. */
const char *wpc_json_text(const json_object *o, const char *k);

/* The member k as a 64-bit integer (json-c's conversion), dflt when absent or null. */
int64_t wpc_json_int64(const json_object *o, const char *k, int64_t dflt);

/*
 * A field of a pass document as the host hands passes to plugins (pass_get's
 * shape: the API resource, the body's keys flattened into it, and "body" the
 * effective body beside them): the resource's member, else the body's; NULL
 * when neither has it (or it is null).
 */
json_object *wpc_pass_field(const json_object *pass, const char *name);

/* wpc_pass_field when it is a string, else NULL. */
const char *wpc_pass_str(const json_object *pass, const char *name);

#endif
