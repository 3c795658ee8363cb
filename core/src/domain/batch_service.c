/*
 * batch_service.c - batch creation of passes through the job queue.  See
 * batch_service.h.
 */
#include "batch_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "events.h"
#include "ids.h"
#include "jobs.h"
#include "log.h"
#include "pass_service.h"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* The job's retry delays: a chunk gets 1 + 4 attempts. */
static const int chunk_retry[] = {1, 5, 30, 120};
#define CHUNK_ATTEMPTS (1 + (int)(sizeof chunk_retry / sizeof chunk_retry[0]))

/* ---- the resource -------------------------------------------------------- */

#define BATCH_SELECT                                                                                     \
    "SELECT b.id, b.status, b.total, b.template_id, " TS("b.created_at") ", " TS("b.completed_at") ","   \
    " (SELECT count(*) FROM batch_items i WHERE i.account_id = b.account_id AND i.batch_id = b.id"        \
    "   AND i.status = 'succeeded'),"                                                                     \
    " (SELECT count(*) FROM batch_items i WHERE i.account_id = b.account_id AND i.batch_id = b.id"        \
    "   AND i.status = 'failed')"                                                                         \
    " FROM batches b WHERE b.account_id = $1 AND b.id = $2"
enum { B_ID, B_STATUS, B_TOTAL, B_TPL, B_CREATED, B_COMPLETED, B_OK, B_FAILED };

static json_object *str_or_null(PGresult *r, int col)
{
    return PQgetisnull(r, 0, col) ? NULL : json_object_new_string(PQgetvalue(r, 0, col));
}

/* {id, object, status, total, succeeded, failed, progress, template_id, created_at, completed_at} */
static json_object *batch_resource(PGresult *r)
{
    int total = atoi(PQgetvalue(r, 0, B_TOTAL)), ok = atoi(PQgetvalue(r, 0, B_OK)),
        failed = atoi(PQgetvalue(r, 0, B_FAILED));
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(PQgetvalue(r, 0, B_ID)));
    json_object_object_add(o, "object", json_object_new_string("batch"));
    json_object_object_add(o, "status", json_object_new_string(PQgetvalue(r, 0, B_STATUS)));
    json_object_object_add(o, "total", json_object_new_int(total));
    json_object_object_add(o, "succeeded", json_object_new_int(ok));
    json_object_object_add(o, "failed", json_object_new_int(failed));
    /* the processed fraction, 0 to 1, three decimals at most (no binary noise: 0.1, not 0.10000000000000001) */
    char p[16];
    snprintf(p, sizeof p, "%.3f", total > 0 ? (double)(ok + failed) / total : 1.0);
    char *e = p + strlen(p) - 1;
    while (*e == '0') *e-- = '\0';
    if (*e == '.') *e = '\0';
    json_object_object_add(o, "progress", json_object_new_double_s(strtod(p, NULL), p));
    json_object_object_add(o, "template_id", str_or_null(r, B_TPL));
    json_object_object_add(o, "created_at", json_object_new_string(PQgetvalue(r, 0, B_CREATED)));
    json_object_object_add(o, "completed_at", str_or_null(r, B_COMPLETED));
    return o;
}

static wp_status load_batch(PGconn *db, const char *account_id, const char *id, PGresult **r, wp_err *err)
{
    const char *params[] = {account_id, id};
    wp_status st = wp_db_query(db, BATCH_SELECT, 2, params, r, err);
    if (st != WP_OK) return st;
    if (PQntuples(*r) != 1) {
        PQclear(*r);
        *r = NULL;
        return wp_err_param(err, WP_ENOTFOUND, "id", "no batch %s", id);
    }
    return WP_OK;
}

/* ---- create ------------------------------------------------------------------------- */

wp_status wp_batch_envelope(json_object *in, json_object **passes, const char **template_id, wp_err *err)
{
    *passes = NULL;
    *template_id = NULL;
    if (!json_object_is_type(in, json_type_object)) {
        wp_err_param(err, WP_EINVAL, "body", "the body must be a JSON object: {\"passes\": [...]}");
        return wp_err_code(err, "parameter_invalid");
    }
    json_object *p = NULL, *tidv = NULL;
    json_object_object_foreach(in, k, v) {
        if (strcmp(k, "passes") == 0) p = v;
        else if (strcmp(k, "template_id") == 0) tidv = v;
        else {
            /* a field with an empty name has no name to put in param: the body is at fault */
            wp_err_param(err, WP_EINVAL, *k ? k : "body", "%s%s%s: a batch takes \"passes\" and \"template_id\"",
                         *k ? "unknown field \"" : "the body has a field with an empty name", k, *k ? "\"" : "");
            return wp_err_code(err, "parameter_unknown");
        }
    }
    if (!p) {
        wp_err_param(err, WP_EINVAL, "passes", "passes is required: an array of 1 to %d pass bodies", WP_BATCH_MAX_ITEMS);
        return wp_err_code(err, "parameter_missing");
    }
    size_t n = json_object_is_type(p, json_type_array) ? json_object_array_length(p) : 0;
    if (!json_object_is_type(p, json_type_array))
        wp_err_param(err, WP_EINVAL, "passes", "passes must be an array of 1 to %d pass bodies", WP_BATCH_MAX_ITEMS);
    else if (n == 0)
        wp_err_param(err, WP_EINVAL, "passes", "passes is empty: a batch has 1 to %d pass bodies", WP_BATCH_MAX_ITEMS);
    else if (n > WP_BATCH_MAX_ITEMS)
        wp_err_param(err, WP_EINVAL, "passes", "passes has more than %d items; split it into several batches",
                     WP_BATCH_MAX_ITEMS);
    if (n < 1 || n > WP_BATCH_MAX_ITEMS) return wp_err_code(err, "parameter_invalid");
    if (tidv && !json_object_is_type(tidv, json_type_null)) {
        if (!json_object_is_type(tidv, json_type_string) || json_object_get_string_len(tidv) == 0 ||
            json_object_get_string_len(tidv) >= WP_ID_MAX) {
            wp_err_param(err, WP_EINVAL, "template_id", "template_id must be a template id (tpl_…)");
            return wp_err_code(err, "parameter_invalid");
        }
        *template_id = json_object_get_string(tidv);
    }
    *passes = p;
    return WP_OK;
}

wp_status wp_batch_create(wp_domain *dom, PGconn *db, const char *account_id, json_object *in, json_object **out,
                          wp_err *err)
{
    *out = NULL;
    json_object *passes = NULL;
    const char *tid = NULL;
    PGresult *r = NULL;
    wp_status st = wp_batch_envelope(in, &passes, &tid, err);
    if (st != WP_OK) return st;
    size_t n = json_object_array_length(passes);
    if (tid) {
        const char *p[] = {account_id, tid};
        if ((st = wp_db_query(db, "SELECT 1 FROM templates WHERE account_id = $1 AND id = $2 AND deleted_at IS NULL", 2,
                              p, &r, err)) != WP_OK)
            return st;
        int found = PQntuples(r) == 1;
        PQclear(r);
        r = NULL;
        if (!found) return wp_err_param(err, WP_ENOTFOUND, "template_id", "no template %s", tid);
    }
    char id[WP_ID_MAX], total[16];
    if (wp_id_new("batch", id) != WP_OK) return wp_err_set(err, WP_ECRYPTO, "no randomness for the batch id");
    snprintf(total, sizeof total, "%zu", n);
    const char *p1[] = {account_id, id, total, tid};
    if ((st = wp_db_query(db, "INSERT INTO batches (account_id, id, total, template_id) VALUES ($1, $2, $3::int, $4)",
                          4, p1, NULL, err)) != WP_OK)
        return st;
    const char *p2[] = {account_id, id, json_object_to_json_string_ext(passes, JSON_C_TO_STRING_PLAIN)};
    if ((st = wp_db_query(db,
                          "INSERT INTO batch_items (account_id, batch_id, idx, body)"
                          " SELECT $1, $2, (t.ord - 1)::int, t.e FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY"
                          " AS t (e, ord)",
                          3, p2, NULL, err)) != WP_OK)
        return st;
    for (size_t from = 0; from < n; from += WP_BATCH_CHUNK) {
        json_object *payload = json_object_new_object();
        json_object_object_add(payload, "account_id", json_object_new_string(account_id));
        json_object_object_add(payload, "batch_id", json_object_new_string(id));
        json_object_object_add(payload, "from", json_object_new_int((int)from));
        json_object_object_add(payload, "to", json_object_new_int((int)(from + WP_BATCH_CHUNK < n ? from + WP_BATCH_CHUNK : n)));
        st = wp_jobs_enqueue(dom->jobs, db, account_id, WP_BATCH_JOB, payload, 0, NULL, err);
        json_object_put(payload);
        if (st != WP_OK) return st;
    }
    if ((st = load_batch(db, account_id, id, &r, err)) != WP_OK) return st;
    *out = batch_resource(r);
    PQclear(r);
    return WP_OK;
}

/* ---- read ---------------------------------------------------------------------------- */

wp_status wp_batch_get(PGconn *db, const char *account_id, const char *id, long after_idx, int limit,
                       json_object **out, wp_err *err)
{
    *out = NULL;
    PGresult *r = NULL, *items = NULL;
    wp_status st = load_batch(db, account_id, id, &r, err);
    if (st != WP_OK) return st;
    char a[16], l[16];
    snprintf(a, sizeof a, "%ld", after_idx);
    snprintf(l, sizeof l, "%d", limit + 1);
    const char *p[] = {account_id, PQgetvalue(r, 0, B_ID), a, l};
    if ((st = wp_db_query(db,
                          "SELECT idx, status, pass_id, error::text FROM batch_items WHERE account_id = $1"
                          " AND batch_id = $2 AND idx > $3::int ORDER BY idx LIMIT $4::int",
                          4, p, &items, err)) != WP_OK) {
        PQclear(r);
        return st;
    }
    json_object *o = batch_resource(r), *data = json_object_new_array();
    int ni = PQntuples(items);
    for (int i = 0; i < ni && i < limit; i++) {
        json_object *it = json_object_new_object();
        json_object_object_add(it, "index", json_object_new_int(atoi(PQgetvalue(items, i, 0))));
        json_object_object_add(it, "status", json_object_new_string(PQgetvalue(items, i, 1)));
        json_object_object_add(it, "pass_id", PQgetisnull(items, i, 2) ? NULL : json_object_new_string(PQgetvalue(items, i, 2)));
        json_object *e = PQgetisnull(items, i, 3) ? NULL : json_tokener_parse(PQgetvalue(items, i, 3));
        json_object_object_add(it, "error", e);
        json_object_array_add(data, it);
    }
    json_object *list = json_object_new_object();
    json_object_object_add(list, "object", json_object_new_string("list"));
    json_object_object_add(list, "data", data);
    json_object_object_add(list, "has_more", json_object_new_boolean(ni > limit));
    json_object_object_add(o, "items", list);
    PQclear(items);
    PQclear(r);
    *out = o;
    return WP_OK;
}

/* ---- the chunk job ---------------------------------------------------------------- */

/* The API error an item gets: what POST /api/v1/passes would have answered. */
static json_object *item_error(const wp_err *e)
{
    int status = wp_err_http_status(e->status);
    const char *type = "invalid_request_error", *code = e->code, *msg = e->msg;
    if (e->status == WP_ELIMIT && e->code && strcmp(e->code, "plan_limit_reached") == 0) {
        status = 402;
    } else if (status >= 500) {
        type = "api_error";
        code = "internal_error";
        msg = "internal error: the pass was not created; send it again";
    } else if (!code) {
        code = status == 404 ? "resource_missing" : status == 409 ? "conflict" : "parameter_invalid";
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_int(status));
    json_object_object_add(o, "type", json_object_new_string(type));
    json_object_object_add(o, "code", json_object_new_string(code));
    json_object_object_add(o, "message", json_object_new_string(msg));
    json_object_object_add(o, "param", e->param[0] && status < 500 ? json_object_new_string(e->param) : NULL);
    return o;
}

/*
 * Processes item idx of the batch in one transaction: the pass and the
 * item's result commit together.  An item already done (a chunk run again)
 * is skipped.  WP_OK when the item is done (either way); a transient error
 * otherwise (the caller retries the job).
 */
static wp_status process_item(wp_domain *dom, PGconn *db, const char *account_id, const char *batch_id,
                              const char *idx, const char *template_id, int last_attempt, wp_err *err)
{
    PGresult *r = NULL;
    json_object *body = NULL, *res = NULL, *eo = NULL;
    wp_status st;
    const char *p[] = {account_id, batch_id, idx, NULL};
    if ((st = wp_db_begin(db, err)) != WP_OK) return st;
    /* FOR SHARE waits for a deletion of the account in flight and then sees it: no item of a
     * deleted sub-account becomes a pass once its DELETE has answered. The item stays pending and
     * is purged with the account (docs/api.md, "Deleting a sub-account"). */
    if ((st = wp_db_query(db, "SELECT 1 FROM accounts WHERE id = $1 AND deleted_at IS NULL FOR SHARE", 1, p, &r,
                          err)) != WP_OK)
        goto out;
    if (PQntuples(r) == 0) goto out;
    PQclear(r);
    r = NULL;
    if ((st = wp_db_query(db,
                          "SELECT body::text FROM batch_items WHERE account_id = $1 AND batch_id = $2 AND idx = $3::int"
                          " AND status = 'pending' FOR UPDATE",
                          3, p, &r, err)) != WP_OK)
        goto out;
    if (PQntuples(r) == 0) goto out; /* done by an earlier run */
    body = PQgetisnull(r, 0, 0) ? NULL : json_tokener_parse(PQgetvalue(r, 0, 0));
    if ((st = wp_db_query(db, "SAVEPOINT item", 0, NULL, NULL, err)) != WP_OK) goto out;
    wp_err ie;
    wp_err_clear(&ie);
    wp_status cst = wp_pass_create(dom, db, account_id, body, template_id, NULL, &res, &ie);
    if (cst == WP_OK) {
        json_object *pid = NULL;
        json_object_object_get_ex(res, "id", &pid);
        p[3] = json_object_get_string(pid);
        st = wp_db_query(db,
                         "UPDATE batch_items SET status = 'succeeded', pass_id = $4, body = NULL"
                         " WHERE account_id = $1 AND batch_id = $2 AND idx = $3::int",
                         4, p, NULL, err);
        goto out;
    }
    if (wp_err_http_status(ie.status) >= 500 && !last_attempt) {
        st = wp_err_set(err, ie.status, "batch %s item %s: %s", batch_id, idx, ie.msg);
        goto out;
    }
    if (wp_err_http_status(ie.status) >= 500)
        wp_log_error("batch %s item %s: %s (last attempt: the item fails)", batch_id, idx, ie.msg);
    if ((st = wp_db_query(db, "ROLLBACK TO SAVEPOINT item", 0, NULL, NULL, err)) != WP_OK) goto out;
    eo = item_error(&ie);
    p[3] = json_object_to_json_string_ext(eo, JSON_C_TO_STRING_PLAIN);
    st = wp_db_query(db,
                     "UPDATE batch_items SET status = 'failed', error = $4::jsonb, body = NULL"
                     " WHERE account_id = $1 AND batch_id = $2 AND idx = $3::int",
                     4, p, NULL, err);
out:
    if (st == WP_OK) st = wp_db_commit(db, err);
    else wp_db_rollback(db);
    if (r) PQclear(r);
    json_object_put(body);
    json_object_put(res);
    json_object_put(eo);
    return st;
}

/* Marks the batch completed and publishes batch.completed when no item is pending (once). */
static wp_status finish_if_done(wp_domain *dom, PGconn *db, const char *account_id, const char *batch_id, wp_err *err)
{
    PGresult *r = NULL;
    const char *p[] = {account_id, batch_id};
    wp_status st;
    if ((st = wp_db_begin(db, err)) != WP_OK) return st;
    /* the row lock orders concurrent chunks: the second sees status completed and does nothing */
    if ((st = wp_db_query(db,
                          "UPDATE batches b SET status = 'completed', completed_at = now(), updated_at = now()"
                          " WHERE account_id = $1 AND id = $2 AND status <> 'completed' AND NOT EXISTS ("
                          "SELECT 1 FROM batch_items i WHERE i.account_id = $1 AND i.batch_id = $2 AND i.status = 'pending')"
                          " RETURNING id",
                          2, p, &r, err)) != WP_OK)
        goto out;
    int done = PQntuples(r) == 1;
    PQclear(r);
    r = NULL;
    if (!done) goto out;
    if ((st = load_batch(db, account_id, batch_id, &r, err)) != WP_OK) goto out;
    json_object *data = json_object_new_object();
    json_object_object_add(data, "schema", json_object_new_int(1));
    json_object_object_add(data, "batch", batch_resource(r));
    st = wp_events_publish(dom->events, db, account_id, "batch.completed", data, NULL, err);
    json_object_put(data);
    if (st == WP_OK) wp_log_info("batch %s completed", batch_id);
out:
    if (st == WP_OK) st = wp_db_commit(db, err);
    else wp_db_rollback(db);
    if (r) PQclear(r);
    return st;
}

static wp_status run_chunk(wp_domain *dom, PGconn *db, const char *account_id, const char *batch_id, int from, int to,
                           int last_attempt, wp_err *err)
{
    PGresult *r = NULL;
    const char *p[] = {account_id, batch_id};
    wp_status st = wp_db_query(db,
                               "UPDATE batches SET status = CASE status WHEN 'queued' THEN 'processing' ELSE status END,"
                               " updated_at = now() WHERE account_id = $1 AND id = $2 AND EXISTS ("
                               "SELECT 1 FROM accounts a WHERE a.id = $1 AND a.deleted_at IS NULL) RETURNING template_id",
                               2, p, &r, err);
    if (st != WP_OK) return st;
    if (PQntuples(r) == 0) {
        /* the account was deleted meanwhile (or purged with its batches): nothing left to do */
        PQclear(r);
        return WP_OK;
    }
    char tid[WP_ID_MAX + 8] = "";
    if (!PQgetisnull(r, 0, 0)) snprintf(tid, sizeof tid, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    char f[16], t[16];
    snprintf(f, sizeof f, "%d", from);
    snprintf(t, sizeof t, "%d", to);
    const char *q[] = {account_id, batch_id, f, t};
    if ((st = wp_db_query(db,
                          "SELECT idx FROM batch_items WHERE account_id = $1 AND batch_id = $2 AND idx >= $3::int"
                          " AND idx < $4::int AND status = 'pending' ORDER BY idx",
                          4, q, &r, err)) != WP_OK)
        return st;
    for (int i = 0; st == WP_OK && i < PQntuples(r); i++)
        st = process_item(dom, db, account_id, batch_id, PQgetvalue(r, i, 0), tid[0] ? tid : NULL, last_attempt, err);
    PQclear(r);
    if (st != WP_OK) return st;
    return finish_if_done(dom, db, account_id, batch_id, err);
}

static wp_status chunk_job(const char *kind, json_object *payload, const char *job_id, int attempt, void *ud,
                           wp_err *err)
{
    (void)kind;
    wp_domain *dom = ud;
    json_object *acct = NULL, *bid = NULL, *from = NULL, *to = NULL;
    json_object_object_get_ex(payload, "account_id", &acct);
    json_object_object_get_ex(payload, "batch_id", &bid);
    json_object_object_get_ex(payload, "from", &from);
    json_object_object_get_ex(payload, "to", &to);
    if (!json_object_is_type(acct, json_type_string) || !json_object_is_type(bid, json_type_string) ||
        !json_object_is_type(from, json_type_int) || !json_object_is_type(to, json_type_int))
        return wp_err_set(err, WP_FAIL, "malformed %s payload (account_id, batch_id, from, to expected)", WP_BATCH_JOB);
    PGconn *db = wp_db_acquire(dom->db, err);
    if (!db) return WP_RETRY;
    wp_status st = run_chunk(dom, db, json_object_get_string(acct), json_object_get_string(bid),
                             json_object_get_int(from), json_object_get_int(to), attempt >= CHUNK_ATTEMPTS, err);
    wp_db_release(dom->db, db);
    if (st != WP_OK) {
        wp_log_warn("%s %s (attempt %d): %s", WP_BATCH_JOB, job_id, attempt, err->msg);
        return WP_RETRY;
    }
    return WP_OK;
}

wp_status wp_batches_register_job(wp_domain *dom, wp_err *err)
{
    return wp_jobs_register(dom->jobs, WP_BATCH_JOB, chunk_job, dom, chunk_retry,
                            (int)(sizeof chunk_retry / sizeof chunk_retry[0]), err);
}
