/*
 * template_service.c - the template rules and their propagation (see
 * template_service.h).
 */
#include "template_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "events.h"
#include "hooks.h"
#include "ids.h"
#include "jobs.h"
#include "log.h"
#include "pass_schema.h"
#include "pass_service.h"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define TPL_COLS "id, name, body::text, version, " TS("created_at") ", " TS("updated_at")

/* Keys a template never holds, so a whole-template propagation never touches them on a pass. */
static const char *const pass_only_keys[] = {"serial_number", "template_id", NULL};

/* JSON the database produced (jsonb::text): trusted, but may nest as deep as the request limit allows. */
static json_object *parse_db_json(const char *s)
{
    json_tokener *tok = json_tokener_new_ex(128);
    if (!tok) return NULL;
    json_object *o = json_tokener_parse_ex(tok, s, (int)strlen(s));
    if (json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

/* Body errors name the field inside the request's "body" object ("body.primary_fields[0].key"). */
static void prefix_body_param(wp_err *err)
{
    if (!err->param[0] || strcmp(err->param, "body") == 0 || strncmp(err->param, "body.", 5) == 0) return;
    char tmp[sizeof err->param];
    size_t n = strlen(err->param);
    if (n + 6 > sizeof tmp) return;
    memcpy(tmp, "body.", 5);
    memcpy(tmp + 5, err->param, n + 1);
    memcpy(err->param, tmp, n + 6);
}

/* An API error of the request: 400 with its code. */
static wp_status refuse(wp_err *err, const char *code, const char *param, const char *msg)
{
    wp_err_param(err, WP_EINVAL, param, "%s", msg);
    return wp_err_code(err, code);
}

static json_object *tpl_json(PGresult *r, int i)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(PQgetvalue(r, i, 0)));
    json_object_object_add(o, "object", json_object_new_string("template"));
    json_object_object_add(o, "name", json_object_new_string(PQgetvalue(r, i, 1)));
    json_object *body = parse_db_json(PQgetvalue(r, i, 2));
    json_object_object_add(o, "body", body ? body : json_object_new_object());
    json_object_object_add(o, "version", json_object_new_int(atoi(PQgetvalue(r, i, 3))));
    json_object_object_add(o, "created_at", json_object_new_string(PQgetvalue(r, i, 4)));
    json_object_object_add(o, "updated_at", json_object_new_string(PQgetvalue(r, i, 5)));
    return o;
}

static wp_status not_found(wp_err *err, const char *id)
{
    return wp_err_param(err, WP_ENOTFOUND, "id", "no template %s", id);
}

static wp_status name_check(json_object *v, wp_err *err)
{
    if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0 ||
        json_object_get_string_len(v) > WP_TEMPLATES_NAME_MAX) {
        wp_err_param(err, WP_EINVAL, "name", "name must be a non-empty string of at most %d bytes",
                     WP_TEMPLATES_NAME_MAX);
        return wp_err_code(err, "parameter_invalid");
    }
    return WP_OK;
}

/*
 * The core's rules, then the pass.validate filters (plugins check their
 * fields: the geofence plugin, locations).  The filter document is the one
 * the pass service uses, with mode "template": {"schema": 1, "mode":
 * "template", "account_id", "pass_id": null, "serial_number": null,
 * "template_id", "body"}; a filter may rewrite "body", which then replaces
 * *body and is checked again.  A filter's param is reported inside the
 * request's body ("body.locations[0].latitude"); a refusal without a code of
 * its own gets its status's usual one.
 */
static wp_status validate_body(wp_domain *dom, const char *account_id, wp_req *req, const char *template_id,
                               json_object **body, wp_err *err)
{
    wp_pass_limits lim = wp_pass_limits_of(dom);
    wp_status st = wp_pass_validate(*body, WP_PASS_TEMPLATE, &lim, err);
    if (st != WP_OK) {
        prefix_body_param(err);
        return st;
    }
    json_object *doc = json_object_new_object();
    json_object_object_add(doc, "schema", json_object_new_int(1));
    json_object_object_add(doc, "mode", json_object_new_string("template"));
    json_object_object_add(doc, "account_id", json_object_new_string(account_id));
    json_object_object_add(doc, "pass_id", NULL);
    json_object_object_add(doc, "serial_number", NULL);
    json_object_object_add(doc, "template_id", json_object_new_string(template_id));
    json_object_object_add(doc, "body", json_object_get(*body));
    wp_filter_result fr = wp_hooks_run("pass.validate", doc, req, err);
    if (fr == WP_FILTER_REJECT) {
        json_object_put(doc);
        prefix_body_param(err);
        st = err->status != WP_OK ? err->status : WP_EINTERNAL;
        int http = wp_err_http_status(st);
        if (!err->code && http < 500)
            wp_err_code(err, http == 404 ? "resource_missing" : http == 409 ? "conflict" : "parameter_invalid");
        return st;
    }
    json_object *after = NULL;
    json_object_object_get_ex(doc, "body", &after);
    if (fr == WP_FILTER_MODIFIED || after != *body) {
        if (!json_object_is_type(after, json_type_object)) {
            json_object_put(doc);
            return wp_err_set(err, WP_EINTERNAL, "pass.validate: a filter replaced the template body with a non-object");
        }
        json_object_get(after);
        json_object_put(*body);
        *body = after;
        if ((st = wp_pass_validate(*body, WP_PASS_TEMPLATE, &lim, err)) != WP_OK) {
            json_object_put(doc);
            prefix_body_param(err);
            return st;
        }
    }
    json_object_put(doc);
    return WP_OK;
}

/* Drops null members: on create, null means "not set". */
static void drop_nulls(json_object *o)
{
    for (;;) {
        const char *victim = NULL;
        json_object_object_foreach(o, k, v) {
            if (!v) {
                victim = k;
                break;
            }
        }
        if (!victim) return;
        json_object_object_del(o, victim);
    }
}

/* ---- create, read, list, update, delete ---- */

wp_status wp_template_create(wp_domain *dom, PGconn *db, const char *account_id, json_object *in, wp_req *req,
                             json_object **out, wp_err *err)
{
    *out = NULL;
    json_object *name = NULL, *body = NULL;
    if (!json_object_is_type(in, json_type_object))
        return refuse(err, "parameter_invalid", "body", "the request must be a JSON object {\"name\", \"body\"}");
    json_object_object_foreach(in, k, v) {
        if (strcmp(k, "name") == 0) {
            name = v;
        } else if (strcmp(k, "body") == 0) {
            body = v;
        } else {
            wp_err_param(err, WP_EINVAL, k,
                         "unknown field \"%s\": a template is {\"name\", \"body\"} with the pass fields in body", k);
            return wp_err_code(err, "parameter_unknown");
        }
    }
    if (!name) return refuse(err, "parameter_missing", "name", "name is required");
    wp_status st = name_check(name, err);
    if (st != WP_OK) return st;
    if (!body)
        return refuse(err, "parameter_missing", "body",
                      "body is required: the pass fields the template provides ({} for none)");
    if (!json_object_is_type(body, json_type_object))
        return refuse(err, "parameter_invalid", "body", "body must be a JSON object of pass fields");
    char id[WP_ID_MAX];
    if (wp_id_new("tpl", id) != WP_OK) return wp_err_set(err, WP_ECRYPTO, "no randomness for the template id");
    /* a copy: the caller's body stays as it was */
    json_object *own = NULL;
    if (json_object_deep_copy(body, &own, NULL) != 0) return wp_err_set(err, WP_ENOMEM, "out of memory");
    drop_nulls(own);
    if ((st = validate_body(dom, account_id, req, id, &own, err)) != WP_OK) {
        json_object_put(own);
        return st;
    }
    const char *params[] = {account_id, id, json_object_get_string(name),
                            json_object_to_json_string_ext(own, JSON_C_TO_STRING_PLAIN)};
    PGresult *r;
    st = wp_db_query(db,
                     "INSERT INTO templates (account_id, id, name, body) VALUES ($1, $2, $3, $4::jsonb)"
                     " RETURNING " TPL_COLS,
                     4, params, &r, err);
    json_object_put(own);
    if (st != WP_OK) return st;
    *out = tpl_json(r, 0);
    PQclear(r);
    return WP_OK;
}

wp_status wp_template_get(PGconn *db, const char *account_id, const char *id, json_object **out, wp_err *err)
{
    *out = NULL;
    const char *params[] = {account_id, id};
    PGresult *r;
    wp_status st = wp_db_query(
        db, "SELECT " TPL_COLS " FROM templates WHERE account_id = $1 AND id = $2 AND deleted_at IS NULL", 2, params,
        &r, err);
    if (st != WP_OK) return st;
    if (PQntuples(r) == 1) *out = tpl_json(r, 0);
    PQclear(r);
    return *out ? WP_OK : not_found(err, id);
}

wp_status wp_template_list(PGconn *db, const char *account_id, const char *after, int limit, json_object **data,
                           bool *has_more, wp_err *err)
{
    *data = NULL;
    *has_more = false;
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit + 1);
    const char *params[] = {account_id, after && *after ? after : NULL, lim};
    PGresult *r;
    wp_status st = wp_db_query(db,
                               "SELECT " TPL_COLS " FROM templates WHERE account_id = $1 AND deleted_at IS NULL"
                               " AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3::int",
                               3, params, &r, err);
    if (st != WP_OK) return st;
    int n = PQntuples(r);
    json_object *arr = json_object_new_array();
    for (int i = 0; i < n && i < limit; i++) json_object_array_add(arr, tpl_json(r, i));
    PQclear(r);
    *data = arr;
    *has_more = n > limit;
    return WP_OK;
}

/* The members of an update request: name, body (the patch) and propagate, each checked alone. */
static wp_status update_fields(json_object *in, json_object **name, json_object **patch, int *propagate, wp_err *err)
{
    *name = *patch = NULL;
    *propagate = 0;
    if (!json_object_is_type(in, json_type_object))
        return refuse(err, "parameter_invalid", "body",
                      "the request must be a JSON object {\"name\"?, \"body\"?, \"propagate\"?}");
    json_object_object_foreach(in, k, v) {
        if (strcmp(k, "name") == 0) {
            wp_status st = name_check(v, err);
            if (st != WP_OK) return st;
            *name = v;
        } else if (strcmp(k, "body") == 0) {
            if (!json_object_is_type(v, json_type_object))
                return refuse(err, "parameter_invalid", "body",
                              "body must be a JSON object of the pass fields to change (null unsets one)");
            *patch = v;
        } else if (strcmp(k, "propagate") == 0) {
            if (!json_object_is_type(v, json_type_boolean))
                return refuse(err, "parameter_invalid", "propagate", "propagate must be true or false");
            *propagate = json_object_get_boolean(v);
        } else {
            wp_err_param(err, WP_EINVAL, k, "unknown field \"%s\": an update takes name, body and propagate", k);
            return wp_err_code(err, "parameter_unknown");
        }
    }
    return WP_OK;
}

/* Enqueues the propagation job of an update; *prop: {"job_id", "status": "queued", "keys"}. */
static wp_status enqueue_propagation(wp_domain *dom, PGconn *db, const char *account_id, const char *id, int version,
                                     json_object *changed, json_object **prop, wp_err *err)
{
    json_object *payload = json_object_new_object();
    json_object_object_add(payload, "account_id", json_object_new_string(account_id));
    json_object_object_add(payload, "template_id", json_object_new_string(id));
    json_object_object_add(payload, "version", json_object_new_int(version));
    /* Nothing changed: the whole template (pushes earlier updates made without propagate). */
    int nchanged = changed ? (int)json_object_array_length(changed) : 0;
    json_object_object_add(payload, "keys", nchanged ? json_object_get(changed) : NULL);
    char job_id[48];
    wp_status st = wp_jobs_enqueue(dom->jobs, db, account_id, WP_TEMPLATES_JOB, payload, 0, job_id, err);
    if (st != WP_OK) {
        json_object_put(payload);
        return st;
    }
    json_object *p = json_object_new_object();
    json_object_object_add(p, "job_id", json_object_new_string(job_id));
    json_object_object_add(p, "status", json_object_new_string("queued"));
    json_object *keys = NULL;
    json_object_object_get_ex(payload, "keys", &keys);
    json_object_object_add(p, "keys", json_object_get(keys));
    json_object_put(payload);
    *prop = p;
    return WP_OK;
}

wp_status wp_template_update(wp_domain *dom, PGconn *db, const char *account_id, const char *id, json_object *in,
                             wp_req *req, json_object **out, wp_err *err)
{
    *out = NULL;
    json_object *name, *patch, *merged = NULL, *changed = NULL, *o = NULL, *prop = NULL;
    int propagate;
    PGresult *r = NULL;
    wp_status st = update_fields(in, &name, &patch, &propagate, err);
    if (st != WP_OK) return st;
    wp_pass_limits lim = wp_pass_limits_of(dom);
    if (patch && (st = wp_pass_validate(patch, WP_PASS_TEMPLATE, &lim, err)) != WP_OK) {
        prefix_body_param(err);
        return st;
    }
    const char *p2[] = {account_id, id};
    if ((st = wp_db_query(db,
                          "SELECT name, body::text FROM templates WHERE account_id = $1 AND id = $2 AND deleted_at IS NULL"
                          " FOR UPDATE",
                          2, p2, &r, err)) != WP_OK)
        goto done;
    if (PQntuples(r) != 1) {
        st = not_found(err, id);
        goto done;
    }
    merged = parse_db_json(PQgetvalue(r, 0, 1));
    if (!merged) {
        st = wp_err_set(err, WP_EINTERNAL, "template %s: stored body is unreadable", id);
        goto done;
    }
    int name_changed = name && strcmp(json_object_get_string(name), PQgetvalue(r, 0, 0)) != 0;
    PQclear(r);
    r = NULL;
    if (patch) {
        json_object_object_foreach(patch, pk, pv) {
            if (pv) json_object_object_add(merged, pk, json_object_get(pv));
            else json_object_object_del(merged, pk);
        }
        if ((st = validate_body(dom, account_id, req, id, &merged, err)) != WP_OK) goto done;
    }
    /* Changed keys are computed by PostgreSQL on jsonb, so 1.50 and 1.5 are the same value. */
    const char *body_txt = json_object_to_json_string_ext(merged, JSON_C_TO_STRING_PLAIN);
    const char *p3[] = {account_id, id, body_txt};
    if ((st = wp_db_query(db,
                          "SELECT coalesce(jsonb_agg(k ORDER BY k), '[]')::text FROM ("
                          "  SELECT jsonb_object_keys(body) AS k FROM templates WHERE account_id = $1 AND id = $2"
                          "  UNION SELECT jsonb_object_keys($3::jsonb)) s"
                          " WHERE (SELECT body -> k FROM templates WHERE account_id = $1 AND id = $2)"
                          "   IS DISTINCT FROM $3::jsonb -> k",
                          3, p3, &r, err)) != WP_OK)
        goto done;
    changed = parse_db_json(PQgetvalue(r, 0, 0));
    PQclear(r);
    r = NULL;
    int nchanged = changed ? (int)json_object_array_length(changed) : 0;
    const char *p4[] = {account_id, id, body_txt, name ? json_object_get_string(name) : NULL};
    if (nchanged || name_changed)
        st = wp_db_query(db,
                         "UPDATE templates SET body = $3::jsonb, name = coalesce($4, name), version = version + 1,"
                         " updated_at = now() WHERE account_id = $1 AND id = $2 RETURNING " TPL_COLS,
                         4, p4, &r, err);
    else
        st = wp_db_query(db, "SELECT " TPL_COLS " FROM templates WHERE account_id = $1 AND id = $2", 2, p4, &r, err);
    if (st != WP_OK) goto done;
    o = tpl_json(r, 0);
    if (propagate &&
        (st = enqueue_propagation(dom, db, account_id, id, atoi(PQgetvalue(r, 0, 3)), changed, &prop, err)) != WP_OK)
        goto done;
    json_object_object_add(o, "propagation", prop);
    *out = o;
    o = NULL;
done:
    if (r) PQclear(r);
    json_object_put(o);
    json_object_put(merged);
    json_object_put(changed);
    return st;
}

wp_status wp_template_delete(PGconn *db, const char *account_id, const char *id, json_object **out, wp_err *err)
{
    *out = NULL;
    const char *params[] = {account_id, id};
    PGresult *r;
    wp_status st = wp_db_query(db,
                               "UPDATE templates SET deleted_at = now() WHERE account_id = $1 AND id = $2"
                               " AND deleted_at IS NULL RETURNING id",
                               2, params, &r, err);
    if (st != WP_OK) return st;
    int n = PQntuples(r);
    PQclear(r);
    if (n != 1) return not_found(err, id);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(id));
    json_object_object_add(o, "object", json_object_new_string("template"));
    json_object_object_add(o, "deleted", json_object_new_boolean(1));
    *out = o;
    return WP_OK;
}

/* ---- propagation ---- */

/* overrides is an object whose keys are the pass's own keys, or an array of key names. */
static int overridden(json_object *overrides, const char *key)
{
    if (json_object_is_type(overrides, json_type_object)) return json_object_object_get_ex(overrides, key, NULL);
    if (json_object_is_type(overrides, json_type_array)) {
        size_t n = json_object_array_length(overrides);
        for (size_t i = 0; i < n; i++) {
            json_object *e = json_object_array_get_idx(overrides, i);
            if (json_object_is_type(e, json_type_string) && strcmp(json_object_get_string(e), key) == 0) return 1;
        }
    }
    return 0;
}

static int pass_only(const char *key)
{
    for (const char *const *p = pass_only_keys; *p; p++)
        if (strcmp(*p, key) == 0) return 1;
    return 0;
}

/* Sets body[key] to the template's value (or removes it); appends key to changed when that changed body. */
static void apply_key(json_object *body, json_object *tpl, const char *key, json_object *changed)
{
    if (pass_only(key)) return;
    json_object *want = NULL, *have = NULL;
    int want_set = json_object_object_get_ex(tpl, key, &want);
    int have_set = json_object_object_get_ex(body, key, &have);
    if (!want_set) {
        if (!have_set) return;
        json_object_object_del(body, key);
    } else {
        if (have_set && json_object_equal(want, have)) return;
        json_object *copy = NULL;
        if (json_object_deep_copy(want, &copy, NULL) != 0) return;
        json_object_object_add(body, key, copy);
    }
    json_object_array_add(changed, json_object_new_string(key));
}

/* The keys a pass gets from its template: the given list, or every key of either side. */
static json_object *keys_for(json_object *keys, json_object *tpl, json_object *body)
{
    if (keys) return json_object_get(keys);
    json_object *all = json_object_new_array();
    json_object_object_foreach(tpl, k1, v1) {
        (void)v1;
        json_object_array_add(all, json_object_new_string(k1));
    }
    json_object_object_foreach(body, k2, v2) {
        (void)v2;
        if (!json_object_object_get_ex(tpl, k2, NULL)) json_object_array_add(all, json_object_new_string(k2));
    }
    return all;
}

#define PASS_COLS "id, serial_number, pass_type, status, version, body::text, overrides::text, template_id, " \
                  TS("created_at") ", " TS("updated_at") ", " WP_PASS_LIVEMODE_COL

/*
 * The pass as pass.updated carries it: the API resource of pass_service.h (body
 * keys flattened next to the pass's own attributes), with the platform
 * plugins' keys asked for without links (want_links 0: a propagation may
 * touch thousands of passes, and a signed link is nobody's to follow here).
 */
static json_object *pass_event_json(wp_domain *dom, const char *account_id, PGresult *r, int i, json_object *body,
                                    PGresult *u)
{
    json_object *p = json_object_new_object();
    json_object_object_add(p, "id", json_object_new_string(PQgetvalue(r, i, 0)));
    json_object_object_add(p, "object", json_object_new_string("pass"));
    json_object_object_add(p, "serial_number", json_object_new_string(PQgetvalue(r, i, 1)));
    json_object_object_add(p, "pass_type", json_object_new_string(PQgetvalue(u, 0, 2)));
    json_object_object_add(p, "share_url", NULL);
    json_object_object_add(p, "status", json_object_new_string(PQgetvalue(r, i, 3)));
    json_object_object_add(p, "version", json_object_new_int(atoi(PQgetvalue(u, 0, 0))));
    json_object_object_add(p, "template_id", json_object_new_string(PQgetvalue(r, i, 7)));
    json_object_object_add(p, "created_at", json_object_new_string(PQgetvalue(r, i, 8)));
    json_object_object_add(p, "updated_at", json_object_new_string(PQgetvalue(u, 0, 1)));
    json_object_object_add(p, "livemode", json_object_new_boolean(strcmp(PQgetvalue(r, i, 10), "f") != 0));
    json_object_object_foreach(body, k, v) {
        if (!json_object_object_get_ex(p, k, NULL)) json_object_object_add(p, k, json_object_get(v));
    }
    wp_err e;
    wp_err_clear(&e);
    if (wp_pass_links(dom, account_id, NULL, p, 0, NULL, &e) != WP_OK)
        wp_log_warn("templates.propagate: pass %s: its platform keys are left out of pass.updated: %s",
                    PQgetvalue(r, i, 0), e.msg);
    return p;
}

/* One chunk in one transaction.  *last receives the last pass id seen, *n the rows seen. */
static wp_status propagate_chunk(wp_domain *dom, PGconn *db, const char *account_id, const char *template_id,
                                 json_object *tpl, json_object *keys, char *last, int *n, int *updated, int *skipped,
                                 wp_err *err)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", WP_TEMPLATES_CHUNK);
    const char *params[] = {account_id, template_id, last[0] ? last : NULL, lim};
    PGresult *r = NULL;
    wp_status st;
    if ((st = wp_db_begin(db, err)) != WP_OK) return st;
    /* Voided passes are final: a template change does not touch them. */
    if ((st = wp_db_query(db,
                          "SELECT " PASS_COLS " FROM passes WHERE account_id = $1 AND template_id = $2"
                          " AND status = 'active' AND ($3::text IS NULL OR id > $3) ORDER BY id LIMIT $4::int"
                          " FOR UPDATE",
                          4, params, &r, err)) != WP_OK) {
        wp_db_rollback(db);
        return st;
    }
    *n = PQntuples(r);
    wp_pass_limits lim_pass = wp_pass_limits_of(dom);
    for (int i = 0; i < *n && st == WP_OK; i++) {
        const char *pass_id = PQgetvalue(r, i, 0);
        json_object *body = parse_db_json(PQgetvalue(r, i, 5));
        json_object *ovr = parse_db_json(PQgetvalue(r, i, 6));
        json_object *changed = json_object_new_array();
        if (!body || !json_object_is_type(body, json_type_object)) {
            wp_log_warn("templates.propagate: pass %s has an unreadable body; skipped", pass_id);
            (*skipped)++;
            goto next;
        }
        json_object *ks = keys_for(keys, tpl, body);
        size_t nk = json_object_array_length(ks);
        for (size_t k = 0; k < nk; k++) {
            const char *key = json_object_get_string(json_object_array_get_idx(ks, k));
            if (key && !overridden(ovr, key)) apply_key(body, tpl, key, changed);
        }
        json_object_put(ks);
        if (json_object_array_length(changed) == 0) goto next; /* already up to date: a re-run changes nothing */
        wp_err verr;
        wp_err_clear(&verr);
        if (wp_pass_validate(body, WP_PASS_CREATE, &lim_pass, &verr) != WP_OK) {
            wp_log_warn("templates.propagate: template %s would make pass %s invalid (%s: %s); pass left unchanged",
                        template_id, pass_id, verr.param, verr.msg);
            (*skipped)++;
            goto next;
        }
        json_object *pt = NULL;
        json_object_object_get_ex(body, "pass_type", &pt);
        const char *up[] = {account_id, pass_id, json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN),
                            pt ? json_object_get_string(pt) : NULL};
        PGresult *u = NULL;
        if ((st = wp_db_query(db,
                              "UPDATE passes SET body = $3::jsonb, pass_type = coalesce($4, pass_type),"
                              " version = version + 1, updated_at = now() WHERE account_id = $1 AND id = $2"
                              " RETURNING version, " TS("updated_at") ", pass_type",
                              4, up, &u, err)) != WP_OK)
            goto next;
        json_object *data = json_object_new_object();
        json_object_object_add(data, "schema", json_object_new_int(1));
        json_object_object_add(data, "pass", pass_event_json(dom, account_id, r, i, body, u));
        json_object_object_add(data, "changed", json_object_get(changed));
        json_object *src = json_object_new_object();
        json_object_object_add(src, "template_id", json_object_new_string(template_id));
        json_object_object_add(data, "source", src);
        PQclear(u);
        st = wp_events_publish(dom->events, db, account_id, "pass.updated", data, NULL, err);
        json_object_put(data);
        if (st == WP_OK) (*updated)++;
    next:
        json_object_put(changed);
        json_object_put(ovr);
        json_object_put(body);
    }
    if (*n > 0) snprintf(last, WP_ID_MAX + 8, "%s", PQgetvalue(r, *n - 1, 0));
    PQclear(r);
    if (st != WP_OK) {
        wp_db_rollback(db);
        return st;
    }
    return wp_db_commit(db, err);
}

wp_status wp_templates_propagate(wp_domain *dom, const char *account_id, const char *template_id, json_object *keys,
                                 int *updated, int *skipped, wp_err *err)
{
    int up = 0, sk = 0;
    if (updated) *updated = 0;
    if (skipped) *skipped = 0;
    PGconn *db = wp_db_acquire(dom->db, err);
    if (!db) return err ? err->status : WP_EUNAVAIL;
    /* A deleted template still propagates: the update was asked for before the delete. */
    const char *params[] = {account_id, template_id};
    PGresult *r;
    wp_status st = wp_db_query(db, "SELECT body::text FROM templates WHERE account_id = $1 AND id = $2", 2, params,
                               &r, err);
    if (st != WP_OK) {
        wp_db_release(dom->db, db);
        return st;
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        wp_db_release(dom->db, db);
        return wp_err_set(err, WP_ENOTFOUND, "no template %s in account %s", template_id, account_id);
    }
    json_object *tpl = parse_db_json(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (!tpl) {
        wp_db_release(dom->db, db);
        return wp_err_set(err, WP_EINTERNAL, "template %s: stored body is unreadable", template_id);
    }
    char last[WP_ID_MAX + 8] = "";
    int n;
    do {
        st = propagate_chunk(dom, db, account_id, template_id, tpl, keys, last, &n, &up, &sk, err);
    } while (st == WP_OK && n == WP_TEMPLATES_CHUNK);
    json_object_put(tpl);
    wp_db_release(dom->db, db);
    if (updated) *updated = up;
    if (skipped) *skipped = sk;
    return st;
}

static wp_status propagate_job(const char *kind, json_object *payload, const char *job_id, int attempt, void *ud,
                               wp_err *err)
{
    (void)kind;
    wp_domain *dom = ud;
    json_object *acct = NULL, *tid = NULL, *keys = NULL;
    json_object_object_get_ex(payload, "account_id", &acct);
    json_object_object_get_ex(payload, "template_id", &tid);
    json_object_object_get_ex(payload, "keys", &keys);
    if (!json_object_is_type(acct, json_type_string) || !json_object_is_type(tid, json_type_string) ||
        (keys && !json_object_is_type(keys, json_type_array)))
        return wp_err_set(err, WP_FAIL, "malformed %s payload (account_id, template_id, keys expected)", WP_TEMPLATES_JOB);
    int updated = 0, skipped = 0;
    wp_status st = wp_templates_propagate(dom, json_object_get_string(acct), json_object_get_string(tid), keys,
                                          &updated, &skipped, err);
    if (st == WP_ENOTFOUND) {
        /* The account (and its templates) was deleted meanwhile: nothing left to do. */
        wp_log_info("%s %s: %s", WP_TEMPLATES_JOB, job_id, err->msg);
        return WP_OK;
    }
    if (st != WP_OK) {
        wp_log_warn("%s %s (attempt %d): %s", WP_TEMPLATES_JOB, job_id, attempt, err->msg);
        return WP_RETRY;
    }
    wp_log_info("%s %s: template %s, %d passes updated, %d skipped", WP_TEMPLATES_JOB, job_id,
                json_object_get_string(tid), updated, skipped);
    return WP_OK;
}

wp_status wp_templates_register_job(wp_domain *dom, wp_err *err)
{
    static const int retry[] = {5, 30, 120, 600, 1800};
    return wp_jobs_register(dom->jobs, WP_TEMPLATES_JOB, propagate_job, dom, retry, (int)(sizeof retry / sizeof retry[0]),
                            err);
}
