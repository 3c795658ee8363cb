/*
 * zb_routes.c - the HTTP API the Zapier app calls (README.md), all under
 * /api/v1/zapier/ and behind an API key:
 *
 *   GET    me                      the connection test and label
 *   POST   hooks, DELETE hooks/:id  REST-hook subscriptions (zb_deliver.c delivers)
 *   GET    events?type=&limit=     a trigger's sample data, flat, newest first
 *   POST   passes                  create (template_id + field_<key> inputs, or the unified body)
 *   PUT    passes/:id              update (the same inputs)
 *   POST   passes/:id/void, passes/:id/notify
 *   GET    passes/find?serial_number= | ?barcode_message=
 *   GET    templates, templates/:id/fields   dynamic dropdowns and input fields
 *
 * Everything about passes and templates goes through the core's own routes
 * with host->api_call (ABI 1.8), as the request's account and key: their
 * checks, metering, test mode and isolation are the core's, and so are their
 * errors, relayed as they are (a 429 with its Retry-After).  This file only
 * reshapes: flat inputs in, flat objects (zb_flat.h) out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zb.h"
#include "zb_flat.h"

static const char *const field_groups[] = {"header_fields", "primary_fields", "secondary_fields", "auxiliary_fields",
                                           "back_fields", NULL};

/* ---- the API, in process -------------------------------------------------------- */

/* Percent-encodes s (everything but [A-Za-z0-9-._~]) into out; 0 when it does not fit. */
static int pct(const char *s, char *out, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("-._~", c);
        if (n + (plain ? 1 : 3) >= len) return 0;
        if (plain) {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    out[n] = '\0';
    return 1;
}

/* Calls the API as req.  1 with the answer (any status); 0 when the call could not be made (answered 500/503). */
static int call(wp_req *req, const char *method, const char *path, json_object *body, int *status, json_object **out,
                json_object **headers)
{
    wp_status st = zb_host->api_call(zb_self, req, method, path, body, status, out, headers);
    if (st == WP_OK) return 1;
    zb_host->log(zb_self, WP_LOG_WARN, "%s: %s %s: %s", zb_host->req_id(req), method, path, zb_host->last_error());
    if (st == WP_EUNAVAIL) {
        zb_host->resp_header(req, "Retry-After", "1");
        zb_host->resp_error(req, 503, "service_unavailable", NULL, "the database is unavailable; retry");
    } else {
        zb_host->resp_error(req, 500, "internal_error", NULL, "internal error; quote request id %s when reporting it",
                            zb_host->req_id(req));
    }
    return 0;
}

/* Sends the API's own answer on (an error, as the core gave it: message, param, Retry-After). */
static void relay(wp_req *req, int status, json_object *out, json_object *headers)
{
    json_object *ra;
    if (headers && json_object_object_get_ex(headers, "Retry-After", &ra))
        zb_host->resp_header(req, "Retry-After", json_object_get_string(ra));
    if (out) {
        zb_host->resp_json(req, status, out);
    } else {
        zb_host->resp_error(req, status >= 500 ? 502 : status, "upstream_error", NULL, "the API answered %d", status);
    }
}

static json_object *member(json_object *o, const char *k)
{
    json_object *v = NULL;
    return o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

/* A request body that must be a JSON object; sends 400/413/415 and returns NULL otherwise. */
static json_object *read_object(wp_req *req)
{
    json_object *body = NULL;
    wp_err *err = zb_host->err_new(req);
    if (zb_host->req_json(req, &body, err) != WP_OK) {
        zb_host->resp_from_err(req, err);
        return NULL;
    }
    if (!json_object_is_type(body, json_type_object)) {
        json_object_put(body);
        zb_host->resp_error(req, 400, "parameter_invalid", "body", "the body must be a JSON object");
        return NULL;
    }
    return body;
}

/* ---- GET me ----------------------------------------------------------------------- */

static void me(wp_req *req, void *ud)
{
    (void)ud;
    int status;
    json_object *acct = NULL, *headers = NULL;
    if (!call(req, "GET", "/api/v1/account", NULL, &status, &acct, &headers)) return;
    if (status != 200) {
        relay(req, status, acct, headers);
    } else {
        json_object *lm = member(acct, "livemode");
        int live = lm && json_object_is_type(lm, json_type_boolean) ? json_object_get_boolean(lm) : 1;
        const char *name = json_object_get_string(member(acct, "name")), *email = json_object_get_string(member(acct, "email"));
        size_t need = (name ? strlen(name) : 0) + (email ? strlen(email) : 0) + 16;
        char *label = zb_host->req_alloc(req, need); /* request arena: freed with the request */
        if (label) snprintf(label, need, "%s (%s)%s", name ? name : "", email ? email : "", live ? "" : " [test]");
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_get(member(acct, "id")));
        json_object_object_add(o, "account_id", json_object_get(member(acct, "id")));
        json_object_object_add(o, "name", json_object_new_string(name ? name : ""));
        json_object_object_add(o, "email", json_object_new_string(email ? email : ""));
        json_object_object_add(o, "livemode", json_object_new_boolean(live));
        json_object_object_add(o, "mode", json_object_new_string(live ? "live" : "test"));
        json_object_object_add(o, "label", json_object_new_string(label ? label : ""));
        zb_host->resp_json(req, 200, o);
        json_object_put(o);
    }
    json_object_put(acct);
    json_object_put(headers);
}

/* ---- REST hooks ------------------------------------------------------------------ */

static void db_fail(wp_req *req)
{
    zb_host->log(zb_self, WP_LOG_WARN, "%s: database: %s", zb_host->req_id(req), zb_host->last_error());
    zb_host->resp_header(req, "Retry-After", "1");
    zb_host->resp_error(req, 503, "service_unavailable", NULL, "the database is unavailable; retry");
}

static void subscribe(wp_req *req, void *ud)
{
    (void)ud;
    json_object *body = read_object(req);
    if (!body) return;
    json_object *url = NULL, *event = NULL;
    json_object_object_foreach(body, k, v) {
        if (strcmp(k, "target_url") == 0) url = v;
        else if (strcmp(k, "event") == 0) event = v;
        else {
            zb_host->resp_error(req, 400, "parameter_unknown", k[0] ? k : "body",
                                "unknown field \"%.64s\": a subscription takes target_url and event", k);
            goto out;
        }
    }
    if (!event || !json_object_is_type(event, json_type_string) || !zb_event_type_known(json_object_get_string(event))) {
        zb_host->resp_error(req, 400, event ? "parameter_invalid" : "parameter_missing", "event",
                            "event must be one of pass.created, pass.updated, pass.voided, pass.installed, "
                            "pass.removed, batch.completed");
        goto out;
    }
    const char *u = url && json_object_is_type(url, json_type_string) ? json_object_get_string(url) : NULL;
    if (!u) {
        zb_host->resp_error(req, 400, url ? "parameter_invalid" : "parameter_missing", "target_url",
                            "target_url must be the https URL to deliver the events to");
        goto out;
    }
    if (strlen(u) > ZB_URL_MAX || (strncmp(u, "https://", 8) != 0 && !(zb_cfg.allow_http && strncmp(u, "http://", 7) == 0))) {
        zb_host->resp_error(req, 400, "parameter_invalid", "target_url", "target_url must be an https URL of at most %d "
                            "characters", ZB_URL_MAX);
        goto out;
    }
    /* the outbound rules of webhooks: no private, loopback or metadata address (resolved now and at each send) */
    wp_status st = zb_host->url_check(zb_self, u, NULL, 0);
    if (st != WP_OK) {
        zb_host->resp_error(req, 400, st == WP_EDENIED ? "url_refused" : "parameter_invalid", "target_url",
                            "target_url is refused: %s", zb_host->last_error());
        goto out;
    }
    const char *acct = zb_host->req_account_id(req);
    char id[ZB_ID_MAX], limit[16];
    if (zb_id_new("zh", id) != 0) {
        zb_host->resp_error(req, 500, "internal_error", NULL, "no random id could be made");
        goto out;
    }
    snprintf(limit, sizeof limit, "%d", zb_cfg.max_hooks);
    const char *p[] = {acct, id, json_object_get_string(event), u, limit};
    json_object *rows = NULL;
    /* the count and the insert in one statement; the advisory lock serialises one account's subscriptions */
    st = zb_host->db_query(zb_self, req,
                           "WITH l AS (SELECT pg_advisory_xact_lock(hashtext('zapier-bridge:' || $1))), "
                           "n AS (SELECT count(*) AS c FROM zapier_bridge_hooks, l WHERE account_id = $1) "
                           "INSERT INTO zapier_bridge_hooks (account_id, id, event, target_url) "
                           "SELECT $1, $2, $3, $4 FROM n WHERE n.c < $5::int "
                           "RETURNING id, event, target_url, " ZB_ISO("created_at") " AS created_at",
                           5, p, &rows);
    if (st != WP_OK) {
        db_fail(req);
    } else if (json_object_array_length(rows) == 0) {
        zb_host->resp_error(req, 409, "subscription_limit_reached", NULL,
                            "an account has at most %d Zapier subscriptions: turn off Zaps it no longer uses",
                            zb_cfg.max_hooks);
    } else {
        json_object *o = json_object_array_get_idx(rows, 0);
        json_object_object_add(o, "object", json_object_new_string("zapier_subscription"));
        zb_host->resp_json(req, 201, o);
    }
    json_object_put(rows);
out:
    json_object_put(body);
}

static void unsubscribe(wp_req *req, void *ud)
{
    (void)ud;
    const char *id = zb_host->req_param(req, "id");
    const char *p[] = {zb_host->req_account_id(req), id};
    /* idempotent: a subscription already gone (Zapier retries, a 410 removed it) is deleted too */
    if (zb_host->db_query(zb_self, req, "DELETE FROM zapier_bridge_hooks WHERE account_id = $1 AND id = $2", 2, p,
                          NULL) != WP_OK) {
        db_fail(req);
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(id));
    json_object_object_add(o, "object", json_object_new_string("zapier_subscription"));
    json_object_object_add(o, "deleted", json_object_new_boolean(1));
    zb_host->resp_json(req, 200, o);
    json_object_put(o);
}

/* ---- GET events: the triggers' sample data ------------------------------------------ */

/* ?limit= 1..100 (default dflt); sends 400 and returns 0 when wrong. */
static int limit_param(wp_req *req, int dflt, int *limit)
{
    char buf[16];
    int r = zb_host->req_query(req, "limit", buf, sizeof buf);
    *limit = dflt;
    if (r == 0) return 1;
    char *end;
    long v = r > 0 ? strtol(buf, &end, 10) : 0;
    if (r < 0 || !buf[0] || *end || v < 1 || v > 100) {
        zb_host->resp_error(req, 400, "parameter_invalid", "limit", "limit must be an integer from 1 to 100");
        return 0;
    }
    *limit = (int)v;
    return 1;
}

static void sample_events(wp_req *req, void *ud)
{
    (void)ud;
    char type[64];
    int limit;
    int r = zb_host->req_query(req, "type", type, sizeof type);
    if (r <= 0 || !zb_event_type_known(type)) {
        zb_host->resp_error(req, 400, r == 0 ? "parameter_missing" : "parameter_invalid", "type",
                            "type must be one of pass.created, pass.updated, pass.voided, pass.installed, "
                            "pass.removed, batch.completed");
        return;
    }
    if (!limit_param(req, 10, &limit)) return;
    char path[128];
    snprintf(path, sizeof path, "/api/v1/events?type=%s&limit=%d", type, limit);
    int status;
    json_object *out = NULL, *headers = NULL;
    if (!call(req, "GET", path, NULL, &status, &out, &headers)) return;
    if (status != 200) {
        relay(req, status, out, headers);
    } else {
        json_object *arr = json_object_new_array(), *data = member(out, "data");
        for (size_t i = 0; data && i < json_object_array_length(data); i++) {
            json_object *e = json_object_array_get_idx(data, i);
            json_object *flat = zb_flat_event(json_object_get_string(member(e, "id")), type,
                                              json_object_get_string(member(e, "created_at")), member(e, "data"));
            if (flat) json_object_array_add(arr, flat);
        }
        zb_host->resp_json(req, 200, arr); /* [] when there are none: a trigger's empty sample, never 404 */
        json_object_put(arr);
    }
    json_object_put(out);
    json_object_put(headers);
}

/* ---- actions ------------------------------------------------------------------------ */

static json_object *copy(json_object *src)
{
    json_object *d = NULL;
    return json_object_deep_copy(src, &d, NULL) == 0 ? d : NULL;
}

/*
 * The pass body an action sends: the request's keys, without Zapier's empty
 * inputs (""), and the field_<key> inputs written into the fields arrays of
 * `base` (the template's, or the pass's) as values of the fields with those
 * keys; only the arrays that change are sent.  Sends 400 naming the input
 * and returns NULL when a field_<key> names no field.
 */
static json_object *pass_body(wp_req *req, json_object *in, json_object *base)
{
    json_object *out = json_object_new_object(), *groups[8] = {0};
    int touched[8] = {0};
    for (int g = 0; field_groups[g]; g++) {
        json_object *own = member(in, field_groups[g]), *arr = own ? own : member(base, field_groups[g]);
        if (arr && json_object_is_type(arr, json_type_array)) groups[g] = copy(arr);
    }
    json_object_object_foreach(in, k, v) {
        if (strncmp(k, "field_", 6) != 0) {
            if (json_object_is_type(v, json_type_string) && json_object_get_string_len(v) == 0) continue;
            json_object_object_add(out, k, json_object_get(v));
            continue;
        }
        if (json_object_is_type(v, json_type_string) && json_object_get_string_len(v) == 0) continue;
        if (!json_object_is_type(v, json_type_string) && !json_object_is_type(v, json_type_int) &&
            !json_object_is_type(v, json_type_double)) {
            zb_host->resp_error(req, 400, "parameter_invalid", k, "%.80s must be a text or a number", k);
            goto fail;
        }
        int found = 0;
        for (int g = 0; field_groups[g] && !found; g++) {
            for (size_t i = 0; groups[g] && i < json_object_array_length(groups[g]); i++) {
                json_object *f = json_object_array_get_idx(groups[g], i), *key = member(f, "key");
                if (key && json_object_is_type(key, json_type_string) && strcmp(json_object_get_string(key), k + 6) == 0) {
                    json_object_object_add(f, "value", json_object_new_string(json_object_get_string(v)));
                    touched[g] = found = 1;
                    break;
                }
            }
        }
        if (!found) {
            zb_host->resp_error(req, 400, "parameter_unknown", k,
                                "%.80s: the pass has no field with key \"%.64s\" (the template's fields are offered "
                                "as field_<key> inputs)", k, k + 6);
            goto fail;
        }
    }
    for (int g = 0; field_groups[g]; g++) {
        if (touched[g]) json_object_object_add(out, field_groups[g], groups[g]);
        else json_object_put(groups[g]);
    }
    return out;
fail:
    for (int g = 0; field_groups[g]; g++) json_object_put(groups[g]);
    json_object_put(out);
    return NULL;
}

static int has_field_inputs(json_object *in)
{
    json_object_object_foreach(in, k, v) {
        (void)v;
        if (strncmp(k, "field_", 6) == 0) return 1;
    }
    return 0;
}

/* Answers an action: its flat pass on success, the API's answer otherwise. */
static void answer_pass(wp_req *req, int status, json_object *out, json_object *headers, int ok_status)
{
    if (status == ok_status) {
        json_object *flat = zb_flat_pass(out);
        zb_host->resp_json(req, status, flat);
        json_object_put(flat);
    } else {
        relay(req, status, out, headers);
    }
}

static void create_pass(wp_req *req, void *ud)
{
    (void)ud;
    json_object *in = read_object(req), *tpl = NULL, *headers = NULL, *out = NULL, *body = NULL;
    if (!in) return;
    int status;
    json_object *tid = member(in, "template_id");
    if (has_field_inputs(in) && tid && json_object_is_type(tid, json_type_string) && json_object_get_string_len(tid)) {
        char enc[256], path[300];
        if (!pct(json_object_get_string(tid), enc, sizeof enc)) {
            zb_host->resp_error(req, 400, "parameter_invalid", "template_id", "template_id is too long");
            goto out;
        }
        snprintf(path, sizeof path, "/api/v1/templates/%s", enc);
        if (!call(req, "GET", path, NULL, &status, &tpl, &headers)) goto out;
        if (status == 404) {
            zb_host->resp_error(req, 404, "resource_missing", "template_id", "no template %.60s: pick one of your "
                                "templates", json_object_get_string(tid));
            goto out;
        }
        if (status != 200) {
            relay(req, status, tpl, headers);
            goto out;
        }
    }
    if (!(body = pass_body(req, in, member(tpl, "body")))) goto out;
    json_object_put(headers);
    headers = NULL;
    if (call(req, "POST", "/api/v1/passes", body, &status, &out, &headers)) answer_pass(req, status, out, headers, 201);
out:
    json_object_put(in);
    json_object_put(tpl);
    json_object_put(body);
    json_object_put(out);
    json_object_put(headers);
}

/* "/api/v1/passes/<:id percent-encoded><suffix>"; sends 404 and returns 0 for an id that cannot be one. */
static int pass_path(wp_req *req, const char *suffix, char *path, size_t len)
{
    char enc[256];
    const char *id = zb_host->req_param(req, "id");
    if (!id || !pct(id, enc, sizeof enc)) {
        zb_host->resp_error(req, 404, "resource_missing", "id", "no such pass");
        return 0;
    }
    snprintf(path, len, "/api/v1/passes/%s%s", enc, suffix);
    return 1;
}

static void update_pass(wp_req *req, void *ud)
{
    (void)ud;
    char path[320];
    json_object *in = read_object(req), *cur = NULL, *headers = NULL, *out = NULL, *body = NULL;
    if (!in) return;
    int status;
    if (!pass_path(req, "", path, sizeof path)) goto out;
    if (has_field_inputs(in)) {
        /* the values go into the pass's own fields arrays, as they are now */
        if (!call(req, "GET", path, NULL, &status, &cur, &headers)) goto out;
        if (status != 200) {
            relay(req, status, cur, headers);
            goto out;
        }
    }
    if (!(body = pass_body(req, in, cur))) goto out;
    json_object_put(headers);
    headers = NULL;
    if (call(req, "PUT", path, body, &status, &out, &headers)) answer_pass(req, status, out, headers, 200);
out:
    json_object_put(in);
    json_object_put(cur);
    json_object_put(body);
    json_object_put(out);
    json_object_put(headers);
}

static void void_pass(wp_req *req, void *ud)
{
    (void)ud;
    char path[320];
    json_object *out = NULL, *headers = NULL;
    int status;
    if (pass_path(req, "", path, sizeof path) && call(req, "DELETE", path, NULL, &status, &out, &headers))
        answer_pass(req, status, out, headers, 200);
    json_object_put(out);
    json_object_put(headers);
}

static void notify_pass(wp_req *req, void *ud)
{
    (void)ud;
    char path[320];
    json_object *in = read_object(req), *out = NULL, *headers = NULL;
    if (!in) return;
    int status;
    if (pass_path(req, "/notify", path, sizeof path) && call(req, "POST", path, in, &status, &out, &headers)) {
        if (status == 202) {
            const char *keys[] = {"pass_id", "message", "status", "created_at", NULL};
            json_object *o = json_object_new_object();
            json_object_object_add(o, "id", json_object_get(member(out, "id")));
            json_object_object_add(o, "notification_id", json_object_get(member(out, "id")));
            for (const char *const *k = keys; *k; k++) json_object_object_add(o, *k, json_object_get(member(out, *k)));
            zb_host->resp_json(req, 202, o);
            json_object_put(o);
        } else {
            relay(req, status, out, headers);
        }
    }
    json_object_put(in);
    json_object_put(out);
    json_object_put(headers);
}

/* ---- searches ------------------------------------------------------------------------ */

static void find_passes(wp_req *req, void *ud)
{
    (void)ud;
    static const char *const by[] = {"serial_number", "barcode_message", NULL};
    /* the query of a call in process is at most 2047 bytes, like a client's */
    char path[2048 + 16] = "/api/v1/passes?limit=100";
    int given = 0;
    for (const char *const *q = by; *q; q++) {
        char v[2048], enc[2048];
        int r = zb_host->req_query(req, *q, v, sizeof v);
        size_t n = strlen(path);
        if (r > 0 && v[0] && pct(v, enc, sizeof enc)) {
            int w = snprintf(path + n, sizeof path - n, "&%s=%s", *q, enc);
            if (w > 0 && (size_t)w < sizeof path - n && n + (size_t)w < 2048) {
                given++;
                continue;
            }
        }
        if (r == 0 || (r > 0 && !v[0])) continue;
        path[n] = '\0';
        zb_host->resp_error(req, 400, "parameter_invalid", *q, "%s is too long", *q);
        return;
    }
    if (!given) {
        zb_host->resp_error(req, 400, "parameter_missing", "serial_number",
                            "give serial_number or barcode_message to find a pass by");
        return;
    }
    int status;
    json_object *out = NULL, *headers = NULL;
    if (call(req, "GET", path, NULL, &status, &out, &headers)) {
        if (status != 200) {
            relay(req, status, out, headers);
        } else {
            json_object *arr = json_object_new_array(), *data = member(out, "data");
            for (size_t i = 0; data && i < json_object_array_length(data); i++)
                json_object_array_add(arr, zb_flat_pass(json_object_array_get_idx(data, i)));
            zb_host->resp_json(req, 200, arr); /* a miss is [] (Zapier: "nothing found"), never 404 */
            json_object_put(arr);
        }
    }
    json_object_put(out);
    json_object_put(headers);
}

/* ---- templates: dynamic dropdowns and input fields ------------------------------------- */

#define TEMPLATE_PAGES 5 /* the 500 newest templates: a dropdown longer than that is no help */

static void list_templates(wp_req *req, void *ud)
{
    (void)ud;
    json_object *arr = json_object_new_array();
    char after[ZB_ID_MAX + 8] = "";
    for (int page = 0; page < TEMPLATE_PAGES; page++) {
        char path[160];
        snprintf(path, sizeof path, "/api/v1/templates?limit=100%s%s", after[0] ? "&starting_after=" : "", after);
        int status;
        json_object *out = NULL, *headers = NULL;
        if (!call(req, "GET", path, NULL, &status, &out, &headers)) {
            json_object_put(arr);
            return;
        }
        if (status != 200) {
            relay(req, status, out, headers);
            json_object_put(out);
            json_object_put(headers);
            json_object_put(arr);
            return;
        }
        json_object *data = member(out, "data"), *more = member(out, "has_more");
        size_t n = data ? json_object_array_length(data) : 0;
        for (size_t i = 0; i < n; i++) {
            json_object *t = json_object_array_get_idx(data, i), *o = json_object_new_object();
            json_object *pt = member(member(t, "body"), "pass_type");
            json_object_object_add(o, "id", json_object_get(member(t, "id")));
            json_object_object_add(o, "name", json_object_get(member(t, "name")));
            json_object_object_add(o, "pass_type", json_object_new_string(pt ? json_object_get_string(pt) : ""));
            json_object_array_add(arr, o);
            snprintf(after, sizeof after, "%s", json_object_get_string(member(t, "id")));
        }
        int go_on = more && json_object_get_boolean(more) && n > 0;
        json_object_put(out);
        json_object_put(headers);
        if (!go_on) break;
    }
    zb_host->resp_json(req, 200, arr);
    json_object_put(arr);
}

static void template_fields(wp_req *req, void *ud)
{
    (void)ud;
    char enc[256], path[300];
    const char *id = zb_host->req_param(req, "id");
    if (!id || !pct(id, enc, sizeof enc)) {
        zb_host->resp_error(req, 404, "resource_missing", "id", "no such template");
        return;
    }
    snprintf(path, sizeof path, "/api/v1/templates/%s", enc);
    int status;
    json_object *out = NULL, *headers = NULL;
    if (!call(req, "GET", path, NULL, &status, &out, &headers)) return;
    if (status != 200) {
        relay(req, status, out, headers);
    } else {
        /* Zapier's input field definitions: one text input per field of the template, named field_<key> */
        json_object *arr = json_object_new_array(), *body = member(out, "body");
        for (int g = 0; field_groups[g]; g++) {
            json_object *fields = member(body, field_groups[g]);
            for (size_t i = 0; fields && json_object_is_type(fields, json_type_array) &&
                               i < json_object_array_length(fields); i++) {
                json_object *f = json_object_array_get_idx(fields, i), *key = member(f, "key"), *label = member(f, "label");
                json_object *value = member(f, "value");
                if (!key || !json_object_is_type(key, json_type_string)) continue;
                const char *ks = json_object_get_string(key), *vs = value ? json_object_get_string(value) : "none";
                size_t need = strlen(ks) + strlen(vs) + 128;
                char *k = zb_host->req_alloc(req, strlen(ks) + 8), *help = zb_host->req_alloc(req, need);
                if (!k || !help) continue; /* out of memory: the input is left out, the others offered */
                snprintf(k, strlen(ks) + 8, "field_%s", ks);
                snprintf(help, need, "The value of the template's field \"%s\" (%s). Empty: the template's value (%s).",
                         ks, field_groups[g], vs);
                json_object *o = json_object_new_object();
                json_object_object_add(o, "key", json_object_new_string(k));
                json_object_object_add(o, "label", json_object_new_string(
                    label && json_object_is_type(label, json_type_string) && json_object_get_string_len(label)
                        ? json_object_get_string(label) : json_object_get_string(key)));
                json_object_object_add(o, "type", json_object_new_string("string"));
                json_object_object_add(o, "required", json_object_new_boolean(0));
                json_object_object_add(o, "helpText", json_object_new_string(help));
                json_object_array_add(arr, o);
            }
        }
        zb_host->resp_json(req, 200, arr);
        json_object_put(arr);
    }
    json_object_put(out);
    json_object_put(headers);
}

wp_status zb_routes_register(void)
{
    static const struct {
        const char *method, *pattern;
        wp_plugin_route_fn fn;
    } routes[] = {
        {"GET", "/api/v1/zapier/me", me},
        {"POST", "/api/v1/zapier/hooks", subscribe},
        {"DELETE", "/api/v1/zapier/hooks/:id", unsubscribe},
        {"GET", "/api/v1/zapier/events", sample_events},
        {"POST", "/api/v1/zapier/passes", create_pass},
        {"GET", "/api/v1/zapier/passes/find", find_passes},
        {"PUT", "/api/v1/zapier/passes/:id", update_pass},
        {"POST", "/api/v1/zapier/passes/:id/void", void_pass},
        {"POST", "/api/v1/zapier/passes/:id/notify", notify_pass},
        {"GET", "/api/v1/zapier/templates", list_templates},
        {"GET", "/api/v1/zapier/templates/:id/fields", template_fields},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        wp_status st = zb_host->route_add(zb_self, routes[i].method, routes[i].pattern, WP_AUTH_API_KEY, routes[i].fn, NULL);
        if (st != WP_OK) return st;
    }
    return WP_OK;
}
