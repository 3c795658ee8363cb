/* bb_flat.c - the flat shapes Bubble gets (see bb_flat.h). */
#include "bb_flat.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Field groups in the order a pass shows them. */
static const char *const groups[] = {"header_fields", "primary_fields", "secondary_fields", "auxiliary_fields",
                                     "back_fields", NULL};

typedef enum { K_TEXT, K_DATE, K_NUMBER } kind;

/* The unified body's scalar fields (docs/api.md "Passes"), as the flat pass lists them.  K_DATE adds
 * <key>_unix and has_<key>; K_NUMBER has_<key>; every text and points (text or number) is a string. */
static const struct {
    const char *key;
    kind k;
} body_keys[] = {
    {"organization_name", K_TEXT}, {"description", K_TEXT},      {"logo_text", K_TEXT},
    {"background_color", K_TEXT},  {"foreground_color", K_TEXT}, {"label_color", K_TEXT},
    {"barcode_message", K_TEXT},   {"barcode_format", K_TEXT},   {"barcode_alt_text", K_TEXT},
    {"relevant_date", K_DATE},     {"expiration_date", K_DATE},  {"event_name", K_TEXT},
    {"venue_name", K_TEXT},        {"venue_address", K_TEXT},    {"event_start", K_DATE},
    {"event_end", K_DATE},         {"seat_section", K_TEXT},     {"seat_row", K_TEXT},
    {"seat_number", K_TEXT},       {"offer_title", K_TEXT},      {"offer_details", K_TEXT},
    {"redemption_channel", K_TEXT}, {"valid_from", K_DATE},      {"valid_until", K_DATE},
    {"program_name", K_TEXT},      {"account_id", K_TEXT},       {"account_name", K_TEXT},
    {"points", K_TEXT},            {"max_distance", K_NUMBER},
};
#define NBODY (sizeof body_keys / sizeof body_keys[0])

static const char *const images[] = {"icon", "logo", "strip", "thumbnail", "background", "hero", NULL};

/* ---- small helpers --------------------------------------------------------------- */

static json_object *member(const json_object *o, const char *k)
{
    json_object *v = NULL;
    if (!o || !json_object_is_type((json_object *)o, json_type_object)) return NULL;
    return json_object_object_get_ex((json_object *)o, k, &v) ? v : NULL;
}

static const char *str_of(const json_object *o, const char *k)
{
    json_object *v = member(o, k);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* A scalar as text ("" for null, absent, an object or an array). */
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

static void add(json_object *o, const char *k, json_object *v) { json_object_object_add(o, k, v); }

static void add_str(json_object *o, const char *k, const char *s) { add(o, k, json_object_new_string(s ? s : "")); }

/* <key> and has_<key> for a string that may be missing or null. */
static void add_str_has(json_object *o, const char *k, const char *s)
{
    char has[96];
    add_str(o, k, s);
    snprintf(has, sizeof has, "has_%s", k);
    add(o, has, json_object_new_boolean(s && *s));
}

static int64_t int_of(json_object *v)
{
    return v && (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))
               ? json_object_get_int64(v)
               : 0;
}

/* The strings of arr (an array; NULL: none) joined with commas, as a new JSON string: never cut. */
static json_object *joined(const json_object *arr)
{
    size_t n = arr && json_object_is_type((json_object *)arr, json_type_array) ? json_object_array_length(arr) : 0;
    size_t len = 0, used = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(arr, i);
        if (json_object_is_type(c, json_type_string)) len += (size_t)json_object_get_string_len(c) + 1;
    }
    char *buf = malloc(len + 1);
    if (!buf) return json_object_new_string("");
    for (size_t i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(c, json_type_string)) continue;
        if (used) buf[used++] = ',';
        memcpy(buf + used, json_object_get_string(c), (size_t)json_object_get_string_len(c));
        used += (size_t)json_object_get_string_len(c);
    }
    json_object *o = json_object_new_string_len(buf, (int)used);
    free(buf);
    return o;
}

/* ---- dates --------------------------------------------------------------------------- */

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int bb_iso_to_unix(const char *s, int64_t *out)
{
    int y, mo, d, h = 0, mi = 0, se = 0;
    *out = 0;
    if (!s || strlen(s) < 10 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31) return -1;
    const char *p = s + 10;
    int64_t off = 0;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (digits(p, 2, &h) || p[2] != ':' || digits(p + 3, 2, &mi)) return -1;
        p += 5;
        if (*p == ':') {
            if (digits(p + 1, 2, &se)) return -1;
            p += 3;
            if (*p == '.' || *p == ',') {
                p++;
                if (!isdigit((unsigned char)*p)) return -1;
                while (isdigit((unsigned char)*p)) p++;
            }
        }
        if (h > 23 || mi > 59 || se > 60) return -1;
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om;
            int sign = *p == '-' ? -1 : 1;
            if (digits(p + 1, 2, &oh)) return -1;
            const char *q = p + 3;
            if (*q == ':') q++;
            if (digits(q, 2, &om) || oh > 23 || om > 59) return -1;
            off = sign * (oh * 3600 + om * 60);
            p = q + 2;
        } else {
            return -1; /* a time without a zone is no instant */
        }
    }
    if (*p) return -1;
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
    return 0;
}

void bb_unix_to_iso(int64_t s, char out[64])
{
    time_t t = (time_t)s;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, 64, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) snprintf(out, 64, "1970-01-01T00:00:00Z");
}

/* <key> (the ISO text as given), <key>_unix, and with has: has_<key>.  Not a date: "", 0, false. */
static void add_date(json_object *o, const char *key, json_object *v, int has)
{
    char k[96];
    const char *s = v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
    int64_t t = 0;
    int ok = s && bb_iso_to_unix(s, &t) == 0;
    add_str(o, key, ok ? s : "");
    snprintf(k, sizeof k, "%s_unix", key);
    add(o, k, json_object_new_int64(ok ? t : 0));
    if (has) {
        snprintf(k, sizeof k, "has_%s", key);
        add(o, k, json_object_new_boolean(ok));
    }
}

/* ---- passes ------------------------------------------------------------------------------- */

json_object *bb_flat_field_keys(const json_object *body)
{
    json_object *src = member(body, "body");
    if (!src || !json_object_is_type(src, json_type_object)) src = (json_object *)body;
    json_object *keys = json_object_new_array();
    for (const char *const *g = groups; *g; g++) {
        json_object *arr = member(src, *g);
        if (!arr || !json_object_is_type(arr, json_type_array)) continue;
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
            const char *k = str_of(json_object_array_get_idx(arr, i), "key");
            if (k && *k) json_object_array_add(keys, json_object_new_string(k));
        }
    }
    return keys;
}

/* The value of the field `key` in any group of src, or NULL. */
static json_object *field_value(json_object *src, const char *key)
{
    for (const char *const *g = groups; *g; g++) {
        json_object *arr = member(src, *g);
        if (!arr || !json_object_is_type(arr, json_type_array)) continue;
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
            json_object *f = json_object_array_get_idx(arr, i);
            const char *k = str_of(f, "key");
            if (k && strcmp(k, key) == 0) return member(f, "value");
        }
    }
    return NULL;
}

void bb_flat_pass_into(json_object *o, const json_object *pass, const json_object *field_keys)
{
    /* pass_get's shape holds the fields under "body"; the API resource at its top level */
    json_object *src = member(pass, "body");
    if (!src || !json_object_is_type(src, json_type_object)) src = (json_object *)pass;
    const char *status = str_of(pass, "status");
    json_object *live = member(pass, "livemode");
    add_str(o, "id", str_of(pass, "id"));
    add_str(o, "object", "pass");
    add_str(o, "serial_number", str_of(pass, "serial_number"));
    add_str(o, "pass_type", str_of(pass, "pass_type"));
    add_str(o, "status", status);
    add(o, "voided", json_object_new_boolean(status && strcmp(status, "voided") == 0));
    /* a core without test mode has no livemode: such a pass is live */
    add(o, "livemode", json_object_new_boolean(!live || !json_object_is_type(live, json_type_boolean) ||
                                                json_object_get_boolean(live)));
    add(o, "version", json_object_new_int64(int_of(member(pass, "version"))));
    add_str_has(o, "template_id", str_of(pass, "template_id"));
    add_str(o, "share_url", str_of(pass, "share_url"));
    add_str_has(o, "pkpass_url", str_of(pass, "pkpass_url"));
    add_str_has(o, "google_save_url", str_of(pass, "google_save_url"));
    add_str(o, "apple_pass_type_id", str_of(pass, "apple_pass_type_id"));
    add_str(o, "google_pass_type", str_of(pass, "google_pass_type"));
    add_date(o, "created_at", member(pass, "created_at"), 0);
    add_date(o, "updated_at", member(pass, "updated_at"), 0);
    for (size_t i = 0; i < NBODY; i++) {
        json_object *v = member(src, body_keys[i].key);
        char has[96];
        switch (body_keys[i].k) {
        case K_TEXT: add(o, body_keys[i].key, text(v)); break;
        case K_DATE: add_date(o, body_keys[i].key, v, 1); break;
        case K_NUMBER: {
            int num = v && (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double));
            add(o, body_keys[i].key, json_object_new_double(num ? json_object_get_double(v) : 0));
            snprintf(has, sizeof has, "has_%s", body_keys[i].key);
            add(o, has, json_object_new_boolean(num));
            break;
        }
        }
    }
    json_object *loc = member(src, "locations"), *bea = member(src, "beacons");
    add(o, "location_count",
        json_object_new_int(loc && json_object_is_type(loc, json_type_array) ? (int)json_object_array_length(loc) : 0));
    add(o, "beacon_count",
        json_object_new_int(bea && json_object_is_type(bea, json_type_array) ? (int)json_object_array_length(bea) : 0));
    /* images: their URL (an image sent as base64 data has none to give: "") */
    json_object *imgs = member(src, "images");
    for (const char *const *n = images; *n; n++) {
        char k[48];
        const char *u = str_of(imgs, *n);
        snprintf(k, sizeof k, "image_%s", *n);
        add_str(o, k, u && strncmp(u, "https://", 8) == 0 ? u : "");
    }
    json_object *meta = member(src, "metadata");
    add_str(o, "metadata_json", meta && json_object_is_type(meta, json_type_object)
                                    ? json_object_to_json_string_ext(meta, JSON_C_TO_STRING_PLAIN |
                                                                               JSON_C_TO_STRING_NOSLASHESCAPE)
                                    : "{}");
    json_object *keys = field_keys ? (json_object *)field_keys : bb_flat_field_keys(src);
    for (size_t i = 0; i < json_object_array_length(keys); i++) {
        const char *k = json_object_get_string(json_object_array_get_idx(keys, i));
        char name[96];
        if (!k || strlen(k) > 64) continue;
        snprintf(name, sizeof name, "field_%s", k);
        add(o, name, text(field_value(src, k)));
    }
    if (!field_keys) json_object_put(keys);
}

json_object *bb_flat_pass(const json_object *pass, const json_object *field_keys)
{
    json_object *o = json_object_new_object();
    bb_flat_pass_into(o, pass, field_keys);
    return o;
}

/* ---- templates, notifications, lists ---------------------------------------------------------- */

json_object *bb_flat_template(const json_object *tpl)
{
    json_object *o = json_object_new_object(), *body = member(tpl, "body");
    json_object *keys = bb_flat_field_keys(body);
    size_t n = json_object_array_length(keys);
    add_str(o, "id", str_of(tpl, "id"));
    add_str(o, "object", "template");
    add_str(o, "name", str_of(tpl, "name"));
    add_str(o, "pass_type", str_of(body, "pass_type"));
    add_str(o, "organization_name", str_of(body, "organization_name"));
    add(o, "version", json_object_new_int64(int_of(member(tpl, "version"))));
    add(o, "fields_count", json_object_new_int((int)n));
    add(o, "fields_keys", joined(keys));
    add_date(o, "created_at", member(tpl, "created_at"), 0);
    add_date(o, "updated_at", member(tpl, "updated_at"), 0);
    json_object_put(keys);
    return o;
}

json_object *bb_flat_template_fields(const json_object *tpl)
{
    json_object *body = member(tpl, "body"), *items = json_object_new_array();
    for (const char *const *g = groups; *g; g++) {
        json_object *arr = member(body, *g);
        if (!arr || !json_object_is_type(arr, json_type_array)) continue;
        char group[32];
        snprintf(group, sizeof group, "%.*s", (int)(strlen(*g) - strlen("_fields")), *g);
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
            json_object *f = json_object_array_get_idx(arr, i);
            const char *k = str_of(f, "key");
            if (!k || !*k) continue;
            char input[96];
            snprintf(input, sizeof input, "field_%s", k);
            json_object *it = json_object_new_object();
            add_str(it, "id", input); /* unique in a template: keys are unique across its groups */
            add_str(it, "key", k);
            add(it, "label", text(member(f, "label")));
            add(it, "value", text(member(f, "value")));
            add_str(it, "group", group);
            add(it, "position", json_object_new_int((int)i));
            add_str(it, "input_name", input);
            json_object_array_add(items, it);
        }
    }
    return bb_flat_list(items, 0);
}

json_object *bb_flat_notification(const json_object *n)
{
    json_object *o = json_object_new_object();
    json_object *live = member(n, "livemode");
    add_str(o, "id", str_of(n, "id"));
    add_str(o, "object", "pass_notification");
    add_str(o, "pass_id", str_of(n, "pass_id"));
    add_str(o, "message", str_of(n, "message"));
    add_str(o, "status", str_of(n, "status"));
    add(o, "livemode", json_object_new_boolean(!live || !json_object_is_type(live, json_type_boolean) ||
                                                json_object_get_boolean(live)));
    add_date(o, "created_at", member(n, "created_at"), 0);
    return o;
}

json_object *bb_flat_list(json_object *items, int has_more)
{
    json_object *o = json_object_new_object();
    size_t n = json_object_array_length(items);
    const char *last = n ? str_of(json_object_array_get_idx(items, n - 1), "id") : NULL;
    add(o, "data", items);
    add(o, "count", json_object_new_int((int)n));
    add(o, "has_more", json_object_new_boolean(has_more));
    add_str(o, "next_starting_after", has_more && last ? last : "");
    return o;
}

/* ---- deliveries ----------------------------------------------------------------------------------- */

json_object *bb_flat_delivery(const char *event_id, const char *event_type, const char *created_at, int test,
                              const char *destination_id, const json_object *pass, const json_object *changed,
                              const char *device, const json_object *field_keys)
{
    json_object *o = json_object_new_object();
    add_str(o, "event_id", event_id);
    add_str(o, "event_type", event_type);
    json_object *ca = json_object_new_string(created_at ? created_at : "");
    add_date(o, "event_created_at", ca, 0);
    json_object_put(ca);
    add(o, "test_event", json_object_new_boolean(test));
    add_str(o, "destination_id", destination_id);
    add(o, "changed_keys", joined(changed));
    add_str(o, "device_library_identifier", device);
    bb_flat_pass_into(o, pass, field_keys);
    return o;
}

/* ---- destinations and their deliveries (rows of the plugin's tables) ------------------------- */

static int bool_of(const json_object *row, const char *k)
{
    json_object *v = member(row, k);
    return v && json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

json_object *bb_flat_destination(const json_object *row)
{
    json_object *o = json_object_new_object();
    int token = bool_of(row, "has_token");
    const char *tid = str_of(row, "template_id");
    add_str(o, "id", str_of(row, "id"));
    add_str(o, "object", "bubble_destination");
    add_str(o, "event_type", str_of(row, "event_type"));
    add_str(o, "url", str_of(row, "url"));
    add_str_has(o, "template_id", tid);
    add_str(o, "description", str_of(row, "description"));
    add(o, "has_bearer_token", json_object_new_boolean(token));
    add_str(o, "bearer_token", token ? "********" : "");
    add(o, "enabled", json_object_new_boolean(bool_of(row, "enabled")));
    add_str(o, "disabled_reason", str_of(row, "disabled_reason"));
    add_date(o, "disabled_at", member(row, "disabled_at"), 1);
    add_date(o, "created_at", member(row, "created_at"), 0);
    add_date(o, "updated_at", member(row, "updated_at"), 0);
    return o;
}

json_object *bb_flat_delivery_row(const json_object *row)
{
    json_object *o = json_object_new_object(), *code = member(row, "last_status_code");
    int has_code = code && json_object_is_type(code, json_type_int);
    add_str(o, "id", str_of(row, "id"));
    add_str(o, "object", "bubble_delivery");
    add_str(o, "destination_id", str_of(row, "destination_id"));
    add_str(o, "event_id", str_of(row, "event_id"));
    add_str(o, "event_type", str_of(row, "event_type"));
    add(o, "test_event", json_object_new_boolean(bool_of(row, "test")));
    add_str(o, "status", str_of(row, "status"));
    add(o, "attempts", json_object_new_int64(int_of(member(row, "attempts"))));
    add(o, "max_attempts", json_object_new_int64(int_of(member(row, "max_attempts"))));
    add(o, "last_status_code", json_object_new_int64(has_code ? json_object_get_int64(code) : 0));
    add(o, "has_last_status_code", json_object_new_boolean(has_code));
    add_str(o, "last_error", str_of(row, "last_error"));
    add_date(o, "next_attempt_at", member(row, "next_attempt_at"), 1);
    add_date(o, "created_at", member(row, "created_at"), 0);
    add_date(o, "updated_at", member(row, "updated_at"), 0);
    return o;
}

/* ---- the test send's sample ---------------------------------------------------------------------- */

json_object *bb_flat_sample_pass(const char *public_url, const json_object *tpl, const char *now_iso)
{
    static const char *const id = "pass_0000000000000000000000test";
    json_object *body = member(tpl, "body");
    const char *type = str_of(body, "pass_type");
    char link[512];
    json_object *p = json_object_new_object();
    add_str(p, "id", id);
    add_str(p, "object", "pass");
    add_str(p, "serial_number", "SN-TEST0001");
    add_str(p, "pass_type", type ? type : "loyalty");
    add_str(p, "apple_pass_type_id", "storeCard");
    add_str(p, "google_pass_type", "loyalty");
    snprintf(link, sizeof link, "%s/p/%s.sample", public_url, id);
    add_str(p, "share_url", link);
    snprintf(link, sizeof link, "%s/api/v1/passes/%s/pkpass?t=sample", public_url, id);
    add_str(p, "pkpass_url", link);
    add_str(p, "google_save_url", "https://pay.google.com/gp/v/save/sample");
    add_str(p, "status", "active");
    add(p, "livemode", json_object_new_boolean(0));
    add(p, "version", json_object_new_int(1));
    add_str(p, "template_id", str_of(tpl, "id") ? str_of(tpl, "id") : "tpl_0000000000000000000000test");
    add_str(p, "created_at", now_iso);
    add_str(p, "updated_at", now_iso);
    for (size_t i = 0; i < NBODY; i++) {
        const char *k = body_keys[i].key;
        if (body_keys[i].k == K_DATE) add_str(p, k, now_iso);
        else if (body_keys[i].k == K_NUMBER) add(p, k, json_object_new_double(100));
        else if (strstr(k, "_color")) add_str(p, k, "#1a1a2e");
        else if (strcmp(k, "barcode_format") == 0) add_str(p, k, "qr");
        else if (strcmp(k, "redemption_channel") == 0) add_str(p, k, "both");
        else if (strcmp(k, "points") == 0) add_str(p, k, "100");
        else {
            const char *tv = str_of(body, k);
            add_str(p, k, tv && *tv ? tv : "sample");
        }
    }
    json_object *loc = json_object_new_array(), *l = json_object_new_object();
    add(l, "latitude", json_object_new_double(48.8584));
    add(l, "longitude", json_object_new_double(2.2945));
    json_object_array_add(loc, l);
    add(p, "locations", loc);
    json_object *bea = json_object_new_array(), *b = json_object_new_object();
    add_str(b, "proximity_uuid", "E2C56DB5-DFFB-48D2-B060-D0F5A71096E0");
    json_object_array_add(bea, b);
    add(p, "beacons", bea);
    json_object *imgs = json_object_new_object();
    for (const char *const *n = images; *n; n++) {
        snprintf(link, sizeof link, "https://example.com/images/%s.png", *n);
        add_str(imgs, *n, link);
    }
    add(p, "images", imgs);
    json_object *meta = json_object_new_object();
    add_str(meta, "sample", "value");
    add(p, "metadata", meta);
    /* the template's fields, with its values (or "sample" where a value is empty) */
    for (const char *const *g = groups; *g; g++) {
        json_object *arr = member(body, *g);
        if (!arr || !json_object_is_type(arr, json_type_array)) continue;
        json_object *copy = json_object_new_array();
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
            json_object *f = json_object_array_get_idx(arr, i), *c = json_object_new_object();
            add_str(c, "key", str_of(f, "key"));
            json_object *v = text(member(f, "value"));
            if (json_object_get_string_len(v) == 0) {
                json_object_put(v);
                v = json_object_new_string("sample");
            }
            add(c, "value", v);
            json_object_array_add(copy, c);
        }
        add(p, *g, copy);
    }
    return p;
}

void bb_flat_fill_sample(json_object *flat)
{
    json_object_object_foreach(flat, k, v) {
        if (json_object_is_type(v, json_type_string) && json_object_get_string_len(v) == 0)
            json_object_object_add(flat, k, json_object_new_string("sample"));
        else if ((json_object_is_type(v, json_type_int) && json_object_get_int64(v) == 0) ||
                 (json_object_is_type(v, json_type_double) && json_object_get_double(v) == 0))
            json_object_object_add(flat, k, json_object_new_int(1));
    }
}
