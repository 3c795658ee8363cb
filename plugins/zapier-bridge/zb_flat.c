/* zb_flat.c - see zb_flat.h. */
#include "zb_flat.h"

#include <string.h>

/* The unified body's text fields (docs/api.md "Passes"), in the order a pass lists them. */
static const char *const body_text[] = {
    "organization_name", "description",   "logo_text",       "background_color", "foreground_color",
    "label_color",       "barcode_message", "barcode_format", "barcode_alt_text", "relevant_date",
    "expiration_date",   "event_name",    "venue_name",      "venue_address",    "event_start",
    "event_end",         "seat_section",  "seat_row",        "seat_number",      "offer_title",
    "offer_details",     "redemption_channel", "valid_from", "valid_until",      "program_name",
    "account_id",        "account_name",  "points",          NULL};
static const char *const field_groups[] = {"header_fields", "primary_fields", "secondary_fields", "auxiliary_fields",
                                           "back_fields", NULL};
/* Links of the pass resource: the core's share page and the platform plugins' (absent without them). */
static const char *const links[] = {"share_url", "pkpass_url", "google_save_url", NULL};

static json_object *member(const json_object *o, const char *k)
{
    json_object *v = NULL;
    if (!o || !json_object_is_type((json_object *)o, json_type_object)) return NULL;
    return json_object_object_get_ex((json_object *)o, k, &v) ? v : NULL;
}

/* Any scalar as a string ("" for null, absent, or an object/array). */
static json_object *text(json_object *v)
{
    if (!v) return json_object_new_string("");
    switch (json_object_get_type(v)) {
    case json_type_string: return json_object_new_string(json_object_get_string(v));
    case json_type_int:
    case json_type_double:
    case json_type_boolean: return json_object_new_string(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
    default: return json_object_new_string("");
    }
}

static json_object *integer(json_object *v)
{
    return json_object_new_int64(v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0);
}

static void add(json_object *o, const char *k, json_object *v) { json_object_object_add(o, k, v); }

/* The fields arrays as one {key: value} object, serialised: a Zap reads a value by its key. */
static json_object *fields_json(const json_object *body)
{
    json_object *m = json_object_new_object();
    for (const char *const *g = field_groups; *g; g++) {
        json_object *arr = member(body, *g);
        if (!arr || !json_object_is_type(arr, json_type_array)) continue;
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
            json_object *f = json_object_array_get_idx(arr, i);
            json_object *k = member(f, "key");
            if (k && json_object_is_type(k, json_type_string))
                json_object_object_add(m, json_object_get_string(k), text(member(f, "value")));
        }
    }
    json_object *s = json_object_new_string(json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN |
                                                                                JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(m);
    return s;
}

void zb_flat_pass_into(json_object *o, const json_object *pass)
{
    /* The resource has the body's keys at its top level; pass_get's shape has them under "body". */
    const json_object *body = member(pass, "body") && json_object_is_type(member(pass, "body"), json_type_object)
                                  ? member(pass, "body")
                                  : pass;
    add(o, "pass_id", text(member(pass, "id")));
    add(o, "serial_number", text(member(pass, "serial_number")));
    add(o, "pass_type", text(member(pass, "pass_type")));
    add(o, "status", text(member(pass, "status")));
    add(o, "version", integer(member(pass, "version")));
    add(o, "template_id", text(member(pass, "template_id")));
    json_object *lm = member(pass, "livemode");
    add(o, "livemode", json_object_new_boolean(lm && json_object_is_type(lm, json_type_boolean)
                                                   ? json_object_get_boolean(lm) : 1));
    add(o, "pass_created_at", text(member(pass, "created_at")));
    add(o, "pass_updated_at", text(member(pass, "updated_at")));
    for (const char *const *l = links; *l; l++) add(o, *l, text(member(pass, *l)));
    for (const char *const *f = body_text; *f; f++) add(o, *f, text(member(body, *f)));
    add(o, "fields_json", fields_json(body));
    json_object *md = member(body, "metadata");
    add(o, "metadata_json",
        json_object_new_string(md && json_object_is_type(md, json_type_object)
                                   ? json_object_to_json_string_ext(md, JSON_C_TO_STRING_PLAIN |
                                                                            JSON_C_TO_STRING_NOSLASHESCAPE)
                                   : "{}"));
}

json_object *zb_flat_pass(const json_object *pass)
{
    json_object *o = json_object_new_object();
    if (!o) return NULL;
    add(o, "id", text(member(pass, "id")));
    zb_flat_pass_into(o, pass);
    return o;
}

/* The keys of pass.updated's "changed" as one comma-separated string. */
static json_object *changed(const json_object *data)
{
    json_object *c = member(data, "changed");
    char buf[2048] = "";
    size_t n = 0;
    for (size_t i = 0; c && json_object_is_type(c, json_type_array) && i < json_object_array_length(c); i++) {
        json_object *k = json_object_array_get_idx(c, i);
        if (!json_object_is_type(k, json_type_string)) continue;
        const char *s = json_object_get_string(k);
        size_t l = strlen(s);
        if (n + l + 2 >= sizeof buf) break; /* body keys are short and few: never reached by a real pass */
        if (n) buf[n++] = ',';
        memcpy(buf + n, s, l);
        n += l;
        buf[n] = '\0';
    }
    return json_object_new_string(buf);
}

json_object *zb_flat_event(const char *id, const char *type, const char *created_at, const json_object *data)
{
    int pass_event = strcmp(type, "pass.created") == 0 || strcmp(type, "pass.updated") == 0 ||
                     strcmp(type, "pass.voided") == 0;
    int device_event = strcmp(type, "pass.installed") == 0 || strcmp(type, "pass.removed") == 0;
    int batch_event = strcmp(type, "batch.completed") == 0;
    if (!pass_event && !device_event && !batch_event) return NULL;
    json_object *o = json_object_new_object();
    if (!o) return NULL;
    add(o, "id", json_object_new_string(id ? id : ""));
    add(o, "event_type", json_object_new_string(type));
    add(o, "created_at", json_object_new_string(created_at ? created_at : ""));
    if (pass_event) {
        zb_flat_pass_into(o, member(data, "pass"));
        if (strcmp(type, "pass.updated") == 0) add(o, "changed", changed(data));
    } else if (device_event) {
        json_object *p = member(data, "pass");
        add(o, "pass_id", text(member(p, "id")));
        add(o, "serial_number", text(member(p, "serial_number")));
        add(o, "device_library_identifier", text(member(data, "device_library_identifier")));
    } else {
        json_object *b = member(data, "batch");
        json_object *pr = member(b, "progress");
        add(o, "batch_id", text(member(b, "id")));
        add(o, "status", text(member(b, "status")));
        add(o, "total", integer(member(b, "total")));
        add(o, "succeeded", integer(member(b, "succeeded")));
        add(o, "failed", integer(member(b, "failed")));
        add(o, "progress", json_object_new_double(pr && (json_object_is_type(pr, json_type_double) ||
                                                        json_object_is_type(pr, json_type_int))
                                                      ? json_object_get_double(pr) : 0.0));
        add(o, "template_id", text(member(b, "template_id")));
        add(o, "batch_created_at", text(member(b, "created_at")));
        add(o, "completed_at", text(member(b, "completed_at")));
    }
    return o;
}
