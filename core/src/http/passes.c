/*
 * passes.c - /api/v1/passes: create, list, read, update, void, notify
 * (docs/api.md "Passes").  See passes.h.
 *
 * Every write is one transaction on the request's connection: the row, the
 * metering count (metering.h), the event (the transactional outbox,
 * events.h) and whatever the `pass.validate` / `pass.links` /
 * `pass.notify.validate` filters write through `req` commit together or not
 * at all.  Checks run in the documented order: 400 (body, then the merged
 * pass, then pass.validate), 404, 402, then the 409s of the pass's state,
 * then (notify) pass.notify.validate's refusals (a platform's limit: 429).
 */
#include "passes.h"

#include <math.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "events.h"
#include "hooks.h"
#include "http.h"
#include "ids.h"
#include "log.h"
#include "metering.h"
#include "pass_schema.h"
#include "domain.h"
#include "timefmt.h"
#include "vault.h"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define PASS_COLS                                                                                        \
    "account_id, id, serial_number, pass_type, status, template_id, body::text, overrides::text, version, " \
    TS("created_at") ", " TS("updated_at") ", " WP_PASS_LIVEMODE_COL ", " WP_PASS_GONE_COL
enum { C_ACCT, C_ID, C_SERIAL, C_TYPE, C_STATUS, C_TPL, C_BODY, C_OVR, C_VERSION, C_CREATED, C_UPDATED, C_LIVE, C_GONE };

#define NOTIFY_MAX_CHARS 4096
#define SERIAL_TRIES 8

static const char *const no_query[] = {NULL};

/* The handlers' dependencies: every route of this file has the domain as its user data. */
static wp_domain *dom_of(const wp_req *req) { return req->route->ud; }

/* ---- rows and resources ---------------------------------------------- */

static json_object *str_or_null(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : json_object_new_string(PQgetvalue(r, row, col));
}

/* The stored JSON of a column (written by us, so json-c's tokener is enough). */
static json_object *col_json(PGresult *r, int row, int col)
{
    json_object *o = json_tokener_parse(PQgetvalue(r, row, col));
    return o ? o : json_object_new_object();
}

/* The API resource of row i; *body_out (may be NULL) receives the body (transferred). */
static json_object *resource_from_row(PGresult *r, int i, json_object **body_out)
{
    json_object *body = col_json(r, i, C_BODY);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(PQgetvalue(r, i, C_ID)));
    json_object_object_add(o, "object", json_object_new_string("pass"));
    json_object_object_add(o, "serial_number", json_object_new_string(PQgetvalue(r, i, C_SERIAL)));
    json_object_object_add(o, "pass_type", json_object_new_string(PQgetvalue(r, i, C_TYPE)));
    /* (the platform plugins' keys go here: links_for) */
    json_object_object_add(o, "share_url", NULL);
    json_object_object_add(o, "status", json_object_new_string(PQgetvalue(r, i, C_STATUS)));
    json_object_object_add(o, "version", json_object_new_int(atoi(PQgetvalue(r, i, C_VERSION))));
    json_object_object_add(o, "template_id", str_or_null(r, i, C_TPL));
    json_object_object_add(o, "created_at", json_object_new_string(PQgetvalue(r, i, C_CREATED)));
    json_object_object_add(o, "updated_at", json_object_new_string(PQgetvalue(r, i, C_UPDATED)));
    json_object_object_add(o, "livemode", json_object_new_boolean(strcmp(PQgetvalue(r, i, C_LIVE), "f") != 0));
    /* The pass's own fields sit next to these; the schema keeps their names apart. */
    json_object_object_foreach(body, k, v) {
        if (json_object_object_get_ex(o, k, NULL)) continue;
        json_object_object_add(o, k, json_object_get(v));
    }
    if (body_out) *body_out = body;
    else json_object_put(body);
    return o;
}

/* The renderer's document of row i (passes.h, wp_pass_load). */
static wp_status loaded_from_row(PGresult *r, int i, json_object **out)
{
    json_object *body = NULL;
    json_object *res = resource_from_row(r, i, &body);
    /* Its account was deleted: links answer 410 (passes.h, WP_PASS_GONE_COL). */
    if (strcmp(PQgetvalue(r, i, C_GONE), "t") == 0) json_object_object_add(res, "account_deleted", json_object_new_boolean(1));
    json_object *ovr = col_json(r, i, C_OVR), *keys = json_object_new_array();
    json_object_object_foreach(ovr, k, v) {
        (void)v;
        json_object_array_add(keys, json_object_new_string(k));
    }
    json_object_put(ovr);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "account_id", json_object_new_string(PQgetvalue(r, i, C_ACCT)));
    json_object_object_add(o, "pass", res);
    json_object_object_add(o, "body", body);
    json_object_object_add(o, "overrides", keys);
    *out = o;
    return WP_OK;
}

/* ---- the platform plugins' keys (pass.links) ---------------------------- */

/* The resource's own keys: a plugin may not set them (the pass's body fields neither). */
static const char *const fixed_keys[] = {"id",     "object",  "serial_number", "pass_type",  "share_url", "status",
                                         "version", "template_id", "created_at", "updated_at", "livemode", NULL};
/* Members of the pass.links document that are not contributed keys. */
static const char *const doc_keys[] = {"schema", "account_id", "pass", "want_links", "share_buttons", NULL};

static int in_list(const char *const *list, const char *k)
{
    for (; *list; list++)
        if (strcmp(*list, k) == 0) return 1;
    return 0;
}

/* A contributed key: 1..64 of [a-z0-9_], starting with a letter, and nobody else's. */
static const char *key_refusal(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > 64 || !(k[0] >= 'a' && k[0] <= 'z') || strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789_") != n)
        return "is not a key name (1..64 of [a-z0-9_], starting with a letter)";
    if (in_list(fixed_keys, k) || wp_pass_field_known(k)) return "is a core field of the pass";
    return NULL;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Puts the contributed keys (doc's other members, sorted by name) into res
 * after pass_type, the rest of res keeping its order: json-c keeps insertion
 * order, so res is emptied and refilled.  Values are strings or null.
 */
static void place_keys(json_object *res, json_object *doc)
{
    const char *names[128];
    size_t nn = 0;
    json_object_object_foreach(doc, dk, dv) {
        (void)dv;
        if (in_list(doc_keys, dk)) continue;
        const char *why = key_refusal(dk);
        if (why) {
            wp_log_warn("pass.links: the key \"%.64s\" %s; left out", dk, why);
            continue;
        }
        if (nn == sizeof names / sizeof names[0]) {
            wp_log_warn("pass.links: more than %zu keys; \"%.64s\" left out", nn, dk);
            continue;
        }
        names[nn++] = dk;
    }
    qsort(names, nn, sizeof names[0], key_cmp);
    /* the current keys, held while res is refilled */
    struct kv { char *k; json_object *v; } *old = NULL;
    size_t no = 0, cap = (size_t)json_object_object_length(res);
    old = cap ? calloc(cap, sizeof *old) : NULL;
    if (cap && !old) {
        wp_log_error("pass.links: out of memory; the platform keys are left out");
        return;
    }
    json_object_object_foreach(res, rk, rv) {
        if (no == cap) break;
        old[no].k = strdup(rk);
        old[no].v = json_object_get(rv);
        no++;
    }
    for (size_t i = 0; i < no; i++)
        if (old[i].k) json_object_object_del(res, old[i].k);
    int placed = 0, after_type = 0;
    for (size_t i = 0; i <= no; i++) {
        /* right after pass_type (at the end, should it be missing) */
        if (!placed && (i == no || after_type)) {
            for (size_t j = 0; j < nn; j++) {
                json_object *v = NULL;
                json_object_object_get_ex(doc, names[j], &v);
                if (v && !json_object_is_type(v, json_type_string)) {
                    wp_log_warn("pass.links: %.64s is not a string; answered null", names[j]);
                    v = NULL;
                }
                json_object_object_add(res, names[j], v ? json_object_new_string(json_object_get_string(v)) : NULL);
            }
            placed = 1;
        }
        if (i == no) break;
        after_type = old[i].k && strcmp(old[i].k, "pass_type") == 0;
        if (old[i].k) json_object_object_add(res, old[i].k, old[i].v);
        else json_object_put(old[i].v);
        free(old[i].k);
    }
    free(old);
}

/*
 * Sets res's share_url (the core's own link, passes.h), then runs `pass.links` over
 * {"schema": 1, "account_id", "pass": <copy of res>, "want_links", "share_buttons": []}
 * and copies the keys the filters added back into res (place_keys).  want_links 0
 * asks plugins for their keys without signing links (template propagation).
 * buttons (may be NULL) receives share_buttons as the filters left it (transferred).
 * req may be NULL (a batch job).
 */
static wp_status links_for(wp_domain *dom, const char *account_id, wp_req *req, json_object *res, int want_links,
                           json_object **buttons, wp_err *err)
{
    if (buttons) *buttons = NULL;
    json_object *idv = NULL;
    char share[1024];
    if (!json_object_object_get_ex(res, "id", &idv) ||
        wp_pass_share_url(dom, account_id, json_object_get_string(idv), share, sizeof share) != WP_OK)
        return wp_err_set(err, WP_EINTERNAL, "the share link of the pass could not be made");
    json_object_object_add(res, "share_url", json_object_new_string(share));
    json_object *copy = NULL;
    if (json_object_deep_copy(res, &copy, NULL) != 0) return wp_err_set(err, WP_ENOMEM, "out of memory");
    json_object *doc = json_object_new_object();
    json_object_object_add(doc, "schema", json_object_new_int(1));
    /* the tenant, for filters run without a request (batch jobs: req is NULL) */
    json_object_object_add(doc, "account_id", json_object_new_string(account_id));
    json_object_object_add(doc, "pass", copy);
    json_object_object_add(doc, "want_links", json_object_new_boolean(want_links));
    json_object_object_add(doc, "share_buttons", json_object_new_array());
    wp_filter_result fr = wp_hooks_run("pass.links", doc, req, err);
    if (fr == WP_FILTER_REJECT) {
        json_object_put(doc);
        return err && err->status != WP_OK ? err->status : WP_EINTERNAL;
    }
    place_keys(res, doc);
    json_object *b = NULL;
    if (buttons && json_object_object_get_ex(doc, "share_buttons", &b) && json_object_is_type(b, json_type_array))
        *buttons = json_object_get(b);
    json_object_put(doc);
    return WP_OK;
}

static wp_status add_links(wp_req *req, json_object *res, wp_err *err)
{
    return links_for(dom_of(req), req->account_id, req, res, 1, NULL, err);
}

/* ---- errors ------------------------------------------------------------ */

/* Sends err, ending the request's transaction first; plan limits are 402. */
static void fail(wp_req *req, const wp_err *err)
{
    if (req->db && PQtransactionStatus(req->db) != PQTRANS_IDLE) wp_db_rollback(req->db);
    if (err->status == WP_ELIMIT && err->code && strcmp(err->code, "plan_limit_reached") == 0) {
        /* param: "plan", or "allocation" for a sub-account's own allowance (metering.h) */
        wp_resp_error(req, 402, "invalid_request_error", "plan_limit_reached", err->param[0] ? err->param : NULL, "%s",
                      err->msg);
        return;
    }
    if (err->code && wp_http_status_for(err->status) < 500) {
        wp_resp_rejected(req, err); /* keeps a filter's or the schema's code */
        return;
    }
    wp_resp_from_err(req, err);
}

static void fail_with(wp_req *req, int status, const char *code, const char *param, const char *msg)
{
    if (req->db && PQtransactionStatus(req->db) != PQTRANS_IDLE) wp_db_rollback(req->db);
    wp_resp_error(req, status, status == 429 ? "rate_limit_error" : "invalid_request_error", code, param, "%s", msg);
}

/* ---- helpers for the handlers --------------------------------------- */

static wp_pass_limits limits_of(const wp_domain *dom)
{
    wp_pass_limits l = {.max_string = dom->cfg->max_string_bytes, .max_image = dom->cfg->max_image_bytes,
                        .max_metadata = dom->cfg->max_metadata_bytes};
    return l;
}

/* Query check, JSON object body, connection.  NULL when a response was sent. */
static PGconn *prologue(wp_req *req, json_object **body)
{
    wp_err err;
    wp_err_clear(&err);
    if (wp_req_query_check(req, no_query, &err) != WP_OK) {
        wp_resp_from_err(req, &err);
        return NULL;
    }
    if (body) {
        if (wp_req_json(req, body, &err) != WP_OK) {
            wp_resp_from_err(req, &err);
            return NULL;
        }
        if (!json_object_is_type(*body, json_type_object)) {
            json_object_put(*body);
            *body = NULL;
            wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", "body",
                          "the body must be a JSON object");
            return NULL;
        }
    }
    PGconn *db = wp_req_db(req, &err);
    if (!db) {
        if (body) {
            json_object_put(*body);
            *body = NULL;
        }
        wp_resp_from_err(req, &err);
    }
    return db;
}

/*
 * Runs `pass.validate` over {"schema": 1, "mode": "create"|"update", "account_id",
 * "pass_id" (null on create), "serial_number" (null until generated),
 * "template_id", "body"}.  A filter may change "body"; the changed body must
 * still pass the schema, and replaces *body.
 */
static wp_status run_validate(wp_domain *dom, const char *account_id, wp_req *req, const char *mode,
                              const char *pass_id, const char *serial, const char *template_id, json_object **body,
                              wp_err *err)
{
    json_object *copy = NULL;
    if (json_object_deep_copy(*body, &copy, NULL) != 0) return wp_err_set(err, WP_ENOMEM, "out of memory");
    json_object *doc = json_object_new_object();
    json_object_object_add(doc, "schema", json_object_new_int(1));
    json_object_object_add(doc, "mode", json_object_new_string(mode));
    json_object_object_add(doc, "account_id", json_object_new_string(account_id));
    json_object_object_add(doc, "pass_id", pass_id ? json_object_new_string(pass_id) : NULL);
    json_object_object_add(doc, "serial_number", serial ? json_object_new_string(serial) : NULL);
    json_object_object_add(doc, "template_id", template_id ? json_object_new_string(template_id) : NULL);
    json_object_object_add(doc, "body", copy);
    wp_filter_result fr = wp_hooks_run("pass.validate", doc, req, err);
    wp_status st = WP_OK;
    if (fr == WP_FILTER_REJECT) {
        st = err->status != WP_OK ? err->status : WP_EINTERNAL;
    } else if (fr == WP_FILTER_MODIFIED) {
        json_object *nb = NULL;
        json_object_object_get_ex(doc, "body", &nb);
        wp_pass_limits lim = limits_of(dom);
        if (!nb) {
            st = wp_err_set(err, WP_EINTERNAL, "a pass.validate filter removed the body");
        } else if ((st = wp_pass_validate(nb, WP_PASS_CREATE, &lim, err)) == WP_OK) {
            json_object_put(*body);
            *body = json_object_get(nb);
        }
    }
    json_object_put(doc);
    return st;
}

/* "SN-" and 8 uppercase letters and digits, uniformly drawn (rejection sampling). */
static wp_status new_serial(char out[12])
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    memcpy(out, "SN-", 3);
    int n = 0;
    while (n < 8) {
        unsigned char b[16];
        if (RAND_bytes(b, sizeof b) != 1) return WP_ECRYPTO;
        for (size_t i = 0; i < sizeof b && n < 8; i++)
            if (b[i] < 252) out[3 + n++] = alphabet[b[i] % 36]; /* 252 = 7 * 36 */
    }
    out[11] = '\0';
    return WP_OK;
}

/* Loads the caller's pass :id, locked for update when `lock`.  0 rows: *r NULL, WP_ENOTFOUND. */
static wp_status select_pass(PGconn *db, const char *account_id, const char *id, int lock, PGresult **r, wp_err *err)
{
    const char *params[] = {account_id, id};
    wp_status st = wp_db_query(db,
                               lock ? "SELECT " PASS_COLS " FROM passes WHERE account_id = $1 AND id = $2 FOR UPDATE"
                                    : "SELECT " PASS_COLS " FROM passes WHERE account_id = $1 AND id = $2",
                               2, params, r, err);
    if (st != WP_OK) return st;
    if (PQntuples(*r) != 1) {
        PQclear(*r);
        *r = NULL;
        return wp_err_param(err, WP_ENOTFOUND, "id", "no pass %s", id);
    }
    return WP_OK;
}

/* Publishes {"schema": 1, "pass": res, ...extra} as `type` in the request's transaction. */
static wp_status publish_on(wp_domain *dom, PGconn *conn, const char *account_id, const char *type,
                            json_object *res, const char *extra_key, json_object *extra, wp_err *err)
{
    json_object *data = json_object_new_object();
    json_object_object_add(data, "schema", json_object_new_int(1));
    json_object_object_add(data, "pass", json_object_get(res));
    if (extra_key) json_object_object_add(data, extra_key, json_object_get(extra));
    wp_status st = wp_events_publish(dom->events, conn, account_id, type, data, NULL, err);
    json_object_put(data);
    return st;
}

static wp_status publish(wp_req *req, const char *type, json_object *res, const char *extra_key, json_object *extra,
                         wp_err *err)
{
    return publish_on(dom_of(req), req->db, req->account_id, type, res, extra_key, extra, err);
}

/* Commits and answers res (the transaction is rolled back on any failure). */
static void commit_and_send(wp_req *req, int status, json_object *res)
{
    wp_err err;
    wp_err_clear(&err);
    if (wp_db_commit(req->db, &err) != WP_OK) {
        fail(req, &err);
        return;
    }
    wp_resp_json(req, status, res);
}

/* ---- POST /api/v1/passes -------------------------------------------- */

/* Loads the caller's live template :tid body into *out.  WP_ENOTFOUND names template_id. */
static wp_status load_template(PGconn *db, const char *account_id, const char *tid, json_object **out, wp_err *err)
{
    const char *params[] = {account_id, tid};
    PGresult *r;
    wp_status st = wp_db_query(db,
                               "SELECT body::text FROM templates WHERE account_id = $1 AND id = $2 AND deleted_at IS NULL",
                               2, params, &r, err);
    if (st != WP_OK) return st;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return wp_err_param(err, WP_ENOTFOUND, "template_id", "no template %s", tid);
    }
    *out = col_json(r, 0, 0);
    PQclear(r);
    if (!json_object_is_type(*out, json_type_object)) {
        json_object_put(*out);
        *out = NULL;
        return wp_err_set(err, WP_EINTERNAL, "template %s has a body that is not an object", tid);
    }
    return WP_OK;
}

/*
 * The effective pass of a create request: the template's body (when
 * template_id names one) with the request's keys over it, nulls removing.
 * Checks the request alone first, so a bad field is a 400 before an
 * unknown template is a 404.  *merged and *overrides are transferred.
 */
static wp_status merge_create(wp_domain *dom, const char *account_id, PGconn *db, json_object *in,
                              json_object **merged, json_object **overrides, wp_err *err)
{
    wp_pass_limits lim = limits_of(dom);
    json_object *tidv = NULL, *base = NULL;
    json_object_object_get_ex(in, "template_id", &tidv);
    int templated = tidv && !json_object_is_type(tidv, json_type_null);
    if (templated) {
        /* each field of the request on its own (update rules: nothing is required yet) */
        json_object *alone = json_object_new_object();
        json_object_object_foreach(in, k, v) {
            if (strcmp(k, "serial_number") != 0) json_object_object_add(alone, k, json_object_get(v));
        }
        wp_status st = wp_pass_validate(alone, WP_PASS_UPDATE, &lim, err);
        json_object_put(alone);
        if (st != WP_OK) return st;
        /* serial_number's own rules, on a stand-in pass (update rules make it read-only) */
        json_object *sv = NULL;
        if (json_object_object_get_ex(in, "serial_number", &sv) && !json_object_is_type(sv, json_type_null)) {
            json_object *only = json_object_new_object();
            json_object_object_add(only, "serial_number", json_object_get(sv));
            json_object_object_add(only, "pass_type", json_object_new_string("generic"));
            json_object_object_add(only, "organization_name", json_object_new_string("x"));
            st = wp_pass_validate(only, WP_PASS_CREATE, &lim, err);
            json_object_put(only);
            if (st != WP_OK) return st;
        }
        if ((st = load_template(db, account_id, json_object_get_string(tidv), &base, err)) != WP_OK) return st;
    } else {
        base = json_object_new_object();
    }
    json_object *ovr = json_object_new_object();
    json_object_object_foreach(in, k, v) {
        if (strcmp(k, "serial_number") != 0 && strcmp(k, "template_id") != 0)
            json_object_object_add(ovr, k, json_object_new_boolean(1));
        if (json_object_is_type(v, json_type_null)) json_object_object_del(base, k);
        else json_object_object_add(base, k, json_object_get(v));
    }
    wp_status st = wp_pass_validate(base, WP_PASS_CREATE, &lim, err);
    if (st != WP_OK) {
        json_object_put(base);
        json_object_put(ovr);
        return st;
    }
    *merged = base;
    *overrides = ovr;
    return WP_OK;
}

wp_status wp_pass_create(wp_domain *dom, PGconn *db, const char *account_id, json_object *in_body,
                         const char *template_id, wp_req *req, json_object **out, wp_err *err)
{
    json_object *in = NULL, *body = NULL, *ovr = NULL, *res = NULL;
    PGresult *r = NULL;
    wp_status st;
    *out = NULL;
    if (!json_object_is_type(in_body, json_type_object))
        return wp_err_param(err, WP_EINVAL, "body", "the pass must be a JSON object");
    /* a shallow copy: the default template is added without touching the caller's body */
    in = json_object_new_object();
    json_object_object_foreach(in_body, ik, iv) json_object_object_add(in, ik, json_object_get(iv));
    if (template_id && !json_object_object_get_ex(in, "template_id", NULL))
        json_object_object_add(in, "template_id", json_object_new_string(template_id));
    if ((st = merge_create(dom, account_id, db, in, &body, &ovr, err)) != WP_OK) goto done;

    /* serial_number and template_id are columns; the body keeps the rest */
    char given_serial[80] = "", tid[80] = "";
    json_object *v;
    if (json_object_object_get_ex(body, "serial_number", &v))
        snprintf(given_serial, sizeof given_serial, "%s", json_object_get_string(v));
    if (json_object_object_get_ex(body, "template_id", &v)) snprintf(tid, sizeof tid, "%s", json_object_get_string(v));
    json_object_object_del(body, "serial_number");
    json_object_object_del(body, "template_id");

    if ((st = run_validate(dom, account_id, req, "create", NULL, given_serial[0] ? given_serial : NULL,
                           tid[0] ? tid : NULL, &body, err)) != WP_OK ||
        (st = wp_meter_check(db, dom->cfg, account_id, 1, err)) != WP_OK)
        goto done;

    char id[WP_ID_MAX];
    if (wp_id_new("pass", id) != WP_OK) {
        st = wp_err_set(err, WP_ECRYPTO, "no randomness for the pass id");
        goto done;
    }

    json_object *pt = NULL;
    json_object_object_get_ex(body, "pass_type", &pt);
    const char *body_s = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
    const char *ovr_s = json_object_to_json_string_ext(ovr, JSON_C_TO_STRING_PLAIN);
    for (int attempt = 0;; attempt++) {
        char serial[16];
        if (!given_serial[0] && new_serial(serial) != WP_OK) {
            st = wp_err_set(err, WP_ECRYPTO, "no randomness for the serial number");
            goto done;
        }
        const char *params[] = {account_id, id, given_serial[0] ? given_serial : serial,
                                json_object_get_string(pt), tid[0] ? tid : NULL, body_s, ovr_s};
        /* ON CONFLICT keeps the transaction usable when the serial number is taken */
        if ((st = wp_db_query(db,
                              "INSERT INTO passes (account_id, id, serial_number, pass_type, template_id, body,"
                              " overrides) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb)"
                              " ON CONFLICT (account_id, serial_number) DO NOTHING RETURNING " PASS_COLS,
                              7, params, &r, err)) != WP_OK)
            goto done;
        if (PQntuples(r) == 1) break;
        PQclear(r);
        r = NULL;
        if (given_serial[0]) {
            wp_err_param(err, WP_ECONFLICT, "serial_number", "a pass with serial_number %s already exists",
                         given_serial);
            st = wp_err_code(err, "serial_number_taken");
            goto done;
        }
        if (attempt + 1 == SERIAL_TRIES) {
            st = wp_err_set(err, WP_EINTERNAL, "no free serial number after %d tries", SERIAL_TRIES);
            goto done;
        }
    }
    res = resource_from_row(r, 0, NULL);
    if ((st = links_for(dom, account_id, req, res, 1, NULL, err)) != WP_OK ||
        (st = publish_on(dom, db, account_id, "pass.created", res, NULL, NULL, err)) != WP_OK ||
        /* last: the counter row stays locked until the caller commits */
        (st = wp_meter_consume(db, dom->cfg, account_id, 1, err)) != WP_OK)
        goto done;
    *out = res;
    res = NULL;
done:
    if (r) PQclear(r);
    json_object_put(res);
    json_object_put(in);
    json_object_put(body);
    json_object_put(ovr);
    return st;
}

static void create_pass(wp_req *req, void *ud)
{
    wp_domain *dom = ud;
    json_object *in = NULL, *res = NULL;
    PGconn *db = prologue(req, &in);
    if (!db) return;
    wp_err err;
    wp_err_clear(&err);
    if (wp_db_begin(db, &err) != WP_OK || wp_pass_create(dom, db, req->account_id, in, NULL, req, &res, &err) != WP_OK)
        fail(req, &err);
    else
        commit_and_send(req, 201, res);
    json_object_put(res);
    json_object_put(in);
}

/* ---- GET /api/v1/passes/:id and GET /api/v1/passes -------------------- */

static void get_pass(wp_req *req, void *ud)
{
    (void)ud;
    PGconn *db = prologue(req, NULL);
    if (!db) return;
    wp_err err;
    wp_err_clear(&err);
    PGresult *r;
    if (select_pass(db, req->account_id, wp_req_param(req, "id"), 0, &r, &err) != WP_OK) {
        fail(req, &err);
        return;
    }
    json_object *res = resource_from_row(r, 0, NULL);
    PQclear(r);
    if (add_links(req, res, &err) != WP_OK) fail(req, &err);
    else wp_resp_json(req, 200, res);
    json_object_put(res);
}

/* created_after / created_before: ISO 8601; a date alone is midnight UTC (the session zone). */
static wp_status time_param(wp_req *req, const char *name, char *buf, size_t len, wp_err *err)
{
    int got = wp_req_query(req, name, buf, len, err);
    if (got < 0) return WP_EINVAL;
    if (got && !wp_iso8601_valid(buf))
        return wp_err_param(err, WP_EINVAL, name, "%s must be an ISO 8601 time (2025-06-01 or 2025-06-01T12:00:00Z)",
                            name);
    if (!got) buf[0] = '\0';
    return WP_OK;
}

/* ---- ?near=lat,lng&radius_m= ------------------------------------------
 *
 * Locations are core pass fields, so the core indexes them: passes_locations
 * (migration 0006) holds (account_id, pass_id, idx, lat, lng) for every
 * locations[i] of every pass, kept by a trigger on passes.body in the same
 * transaction as every write (create, update, template propagation, batch).
 * A query takes the bounding box of the circle on the (account_id, lat, lng)
 * index, then the exact great-circle (haversine) distance on what is left.
 */
#define EARTH_RADIUS_M 6371008.8 /* mean radius (IUGG); tests use the same */
#define NEAR_MAX_RADIUS_M 1000000.0
#define DEG(x) ((x) * 180.0 / M_PI)
#define RAD(x) ((x) * M_PI / 180.0)

typedef struct {
    double lat, lng, radius;
    double lat_lo, lat_hi, lng_lo1, lng_hi1, lng_lo2, lng_hi2; /* the box: one or two longitude ranges */
} near_q;

/* A decimal number: digits, sign, point, exponent only (strtod alone takes "nan", "inf", hex). */
static int parse_decimal(const char *s, size_t n, double *out)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf) return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789+-.eE", buf[i])) return 0;
    char *end;
    double v = strtod(buf, &end);
    if (*end || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

/* Parses near/radius_m.  *on: 0 when neither is given.  400 naming the parameter. */
static wp_status near_param(wp_req *req, near_q *q, int *on, wp_err *err)
{
    char nb[80], rb[40];
    *on = 0;
    int gn = wp_req_query(req, "near", nb, sizeof nb, err), gr = wp_req_query(req, "radius_m", rb, sizeof rb, err);
    if (gn < 0) return wp_err_param(err, WP_EINVAL, "near", "near must be \"latitude,longitude\" (48.8584,2.2945)");
    if (gr < 0) return wp_err_param(err, WP_EINVAL, "radius_m", "radius_m must be a number of metres from 1 to 1000000");
    if (!gn && !gr) return WP_OK;
    if (!gn) return wp_err_param(err, WP_EINVAL, "near", "radius_m needs near=latitude,longitude");
    const char *comma = strchr(nb, ',');
    if (!comma || !parse_decimal(nb, (size_t)(comma - nb), &q->lat) ||
        !parse_decimal(comma + 1, strlen(comma + 1), &q->lng))
        return wp_err_param(err, WP_EINVAL, "near", "near must be \"latitude,longitude\" in decimal degrees (48.8584,2.2945)");
    if (q->lat < -90 || q->lat > 90 || q->lng < -180 || q->lng > 180)
        return wp_err_param(err, WP_EINVAL, "near", "near: latitude must be from -90 to 90 and longitude from -180 to 180");
    if (!gr) return wp_err_param(err, WP_EINVAL, "radius_m", "near needs radius_m (metres, 1 to 1000000)");
    if (!parse_decimal(rb, strlen(rb), &q->radius) || q->radius < 1 || q->radius > NEAR_MAX_RADIUS_M)
        return wp_err_param(err, WP_EINVAL, "radius_m", "radius_m must be a number of metres from 1 to 1000000");
    /* The box: latitude ± the angular radius; longitude ± asin(sin r / cos lat), all of it
     * when the circle reaches a pole, split in two when it crosses the antimeridian. */
    const double eps = 1e-7, r = q->radius / EARTH_RADIUS_M;
    q->lat_lo = q->lat - DEG(r) - eps;
    q->lat_hi = q->lat + DEG(r) + eps;
    q->lng_lo1 = q->lng_lo2 = -180;
    q->lng_hi1 = q->lng_hi2 = 180;
    if (q->lat_lo > -90 && q->lat_hi < 90) {
        double dl = DEG(asin(sin(r) / cos(RAD(q->lat)))) + eps;
        double lo = q->lng - dl, hi = q->lng + dl;
        q->lng_lo1 = q->lng_lo2 = lo;
        q->lng_hi1 = q->lng_hi2 = hi;
        if (lo < -180) {
            q->lng_lo1 = -180;
            q->lng_lo2 = lo + 360;
            q->lng_hi2 = 180;
        } else if (hi > 180) {
            q->lng_hi1 = 180;
            q->lng_lo2 = -180;
            q->lng_hi2 = hi - 360;
        }
    }
    *on = 1;
    return WP_OK;
}

static void list_passes(wp_req *req, void *ud)
{
    (void)ud;
    static const char *const allowed[] = {"limit",         "starting_after", "status",          "pass_type",
                                          "template_id",   "created_after",  "created_before",  "near",
                                          "radius_m",      "serial_number",  "barcode_message", NULL};
    near_q nq = {0}; /* read below only when near_on, but copied into nd[] either way */
    int near_on = 0;
    wp_err err;
    wp_err_clear(&err);
    int limit;
    char after[WP_ID_MAX + 8], status[16] = "", type[16] = "", tid[WP_ID_MAX + 8] = "", from[64], to[64];
    char serial[72] = "", barcode[2048] = ""; /* a serial number has at most 64 bytes; a query at most 2 KiB */
    if (wp_req_query_check(req, allowed, &err) != WP_OK || wp_req_page(req, &limit, after, sizeof after, &err) != WP_OK ||
        wp_req_query(req, "serial_number", serial, sizeof serial, &err) < 0 ||
        wp_req_query(req, "barcode_message", barcode, sizeof barcode, &err) < 0 ||
        wp_req_query(req, "status", status, sizeof status, &err) < 0 ||
        wp_req_query(req, "pass_type", type, sizeof type, &err) < 0 ||
        wp_req_query(req, "template_id", tid, sizeof tid, &err) < 0 ||
        time_param(req, "created_after", from, sizeof from, &err) != WP_OK ||
        time_param(req, "created_before", to, sizeof to, &err) != WP_OK ||
        near_param(req, &nq, &near_on, &err) != WP_OK) {
        wp_resp_from_err(req, &err);
        return;
    }
    if (status[0] && strcmp(status, "active") != 0 && strcmp(status, "voided") != 0) {
        wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", "status",
                      "status must be active or voided");
        return;
    }
    if (type[0] && !wp_pass_type_known(type)) {
        wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", "pass_type",
                      "pass_type must be one of: generic, loyalty, coupon, event");
        return;
    }
    PGconn *db = wp_req_db(req, &err);
    if (!db) {
        wp_resp_from_err(req, &err);
        return;
    }
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit + 1);
    char nv[9][40];
    double nd[9] = {nq.lat, nq.lng, nq.radius, nq.lat_lo, nq.lat_hi, nq.lng_lo1, nq.lng_hi1, nq.lng_lo2, nq.lng_hi2};
    for (int i = 0; near_on && i < 9; i++) snprintf(nv[i], sizeof nv[i], "%.17g", nd[i]);
    const char *params[] = {req->account_id, after[0] ? after : NULL, status[0] ? status : NULL,
                            type[0] ? type : NULL,   tid[0] ? tid : NULL,     from[0] ? from : NULL,
                            to[0] ? to : NULL,       serial[0] ? serial : NULL, barcode[0] ? barcode : NULL,
                            lim,
                            nv[0], nv[1], nv[2], nv[3], nv[4], nv[5], nv[6], nv[7], nv[8]};
#define LIST_FILTERS                                                                                      \
    " AND ($2::text IS NULL OR id < $2)"                                                                  \
    " AND ($3::text IS NULL OR status = $3)"                                                              \
    " AND ($4::text IS NULL OR pass_type = $4)"                                                           \
    " AND ($5::text IS NULL OR template_id = $5)"                                                         \
    " AND ($6::timestamptz IS NULL OR created_at > $6::timestamptz)"                                      \
    " AND ($7::timestamptz IS NULL OR created_at < $7::timestamptz)"                                      \
    " AND ($8::text IS NULL OR serial_number = $8)"                                                       \
    " AND ($9::text IS NULL OR body->>'barcode_message' = $9)"
    PGresult *r;
    wp_status qst;
    if (near_on)
        /* driven by the location index: the box first, then the exact distance */
        qst = wp_db_query(db,
                          "SELECT " PASS_COLS " FROM passes WHERE account_id = $1 AND id IN ("
                          "SELECT l.pass_id FROM passes_locations l WHERE l.account_id = $1"
                          " AND l.lat BETWEEN $14::float8 AND $15::float8"
                          " AND (l.lng BETWEEN $16::float8 AND $17::float8 OR l.lng BETWEEN $18::float8 AND $19::float8)"
                          " AND 2 * 6371008.8 * asin(least(1.0, sqrt(power(sin(radians(l.lat - $11::float8) / 2), 2)"
                          " + cos(radians($11::float8)) * cos(radians(l.lat))"
                          " * power(sin(radians(l.lng - $12::float8) / 2), 2)))) <= $13::float8)" LIST_FILTERS
                          " ORDER BY id DESC LIMIT $10::int",
                          19, params, &r, &err);
    else
        qst = wp_db_query(db, "SELECT " PASS_COLS " FROM passes WHERE account_id = $1" LIST_FILTERS
                              " ORDER BY id DESC LIMIT $10::int",
                          10, params, &r, &err);
#undef LIST_FILTERS
    if (qst != WP_OK) {
        wp_resp_from_err(req, &err);
        return;
    }
    json_object *data = json_object_new_array();
    int n = PQntuples(r);
    for (int i = 0; i < n && i < limit; i++) {
        json_object *res = resource_from_row(r, i, NULL);
        json_object_array_add(data, res);
        if (add_links(req, res, &err) != WP_OK) {
            PQclear(r);
            json_object_put(data);
            fail(req, &err);
            return;
        }
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "object", json_object_new_string("list"));
    json_object_object_add(o, "data", data);
    json_object_object_add(o, "has_more", json_object_new_boolean(n > limit));
    PQclear(r);
    wp_resp_json(req, 200, o);
    json_object_put(o);
}

/* ---- PUT /api/v1/passes/:id ------------------------------------------ */

static void update_pass(wp_req *req, void *ud)
{
    wp_domain *dom = ud;
    json_object *patch = NULL, *body = NULL, *changed = NULL, *res = NULL;
    PGresult *r = NULL, *u = NULL;
    PGconn *db = prologue(req, &patch);
    if (!db) return;
    const char *id = wp_req_param(req, "id");
    wp_err err;
    wp_err_clear(&err);
    wp_status st;
    wp_pass_limits lim = limits_of(dom);
    if ((st = wp_pass_validate(patch, WP_PASS_UPDATE, &lim, &err)) != WP_OK) goto failed;
    if (json_object_object_get_ex(patch, "template_id", NULL)) {
        /* the template a pass came from is history: copy fields instead */
        st = wp_err_param(&err, WP_EINVAL, "template_id", "template_id is read-only: it names the template the pass was "
                                                          "created from");
        goto failed;
    }
    if ((st = wp_db_begin(db, &err)) != WP_OK || (st = select_pass(db, req->account_id, id, 1, &r, &err)) != WP_OK)
        goto failed;
    /* The stored keys the patch leaves alone come first, the patch's after them, so an
     * error the merged pass has (a duplicate field key) names the field being sent. */
    json_object *stored = col_json(r, 0, C_BODY);
    body = json_object_new_object();
    changed = json_object_new_array();
    json_object_object_foreach(stored, sk, sv) {
        if (!json_object_object_get_ex(patch, sk, NULL)) json_object_object_add(body, sk, json_object_get(sv));
    }
    json_object_object_foreach(patch, k, v) {
        json_object *old = NULL;
        int had = json_object_object_get_ex(stored, k, &old);
        if (!json_object_is_type(v, json_type_null)) json_object_object_add(body, k, json_object_get(v));
        if (had ? json_object_is_type(v, json_type_null) || !json_object_equal(old, v) : !json_object_is_type(v, json_type_null))
            json_object_array_add(changed, json_object_new_string(k));
    }
    json_object_put(stored);
    if ((st = wp_pass_validate(body, WP_PASS_CREATE, &lim, &err)) != WP_OK) goto failed;
    int voided = strcmp(PQgetvalue(r, 0, C_STATUS), "voided") == 0;
    if (json_object_array_length(changed) == 0) {
        if (voided) goto voided;
        /* unchanged content: no version, no operation, no event */
        res = resource_from_row(r, 0, NULL);
        if ((st = add_links(req, res, &err)) != WP_OK) goto failed;
        commit_and_send(req, 200, res);
        goto done;
    }
    if ((st = run_validate(dom, req->account_id, req, "update", id, PQgetvalue(r, 0, C_SERIAL), PQgetisnull(r, 0, C_TPL) ? NULL
                                                                                                  : PQgetvalue(r, 0, C_TPL),
                           &body, &err)) != WP_OK ||
        (st = wp_meter_check(db, dom->cfg, req->account_id, 1, &err)) != WP_OK)
        goto failed;
    if (voided) goto voided;
    json_object *ovr = json_object_new_object();
    for (size_t i = 0; i < json_object_array_length(changed); i++)
        json_object_object_add(ovr, json_object_get_string(json_object_array_get_idx(changed, i)),
                               json_object_new_boolean(1));
    json_object *pt = NULL;
    json_object_object_get_ex(body, "pass_type", &pt);
    const char *params[] = {req->account_id, id, json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN),
                            json_object_get_string(pt), json_object_to_json_string_ext(ovr, JSON_C_TO_STRING_PLAIN)};
    st = wp_db_query(db,
                     "UPDATE passes SET body = $3::jsonb, pass_type = $4, overrides = overrides || $5::jsonb,"
                     " version = version + 1, updated_at = greatest(now(), updated_at + interval '1 millisecond')"
                     " WHERE account_id = $1 AND id = $2 RETURNING " PASS_COLS,
                     5, params, &u, &err);
    json_object_put(ovr);
    if (st != WP_OK) goto failed;
    res = resource_from_row(u, 0, NULL);
    if ((st = add_links(req, res, &err)) != WP_OK ||
        (st = publish(req, "pass.updated", res, "changed", changed, &err)) != WP_OK ||
        /* last: the counter row stays locked until the commit */
        (st = wp_meter_consume(db, dom->cfg, req->account_id, 1, &err)) != WP_OK)
        goto failed;
    commit_and_send(req, 200, res);
    goto done;
voided:
    fail_with(req, 409, "pass_voided", "status", "the pass is voided; a voided pass cannot be changed");
    goto done;
failed:
    fail(req, &err);
done:
    if (r) PQclear(r);
    if (u) PQclear(u);
    json_object_put(res);
    json_object_put(patch);
    json_object_put(body);
    json_object_put(changed);
}

/* ---- DELETE /api/v1/passes/:id ---------------------------------------- */

static void void_pass(wp_req *req, void *ud)
{
    (void)ud;
    PGconn *db = prologue(req, NULL);
    if (!db) return;
    const char *id = wp_req_param(req, "id");
    wp_err err;
    wp_err_clear(&err);
    PGresult *r = NULL;
    json_object *res = NULL;
    wp_status st;
    if ((st = wp_db_begin(db, &err)) != WP_OK || (st = select_pass(db, req->account_id, id, 1, &r, &err)) != WP_OK)
        goto failed;
    if (strcmp(PQgetvalue(r, 0, C_STATUS), "voided") != 0) {
        PQclear(r);
        r = NULL;
        const char *params[] = {req->account_id, id};
        if ((st = wp_db_query(db,
                              "UPDATE passes SET status = 'voided', version = version + 1,"
                              " updated_at = greatest(now(), updated_at + interval '1 millisecond')"
                              " WHERE account_id = $1 AND id = $2 RETURNING " PASS_COLS,
                              2, params, &r, &err)) != WP_OK)
            goto failed;
        res = resource_from_row(r, 0, NULL);
        if ((st = add_links(req, res, &err)) != WP_OK || (st = publish(req, "pass.voided", res, NULL, NULL, &err)) != WP_OK)
            goto failed;
    } else {
        /* voiding again changes nothing */
        res = resource_from_row(r, 0, NULL);
        if ((st = add_links(req, res, &err)) != WP_OK) goto failed;
    }
    commit_and_send(req, 200, res);
    goto done;
failed:
    fail(req, &err);
done:
    if (r) PQclear(r);
    json_object_put(res);
}

/* ---- POST /api/v1/passes/:id/notify ----------------------------------- */

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

/*
 * Runs `pass.notify.validate` over {"schema": 1, "account_id", "pass": <copy of
 * res>, "message", "notifications_today", "day_ends_in_s"}: the notifications
 * of this pass accepted since 00:00 UTC and the seconds until the next UTC day,
 * so a platform plugin can hold its wallet's daily limits (docs/plugins.md).  The
 * pass row is locked by the caller, so concurrent notifications count exactly.
 */
static wp_status run_notify_validate(wp_req *req, json_object *res, const char *message, wp_err *err)
{
    json_object *idv = NULL;
    json_object_object_get_ex(res, "id", &idv);
    const char *p[] = {req->account_id, json_object_get_string(idv)};
    PGresult *c = NULL;
    wp_status st = wp_db_query(req->db,
                               "SELECT count(*), extract(epoch FROM date_trunc('day', now()) + interval '1 day' - now())::int"
                               " FROM pass_notifications WHERE account_id = $1 AND pass_id = $2"
                               " AND created_at >= date_trunc('day', now())",
                               2, p, &c, err);
    if (st != WP_OK) return st;
    json_object *copy = NULL;
    if (json_object_deep_copy(res, &copy, NULL) != 0) {
        PQclear(c);
        return wp_err_set(err, WP_ENOMEM, "out of memory");
    }
    int ends = atoi(PQgetvalue(c, 0, 1));
    json_object *doc = json_object_new_object();
    json_object_object_add(doc, "schema", json_object_new_int(1));
    json_object_object_add(doc, "account_id", json_object_new_string(req->account_id));
    json_object_object_add(doc, "pass", copy);
    json_object_object_add(doc, "message", json_object_new_string(message));
    json_object_object_add(doc, "notifications_today", json_object_new_int(atoi(PQgetvalue(c, 0, 0))));
    json_object_object_add(doc, "day_ends_in_s", json_object_new_int(ends > 0 ? ends : 1));
    PQclear(c);
    wp_filter_result fr = wp_hooks_run("pass.notify.validate", doc, req, err);
    json_object_put(doc);
    if (fr == WP_FILTER_REJECT) return err->status != WP_OK ? err->status : WP_EINTERNAL;
    return WP_OK;
}

static void notify_pass(wp_req *req, void *ud)
{
    wp_domain *dom = ud;
    json_object *in = NULL, *res = NULL, *out = NULL;
    PGresult *r = NULL, *c = NULL;
    PGconn *db = prologue(req, &in);
    if (!db) return;
    const char *id = wp_req_param(req, "id");
    wp_err err;
    wp_err_clear(&err);
    wp_status st;
    const char *message = NULL;
    json_object_object_foreach(in, k, v) {
        if (strcmp(k, "message") != 0) {
            fail_with(req, 400, "parameter_unknown", k, "unknown field: a notification takes only \"message\"");
            goto done;
        }
        if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0 ||
            utf8_chars(json_object_get_string(v)) > NOTIFY_MAX_CHARS) {
            fail_with(req, 400, "parameter_invalid", "message", "message must be a string of 1 to 4096 characters");
            goto done;
        }
        message = json_object_get_string(v);
    }
    if (!message) {
        fail_with(req, 400, "parameter_missing", "message", "message is required");
        goto done;
    }
    if ((st = wp_db_begin(db, &err)) != WP_OK || (st = select_pass(db, req->account_id, id, 1, &r, &err)) != WP_OK ||
        (st = wp_meter_check(db, dom->cfg, req->account_id, 1, &err)) != WP_OK)
        goto failed;
    if (strcmp(PQgetvalue(r, 0, C_STATUS), "voided") == 0) {
        fail_with(req, 409, "pass_voided", "status", "the pass is voided; its holders cannot be notified");
        goto done;
    }
    res = resource_from_row(r, 0, NULL);
    if ((st = add_links(req, res, &err)) != WP_OK || (st = run_notify_validate(req, res, message, &err)) != WP_OK)
        goto failed;
    char nid[WP_ID_MAX];
    if (wp_id_new("ntf", nid) != WP_OK) {
        st = wp_err_set(&err, WP_ECRYPTO, "no randomness for the notification id");
        goto failed;
    }
    const char *p3[] = {req->account_id, nid, id, message};
    if ((st = wp_db_query(db,
                          "INSERT INTO pass_notifications (account_id, id, pass_id, message) VALUES ($1, $2, $3, $4)"
                          " RETURNING " TS("created_at"),
                          4, p3, &c, &err)) != WP_OK)
        goto failed;
    json_object *data = json_object_new_object();
    json_object_object_add(data, "schema", json_object_new_int(1));
    json_object_object_add(data, "pass", json_object_get(res));
    json_object_object_add(data, "message", json_object_new_string(message));
    json_object_object_add(data, "notification_id", json_object_new_string(nid));
    st = wp_events_publish(dom->events, db, req->account_id, "pass.notify", data, NULL, &err);
    json_object_put(data);
    if (st == WP_OK) st = wp_meter_consume(db, dom->cfg, req->account_id, 1, &err); /* last: see create */
    if (st != WP_OK) goto failed;
    out = json_object_new_object();
    json_object_object_add(out, "id", json_object_new_string(nid));
    json_object_object_add(out, "object", json_object_new_string("pass_notification"));
    json_object_object_add(out, "pass_id", json_object_new_string(id));
    json_object_object_add(out, "message", json_object_new_string(message));
    json_object_object_add(out, "status", json_object_new_string("queued"));
    json_object_object_add(out, "created_at", json_object_new_string(PQgetvalue(c, 0, 0)));
    commit_and_send(req, 202, out);
    goto done;
failed:
    fail(req, &err);
done:
    if (r) PQclear(r);
    if (c) PQclear(c);
    json_object_put(in);
    json_object_put(res);
    json_object_put(out);
}

/* ---- helpers for plugins ---------------------------------------------- */

static PGconn *conn_for(wp_domain *dom, PGconn *conn, int *pooled, wp_err *err)
{
    *pooled = 0;
    if (conn) return conn;
    *pooled = 1;
    return wp_db_acquire(dom->db, err);
}

wp_status wp_pass_load(wp_domain *dom, PGconn *conn, const char *account_id, const char *pass_id, json_object **out,
                       wp_err *err)
{
    *out = NULL;
    int pooled;
    PGconn *db = conn_for(dom, conn, &pooled, err);
    if (!db) return err ? err->status : WP_EUNAVAIL;
    PGresult *r;
    wp_status st = select_pass(db, account_id, pass_id, 0, &r, err);
    if (st == WP_OK) {
        st = loaded_from_row(r, 0, out);
        PQclear(r);
    }
    if (pooled) wp_db_release(dom->db, db);
    return st;
}

static void link_data(char *out, size_t len, const char *account_id, const char *pass_id)
{
    snprintf(out, len, "%s/%s", account_id, pass_id);
}

wp_status wp_pass_cap_token(wp_domain *dom, const char *purpose, const char *account_id, const char *pass_id,
                            char out[WP_PASS_LINK_TOKEN_LEN + 1])
{
    char data[200];
    link_data(data, sizeof data, account_id, pass_id);
    return wp_vault_mac(dom->vault, purpose, data, out, WP_PASS_LINK_TOKEN_LEN + 1);
}

wp_status wp_pass_cap_verify(wp_domain *dom, const char *purpose, const char *account_id, const char *pass_id,
                             const char *token)
{
    char data[200];
    link_data(data, sizeof data, account_id, pass_id);
    return wp_vault_mac_verify(dom->vault, purpose, data, token) == WP_OK ? WP_OK : WP_ENOTFOUND;
}

wp_status wp_pass_link_token(wp_domain *dom, const char *account_id, const char *pass_id,
                             char out[WP_PASS_LINK_TOKEN_LEN + 1])
{
    return wp_pass_cap_token(dom, WP_PASS_LINK_PURPOSE, account_id, pass_id, out);
}

wp_status wp_pass_link_verify(wp_domain *dom, const char *account_id, const char *pass_id, const char *token)
{
    return wp_pass_cap_verify(dom, WP_PASS_LINK_PURPOSE, account_id, pass_id, token);
}

wp_status wp_pass_share_token(wp_domain *dom, const char *account_id, const char *pass_id,
                              char out[WP_PASS_LINK_TOKEN_LEN + 1])
{
    char data[200];
    link_data(data, sizeof data, account_id, pass_id);
    return wp_vault_mac(dom->vault, "share-link", data, out, WP_PASS_LINK_TOKEN_LEN + 1);
}

static wp_status share_verify(wp_domain *dom, const char *account_id, const char *pass_id, const char *token)
{
    char data[200];
    link_data(data, sizeof data, account_id, pass_id);
    return wp_vault_mac_verify(dom->vault, "share-link", data, token) == WP_OK ? WP_OK : WP_ENOTFOUND;
}

wp_status wp_pass_share_url(wp_domain *dom, const char *account_id, const char *pass_id, char *out, size_t len)
{
    char tok[WP_PASS_LINK_TOKEN_LEN + 1];
    wp_status st = wp_pass_share_token(dom, account_id, pass_id, tok);
    if (st != WP_OK) return st;
    int n = snprintf(out, len, "%s/p/%s.%s", dom->cfg->public_url, pass_id, tok);
    OPENSSL_cleanse(tok, sizeof tok);
    return n > 0 && (size_t)n < len ? WP_OK : WP_EINVAL;
}

wp_status wp_pass_links(wp_domain *dom, const char *account_id, wp_req *req, json_object *res, int want_links,
                        json_object **share_buttons, wp_err *err)
{
    return links_for(dom, account_id, req, res, want_links, share_buttons, err);
}

/* The pass named by a capability, whichever account owns it: verify says which token fits. */
static wp_status load_by_capability(wp_domain *dom, PGconn *conn, const char *pass_id, const char *token,
                                    wp_status (*verify)(wp_domain *, const char *, const char *, const char *),
                                    json_object **out, wp_err *err)
{
    *out = NULL;
    int pooled;
    PGconn *db = conn_for(dom, conn, &pooled, err);
    if (!db) return err ? err->status : WP_EUNAVAIL;
    const char *params[] = {pass_id};
    PGresult *r;
    wp_status st = wp_db_query(db, "SELECT " PASS_COLS " FROM passes WHERE id = $1", 1, params, &r, err);
    if (st == WP_OK) {
        st = wp_err_param(err, WP_ENOTFOUND, "id", "no pass %s, or the link is not valid", pass_id);
        /* ids are unique in practice; the token decides which account's pass it names */
        for (int i = 0; i < PQntuples(r); i++) {
            if (verify(dom, PQgetvalue(r, i, C_ACCT), pass_id, token) != WP_OK) continue;
            if (err) wp_err_clear(err);
            st = loaded_from_row(r, i, out);
            break;
        }
        PQclear(r);
    }
    if (pooled) wp_db_release(dom->db, db);
    return st;
}

wp_status wp_pass_load_by_link(wp_domain *dom, PGconn *conn, const char *pass_id, const char *token,
                               json_object **out, wp_err *err)
{
    return load_by_capability(dom, conn, pass_id, token, wp_pass_link_verify, out, err);
}

wp_status wp_pass_load_by_share(wp_domain *dom, PGconn *conn, const char *pass_id, const char *token,
                                json_object **out, wp_err *err)
{
    return load_by_capability(dom, conn, pass_id, token, share_verify, out, err);
}

/* ---- routes ------------------------------------------------------------ */

wp_status wp_passes_routes(wp_router *rt, wp_domain *dom, wp_err *err)
{
    wp_status st;
    if ((st = wp_router_add(rt, "POST", "/api/v1/passes", WP_AUTH_API_KEY, create_pass, dom, "core", err)) ||
        (st = wp_router_add(rt, "GET", "/api/v1/passes", WP_AUTH_API_KEY, list_passes, dom, "core", err)) ||
        (st = wp_router_add(rt, "GET", "/api/v1/passes/:id", WP_AUTH_API_KEY, get_pass, dom, "core", err)) ||
        (st = wp_router_add(rt, "PUT", "/api/v1/passes/:id", WP_AUTH_API_KEY, update_pass, dom, "core", err)) ||
        (st = wp_router_add(rt, "DELETE", "/api/v1/passes/:id", WP_AUTH_API_KEY, void_pass, dom, "core", err)) ||
        (st = wp_router_add(rt, "POST", "/api/v1/passes/:id/notify", WP_AUTH_API_KEY, notify_pass, dom, "core", err)))
        return st;
    return WP_OK;
}
