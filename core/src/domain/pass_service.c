/*
 * pass_service.c - the pass rules (see pass_service.h): rows and resources,
 * the platform plugins' keys, create, read, list, update, void, notify, and
 * the link and share capabilities.
 */
#include "pass_service.h"

#include <math.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "docmemo.h"
#include "events.h"
#include "hooks.h"
#include "ids.h"
#include "log.h"
#include "metering.h"
#include "passcache.h"
#include "vault.h"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define PASS_COLS                                                                                        \
    "account_id, id, serial_number, pass_type, status, template_id, body::text, overrides::text, version, " \
    TS("created_at") ", " TS("updated_at") ", " WP_PASS_LIVEMODE_COL ", " WP_PASS_GONE_COL
enum { C_ACCT, C_ID, C_SERIAL, C_TYPE, C_STATUS, C_TPL, C_BODY, C_OVR, C_VERSION, C_CREATED, C_UPDATED, C_LIVE, C_GONE };

#define SERIAL_TRIES 8

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

/* The renderer's document of row i (pass_service.h, wp_pass_load). */
static wp_status loaded_from_row(PGresult *r, int i, json_object **out)
{
    json_object *body = NULL;
    json_object *res = resource_from_row(r, i, &body);
    /* Its account was deleted: links answer 410 (pass_service.h, WP_PASS_GONE_COL). */
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
    if (nn == 0) return; /* nothing to place: res keeps its order as it is */
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
 * Sets res's share_url (the core's own link, pass_service.h), then runs `pass.links` over
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
    if (!buttons && wp_hooks_count("pass.links") == 0) return WP_OK; /* no filter to ask (no platform plugin) */
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
        wp_pass_limits lim = wp_pass_limits_of(dom);
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

/* The pass, and (with a current memo) the credential stamps of its account in the same query. */
static wp_status select_pass_memo(wp_domain *dom, PGconn *db, const char *account_id, const char *id, PGresult **r,
                                  wp_err *err)
{
    if (!wp_cred_memo_current()) return select_pass(db, account_id, id, 0, r, err);
    /* In a request the row may come from memory (passcache.h); a missing pass is never kept, and
     * a transaction that may have written reads its own */
    if (PQtransactionStatus(db) != PQTRANS_IDLE || !wp_passcache_get(dom, account_id, id, r)) {
        uint64_t gen = wp_passcache_generation(dom);
        const char *params[] = {account_id, id};
        wp_status st = wp_db_query(
            db, "SELECT " PASS_COLS ", " WP_CRED_STAMPS_SQL " FROM passes WHERE account_id = $1 AND id = $2", 2,
            params, r, err);
        if (st != WP_OK) return st;
        if (PQntuples(*r) != 1) {
            PQclear(*r);
            *r = NULL;
            return wp_err_param(err, WP_ENOTFOUND, "id", "no pass %s", id);
        }
        if (PQtransactionStatus(db) == PQTRANS_IDLE) wp_passcache_put(dom, account_id, id, *r, gen);
    }
    wp_cred_memo_fill(account_id, PQgetisnull(*r, 0, C_GONE + 1) ? NULL : PQgetvalue(*r, 0, C_GONE + 1));
    return WP_OK;
}

/* PASS_COLS and, last, the credential stamps of account $1 (credmemo.h), for a write's RETURNING. */
#define PASS_COLS_MEMO PASS_COLS ", " WP_CRED_STAMPS_SQL

/* Fills the request's memo from a PASS_COLS_MEMO row, so the pass.links filters need no query. */
static void memo_from_row(PGresult *r, const char *account_id)
{
    if (PQntuples(r) == 1 && PQnfields(r) == C_GONE + 2)
        wp_cred_memo_fill(account_id, PQgetisnull(r, 0, C_GONE + 1) ? NULL : PQgetvalue(r, 0, C_GONE + 1));
}

/* Publishes {"schema": 1, "pass": res, ...extra} as `type` in the caller's transaction. */
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

/* ---- create ------------------------------------------------------------------ */

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
    wp_pass_limits lim = wp_pass_limits_of(dom);
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
    wp_meter_read meter = {0}; /* the check's read, for the count at the end */
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
        (st = wp_meter_check_read(db, dom->cfg, account_id, 1, &meter, err)) != WP_OK)
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
                              " ON CONFLICT (account_id, serial_number) DO NOTHING RETURNING " PASS_COLS_MEMO,
                              7, params, &r, err)) != WP_OK)
            goto done;
        if (PQntuples(r) == 1) {
            memo_from_row(r, account_id);
            break;
        }
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
        (st = wp_meter_consume_read(db, dom->cfg, account_id, 1, &meter, err)) != WP_OK)
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

/* ---- read ------------------------------------------------------------------- */

wp_status wp_pass_get(wp_domain *dom, PGconn *db, const char *account_id, const char *pass_id, wp_req *req,
                      json_object **out, wp_err *err)
{
    *out = NULL;
    PGresult *r;
    wp_status st = select_pass_memo(dom, db, account_id, pass_id, &r, err);
    if (st != WP_OK) return st;
    json_object *res = resource_from_row(r, 0, NULL);
    PQclear(r);
    if ((st = links_for(dom, account_id, req, res, 1, NULL, err)) != WP_OK) {
        json_object_put(res);
        return st;
    }
    *out = res;
    return WP_OK;
}

/* ---- list (and ?near=) -------------------------------------------------------
 *
 * Locations are core pass fields, so the core indexes them: passes_locations
 * (migration 0006) holds (account_id, pass_id, idx, lat, lng) for every
 * locations[i] of every pass, kept by a trigger on passes.body in the same
 * transaction as every write (create, update, template propagation, batch).
 * A query takes the bounding box of the circle on the (account_id, lat, lng)
 * index, then the exact great-circle (haversine) distance on what is left.
 */
#define EARTH_RADIUS_M 6371008.8 /* mean radius (IUGG); tests use the same */
#define DEG(x) ((x) * 180.0 / M_PI)
#define RAD(x) ((x) * M_PI / 180.0)

/* The box: one or two longitude ranges. */
typedef struct {
    double lat_lo, lat_hi, lng_lo1, lng_hi1, lng_lo2, lng_hi2;
} near_box;

/* Latitude ± the angular radius; longitude ± asin(sin r / cos lat), all of it
 * when the circle reaches a pole, split in two when it crosses the antimeridian. */
static near_box box_of(double lat, double lng, double radius)
{
    near_box b;
    const double eps = 1e-7, r = radius / EARTH_RADIUS_M;
    b.lat_lo = lat - DEG(r) - eps;
    b.lat_hi = lat + DEG(r) + eps;
    b.lng_lo1 = b.lng_lo2 = -180;
    b.lng_hi1 = b.lng_hi2 = 180;
    if (b.lat_lo > -90 && b.lat_hi < 90) {
        double dl = DEG(asin(sin(r) / cos(RAD(lat)))) + eps;
        double lo = lng - dl, hi = lng + dl;
        b.lng_lo1 = b.lng_lo2 = lo;
        b.lng_hi1 = b.lng_hi2 = hi;
        if (lo < -180) {
            b.lng_lo1 = -180;
            b.lng_lo2 = lo + 360;
            b.lng_hi2 = 180;
        } else if (hi > 180) {
            b.lng_hi1 = 180;
            b.lng_lo2 = -180;
            b.lng_hi2 = hi - 360;
        }
    }
    return b;
}

wp_status wp_pass_list(wp_domain *dom, PGconn *db, const char *account_id, const wp_pass_query *q, wp_req *req,
                       json_object **data, bool *has_more, wp_err *err)
{
    *data = NULL;
    *has_more = false;
    char lim[16];
    snprintf(lim, sizeof lim, "%d", q->limit + 1);
    char nv[9][40];
    if (q->near) {
        near_box b = box_of(q->lat, q->lng, q->radius_m);
        double nd[9] = {q->lat, q->lng, q->radius_m, b.lat_lo, b.lat_hi, b.lng_lo1, b.lng_hi1, b.lng_lo2, b.lng_hi2};
        for (int i = 0; i < 9; i++) snprintf(nv[i], sizeof nv[i], "%.17g", nd[i]);
    }
    const char *params[] = {account_id,      q->starting_after, q->status,        q->pass_type, q->template_id,
                            q->created_after, q->created_before, q->serial_number, q->barcode_message, lim,
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
    wp_status st;
    /* In a request, the credentials' stamps come with the page (credmemo.h): the links of its
     * passes then take the credentials from memory instead of reading and opening them. */
    int stamps = wp_cred_memo_current() != NULL;
#define LIST_COLS(with_stamps) "SELECT " PASS_COLS with_stamps " FROM passes"
#define LIST_NEAR(cols)                                                                                              \
    cols " WHERE account_id = $1 AND id IN ("                                                                        \
         "SELECT l.pass_id FROM passes_locations l WHERE l.account_id = $1"                                          \
         " AND l.lat BETWEEN $14::float8 AND $15::float8"                                                            \
         " AND (l.lng BETWEEN $16::float8 AND $17::float8 OR l.lng BETWEEN $18::float8 AND $19::float8)"             \
         " AND 2 * 6371008.8 * asin(least(1.0, sqrt(power(sin(radians(l.lat - $11::float8) / 2), 2)"                 \
         " + cos(radians($11::float8)) * cos(radians(l.lat))"                                                        \
         " * power(sin(radians(l.lng - $12::float8) / 2), 2)))) <= $13::float8)" LIST_FILTERS                        \
         " ORDER BY id DESC LIMIT $10::int"
#define LIST_ALL(cols) cols " WHERE account_id = $1" LIST_FILTERS " ORDER BY id DESC LIMIT $10::int"
    if (q->near)
        /* driven by the location index: the box first, then the exact distance */
        st = wp_db_query(db,
                         stamps ? LIST_NEAR(LIST_COLS(", " WP_CRED_STAMPS_SQL)) : LIST_NEAR(LIST_COLS("")), 19, params,
                         &r, err);
    else
        st = wp_db_query(db, stamps ? LIST_ALL(LIST_COLS(", " WP_CRED_STAMPS_SQL)) : LIST_ALL(LIST_COLS("")), 10,
                         params, &r, err);
#undef LIST_COLS
#undef LIST_NEAR
#undef LIST_ALL
#undef LIST_FILTERS
    if (st != WP_OK) return st;
    json_object *arr = json_object_new_array();
    int n = PQntuples(r);
    if (stamps && n > 0 && PQnfields(r) == C_GONE + 2)
        wp_cred_memo_fill(account_id, PQgetisnull(r, 0, C_GONE + 1) ? NULL : PQgetvalue(r, 0, C_GONE + 1));
    for (int i = 0; i < n && i < q->limit; i++) {
        json_object *res = resource_from_row(r, i, NULL);
        json_object_array_add(arr, res);
        if ((st = links_for(dom, account_id, req, res, 1, NULL, err)) != WP_OK) {
            PQclear(r);
            json_object_put(arr);
            return st;
        }
    }
    PQclear(r);
    *data = arr;
    *has_more = n > q->limit;
    return WP_OK;
}

/* ---- update ------------------------------------------------------------------ */

static wp_status voided_err(wp_err *err, const char *what)
{
    wp_err_param(err, WP_ECONFLICT, "status", "the pass is voided; %s", what);
    return wp_err_code(err, "pass_voided");
}

wp_status wp_pass_update(wp_domain *dom, PGconn *db, const char *account_id, const char *id, json_object *patch,
                         wp_req *req, json_object **out, wp_err *err)
{
    json_object *body = NULL, *changed = NULL, *res = NULL;
    PGresult *r = NULL, *u = NULL;
    wp_status st;
    *out = NULL;
    wp_meter_read meter = {0}; /* the check's read, for the count at the end */
    wp_pass_limits lim = wp_pass_limits_of(dom);
    if ((st = wp_pass_validate(patch, WP_PASS_UPDATE, &lim, err)) != WP_OK) goto done;
    if (json_object_object_get_ex(patch, "template_id", NULL)) {
        /* the template a pass came from is history: copy fields instead */
        st = wp_err_param(err, WP_EINVAL, "template_id", "template_id is read-only: it names the template the pass was "
                                                         "created from");
        goto done;
    }
    if ((st = select_pass(db, account_id, id, 1, &r, err)) != WP_OK) goto done;
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
    if ((st = wp_pass_validate(body, WP_PASS_CREATE, &lim, err)) != WP_OK) goto done;
    int voided = strcmp(PQgetvalue(r, 0, C_STATUS), "voided") == 0;
    const char *cannot = "a voided pass cannot be changed";
    if (json_object_array_length(changed) == 0) {
        if (voided) {
            st = voided_err(err, cannot);
            goto done;
        }
        /* unchanged content: no version, no operation, no event */
        res = resource_from_row(r, 0, NULL);
        if ((st = links_for(dom, account_id, req, res, 1, NULL, err)) != WP_OK) goto done;
        goto answer;
    }
    if ((st = run_validate(dom, account_id, req, "update", id, PQgetvalue(r, 0, C_SERIAL),
                           PQgetisnull(r, 0, C_TPL) ? NULL : PQgetvalue(r, 0, C_TPL), &body, err)) != WP_OK ||
        (st = wp_meter_check_read(db, dom->cfg, account_id, 1, &meter, err)) != WP_OK)
        goto done;
    if (voided) {
        st = voided_err(err, cannot);
        goto done;
    }
    json_object *ovr = json_object_new_object();
    for (size_t i = 0; i < json_object_array_length(changed); i++)
        json_object_object_add(ovr, json_object_get_string(json_object_array_get_idx(changed, i)),
                               json_object_new_boolean(1));
    json_object *pt = NULL;
    json_object_object_get_ex(body, "pass_type", &pt);
    const char *params[] = {account_id, id, json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN),
                            json_object_get_string(pt), json_object_to_json_string_ext(ovr, JSON_C_TO_STRING_PLAIN)};
    st = wp_db_query(db,
                     "UPDATE passes SET body = $3::jsonb, pass_type = $4, overrides = overrides || $5::jsonb,"
                     " version = version + 1, updated_at = greatest(now(), updated_at + interval '1 millisecond')"
                     " WHERE account_id = $1 AND id = $2 RETURNING " PASS_COLS_MEMO,
                     5, params, &u, err);
    json_object_put(ovr);
    if (st != WP_OK) goto done;
    memo_from_row(u, account_id);
    res = resource_from_row(u, 0, NULL);
    if ((st = links_for(dom, account_id, req, res, 1, NULL, err)) != WP_OK ||
        (st = publish_on(dom, db, account_id, "pass.updated", res, "changed", changed, err)) != WP_OK ||
        /* last: the counter row stays locked until the caller commits */
        (st = wp_meter_consume_read(db, dom->cfg, account_id, 1, &meter, err)) != WP_OK)
        goto done;
answer:
    *out = res;
    res = NULL;
done:
    if (r) PQclear(r);
    if (u) PQclear(u);
    json_object_put(res);
    json_object_put(body);
    json_object_put(changed);
    return st;
}

/* ---- void -------------------------------------------------------------------- */

wp_status wp_pass_void(wp_domain *dom, PGconn *db, const char *account_id, const char *id, wp_req *req,
                       json_object **out, wp_err *err)
{
    PGresult *r = NULL;
    json_object *res = NULL;
    wp_status st;
    *out = NULL;
    if ((st = select_pass(db, account_id, id, 1, &r, err)) != WP_OK) goto done;
    if (strcmp(PQgetvalue(r, 0, C_STATUS), "voided") != 0) {
        PQclear(r);
        r = NULL;
        const char *params[] = {account_id, id};
        if ((st = wp_db_query(db,
                              "UPDATE passes SET status = 'voided', version = version + 1,"
                              " updated_at = greatest(now(), updated_at + interval '1 millisecond')"
                              " WHERE account_id = $1 AND id = $2 RETURNING " PASS_COLS,
                              2, params, &r, err)) != WP_OK)
            goto done;
        res = resource_from_row(r, 0, NULL);
        if ((st = links_for(dom, account_id, req, res, 1, NULL, err)) != WP_OK ||
            (st = publish_on(dom, db, account_id, "pass.voided", res, NULL, NULL, err)) != WP_OK)
            goto done;
    } else {
        /* voiding again changes nothing */
        res = resource_from_row(r, 0, NULL);
        if ((st = links_for(dom, account_id, req, res, 1, NULL, err)) != WP_OK) goto done;
    }
    *out = res;
    res = NULL;
done:
    if (r) PQclear(r);
    json_object_put(res);
    return st;
}

/* ---- notify ------------------------------------------------------------------ */

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
static wp_status run_notify_validate(PGconn *db, const char *account_id, wp_req *req, json_object *res,
                                     const char *message, wp_err *err)
{
    json_object *idv = NULL;
    json_object_object_get_ex(res, "id", &idv);
    const char *p[] = {account_id, json_object_get_string(idv)};
    PGresult *c = NULL;
    wp_status st = wp_db_query(db,
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
    json_object_object_add(doc, "account_id", json_object_new_string(account_id));
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

/* The message of a notify body: {"message": 1..4096 characters}, nothing else. */
static wp_status notify_message(json_object *in, const char **message, wp_err *err)
{
    *message = NULL;
    if (!json_object_is_type(in, json_type_object)) {
        wp_err_param(err, WP_EINVAL, "body", "the body must be a JSON object");
        return wp_err_code(err, "parameter_invalid");
    }
    json_object_object_foreach(in, k, v) {
        if (strcmp(k, "message") != 0) {
            wp_err_param(err, WP_EINVAL, k, "unknown field: a notification takes only \"message\"");
            return wp_err_code(err, "parameter_unknown");
        }
        if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0 ||
            utf8_chars(json_object_get_string(v)) > WP_PASS_NOTIFY_MAX_CHARS) {
            wp_err_param(err, WP_EINVAL, "message", "message must be a string of 1 to 4096 characters");
            return wp_err_code(err, "parameter_invalid");
        }
        *message = json_object_get_string(v);
    }
    if (!*message) {
        wp_err_param(err, WP_EINVAL, "message", "message is required");
        return wp_err_code(err, "parameter_missing");
    }
    return WP_OK;
}

wp_status wp_pass_notify(wp_domain *dom, PGconn *db, const char *account_id, const char *id, json_object *in,
                         wp_req *req, json_object **out, wp_err *err)
{
    json_object *res = NULL;
    PGresult *r = NULL, *c = NULL;
    const char *message;
    wp_status st;
    *out = NULL;
    wp_meter_read meter = {0}; /* the check's read, for the count at the end */
    if ((st = notify_message(in, &message, err)) != WP_OK ||
        (st = select_pass(db, account_id, id, 1, &r, err)) != WP_OK ||
        (st = wp_meter_check_read(db, dom->cfg, account_id, 1, &meter, err)) != WP_OK)
        goto done;
    if (strcmp(PQgetvalue(r, 0, C_STATUS), "voided") == 0) {
        st = voided_err(err, "its holders cannot be notified");
        goto done;
    }
    res = resource_from_row(r, 0, NULL);
    if ((st = links_for(dom, account_id, req, res, 1, NULL, err)) != WP_OK ||
        (st = run_notify_validate(db, account_id, req, res, message, err)) != WP_OK)
        goto done;
    char nid[WP_ID_MAX];
    if (wp_id_new("ntf", nid) != WP_OK) {
        st = wp_err_set(err, WP_ECRYPTO, "no randomness for the notification id");
        goto done;
    }
    const char *p3[] = {account_id, nid, id, message};
    if ((st = wp_db_query(db,
                          "INSERT INTO pass_notifications (account_id, id, pass_id, message) VALUES ($1, $2, $3, $4)"
                          " RETURNING " TS("created_at"),
                          4, p3, &c, err)) != WP_OK)
        goto done;
    json_object *data = json_object_new_object();
    json_object_object_add(data, "schema", json_object_new_int(1));
    json_object_object_add(data, "pass", json_object_get(res));
    json_object_object_add(data, "message", json_object_new_string(message));
    json_object_object_add(data, "notification_id", json_object_new_string(nid));
    st = wp_events_publish(dom->events, db, account_id, "pass.notify", data, NULL, err);
    json_object_put(data);
    if (st == WP_OK) st = wp_meter_consume_read(db, dom->cfg, account_id, 1, &meter, err); /* last: see create */
    if (st != WP_OK) goto done;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(nid));
    json_object_object_add(o, "object", json_object_new_string("pass_notification"));
    json_object_object_add(o, "pass_id", json_object_new_string(id));
    json_object_object_add(o, "message", json_object_new_string(message));
    json_object_object_add(o, "status", json_object_new_string("queued"));
    json_object_object_add(o, "created_at", json_object_new_string(PQgetvalue(c, 0, 0)));
    *out = o;
done:
    if (r) PQclear(r);
    if (c) PQclear(c);
    json_object_put(res);
    return st;
}

/* ---- load and capabilities (renderers, links, the plugin host) ---------------- */

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

/*
 * loaded_from_row of a one-row result, through this thread's memo of the
 * documents it built (docmemo.h), keyed by every field of the row: a download
 * of a pass it served a moment ago copies the document instead of parsing the
 * pass again.
 */
static wp_status loaded_from(PGresult *r, json_object **out)
{
    unsigned char small[8192], *key = small;
    size_t kl = 0, cap = sizeof small;
    int nf = PQnfields(r);
    for (int i = 0; i < nf; i++) kl += 4 + (PQgetisnull(r, 0, i) ? 0 : (size_t)PQgetlength(r, 0, i));
    if (kl > WP_DOCMEMO_KEY_MAX) return loaded_from_row(r, 0, out); /* never kept */
    if (kl > cap && !(key = malloc(kl))) return loaded_from_row(r, 0, out);
    size_t at = 0;
    for (int i = 0; i < nf; i++) {
        int null = PQgetisnull(r, 0, i);
        uint32_t l = null ? UINT32_MAX : (uint32_t)PQgetlength(r, 0, i);
        memcpy(key + at, &l, 4);
        at += 4;
        if (!null) {
            memcpy(key + at, PQgetvalue(r, 0, i), l);
            at += l;
        }
    }
    wp_status st = WP_OK;
    if (!(*out = wp_docmemo_get(key, kl)) && (st = loaded_from_row(r, 0, out)) == WP_OK) wp_docmemo_put(key, kl, *out);
    if (key != small) free(key);
    return st;
}

wp_status wp_pass_load_stamped(wp_domain *dom, const char *account_id, const char *pass_id, json_object **out,
                               wp_err *err)
{
    *out = NULL;
    PGresult *r;
    wp_status st;
    if (wp_cred_memo_current() && wp_passcache_get(dom, account_id, pass_id, &r)) {
        /* from memory: no connection taken from the pool (a download storm needs none) */
        wp_cred_memo_fill(account_id, PQgetisnull(r, 0, C_GONE + 1) ? NULL : PQgetvalue(r, 0, C_GONE + 1));
    } else {
        PGconn *db = wp_db_acquire(dom->db, err);
        if (!db) return err ? err->status : WP_EUNAVAIL;
        st = select_pass_memo(dom, db, account_id, pass_id, &r, err);
        wp_db_release(dom->db, db);
        if (st != WP_OK) return st;
    }
    st = loaded_from(r, out);
    PQclear(r);
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

wp_pass_limits wp_pass_limits_of(const wp_domain *dom)
{
    wp_pass_limits l = {.max_string = dom->cfg->max_string_bytes, .max_image = dom->cfg->max_image_bytes,
                        .max_metadata = dom->cfg->max_metadata_bytes};
    return l;
}

wp_status wp_pass_cap_owner(wp_domain *dom, const char *purpose, const char *pass_id, const char *token,
                            char *account_out, size_t account_len, wp_err *err)
{
    if (account_out && account_len) account_out[0] = '\0';
    PGconn *c = wp_db_acquire(dom->db, err);
    if (!c) return err ? err->status : WP_EUNAVAIL;
    PGresult *res = NULL;
    const char *params[1] = {pass_id};
    /* The whole row a download reads next (wp_pass_load_stamped), kept in memory when the
     * capability opens it: a first download makes one query, not two. */
    uint64_t gen = wp_passcache_generation(dom);
    wp_status st = wp_db_query(
        c, "SELECT " PASS_COLS ", " WP_CRED_STAMPS_SQL_OF("passes.account_id") " FROM passes WHERE id = $1 LIMIT 4", 1,
        params, &res, err);
    wp_db_release(dom->db, c);
    if (st != WP_OK) return st;
    int found = 0;
    for (int i = 0; i < PQntuples(res) && !found; i++) {
        const char *account = PQgetvalue(res, i, C_ACCT);
        if (wp_pass_cap_verify(dom, purpose, account, pass_id, token) != WP_OK) continue;
        found = 1;
        if (account_out && account_len) snprintf(account_out, account_len, "%s", account);
        if (PQntuples(res) == 1) wp_passcache_put(dom, account, pass_id, res, gen);
    }
    PQclear(res);
    return found ? WP_OK : wp_err_set(err, WP_ENOTFOUND, "no such pass or capability");
}
