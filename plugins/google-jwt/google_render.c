/*
 * google_render.c - unified pass -> Google Wallet class + object.
 *
 * Field placement follows Google's Wallet API reference: hexBackgroundColor
 * lives on loyalty/offer *classes* (not their objects), on generic and
 * event-ticket objects; notifyPreference never on generic; non-generic
 * classes carry reviewStatus UNDER_REVIEW (DRAFT classes cannot hold objects).
 */
#include "google_render.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "wpc_json.h"
#include "wpc_time.h"

static const char *const FIELD_GROUPS[] = {"header_fields", "primary_fields", "secondary_fields", "auxiliary_fields",
                                           "back_fields", NULL};

const char *gr_google_type(const char *t)
{
    if (!t) return NULL;
    if (strcmp(t, "generic") == 0) return "generic";
    if (strcmp(t, "loyalty") == 0) return "loyalty";
    if (strcmp(t, "coupon") == 0) return "offer";
    if (strcmp(t, "event") == 0) return "eventTicket";
    return NULL;
}

int gr_type_has_notify(const char *gtype) { return gtype && strcmp(gtype, "generic") != 0; }

int gr_make_id(char *out, size_t len, const char *issuer, const char *suffix)
{
    int n = snprintf(out, len, "%s.%s", issuer, suffix);
    if (n < 0 || (size_t)n >= len) return -1;
    for (char *c = out + strlen(issuer) + 1; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '.' || *c == '_' || *c == '-')) *c = '_';
    return 0;
}

int gr_class_id(char *out, size_t len, const json_object *pass, const gr_render_opts *o)
{
    const char *gtype = gr_google_type(wpc_pass_str(pass, "pass_type"));
    const char *tpl = wpc_pass_str(pass, "template_id");
    char suffix[256];
    /* The type is part of the name: a class and its objects must share one type. */
    if (tpl && *tpl) snprintf(suffix, sizeof suffix, "%s_%s", tpl, gtype ? gtype : "x");
    else snprintf(suffix, sizeof suffix, "%s_%s", o->account_id && *o->account_id ? o->account_id : "default",
                  gtype ? gtype : "x");
    return gr_make_id(out, len, o->issuer_id, suffix);
}

int gr_object_id(char *out, size_t len, const json_object *pass, const gr_render_opts *o)
{
    const char *id = wpc_pass_str(pass, "id");
    if (!id || !*id) return -1;
    return gr_make_id(out, len, o->issuer_id, id);
}

/* ---- small builders ------------------------------------------------------ */

static json_object *lstr(const gr_render_opts *o, const char *value)
{
    json_object *dv = json_object_new_object();
    json_object_object_add(dv, "language", json_object_new_string(o->language ? o->language : "en-US"));
    json_object_object_add(dv, "value", json_object_new_string(value));
    json_object *ls = json_object_new_object();
    json_object_object_add(ls, "defaultValue", dv);
    return ls;
}

static json_object *image(const gr_render_opts *o, const char *uri, const char *desc)
{
    json_object *src = json_object_new_object();
    json_object_object_add(src, "uri", json_object_new_string(uri));
    json_object *img = json_object_new_object();
    json_object_object_add(img, "sourceUri", src);
    json_object_object_add(img, "contentDescription", lstr(o, desc));
    return img;
}

static void add_str(json_object *obj, const char *key, const char *v)
{
    if (v && *v) json_object_object_add(obj, key, json_object_new_string(v));
}

static void add_lstr(json_object *obj, const char *key, const gr_render_opts *o, const char *v)
{
    if (v && *v) json_object_object_add(obj, key, lstr(o, v));
}

/* The public URL of the pass's image `name`, or NULL. */
static const char *image_url(const json_object *pass, const gr_render_opts *o, const char *name)
{
    json_object *imgs = wpc_pass_field(pass, "images"), *v = NULL;
    if (!imgs || !json_object_object_get_ex(imgs, name, &v) || !json_object_is_type(v, json_type_string)) return NULL;
    const char *s = json_object_get_string(v);
    if (o->image) return o->image(o->image_ud, name, s);
    return strncmp(s, "https://", 8) == 0 ? s : NULL;
}

/* Logo: the pass's logo, else its icon, else the plugin's default (when given). */
static const char *logo_url(const json_object *pass, const gr_render_opts *o)
{
    const char *u = image_url(pass, o, "logo");
    if (!u) u = image_url(pass, o, "icon");
    if (!u) u = o->default_logo_url;
    return u;
}

static const char *hero_url(const json_object *pass, const gr_render_opts *o)
{
    const char *u = image_url(pass, o, "hero");
    return u ? u : image_url(pass, o, "strip");
}

/* Value of a unified field as text (numbers printed as JSON). */
static const char *field_value(json_object *f)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(f, "value", &v) || !v) return "";
    return json_object_get_string(v);
}

static const char *field_label(json_object *f)
{
    json_object *v = NULL;
    if (json_object_object_get_ex(f, "label", &v) && json_object_is_type(v, json_type_string) &&
        json_object_get_string_len(v) > 0)
        return json_object_get_string(v);
    if (json_object_object_get_ex(f, "key", &v)) return json_object_get_string(v);
    return "";
}

/* TextModuleData ids allow only [A-Za-z0-9_-]. */
static json_object *text_modules(const json_object *pass)
{
    json_object *arr = json_object_new_array();
    for (const char *const *g = FIELD_GROUPS; *g; g++) {
        json_object *fields = wpc_pass_field(pass, *g);
        if (!fields || !json_object_is_type(fields, json_type_array)) continue;
        for (size_t i = 0; i < json_object_array_length(fields); i++) {
            json_object *f = json_object_array_get_idx(fields, i), *key = NULL;
            if (!json_object_is_type(f, json_type_object)) continue;
            json_object *tm = json_object_new_object();
            json_object_object_add(tm, "header", json_object_new_string(field_label(f)));
            json_object_object_add(tm, "body", json_object_new_string(field_value(f)));
            if (json_object_object_get_ex(f, "key", &key) && json_object_is_type(key, json_type_string)) {
                char id[128];
                snprintf(id, sizeof id, "%s", json_object_get_string(key));
                for (char *c = id; *c; c++)
                    if (!(isalnum((unsigned char)*c) || *c == '_' || *c == '-')) *c = '_';
                json_object_object_add(tm, "id", json_object_new_string(id));
            }
            json_object_array_add(arr, tm);
        }
    }
    if (json_object_array_length(arr) == 0) {
        json_object_put(arr);
        return NULL;
    }
    return arr;
}

static const char *barcode_type(const char *fmt)
{
    if (!fmt || strcmp(fmt, "qr") == 0) return "QR_CODE";
    if (strcmp(fmt, "pdf417") == 0) return "PDF_417";
    if (strcmp(fmt, "aztec") == 0) return "AZTEC";
    if (strcmp(fmt, "code128") == 0) return "CODE_128";
    return "QR_CODE";
}

static void add_barcode(json_object *obj, const json_object *pass)
{
    const char *msg = wpc_pass_str(pass, "barcode_message");
    if (!msg || !*msg) return;
    json_object *b = json_object_new_object();
    json_object_object_add(b, "type", json_object_new_string(barcode_type(wpc_pass_str(pass, "barcode_format"))));
    json_object_object_add(b, "value", json_object_new_string(msg));
    const char *alt = wpc_pass_str(pass, "barcode_alt_text");
    if (alt && *alt) json_object_object_add(b, "alternateText", json_object_new_string(alt));
    json_object_object_add(obj, "barcode", b);
}

/* Google has at most 10 merchantLocations per class/object: only latitude and longitude. */
static void add_locations(json_object *obj, const json_object *pass)
{
    json_object *locs = wpc_pass_field(pass, "locations");
    if (!locs || !json_object_is_type(locs, json_type_array)) return;
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(locs) && json_object_array_length(arr) < 10; i++) {
        json_object *l = json_object_array_get_idx(locs, i), *lat = NULL, *lon = NULL;
        if (!json_object_object_get_ex(l, "latitude", &lat) || !json_object_object_get_ex(l, "longitude", &lon)) continue;
        json_object *m = json_object_new_object();
        json_object_object_add(m, "latitude", json_object_new_double(json_object_get_double(lat)));
        json_object_object_add(m, "longitude", json_object_new_double(json_object_get_double(lon)));
        json_object_array_add(arr, m);
    }
    if (json_object_array_length(arr) == 0) json_object_put(arr);
    else json_object_object_add(obj, "merchantLocations", arr);
}

static json_object *interval(const char *start, const char *end)
{
    if (!(start && *start) && !(end && *end)) return NULL;
    json_object *ti = json_object_new_object();
    if (start && *start) {
        json_object *s = json_object_new_object();
        json_object_object_add(s, "date", json_object_new_string(start));
        json_object_object_add(ti, "start", s);
    }
    if (end && *end) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "date", json_object_new_string(end));
        json_object_object_add(ti, "end", e);
    }
    return ti;
}

const char *gr_state(const json_object *pass, time_t now)
{
    const char *status = wpc_pass_str(pass, "status");
    if (status && strcmp(status, "voided") == 0) return "INACTIVE";
    long long exp = wpc_time_iso_parse(wpc_pass_str(pass, "expiration_date"));
    if (exp >= 0 && exp <= (long long)(now ? now : time(NULL))) return "EXPIRED";
    return "ACTIVE";
}

/* The first primary field, the natural headline of a pass. */
static json_object *primary(const json_object *pass)
{
    json_object *p = wpc_pass_field(pass, "primary_fields");
    if (!p || !json_object_is_type(p, json_type_array) || json_object_array_length(p) == 0) return NULL;
    return json_object_array_get_idx(p, 0);
}

/* ---- per type -------------------------------------------------------------- */

static void render_generic(const json_object *pass, const gr_render_opts *o, json_object *cls, json_object *obj)
{
    (void)cls; /* GenericClass needs only its id: no issuerName, no reviewStatus */
    const char *org = wpc_pass_str(pass, "organization_name");
    const char *title = wpc_pass_str(pass, "logo_text");
    add_lstr(obj, "cardTitle", o, title && *title ? title : org);
    json_object *pf = primary(pass);
    const char *desc = wpc_pass_str(pass, "description");
    const char *header = pf ? field_value(pf) : NULL;
    if (!header || !*header) header = desc && *desc ? desc : org;
    add_lstr(obj, "header", o, header);
    if (pf) add_lstr(obj, "subheader", o, field_label(pf));
    add_str(obj, "hexBackgroundColor", wpc_pass_str(pass, "background_color"));
    const char *logo = logo_url(pass, o);
    if (logo) json_object_object_add(obj, "logo", image(o, logo, org ? org : "Logo"));
}

static void render_loyalty(const json_object *pass, const gr_render_opts *o, json_object *cls, json_object *obj)
{
    const char *org = wpc_pass_str(pass, "organization_name");
    const char *prog = wpc_pass_str(pass, "program_name");
    if (!prog || !*prog) prog = wpc_pass_str(pass, "logo_text");
    add_str(cls, "issuerName", org);
    add_str(cls, "programName", prog && *prog ? prog : org);
    const char *logo = logo_url(pass, o);
    if (logo) json_object_object_add(cls, "programLogo", image(o, logo, org ? org : "Logo"));
    add_str(cls, "hexBackgroundColor", wpc_pass_str(pass, "background_color"));

    add_str(obj, "accountId", wpc_pass_str(pass, "account_id"));
    add_str(obj, "accountName", wpc_pass_str(pass, "account_name"));
    json_object *pts = wpc_pass_field(pass, "points");
    if (pts) {
        json_object *bal = json_object_new_object();
        if (json_object_is_type(pts, json_type_int)) json_object_object_add(bal, "int", json_object_new_int64(json_object_get_int64(pts)));
        else if (json_object_is_type(pts, json_type_double)) json_object_object_add(bal, "double", json_object_new_double(json_object_get_double(pts)));
        else json_object_object_add(bal, "string", json_object_new_string(json_object_get_string(pts)));
        json_object *lp = json_object_new_object();
        json_object_object_add(lp, "label", json_object_new_string("Points"));
        json_object_object_add(lp, "balance", bal);
        json_object_object_add(obj, "loyaltyPoints", lp);
    }
}

static void render_offer(const json_object *pass, const gr_render_opts *o, json_object *cls, json_object *obj)
{
    const char *org = wpc_pass_str(pass, "organization_name");
    add_str(cls, "issuerName", org);
    add_str(cls, "provider", org);
    add_str(cls, "title", wpc_pass_str(pass, "offer_title"));
    const char *ch = wpc_pass_str(pass, "redemption_channel");
    json_object_object_add(cls, "redemptionChannel",
                           json_object_new_string(!ch ? "BOTH" : strcmp(ch, "online") == 0 ? "ONLINE"
                                                  : strcmp(ch, "instore") == 0 ? "INSTORE" : "BOTH"));
    add_str(cls, "details", wpc_pass_str(pass, "offer_details"));
    add_str(cls, "hexBackgroundColor", wpc_pass_str(pass, "background_color"));
    const char *logo = logo_url(pass, o);
    if (logo) json_object_object_add(cls, "titleImage", image(o, logo, org ? org : "Logo"));
    json_object *ti = interval(wpc_pass_str(pass, "valid_from"), wpc_pass_str(pass, "valid_until"));
    if (ti) json_object_object_add(obj, "validTimeInterval", ti);
}

static void render_event(const json_object *pass, const gr_render_opts *o, json_object *cls, json_object *obj)
{
    const char *org = wpc_pass_str(pass, "organization_name");
    add_str(cls, "issuerName", org);
    add_lstr(cls, "eventName", o, wpc_pass_str(pass, "event_name"));
    const char *vn = wpc_pass_str(pass, "venue_name"), *va = wpc_pass_str(pass, "venue_address");
    if (vn && *vn) { /* venue.name and venue.address are both required once venue is set */
        json_object *venue = json_object_new_object();
        json_object_object_add(venue, "name", lstr(o, vn));
        json_object_object_add(venue, "address", lstr(o, va && *va ? va : vn));
        json_object_object_add(cls, "venue", venue);
    }
    const char *st = wpc_pass_str(pass, "event_start"), *en = wpc_pass_str(pass, "event_end");
    if ((st && *st) || (en && *en)) {
        json_object *dt = json_object_new_object();
        add_str(dt, "start", st);
        add_str(dt, "end", en);
        json_object_object_add(cls, "dateTime", dt);
    }
    add_str(cls, "hexBackgroundColor", wpc_pass_str(pass, "background_color"));
    const char *logo = logo_url(pass, o);
    if (logo) json_object_object_add(cls, "logo", image(o, logo, org ? org : "Logo"));

    const char *seat = wpc_pass_str(pass, "seat_number"), *row = wpc_pass_str(pass, "seat_row"),
               *sec = wpc_pass_str(pass, "seat_section");
    if ((seat && *seat) || (row && *row) || (sec && *sec)) {
        json_object *si = json_object_new_object();
        add_lstr(si, "seat", o, seat);
        add_lstr(si, "row", o, row);
        add_lstr(si, "section", o, sec);
        json_object_object_add(obj, "seatInfo", si);
    }
    add_str(obj, "ticketNumber", wpc_pass_str(pass, "serial_number"));
    add_str(obj, "hexBackgroundColor", wpc_pass_str(pass, "background_color"));
}

wp_status gr_render(const json_object *pass, const gr_render_opts *o, json_object **class_out,
                    json_object **object_out, char *errbuf, size_t errlen)
{
    *class_out = *object_out = NULL;
    if (!o->issuer_id || !*o->issuer_id) {
        snprintf(errbuf, errlen, "the Google credential has no issuer_id");
        return WP_EINVAL;
    }
    const char *ptype = wpc_pass_str(pass, "pass_type");
    const char *gtype = gr_google_type(ptype);
    if (!gtype) {
        snprintf(errbuf, errlen, "pass_type \"%s\" has no Google Wallet type", ptype ? ptype : "");
        return WP_EINVAL;
    }
    char cid[512], oid[512];
    if (gr_object_id(oid, sizeof oid, pass, o) != 0) {
        snprintf(errbuf, errlen, "the pass has no id (or it is too long)");
        return WP_EINVAL;
    }
    if (gr_class_id(cid, sizeof cid, pass, o) != 0) {
        snprintf(errbuf, errlen, "the class id is too long");
        return WP_EINVAL;
    }
    json_object *cls = json_object_new_object(), *obj = json_object_new_object();
    json_object_object_add(cls, "id", json_object_new_string(cid));
    json_object_object_add(obj, "id", json_object_new_string(oid));
    json_object_object_add(obj, "classId", json_object_new_string(cid));
    json_object_object_add(obj, "state", json_object_new_string(gr_state(pass, o->now)));
    int generic = strcmp(gtype, "generic") == 0;
    if (!generic) json_object_object_add(cls, "reviewStatus", json_object_new_string("UNDER_REVIEW"));

    if (generic) render_generic(pass, o, cls, obj);
    else if (strcmp(gtype, "loyalty") == 0) render_loyalty(pass, o, cls, obj);
    else if (strcmp(gtype, "offer") == 0) render_offer(pass, o, cls, obj);
    else render_event(pass, o, cls, obj);

    /* Every object type has heroImage, barcode, textModulesData and merchantLocations. */
    const char *hero = hero_url(pass, o);
    if (hero) json_object_object_add(obj, "heroImage", image(o, hero, "Hero image"));
    add_barcode(obj, pass);
    json_object *tm = text_modules(pass);
    if (tm) json_object_object_add(obj, "textModulesData", tm);
    add_locations(obj, pass);
    if (strcmp(gtype, "offer") != 0) {
        json_object *ti = interval(NULL, wpc_pass_str(pass, "expiration_date"));
        if (ti) json_object_object_add(obj, "validTimeInterval", ti);
    }
    if (o->notify && gr_type_has_notify(gtype))
        json_object_object_add(obj, "notifyPreference", json_object_new_string("NOTIFY_ON_UPDATE"));
    *class_out = cls;
    *object_out = obj;
    return WP_OK;
}
