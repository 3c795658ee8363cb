/*
 * apple_render.c - unified pass -> pass.json (see apple_render.h).
 *
 * Only documented keys are emitted.  Type-specific fields
 * become ordinary fields; a user field with the same key always wins, and a
 * mapped field whose front group is full goes to the back, where Wallet
 * shows any number (front limits: reference).
 */
#include "apple_render.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "wpc_json.h"

const char *apple_style(const char *t)
{
    if (!t) return NULL;
    if (strcmp(t, "generic") == 0) return "generic";
    if (strcmp(t, "loyalty") == 0) return "storeCard";
    if (strcmp(t, "coupon") == 0) return "coupon";
    if (strcmp(t, "event") == 0) return "eventTicket";
    return NULL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int apple_rgb(const char *hex, char *out, size_t len)
{
    if (!hex || strlen(hex) != 7 || hex[0] != '#') return 0;
    int v[3];
    for (int i = 0; i < 3; i++) {
        int hi = hexval(hex[1 + 2 * i]), lo = hexval(hex[2 + 2 * i]);
        if (hi < 0 || lo < 0) return 0;
        v[i] = hi * 16 + lo;
    }
    snprintf(out, len, "rgb(%d, %d, %d)", v[0], v[1], v[2]);
    return 1;
}

static int ndigits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i])) return 0;
    return 1;
}

/* Apple parses only "complete date plus hours, minutes[, seconds]" with a
 * mandatory zone; fractions and colon-less offsets break passes. */
int apple_w3c_date(const char *s, char *out, size_t len)
{
    if (!s || strlen(s) < 16 || len < 26) return 0;
    if (!ndigits(s, 4) || s[4] != '-' || !ndigits(s + 5, 2) || s[7] != '-' || !ndigits(s + 8, 2)) return 0;
    if (s[10] != 'T' && s[10] != 't') return 0;
    if (!ndigits(s + 11, 2) || s[13] != ':' || !ndigits(s + 14, 2)) return 0;
    const char *p = s + 16;
    char sec[3] = "00";
    if (*p == ':') {
        if (!ndigits(p + 1, 2)) return 0;
        sec[0] = p[1];
        sec[1] = p[2];
        p += 3;
        if (*p == '.') {
            p++;
            while (isdigit((unsigned char)*p)) p++;
        }
    }
    char zone[7];
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
        snprintf(zone, sizeof zone, "Z");
    } else if ((*p == '+' || *p == '-') && ndigits(p + 1, 2)) {
        if (p[3] == ':' && ndigits(p + 4, 2) && p[6] == '\0') snprintf(zone, sizeof zone, "%.6s", p);
        else if (ndigits(p + 3, 2) && p[5] == '\0') snprintf(zone, sizeof zone, "%c%.2s:%.2s", p[0], p + 1, p + 3);
        else return 0;
    } else {
        return 0;
    }
    snprintf(out, len, "%.10sT%.5s:%s%s", s, s + 11, sec, zone);
    return 1;
}

/* ---- fields -------------------------------------------------------------- */

enum { G_HEADER, G_PRIMARY, G_SECONDARY, G_AUXILIARY, G_BACK, G_COUNT };
static const char *const group_key[G_COUNT] = {"headerFields", "primaryFields", "secondaryFields", "auxiliaryFields",
                                               "backFields"};
static const char *const group_src[G_COUNT] = {"header_fields", "primary_fields", "secondary_fields",
                                               "auxiliary_fields", "back_fields"};
/* What the front of every style we emit shows; the back is unlimited. */
static const int group_max[G_COUNT] = {3, 1, 4, 4, 1 << 30};

typedef struct {
    json_object *g[G_COUNT];
} groups;

static int key_used(const groups *gs, const char *key)
{
    for (int i = 0; i < G_COUNT; i++) {
        size_t n = json_object_array_length(gs->g[i]);
        for (size_t j = 0; j < n; j++) {
            const char *k = wpc_json_str(json_object_array_get_idx(gs->g[i], j), "key");
            if (k && strcmp(k, key) == 0) return 1;
        }
    }
    return 0;
}

/* A unified field {key, label, value, change_message} as a PassFieldContent. */
static json_object *convert_field(json_object *f)
{
    json_object *o = json_object_new_object(), *v;
    if (!o) return NULL;
    if ((v = wpc_json_get(f, "key"))) json_object_object_add(o, "key", json_object_get(v));
    if ((v = wpc_json_get(f, "label"))) json_object_object_add(o, "label", json_object_get(v));
    if ((v = wpc_json_get(f, "value"))) json_object_object_add(o, "value", json_object_get(v));
    if ((v = wpc_json_get(f, "change_message"))) json_object_object_add(o, "changeMessage", json_object_get(v));
    return o;
}

typedef enum { V_TEXT, V_DATE } vkind;

/* Adds a mapped type-specific field unless its key is taken; front group full -> back. */
static void add_mapped(groups *gs, int group, const char *key, const char *label, json_object *value, vkind kind)
{
    if (!value || key_used(gs, key)) return;
    json_object *f = json_object_new_object();
    if (!f) return;
    json_object_object_add(f, "key", json_object_new_string(key));
    json_object_object_add(f, "label", json_object_new_string(label));
    if (kind == V_DATE) {
        char d[40];
        if (!json_object_is_type(value, json_type_string) || !apple_w3c_date(json_object_get_string(value), d, sizeof d)) {
            json_object_put(f);
            return;
        }
        json_object_object_add(f, "value", json_object_new_string(d));
        json_object_object_add(f, "dateStyle", json_object_new_string("PKDateStyleMedium"));
        json_object_object_add(f, "timeStyle", json_object_new_string("PKDateStyleShort"));
    } else {
        json_object_object_add(f, "value", json_object_get(value));
    }
    if ((int)json_object_array_length(gs->g[group]) >= group_max[group]) group = G_BACK;
    json_object_array_add(gs->g[group], f);
}

static json_object *redemption_text(json_object *v)
{
    const char *s = v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
    if (!s) return NULL;
    if (strcmp(s, "online") == 0) return json_object_new_string("Online");
    if (strcmp(s, "instore") == 0) return json_object_new_string("In store");
    if (strcmp(s, "both") == 0) return json_object_new_string("Online and in store");
    return NULL;
}

static void map_type_fields(groups *gs, const char *type, json_object *b)
{
    if (strcmp(type, "event") == 0) {
        add_mapped(gs, G_PRIMARY, "event_name", "Event", wpc_json_get(b, "event_name"), V_TEXT);
        add_mapped(gs, G_SECONDARY, "venue_name", "Venue", wpc_json_get(b, "venue_name"), V_TEXT);
        add_mapped(gs, G_SECONDARY, "event_start", "Starts", wpc_json_get(b, "event_start"), V_DATE);
        add_mapped(gs, G_AUXILIARY, "seat_section", "Section", wpc_json_get(b, "seat_section"), V_TEXT);
        add_mapped(gs, G_AUXILIARY, "seat_row", "Row", wpc_json_get(b, "seat_row"), V_TEXT);
        add_mapped(gs, G_AUXILIARY, "seat_number", "Seat", wpc_json_get(b, "seat_number"), V_TEXT);
        add_mapped(gs, G_BACK, "event_end", "Ends", wpc_json_get(b, "event_end"), V_DATE);
        add_mapped(gs, G_BACK, "venue_address", "Address", wpc_json_get(b, "venue_address"), V_TEXT);
    } else if (strcmp(type, "coupon") == 0) {
        add_mapped(gs, G_PRIMARY, "offer_title", "Offer", wpc_json_get(b, "offer_title"), V_TEXT);
        add_mapped(gs, G_SECONDARY, "valid_until", "Expires", wpc_json_get(b, "valid_until"), V_DATE);
        add_mapped(gs, G_BACK, "offer_details", "Details", wpc_json_get(b, "offer_details"), V_TEXT);
        add_mapped(gs, G_BACK, "valid_from", "Valid from", wpc_json_get(b, "valid_from"), V_DATE);
        json_object *rc = redemption_text(wpc_json_get(b, "redemption_channel"));
        add_mapped(gs, G_BACK, "redemption_channel", "Redeem", rc, V_TEXT);
        json_object_put(rc);
    } else if (strcmp(type, "loyalty") == 0) {
        add_mapped(gs, G_HEADER, "points", "Points", wpc_json_get(b, "points"), V_TEXT);
        add_mapped(gs, G_SECONDARY, "account_name", "Member", wpc_json_get(b, "account_name"), V_TEXT);
        add_mapped(gs, G_SECONDARY, "account_id", "Member ID", wpc_json_get(b, "account_id"), V_TEXT);
        add_mapped(gs, G_BACK, "program_name", "Program", wpc_json_get(b, "program_name"), V_TEXT);
    }
}

/* ---- barcodes ------------------------------------------------------------- */

static json_object *barcode(const char *format, const char *message, const char *alt)
{
    json_object *o = json_object_new_object();
    if (!o) return NULL;
    json_object_object_add(o, "format", json_object_new_string(format));
    json_object_object_add(o, "message", json_object_new_string(message));
    json_object_object_add(o, "messageEncoding", json_object_new_string("iso-8859-1"));
    if (alt) json_object_object_add(o, "altText", json_object_new_string(alt));
    return o;
}

static json_object *barcodes(json_object *b)
{
    const char *msg = wpc_json_str(b, "barcode_message");
    if (!msg) return NULL;
    const char *fmt = wpc_json_str(b, "barcode_format");
    const char *alt = wpc_json_str(b, "barcode_alt_text");
    const char *pk = "PKBarcodeFormatQR";
    if (fmt && strcmp(fmt, "pdf417") == 0) pk = "PKBarcodeFormatPDF417";
    else if (fmt && strcmp(fmt, "aztec") == 0) pk = "PKBarcodeFormatAztec";
    else if (fmt && strcmp(fmt, "code128") == 0) pk = "PKBarcodeFormatCode128";
    json_object *arr = json_object_new_array();
    if (!arr) return NULL;
    json_object_array_add(arr, barcode(pk, msg, alt));
    /* watchOS cannot show Code128: with it alone the watch shows no code. */
    if (strcmp(pk, "PKBarcodeFormatCode128") == 0) json_object_array_add(arr, barcode("PKBarcodeFormatQR", msg, alt));
    return arr;
}

/* ---- the pass -------------------------------------------------------------- */

static void add_str(json_object *o, const char *k, const char *v)
{
    if (v) json_object_object_add(o, k, json_object_new_string(v));
}

static void add_color(json_object *o, const char *k, const char *hex)
{
    char rgb[32];
    if (hex && apple_rgb(hex, rgb, sizeof rgb)) json_object_object_add(o, k, json_object_new_string(rgb));
}

static void add_date(json_object *o, const char *k, const char *iso)
{
    char d[40];
    if (iso && apple_w3c_date(iso, d, sizeof d)) json_object_object_add(o, k, json_object_new_string(d));
}

wp_status apple_render(const json_object *pass, const apple_ids *ids, json_object **out, char *msg, size_t msglen)
{
    *out = NULL;
    json_object *b = wpc_json_get(pass, "body");
    if (!b || !json_object_is_type(b, json_type_object)) b = (json_object *)pass;
    const char *type = wpc_json_str(pass, "pass_type");
    if (!type) type = wpc_json_str(b, "pass_type");
    const char *style = apple_style(type);
    const char *serial = wpc_json_str(pass, "serial_number");
    if (!serial) serial = wpc_json_str(b, "serial_number");
    const char *org = wpc_json_str(b, "organization_name");
    if (!style || !serial || !org || !*org || !ids || !ids->pass_type_identifier || !ids->team_identifier) {
        snprintf(msg, msglen, "the pass lacks %s", !style ? "a known pass_type" : !serial ? "a serial_number"
                 : (!org || !*org) ? "an organization_name" : "the Apple pass type and team identifiers");
        return WP_EINVAL;
    }
    json_object *pj = json_object_new_object();
    if (!pj) return WP_ENOMEM;
    json_object_object_add(pj, "formatVersion", json_object_new_int(1));
    add_str(pj, "passTypeIdentifier", ids->pass_type_identifier);
    add_str(pj, "teamIdentifier", ids->team_identifier);
    add_str(pj, "serialNumber", serial);
    add_str(pj, "organizationName", org);
    const char *desc = wpc_json_str(b, "description");
    if (desc && *desc) {
        add_str(pj, "description", desc);
    } else {
        /* description is required and read by VoiceOver: say what the pass is. */
        char d[4200];
        snprintf(d, sizeof d, "%s %s", org, type);
        add_str(pj, "description", d);
    }
    /* A test-mode pass (the core's "livemode": false) says so on its face
     * and on its back, so nobody takes it for a real one. */
    json_object *lm = wpc_json_get(pass, "livemode");
    int test = lm && json_object_is_type(lm, json_type_boolean) && !json_object_get_boolean(lm);
    if (test) {
        const char *logo = wpc_json_str(b, "logo_text");
        char t[4200];
        snprintf(t, sizeof t, "TEST%s%s", logo && *logo ? " \xC2\xB7 " : "", logo && *logo ? logo : "");
        add_str(pj, "logoText", t);
    } else {
        add_str(pj, "logoText", wpc_json_str(b, "logo_text"));
    }
    add_color(pj, "backgroundColor", wpc_json_str(b, "background_color"));
    add_color(pj, "foregroundColor", wpc_json_str(b, "foreground_color"));
    add_color(pj, "labelColor", wpc_json_str(b, "label_color"));

    groups gs;
    for (int i = 0; i < G_COUNT; i++) {
        gs.g[i] = json_object_new_array();
        json_object *src = wpc_json_get(b, group_src[i]);
        size_t n = src && json_object_is_type(src, json_type_array) ? json_object_array_length(src) : 0;
        for (size_t j = 0; j < n; j++) {
            json_object *f = convert_field(json_object_array_get_idx(src, j));
            if (f) json_object_array_add(gs.g[i], f);
        }
    }
    map_type_fields(&gs, type, b);
    if (test) {
        json_object *f = json_object_new_object();
        add_str(f, "key", "walletpass_test_mode");
        add_str(f, "label", "TEST");
        add_str(f, "value", "A test pass, made with a test API key: it is not valid.");
        json_object_array_add(gs.g[G_BACK], f);
    }
    json_object *fields = json_object_new_object();
    for (int i = 0; i < G_COUNT; i++) {
        if (json_object_array_length(gs.g[i]) > 0) json_object_object_add(fields, group_key[i], gs.g[i]);
        else json_object_put(gs.g[i]);
    }
    json_object_object_add(pj, style, fields);

    json_object *bc = barcodes(b);
    if (bc) json_object_object_add(pj, "barcodes", bc);

    /* relevantDate is not supported on coupon and storeCard; an
     * event is relevant from its start unless told otherwise. */
    if (strcmp(style, "generic") == 0 || strcmp(style, "eventTicket") == 0) {
        const char *rel = wpc_json_str(b, "relevant_date");
        if (!rel && strcmp(style, "eventTicket") == 0) rel = wpc_json_str(b, "event_start");
        add_date(pj, "relevantDate", rel);
    }
    const char *exp = wpc_json_str(b, "expiration_date");
    if (!exp && strcmp(style, "coupon") == 0) exp = wpc_json_str(b, "valid_until");
    add_date(pj, "expirationDate", exp);
    const char *status = wpc_json_str(pass, "status");
    if (status && strcmp(status, "voided") == 0) json_object_object_add(pj, "voided", json_object_new_boolean(1));

    /* Both or neither, and the token is at least 16 characters. */
    const char *tok = wpc_json_str(pass, "authentication_token");
    if (ids->web_service_url && *ids->web_service_url && tok && strlen(tok) >= 16) {
        add_str(pj, "webServiceURL", ids->web_service_url);
        add_str(pj, "authenticationToken", tok);
    }
    *out = pj;
    return WP_OK;
}
