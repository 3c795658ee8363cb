/*
 * pass_schema.c - a table of the unified pass's fields and the checks per kind.
 *
 * Field-array limits are what a wallet shows on the front of a pass: more
 * fields would be silently hidden on the phone, so they are refused here
 * where the user can see why.  How a pass type maps onto a wallet's own
 * types is the platform plugins' business (they add it to the pass resource
 * through the pass.links filter), not the schema's.
 */
#include "pass_schema.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "timefmt.h"

enum { T_GENERIC = 1, T_LOYALTY = 2, T_COUPON = 4, T_EVENT = 8, T_ALL = 15 };

typedef enum { K_TEXT, K_COLOR, K_DATE, K_ENUM, K_FIELDS, K_IMAGES, K_ARRAY_OBJ, K_METADATA, K_TEXT_OR_NUM, K_ID, K_NUMBER } kind;

typedef struct {
    const char *name;
    kind k;
    int types;              /* pass types the field belongs to */
    const char *enum_vals;  /* K_ENUM: "a|b|c" */
    int required;           /* on create, for the types in `types` */
    int max;                /* K_FIELDS, K_ARRAY_OBJ: most entries */
} field_spec;

static const field_spec fields[] = {
    {"pass_type", K_ENUM, T_ALL, "generic|loyalty|coupon|event", 1, 0},
    {"organization_name", K_TEXT, T_ALL, NULL, 1, 0},
    {"description", K_TEXT, T_ALL, NULL, 0, 0},
    {"serial_number", K_ID, T_ALL, NULL, 0, 0},
    {"logo_text", K_TEXT, T_ALL, NULL, 0, 0},
    {"background_color", K_COLOR, T_ALL, NULL, 0, 0},
    {"foreground_color", K_COLOR, T_ALL, NULL, 0, 0},
    {"label_color", K_COLOR, T_ALL, NULL, 0, 0},
    {"header_fields", K_FIELDS, T_ALL, NULL, 0, 3},
    {"primary_fields", K_FIELDS, T_ALL, NULL, 0, 1},
    {"secondary_fields", K_FIELDS, T_ALL, NULL, 0, 4},
    {"auxiliary_fields", K_FIELDS, T_ALL, NULL, 0, 4},
    {"back_fields", K_FIELDS, T_ALL, NULL, 0, 50},
    {"barcode_message", K_TEXT, T_ALL, NULL, 0, 0},
    {"barcode_format", K_ENUM, T_ALL, "qr|pdf417|aztec|code128", 0, 0},
    {"barcode_alt_text", K_TEXT, T_ALL, NULL, 0, 0},
    {"images", K_IMAGES, T_ALL, NULL, 0, 0},
    {"locations", K_ARRAY_OBJ, T_ALL, NULL, 0, 10},
    {"beacons", K_ARRAY_OBJ, T_ALL, NULL, 0, 10},
    {"max_distance", K_NUMBER, T_ALL, NULL, 0, 0}, /* metres from a location; range: geofence plugin */
    {"relevant_date", K_DATE, T_ALL, NULL, 0, 0},
    {"expiration_date", K_DATE, T_ALL, NULL, 0, 0},
    {"template_id", K_TEXT, T_ALL, NULL, 0, 0},
    {"metadata", K_METADATA, T_ALL, NULL, 0, 0},
    /* event */
    {"event_name", K_TEXT, T_EVENT, NULL, 1, 0},
    {"venue_name", K_TEXT, T_EVENT, NULL, 0, 0},
    {"venue_address", K_TEXT, T_EVENT, NULL, 0, 0},
    {"event_start", K_DATE, T_EVENT, NULL, 0, 0},
    {"event_end", K_DATE, T_EVENT, NULL, 0, 0},
    {"seat_section", K_TEXT, T_EVENT, NULL, 0, 0},
    {"seat_row", K_TEXT, T_EVENT, NULL, 0, 0},
    {"seat_number", K_TEXT, T_EVENT, NULL, 0, 0},
    /* coupon */
    {"offer_title", K_TEXT, T_COUPON, NULL, 1, 0},
    {"offer_details", K_TEXT, T_COUPON, NULL, 0, 0},
    {"redemption_channel", K_ENUM, T_COUPON, "online|instore|both", 0, 0},
    {"valid_from", K_DATE, T_COUPON, NULL, 0, 0},
    {"valid_until", K_DATE, T_COUPON, NULL, 0, 0},
    /* loyalty */
    {"program_name", K_TEXT, T_LOYALTY, NULL, 0, 0},
    {"account_id", K_TEXT, T_LOYALTY, NULL, 0, 0},
    {"account_name", K_TEXT, T_LOYALTY, NULL, 0, 0},
    {"points", K_TEXT_OR_NUM, T_LOYALTY, NULL, 0, 0},
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static const char *const read_only[] = {"id", "serial_number", "created_at", "updated_at", "status", "version", NULL};
static const char *const image_names[] = {"icon", "logo", "strip", "thumbnail", "background", "hero", NULL};

static int type_bit(const char *t)
{
    if (!t) return 0;
    if (strcmp(t, "generic") == 0) return T_GENERIC;
    if (strcmp(t, "loyalty") == 0) return T_LOYALTY;
    if (strcmp(t, "coupon") == 0) return T_COUPON;
    if (strcmp(t, "event") == 0) return T_EVENT;
    return 0;
}

int wp_pass_type_known(const char *t)
{
    return type_bit(t) != 0;
}

int wp_pass_field_known(const char *name)
{
    if (!name) return 0;
    for (size_t i = 0; i < NFIELDS; i++)
        if (strcmp(fields[i].name, name) == 0) return 1;
    return 0;
}

static wp_status bad(wp_err *err, const char *param, const char *fmt, const char *a, const char *b)
{
    return wp_err_param(err, WP_EINVAL, param, fmt, a, b);
}

/* An error with an API code other than the default parameter_invalid. */
static wp_status coded(wp_err *err, const char *code, const char *param, const char *fmt, const char *a,
                       const char *b)
{
    wp_err_param(err, WP_EINVAL, param, fmt, a, b);
    wp_err_code(err, code);
    return WP_EINVAL;
}

static wp_status check_text(json_object *v, const char *param, size_t max, int allow_empty, wp_err *err)
{
    if (!json_object_is_type(v, json_type_string)) return bad(err, param, "%s must be a string%s", param, "");
    size_t n = (size_t)json_object_get_string_len(v);
    if (!allow_empty && n == 0) return bad(err, param, "%s must not be empty%s", param, "");
    if (n > max) {
        wp_err_param(err, WP_EINVAL, param, "%s is longer than %zu bytes", param, max);
        return WP_EINVAL;
    }
    return WP_OK;
}

static int is_color(const char *s)
{
    if (strlen(s) != 7 || s[0] != '#') return 0;
    for (int i = 1; i < 7; i++)
        if (!isxdigit((unsigned char)s[i])) return 0;
    return 1;
}

static int in_enum(const char *vals, const char *s)
{
    size_t n = strlen(s);
    for (const char *p = vals; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, s, n) == 0) return 1;
        p = bar ? bar + 1 : NULL;
    }
    return 0;
}

/* Field keys must be unique across every field group of the pass (wallets key their fields by them). */
typedef struct {
    const char *keys[128];
    char where[128][64];
    int n;
} key_set;

static wp_status check_fields(json_object *arr, const char *name, int max, size_t maxlen, key_set *ks, wp_err *err)
{
    char param[160];
    if (!json_object_is_type(arr, json_type_array)) return bad(err, name, "%s must be an array of fields%s", name, "");
    int n = (int)json_object_array_length(arr);
    if (n > max) {
        wp_err_param(err, WP_EINVAL, name, "%s has %d fields; at most %d are shown on a pass", name, n, max);
        return WP_EINVAL;
    }
    for (int i = 0; i < n; i++) {
        json_object *f = json_object_array_get_idx(arr, (size_t)i);
        snprintf(param, sizeof param, "%s[%d]", name, i);
        if (!json_object_is_type(f, json_type_object))
            return bad(err, param, "%s must be an object with key, label and value%s", param, "");
        json_object_object_foreach(f, k, v) {
            snprintf(param, sizeof param, "%s[%d].%s", name, i, k);
            if (strcmp(k, "key") == 0) {
                if (check_text(v, param, 64, 0, err)) return WP_EINVAL;
                const char *key = json_object_get_string(v);
                for (const char *c = key; *c; c++)
                    if (!(isalnum((unsigned char)*c) || *c == '_' || *c == '-' || *c == '.'))
                        return bad(err, param, "%s may hold only letters, digits, '_', '-' and '.'%s", param, "");
                for (int j = 0; j < ks->n; j++)
                    if (strcmp(ks->keys[j], key) == 0)
                        return bad(err, param, "%s: the key is already used by %s (keys are unique in a pass)", param,
                                   ks->where[j]);
                if (ks->n < 128) {
                    ks->keys[ks->n] = key;
                    snprintf(ks->where[ks->n], sizeof ks->where[0], "%s[%d]", name, i);
                    ks->n++;
                }
            } else if (strcmp(k, "label") == 0) {
                if (check_text(v, param, maxlen, 1, err)) return WP_EINVAL;
            } else if (strcmp(k, "value") == 0) {
                if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) continue;
                if (check_text(v, param, maxlen, 1, err)) return bad(err, param, "%s must be a string or a number%s", param, "");
            } else if (strcmp(k, "change_message") == 0) {
                if (check_text(v, param, maxlen, 0, err)) return WP_EINVAL;
                if (!strstr(json_object_get_string(v), "%@"))
                    return bad(err, param, "%s must contain %%@, where the new value is shown%s", param, "");
            } else {
                return coded(err, "parameter_unknown", param, "unknown field \"%s\" in %s", k, name);
            }
        }
        snprintf(param, sizeof param, "%s[%d]", name, i);
        if (!json_object_object_get_ex(f, "key", NULL))
            return bad(err, param, "%s.key is required%s", param, "");
        if (!json_object_object_get_ex(f, "value", NULL))
            return bad(err, param, "%s.value is required%s", param, "");
    }
    return WP_OK;
}

/* base64 alphabet only, and a PNG signature once decoded (the first 8 bytes). */
static wp_status check_image(json_object *v, const char *param, size_t max_image, wp_err *err)
{
    if (!json_object_is_type(v, json_type_string)) return bad(err, param, "%s must be base64 PNG data or an https URL%s", param, "");
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    if (strncmp(s, "https://", 8) == 0) {
        if (n > 2048) return bad(err, param, "%s: the URL is longer than 2048 characters%s", param, "");
        for (const char *c = s; *c; c++)
            if ((unsigned char)*c <= ' ' || *c == '"' || *c == '<' || *c == '>' || *c == '\\')
                return bad(err, param, "%s is not a valid URL%s", param, "");
        return WP_OK;
    }
    if (strncmp(s, "http://", 7) == 0) return bad(err, param, "%s: image URLs must use https%s", param, "");
    if (strncmp(s, "data:", 5) == 0) {
        const char *comma = strchr(s, ',');
        if (!comma || !strstr(s, ";base64")) return bad(err, param, "%s: a data URL must be base64%s", param, "");
        s = comma + 1;
        n = strlen(s);
    }
    if (n == 0 || n % 4 != 0) return bad(err, param, "%s is not valid base64 PNG data%s", param, "");
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int ok = isalnum((unsigned char)c) || c == '+' || c == '/' || (c == '=' && i >= n - 2);
        if (!ok) return bad(err, param, "%s is not valid base64 PNG data%s", param, "");
    }
    if (n / 4 * 3 > max_image + 2) {
        wp_err_param(err, WP_EINVAL, param, "%s is larger than %zu bytes", param, max_image);
        return WP_EINVAL;
    }
    /* "iVBORw0KGgo" is the base64 of the 8-byte PNG signature. */
    if (strncmp(s, "iVBORw0KGgo", 11) != 0) return bad(err, param, "%s is not a PNG image%s", param, "");
    return WP_OK;
}

static wp_status check_one(const field_spec *fs, json_object *v, const wp_pass_limits *lim, key_set *ks, wp_err *err)
{
    const char *name = fs->name;
    switch (fs->k) {
    case K_TEXT: return check_text(v, name, lim->max_string, 0, err);
    case K_ID: {
        if (check_text(v, name, 64, 0, err)) return WP_EINVAL;
        for (const char *c = json_object_get_string(v); *c; c++)
            if (!(isalnum((unsigned char)*c) || *c == '-' || *c == '_' || *c == '.'))
                return bad(err, name, "%s may hold only letters, digits, '-', '_' and '.'%s", name, "");
        return WP_OK;
    }
    case K_COLOR:
        if (!json_object_is_type(v, json_type_string) || !is_color(json_object_get_string(v)))
            return bad(err, name, "%s must be a colour in the form #rrggbb%s", name, "");
        return WP_OK;
    case K_DATE:
        if (!json_object_is_type(v, json_type_string) || !wp_iso8601_valid(json_object_get_string(v)) ||
            json_object_get_string_len(v) <= 10)
            return bad(err, name, "%s must be an ISO 8601 date-time with a time zone (2025-06-01T19:30:00Z)%s", name, "");
        return WP_OK;
    case K_ENUM:
        if (!json_object_is_type(v, json_type_string) || !in_enum(fs->enum_vals, json_object_get_string(v))) {
            char vals[128];
            snprintf(vals, sizeof vals, "%s", fs->enum_vals);
            for (char *p = vals; *p; p++)
                if (*p == '|') *p = ',';
            return bad(err, name, "%s must be one of: %s", name, vals);
        }
        return WP_OK;
    case K_TEXT_OR_NUM:
        if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) return WP_OK;
        if (check_text(v, name, lim->max_string, 0, err)) return bad(err, name, "%s must be a string or a number%s", name, "");
        return WP_OK;
    case K_NUMBER:
        if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) return WP_OK;
        return bad(err, name, "%s must be a number%s", name, "");
    case K_FIELDS: return check_fields(v, name, fs->max, lim->max_string, ks, err);
    case K_IMAGES: {
        if (!json_object_is_type(v, json_type_object)) return bad(err, name, "%s must be an object (icon, logo, ...)%s", name, "");
        json_object_object_foreach(v, k, img) {
            char param[96];
            snprintf(param, sizeof param, "images.%s", k);
            int known = 0;
            for (const char *const *p = image_names; *p; p++)
                if (strcmp(*p, k) == 0) known = 1;
            if (!known)
                return coded(err, "parameter_unknown", param,
                             "unknown image \"%s\": use icon, logo, strip, thumbnail, background or hero%s", k, "");
            if (check_image(img, param, lim->max_image, err)) return WP_EINVAL;
        }
        return WP_OK;
    }
    case K_ARRAY_OBJ: {
        int max = fs->max;
        if (!json_object_is_type(v, json_type_array)) return bad(err, name, "%s must be an array%s", name, "");
        int n = (int)json_object_array_length(v);
        if (n > max) {
            wp_err_param(err, WP_EINVAL, name, "%s has %d entries; at most %d are allowed", name, n, max);
            return WP_EINVAL;
        }
        for (int i = 0; i < n; i++) {
            char param[64];
            snprintf(param, sizeof param, "%s[%d]", name, i);
            if (!json_object_is_type(json_object_array_get_idx(v, (size_t)i), json_type_object))
                return bad(err, param, "%s must be an object%s", param, "");
        }
        return WP_OK; /* the geofence plugin checks the contents (pass.validate) */
    }
    case K_METADATA: {
        if (!json_object_is_type(v, json_type_object)) return bad(err, name, "%s must be a JSON object%s", name, "");
        size_t len;
        json_object_to_json_string_length(v, JSON_C_TO_STRING_PLAIN, &len);
        if (len > lim->max_metadata) {
            wp_err_param(err, WP_EINVAL, name, "metadata is %zu bytes; at most %zu are allowed", len, lim->max_metadata);
            return WP_EINVAL;
        }
        return WP_OK;
    }
    }
    return WP_EINTERNAL;
}

wp_status wp_pass_validate(json_object *body, wp_pass_mode mode, const wp_pass_limits *lim, wp_err *err)
{
    if (!json_object_is_type(body, json_type_object)) return bad(err, "body", "the %s must be a JSON object%s", "body", "");
    json_object *pt = NULL;
    const char *type = NULL;
    if (json_object_object_get_ex(body, "pass_type", &pt) && json_object_is_type(pt, json_type_string))
        type = json_object_get_string(pt);
    int tbit = type_bit(type);
    key_set ks = {.n = 0};
    json_object_object_foreach(body, k, v) {
        if (mode == WP_PASS_UPDATE)
            for (const char *const *r = read_only; *r; r++)
                if (strcmp(*r, k) == 0) return bad(err, k, "%s is read-only and cannot be changed%s", k, "");
        const field_spec *fs = NULL;
        for (size_t i = 0; i < NFIELDS; i++)
            if (strcmp(fields[i].name, k) == 0) fs = &fields[i];
        if (!fs) {
            wp_err_param(err, WP_EINVAL, k, "unknown field \"%s\"", k);
            return wp_err_code(err, "parameter_unknown");
        }
        if (mode == WP_PASS_TEMPLATE && (strcmp(k, "serial_number") == 0 || strcmp(k, "template_id") == 0))
            return bad(err, k, "%s cannot be set on a template%s", k, "");
        if (json_object_is_type(v, json_type_null)) {
            if (mode == WP_PASS_CREATE && fs->required && (fs->types & tbit))
                return bad(err, k, "%s is required%s", k, "");
            if (mode == WP_PASS_UPDATE && fs->required && fs->types == T_ALL)
                return bad(err, k, "%s is required and cannot be unset%s", k, "");
            continue;
        }
        if (check_one(fs, v, lim, &ks, err) != WP_OK) return WP_EINVAL;
        if (tbit && !(fs->types & tbit)) {
            char msg[64];
            snprintf(msg, sizeof msg, "%s passes", type);
            return bad(err, k, "%s does not apply to %s", k, msg);
        }
    }
    if (mode == WP_PASS_CREATE) {
        for (size_t i = 0; i < NFIELDS; i++) {
            const field_spec *fs = &fields[i];
            if (!fs->required || !(fs->types & (tbit ? tbit : T_ALL))) continue;
            if (fs->types != T_ALL && !tbit) continue;
            json_object *have;
            if (!json_object_object_get_ex(body, fs->name, &have) || json_object_is_type(have, json_type_null)) {
                if (fs->types == T_ALL) return coded(err, "parameter_missing", fs->name, "%s is required%s", fs->name, "");
                return coded(err, "parameter_missing", fs->name, "%s is required for %s passes", fs->name, type);
            }
        }
    }
    return WP_OK;
}
