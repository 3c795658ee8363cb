/*
 * bb_passes.c - the pass and template calls of the API Connector:
 *   POST /api/v1/bubble/passes                 create (from a template: field_<key> fills its fields)
 *   GET  /api/v1/bubble/passes                 list
 *   GET  /api/v1/bubble/passes/:id             get
 *   POST /api/v1/bubble/passes/:id/update      update
 *   POST /api/v1/bubble/passes/:id/void        void
 *   POST /api/v1/bubble/passes/:id/notify      notify
 *   GET  /api/v1/bubble/templates              list templates
 *   GET  /api/v1/bubble/templates/:id/fields   a template's fields
 *
 * Each turns the flat input into the API's body and calls the core's own
 * route in process (host->api_call, as the request being served: the same
 * account, key and mode, with every check, filter, metering rule and
 * event), then answers the core's answer in the flat shape (bb_flat.h).  A
 * refusal of the core is passed on as it is, its param renamed to the field
 * the Bubble call sent (primary_fields[0].value -> field_points).  No route
 * here touches the database itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bb.h"
#include "bb_flat.h"
#include "bb_input.h"
#include "bb_request.h"

static const char *const field_groups[] = {"header_fields", "primary_fields", "secondary_fields", "auxiliary_fields",
                                           "back_fields", NULL};
static const char *const image_names[] = {"icon", "logo", "strip", "thumbnail", "background", "hero", NULL};

/* The pass body's flat inputs (besides field_<key>, image_<name>, metadata_<key>). */
static const char *const text_keys[] = {
    "serial_number",   "pass_type",      "organization_name", "description",   "logo_text",
    "background_color", "foreground_color", "label_color",    "barcode_message", "barcode_format",
    "barcode_alt_text", "event_name",     "venue_name",        "venue_address", "seat_section",
    "seat_row",        "seat_number",    "offer_title",       "offer_details", "redemption_channel",
    "program_name",    "account_id",     "account_name",      NULL};
static const char *const date_keys[] = {"relevant_date", "expiration_date", "event_start", "event_end",
                                        "valid_from",    "valid_until",     NULL};

/* ---- helpers ----------------------------------------------------------------------------- */

static int in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0) return 1;
    return 0;
}

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

static void send_json(wp_req *req, int status, json_object *o)
{
    bb_host->resp_json(req, status, o);
    json_object_put(o);
}

/* ---- the input ------------------------------------------------------------------------------- */

/* Every key of in is one the call takes: the listed ones, and with families the field_<key>,
 * image_<name> and metadata_<key> families.  -1 with e naming the first other one. */
static int check_keys(const json_object *in, const char *const *keys, int families, bb_verr *e)
{
    json_object_object_foreach((json_object *)in, k, v) {
        (void)v;
        if (keys && in_list(keys, k)) continue;
        if (families && in_list(text_keys, k)) continue;
        if (families && (in_list(date_keys, k) || strcmp(k, "points") == 0 || strcmp(k, "max_distance") == 0))
            continue;
        if (families && strncmp(k, "image_", 6) == 0) {
            if (in_list(image_names, k + 6)) continue;
            return bb_refuse(e, "parameter_unknown", k,
                             "unknown image %.64s: use image_icon, image_logo, image_strip, image_thumbnail, "
                             "image_background or image_hero", k);
        }
        size_t kl = strlen(k);
        if (families && ((strncmp(k, "field_", 6) == 0 && kl > 6 && kl <= 6 + 64) ||
                         (strncmp(k, "metadata_", 9) == 0 && kl > 9 && kl <= 9 + 64)))
            continue;
        return bb_refuse(e, "parameter_unknown", k, "unknown field %.128s", k);
    }
    return 0;
}

/* The names of base's fields, comma-separated, for a message: as many as fit in cap, "…" after the
 * last one when more did not. */
static void field_names(const json_object *base, char *out, size_t cap)
{
    json_object *keys = bb_flat_field_keys(base);
    size_t used = 0, n = json_object_array_length(keys);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *k = json_object_get_string(json_object_array_get_idx(keys, i));
        if (used + strlen(k) + 2 + 4 >= cap) {
            snprintf(out + used, cap - used, "%s\xE2\x80\xA6", used ? ", " : "");
            break;
        }
        used += (size_t)snprintf(out + used, cap - used, "%s%s", used ? ", " : "", k);
    }
    json_object_put(keys);
    if (!out[0]) snprintf(out, cap, "none");
}

/*
 * The API body of a create or update from the flat input.  base: what the
 * pass starts from (the template's body on create, the pass itself on
 * update; NULL: nothing), whose images, metadata and field groups the
 * image_, metadata_ and field_ inputs change (the API replaces each of them
 * as a whole).  what: "template" or "pass", for messages.  -1 with e.
 */
static int build_body(const json_object *in, const json_object *base, const char *what, json_object *body,
                      bb_verr *e)
{
    const char *s;
    int r;
    for (const char *const *k = text_keys; *k; k++) {
        if ((r = bb_in_text(in, *k, &s, e)) < 0) return -1;
        if (r == BB_IN_SET) json_object_object_add(body, *k, json_object_new_string(s));
        else if (r == BB_IN_NULL) json_object_object_add(body, *k, NULL);
    }
    json_object *pts = member(in, "points");
    if (pts && (json_object_is_type(pts, json_type_int) || json_object_is_type(pts, json_type_double))) {
        json_object_object_add(body, "points", json_object_get(pts));
    } else {
        if ((r = bb_in_text(in, "points", &s, e)) < 0) return -1;
        if (r == BB_IN_SET) json_object_object_add(body, "points", json_object_new_string(s));
        else if (r == BB_IN_NULL) json_object_object_add(body, "points", NULL);
    }
    for (const char *const *k = date_keys; *k; k++) {
        char iso[64];
        if ((r = bb_in_date(in, *k, iso, e)) < 0) return -1;
        if (r == BB_IN_SET) json_object_object_add(body, *k, json_object_new_string(iso));
        else if (r == BB_IN_NULL) json_object_object_add(body, *k, NULL);
    }
    double d;
    if ((r = bb_in_number(in, "max_distance", &d, e)) < 0) return -1;
    if (r == BB_IN_SET) json_object_object_add(body, "max_distance", json_object_new_double(d));
    else if (r == BB_IN_NULL) json_object_object_add(body, "max_distance", NULL);

    json_object *imgs = NULL, *meta = NULL;
    json_object_object_foreach((json_object *)in, k, v) {
        (void)v;
        if (strncmp(k, "image_", 6) == 0) {
            if ((r = bb_in_text(in, k, &s, e)) < 0) goto fail;
            if (r == BB_IN_ABSENT) continue;
            if (!imgs) {
                json_object *bi = member(base, "images");
                if (!bi || !json_object_is_type(bi, json_type_object) || json_object_deep_copy(bi, &imgs, NULL) != 0)
                    imgs = json_object_new_object();
            }
            char url[2100];
            if (r == BB_IN_NULL) {
                json_object_object_del(imgs, k + 6);
            } else if (bb_image_url(s, url, sizeof url) != 0) {
                bb_refuse(e, "parameter_invalid", k, "%s: the URL is longer than 2048 characters", k);
                goto fail;
            } else {
                json_object_object_add(imgs, k + 6, json_object_new_string(url));
            }
        } else if (strncmp(k, "metadata_", 9) == 0) {
            if ((r = bb_in_text(in, k, &s, e)) < 0) goto fail;
            if (r == BB_IN_ABSENT) continue;
            if (!meta) {
                json_object *bm = member(base, "metadata");
                if (!bm || !json_object_is_type(bm, json_type_object) || json_object_deep_copy(bm, &meta, NULL) != 0)
                    meta = json_object_new_object();
            }
            if (r == BB_IN_NULL) json_object_object_del(meta, k + 9);
            else json_object_object_add(meta, k + 9, json_object_new_string(s));
        }
    }
    if (imgs) json_object_object_add(body, "images", imgs);
    if (meta) json_object_object_add(body, "metadata", meta);
    imgs = meta = NULL;

    /* field_<key>: the value of that field in base's groups; each group changed is sent whole */
    json_object_object_foreach((json_object *)in, fk, fv) {
        if (strncmp(fk, "field_", 6) != 0) continue;
        const char *key = fk + 6;
        json_object *val = NULL;
        if (fv && (json_object_is_type(fv, json_type_int) || json_object_is_type(fv, json_type_double))) {
            val = json_object_get(fv);
        } else {
            if ((r = bb_in_text(in, fk, &s, e)) < 0) return -1;
            if (r == BB_IN_ABSENT) continue;
            val = json_object_new_string(r == BB_IN_NULL ? "" : s);
        }
        if (!base) {
            json_object_put(val);
            return bb_refuse(e, "parameter_invalid", fk,
                             "%.80s: a pass's fields come from its template; give template_id to fill them", fk);
        }
        int found = 0;
        for (const char *const *g = field_groups; *g && !found; g++) {
            json_object *arr = member(base, *g);
            if (!arr || !json_object_is_type(arr, json_type_array)) continue;
            for (size_t i = 0; i < json_object_array_length(arr) && !found; i++) {
                if (!str_of(json_object_array_get_idx(arr, i), "key") ||
                    strcmp(str_of(json_object_array_get_idx(arr, i), "key"), key) != 0)
                    continue;
                json_object *mine = member(body, *g);
                if (!mine) {
                    if (json_object_deep_copy(arr, &mine, NULL) != 0) {
                        json_object_put(val);
                        return bb_refuse(e, "parameter_invalid", fk, "out of memory");
                    }
                    json_object_object_add(body, *g, mine);
                }
                json_object_object_add(json_object_array_get_idx(mine, i), "value", val);
                found = 1;
            }
        }
        if (!found) {
            char names[320]; /* the message holds at most 512 bytes */
            json_object_put(val);
            field_names(base, names, sizeof names);
            return bb_refuse(e, "parameter_unknown", fk, "the %s has no field \"%.64s\"; its fields: %s", what, key,
                             names);
        }
    }
    return 0;
fail:
    json_object_put(imgs);
    json_object_put(meta);
    return -1;
}

/* ---- passes ----------------------------------------------------------------------------------- */

static void create_pass(wp_req *req, void *ud)
{
    (void)ud;
    static const char *const keys[] = {"template_id", NULL};
    json_object *in = bb_read_input(req);
    if (!in) return;
    bb_verr e = {0};
    if (check_keys(in, keys, 1, &e) != 0) {
        json_object_put(in);
        bb_send_verr(req, &e);
        return;
    }
    const char *tid = NULL;
    json_object *tpl = NULL, *body = json_object_new_object();
    int r = bb_in_text(in, "template_id", &tid, &e);
    if (r < 0) goto refused;
    if (r == BB_IN_SET) {
        if (bb_load_template(req, tid, "template_id", &tpl) != 0) goto sent;
        json_object_object_add(body, "template_id", json_object_new_string(tid));
    }
    if (build_body(in, member(tpl, "body"), "template", body, &e) != 0) goto refused;
    int status = 0;
    json_object *out = NULL, *headers = NULL;
    if (bb_call(req, "POST", "/api/v1/passes", body, &status, &out, &headers) != 0) goto sent;
    if (status == 201 && out) {
        json_object_put(headers);
        send_json(req, 201, bb_flat_pass(out, NULL));
        json_object_put(out);
    } else {
        bb_pass_on(req, status, out, headers, body);
    }
    goto sent;
refused:
    bb_send_verr(req, &e);
sent:
    json_object_put(body);
    json_object_put(tpl);
    json_object_put(in);
}

/* GET, void and the like on /api/v1/passes/:id<tail>: the answer flat, with status ok. */
static void pass_call(wp_req *req, const char *method, const char *tail, int ok, const json_object *body, int notify)
{
    char path[512];
    const char *id = bb_host->req_param(req, "id");
    if (bb_object_path(path, sizeof path, "passes", id, tail) != 0) {
        bb_host->resp_error(req, 404, "resource_missing", "id", "no pass %.64s", id);
        return;
    }
    int status = 0;
    json_object *out = NULL, *headers = NULL;
    if (bb_call(req, method, path, body, &status, &out, &headers) != 0) return;
    if (status == ok && out) {
        json_object_put(headers);
        send_json(req, ok, notify ? bb_flat_notification(out) : bb_flat_pass(out, NULL));
        json_object_put(out);
        return;
    }
    bb_pass_on(req, status, out, headers, body);
}

static void get_pass(wp_req *req, void *ud)
{
    (void)ud;
    pass_call(req, "GET", "", 200, NULL, 0);
}

static void void_pass(wp_req *req, void *ud)
{
    (void)ud;
    json_object *in = bb_read_input(req);
    if (!in) return;
    bb_verr e = {0};
    if (check_keys(in, NULL, 0, &e) != 0) bb_send_verr(req, &e);
    else pass_call(req, "DELETE", "", 200, NULL, 0);
    json_object_put(in);
}

static void notify_pass(wp_req *req, void *ud)
{
    (void)ud;
    static const char *const keys[] = {"message", NULL};
    json_object *in = bb_read_input(req);
    if (!in) return;
    bb_verr e = {0};
    const char *msg = NULL;
    int r = check_keys(in, keys, 0, &e) != 0 ? -1 : bb_in_text(in, "message", &msg, &e);
    if (r == 0 || r == BB_IN_NULL) r = bb_refuse(&e, "parameter_missing", "message", "message is required");
    if (r < 0) {
        bb_send_verr(req, &e);
    } else {
        json_object *body = json_object_new_object();
        json_object_object_add(body, "message", json_object_new_string(msg));
        pass_call(req, "POST", "/notify", 202, body, 1);
        json_object_put(body);
    }
    json_object_put(in);
}

static void update_pass(wp_req *req, void *ud)
{
    (void)ud;
    /* template_id is the core's to refuse (read-only), like serial_number */
    static const char *const keys[] = {"template_id", NULL};
    json_object *in = bb_read_input(req);
    if (!in) return;
    bb_verr e = {0};
    if (check_keys(in, keys, 1, &e) != 0) {
        json_object_put(in);
        bb_send_verr(req, &e);
        return;
    }
    const char *id = bb_host->req_param(req, "id");
    char path[512];
    json_object *cur = NULL, *body = json_object_new_object();
    if (bb_object_path(path, sizeof path, "passes", id, "") != 0) {
        bb_host->resp_error(req, 404, "resource_missing", "id", "no pass %.64s", id);
        goto done;
    }
    const char *tid;
    int r = bb_in_text(in, "template_id", &tid, &e);
    if (r < 0) goto refused;
    if (r == BB_IN_SET) json_object_object_add(body, "template_id", json_object_new_string(tid));
    else if (r == BB_IN_NULL) json_object_object_add(body, "template_id", NULL);
    /* the pass itself is the base of field_, image_ and metadata_ changes: read it when one is given */
    int need = 0;
    json_object_object_foreach(in, k, v) {
        (void)v;
        need |= !strncmp(k, "field_", 6) || !strncmp(k, "image_", 6) || !strncmp(k, "metadata_", 9);
    }
    int status = 0;
    json_object *out = NULL, *headers = NULL;
    if (need) {
        if (bb_call(req, "GET", path, NULL, &status, &out, &headers) != 0) goto done;
        if (status != 200 || !out) {
            bb_pass_on(req, status, out, headers, NULL);
            goto done;
        }
        json_object_put(headers);
        cur = out;
        out = headers = NULL;
    }
    if (build_body(in, need ? cur : NULL, "pass", body, &e) != 0) goto refused;
    if (bb_call(req, "PUT", path, body, &status, &out, &headers) != 0) goto done;
    if (status == 200 && out) {
        json_object_put(headers);
        send_json(req, 200, bb_flat_pass(out, NULL));
        json_object_put(out);
    } else {
        bb_pass_on(req, status, out, headers, body);
    }
    goto done;
refused:
    bb_send_verr(req, &e);
done:
    json_object_put(body);
    json_object_put(cur);
    json_object_put(in);
}

/*
 * Reads the query parameters in names (a NULL-terminated list) into
 * "?a=..&b=.." (percent-encoded) after base.  dates: names whose value may
 * also be Unix seconds.  0, or -1 when the 400 was sent.
 */
static int query_of(wp_req *req, const char *base, const char *const *names, const char *const *dates, char *out,
                    size_t cap, char *template_id, size_t tlen)
{
    size_t u = 0;
    int first = 1;
    if (bb_path_lit(out, cap, &u, base)) return -1;
    if (template_id) template_id[0] = '\0';
    for (const char *const *n = names; *n; n++) {
        char val[512];
        int r = bb_host->req_query(req, *n, val, sizeof val);
        if (r < 0) {
            bb_host->resp_error(req, 400, "parameter_invalid", *n, "%s is longer than 511 bytes", *n);
            return -1;
        }
        if (r == 0 || !val[0]) continue; /* Bubble sends a blank optional parameter as "" */
        if (dates && in_list(dates, *n)) {
            json_object *tmp = json_object_new_object();
            json_object_object_add(tmp, *n, json_object_new_string(val));
            bb_verr e = {0};
            char iso[64];
            int dr = bb_in_date(tmp, *n, iso, &e);
            json_object_put(tmp);
            if (dr < 0) {
                bb_send_verr(req, &e);
                return -1;
            }
            snprintf(val, sizeof val, "%s", iso);
        }
        if (template_id && strcmp(*n, "template_id") == 0) snprintf(template_id, tlen, "%s", val);
        if (bb_path_lit(out, cap, &u, first ? "?" : "&") || bb_path_lit(out, cap, &u, *n) || bb_path_lit(out, cap, &u, "=") ||
            bb_path_pct(out, cap, &u, val)) {
            bb_host->resp_error(req, 400, "parameter_invalid", *n, "the query is too long");
            return -1;
        }
        first = 0;
    }
    return 0;
}

/* Sends the API list `out` flat: each item through flat(item, ud). */
static void send_list(wp_req *req, json_object *out, json_object *(*flat)(const json_object *, const json_object *),
                      const json_object *ud)
{
    json_object *data = member(out, "data"), *items = json_object_new_array(), *hm = member(out, "has_more");
    for (size_t i = 0; data && json_object_is_type(data, json_type_array) && i < json_object_array_length(data); i++)
        json_object_array_add(items, flat(json_object_array_get_idx(data, i), ud));
    send_json(req, 200, bb_flat_list(items, hm && json_object_get_boolean(hm)));
}

static json_object *flat_template(const json_object *t, const json_object *ud)
{
    (void)ud;
    return bb_flat_template(t);
}

static void list_passes(wp_req *req, void *ud)
{
    (void)ud;
    static const char *const names[] = {"limit",         "starting_after", "status", "pass_type", "template_id",
                                        "created_after", "created_before", NULL};
    static const char *const dates[] = {"created_after", "created_before", NULL};
    char path[4096], tid[512];
    if (query_of(req, "/api/v1/passes", names, dates, path, sizeof path, tid, sizeof tid) != 0) return;
    /* one template's passes share its field_ keys; a list across templates carries none */
    json_object *tpl = NULL, *keys = NULL;
    if (tid[0]) {
        if (bb_load_template(req, tid, "template_id", &tpl) != 0) return;
        keys = bb_flat_field_keys(member(tpl, "body"));
    } else {
        keys = json_object_new_array();
    }
    int status = 0;
    json_object *out = NULL, *headers = NULL;
    if (bb_call(req, "GET", path, NULL, &status, &out, &headers) == 0) {
        if (status == 200 && out) {
            json_object_put(headers);
            send_list(req, out, bb_flat_pass, keys);
            json_object_put(out);
        } else {
            bb_pass_on(req, status, out, headers, NULL);
        }
    }
    json_object_put(keys);
    json_object_put(tpl);
}

static void list_templates(wp_req *req, void *ud)
{
    (void)ud;
    static const char *const names[] = {"limit", "starting_after", NULL};
    char path[2048];
    if (query_of(req, "/api/v1/templates", names, NULL, path, sizeof path, NULL, 0) != 0) return;
    int status = 0;
    json_object *out = NULL, *headers = NULL;
    if (bb_call(req, "GET", path, NULL, &status, &out, &headers) != 0) return;
    if (status == 200 && out) {
        json_object_put(headers);
        send_list(req, out, flat_template, NULL);
        json_object_put(out);
    } else {
        bb_pass_on(req, status, out, headers, NULL);
    }
}

static void template_fields(wp_req *req, void *ud)
{
    (void)ud;
    json_object *tpl = NULL;
    if (bb_load_template(req, bb_host->req_param(req, "id"), "id", &tpl) != 0) return;
    send_json(req, 200, bb_flat_template_fields(tpl));
    json_object_put(tpl);
}

wp_status bb_passes_register(void)
{
    static const struct {
        const char *method, *pattern;
        wp_plugin_route_fn fn;
    } routes[] = {
        {"POST", "/api/v1/bubble/passes", create_pass},
        {"GET", "/api/v1/bubble/passes", list_passes},
        {"GET", "/api/v1/bubble/passes/:id", get_pass},
        {"POST", "/api/v1/bubble/passes/:id/update", update_pass},
        {"POST", "/api/v1/bubble/passes/:id/void", void_pass},
        {"POST", "/api/v1/bubble/passes/:id/notify", notify_pass},
        {"GET", "/api/v1/bubble/templates", list_templates},
        {"GET", "/api/v1/bubble/templates/:id/fields", template_fields},
    };
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
        wp_status st = bb_host->route_add(bb_self, routes[i].method, routes[i].pattern, WP_AUTH_API_KEY,
                                          routes[i].fn, NULL);
        if (st != WP_OK) return st;
    }
    return WP_OK;
}
