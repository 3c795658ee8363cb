/*
 * events.c - see events.h.
 */
#include "events.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "log.h"

#define NAME_MAX_LEN 48

typedef struct subscription {
    char *type;
    char *subscriber;
    char *kind;
    int max_attempts;
    wp_event_fn fn;
    void *ud;
    wp_events *ev;
} subscription;

struct wp_events {
    wp_jobs *q;
    wp_fence *_Atomic fence;
    subscription **subs;
    int nsubs;
};

static const char ts_fmt[] = "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'";

static bool name_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n > 0 && n <= NAME_MAX_LEN &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

wp_status wp_events_new(wp_jobs *q, wp_events **out, wp_err *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out) return wp_err_set(err, WP_ENOMEM, "out of memory");
    (*out)->q = q;
    return WP_OK;
}

void wp_events_set_fence(wp_events *ev, wp_fence *fence) { atomic_store(&ev->fence, fence); }

void wp_events_free(wp_events *ev)
{
    if (!ev) return;
    for (int i = 0; i < ev->nsubs; i++) {
        free(ev->subs[i]->type);
        free(ev->subs[i]->subscriber);
        free(ev->subs[i]->kind);
        free(ev->subs[i]);
    }
    free(ev->subs);
    free(ev);
}

/* The job handler behind every subscription: unpacks the delivery job. */
static wp_status deliver(const char *kind, json_object *payload, const char *job_id, int attempt, void *ud,
                         wp_err *err)
{
    const subscription *s = ud;
    /* What the event tells of (a pass changed) committed before it: once every process has
     * forgotten what it replaced, a push or a webhook cannot make a device or a client
     * fetch the old version from some process's memory. */
    wp_fence_sync(atomic_load(&s->ev->fence));
    json_object *id, *type, *acct, *data = NULL;
    if (!json_object_object_get_ex(payload, "event_id", &id) || !json_object_object_get_ex(payload, "type", &type) ||
        !json_object_object_get_ex(payload, "account_id", &acct))
        return wp_err_set(err, WP_FAIL, "delivery job %s is not an event delivery", job_id);
    json_object_object_get_ex(payload, "data", &data);
    json_object *created = NULL;
    json_object_object_get_ex(payload, "created_at", &created);
    wp_event_delivery d = {.type = json_object_get_string(type), .event_id = json_object_get_string(id),
                           .account_id = json_object_is_type(acct, json_type_null) ? NULL : json_object_get_string(acct),
                           .created_at = created ? json_object_get_string(created) : NULL, .data = data,
                           .attempt = attempt};
    return s->fn(&d, s->ud, err);
}

wp_status wp_events_subscribe(wp_events *ev, const char *type, const char *subscriber, wp_event_fn fn, void *ud,
                              const int *retry_delays_s, int nretries, wp_err *err)
{
    if (!type || (strcmp(type, "*") != 0 && !name_valid(type)))
        return wp_err_set(err, WP_EINVAL, "event type \"%s\": must be \"*\" or 1..%d characters of letters, digits and ._-",
                          type ? type : "", NAME_MAX_LEN);
    if (!name_valid(subscriber))
        return wp_err_set(err, WP_EINVAL, "subscriber \"%s\": must be 1..%d characters of letters, digits and ._-",
                          subscriber ? subscriber : "", NAME_MAX_LEN);
    if (!fn) return wp_err_set(err, WP_EINVAL, "subscriber \"%s\": no handler function", subscriber);
    for (int i = 0; i < ev->nsubs; i++)
        if (strcmp(ev->subs[i]->subscriber, subscriber) == 0 && strcmp(ev->subs[i]->type, type) == 0)
            return wp_err_set(err, WP_ECONFLICT, "subscriber \"%s\" is already subscribed to \"%s\"", subscriber, type);
    subscription *s = calloc(1, sizeof *s);
    subscription **ns = realloc(ev->subs, (size_t)(ev->nsubs + 1) * sizeof *ns);
    if (ns) ev->subs = ns;
    char kind[160];
    snprintf(kind, sizeof kind, "event:%s:%s", subscriber, type);
    if (s) {
        s->type = strdup(type);
        s->subscriber = strdup(subscriber);
        s->kind = strdup(kind);
    }
    if (!s || !ns || !s->type || !s->subscriber || !s->kind) {
        if (s) {
            free(s->type);
            free(s->subscriber);
            free(s->kind);
        }
        free(s);
        return wp_err_set(err, WP_ENOMEM, "out of memory");
    }
    s->fn = fn;
    s->ud = ud;
    s->ev = ev;
    s->max_attempts = 1 + nretries;
    wp_status st = wp_jobs_register(ev->q, kind, deliver, s, retry_delays_s, nretries, err);
    if (st != WP_OK) {
        free(s->type);
        free(s->subscriber);
        free(s->kind);
        free(s);
        return st;
    }
    ev->subs[ev->nsubs++] = s;
    return WP_OK;
}

/* Appends s to a text[] / int[] literal under construction (names hold no special characters). */
static void lit_add(char *buf, size_t cap, size_t *len, const char *s)
{
    *len += (size_t)snprintf(buf + *len, cap - *len, "%s%s", *len > 1 ? "," : "", s);
}

wp_status wp_events_publish(wp_events *ev, PGconn *conn, const char *account_id, const char *type,
                            json_object *data, char id_out[48], wp_err *err)
{
    if (id_out) id_out[0] = '\0';
    if (!account_id || !*account_id) return wp_err_param(err, WP_EINVAL, "account_id", "an event needs an account");
    if (!name_valid(type))
        return wp_err_param(err, WP_EINVAL, "type", "event type \"%s\": must be 1..%d characters of letters, digits and ._-",
                            type ? type : "", NAME_MAX_LEN);
    char id[WP_ID_MAX];
    if (wp_id_new("evt", id) != WP_OK) return wp_err_set(err, WP_ECRYPTO, "no randomness for the event id");
    /* The matching subscriptions become one delivery job each. */
    size_t cap = 8 + (size_t)ev->nsubs * 200;
    char *jids = malloc(cap), *kinds = malloc(cap), *maxa = malloc(cap);
    if (!jids || !kinds || !maxa) {
        free(jids);
        free(kinds);
        free(maxa);
        return wp_err_set(err, WP_ENOMEM, "out of memory");
    }
    size_t lj = 1, lk = 1, lm = 1;
    jids[0] = kinds[0] = maxa[0] = '{';
    wp_status st = WP_OK;
    for (int i = 0; i < ev->nsubs; i++) {
        const subscription *s = ev->subs[i];
        if (strcmp(s->type, "*") != 0 && strcmp(s->type, type) != 0) continue;
        char jid[WP_ID_MAX], m[16];
        if (wp_id_new("job", jid) != WP_OK) {
            st = wp_err_set(err, WP_ECRYPTO, "no randomness for the job id");
            break;
        }
        snprintf(m, sizeof m, "%d", s->max_attempts);
        lit_add(jids, cap, &lj, jid);
        lit_add(kinds, cap, &lk, s->kind);
        lit_add(maxa, cap, &lm, m);
    }
    snprintf(jids + lj, cap - lj, "}");
    snprintf(kinds + lk, cap - lk, "}");
    snprintf(maxa + lm, cap - lm, "}");
    const char *body = data ? json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN) : "{}";
    if (st == WP_OK && !body) st = wp_err_set(err, WP_ENOMEM, "out of memory");
    if (st == WP_OK) {
        const char *params[] = {account_id, id, type, body, jids, kinds, maxa};
        char sql[1600];
        snprintf(sql, sizeof sql,
                 "WITH e AS (INSERT INTO events (account_id, id, type, schema, data)"
                 "  VALUES ($1, $2, $3, %d, $4::jsonb) RETURNING account_id, id, type, schema, data, created_at),"
                 " j AS (INSERT INTO jobs (id, account_id, kind, payload, max_attempts, serial_key)"
                 "  SELECT s.job_id, e.account_id, s.kind,"
                 "   jsonb_build_object('event_id', e.id, 'type', e.type, 'account_id', e.account_id,"
                 "    'schema', e.schema, 'created_at', to_char(e.created_at AT TIME ZONE 'UTC', %s), 'data', e.data),"
                 "   s.max_attempts,"
                 /* one subscriber's deliveries about one pass: one at a time, in publish order */
                 "   CASE WHEN jsonb_typeof(e.data->'pass'->'id') = 'string' THEN 'event:' || split_part(s.kind, ':', 2)"
                 "    || ':' || e.account_id || ':' || (e.data->'pass'->>'id') END"
                 "  FROM e, unnest($5::text[], $6::text[], $7::int[]) AS s(job_id, kind, max_attempts)"
                 "  RETURNING kind)"
                 " SELECT pg_notify('wp_jobs', kind) FROM j",
                 WP_EVENT_SCHEMA, ts_fmt);
        wp_db *db = wp_jobs_db(ev->q);
        if (conn) {
            st = wp_db_query(conn, sql, 7, params, NULL, err);
        } else {
            PGconn *c = wp_db_acquire(db, err);
            if (!c) st = err ? err->status : WP_EUNAVAIL;
            else {
                st = wp_db_query(c, sql, 7, params, NULL, err); /* one statement: its own transaction */
                wp_db_release(db, c);
            }
        }
        if (st == WP_ECONFLICT) st = wp_err_set(err, WP_EINTERNAL, "event id collision: %s", id);
        else if (st == WP_EDB && strstr(err ? err->msg : "", "foreign key"))
            st = wp_err_param(err, WP_ENOTFOUND, "account_id", "no account %s", account_id);
    }
    free(jids);
    free(kinds);
    free(maxa);
    if (st == WP_OK && id_out) snprintf(id_out, WP_ID_MAX, "%s", id);
    return st;
}

/* Columns: id, type, schema, data::text, created_at, account_id. */
static json_object *event_doc(PGresult *r, int row)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(PQgetvalue(r, row, 0)));
    json_object_object_add(o, "object", json_object_new_string("event"));
    json_object_object_add(o, "type", json_object_new_string(PQgetvalue(r, row, 1)));
    json_object_object_add(o, "account_id", json_object_new_string(PQgetvalue(r, row, 5)));
    json_object_object_add(o, "created_at", json_object_new_string(PQgetvalue(r, row, 4)));
    json_object_object_add(o, "schema", json_object_new_int(atoi(PQgetvalue(r, row, 2))));
    json_object *data = json_tokener_parse(PQgetvalue(r, row, 3));
    json_object_object_add(o, "data", data ? data : json_object_new_object());
    return o;
}

#define EVENT_COLS_FMT "id, type, schema, data::text, to_char(created_at AT TIME ZONE 'UTC', %s), account_id"

wp_status wp_events_get(wp_events *ev, PGconn *conn, const char *account_id, const char *event_id,
                        json_object **out, wp_err *err)
{
    *out = NULL;
    char sql[400];
    snprintf(sql, sizeof sql, "SELECT " EVENT_COLS_FMT " FROM events WHERE account_id = $1 AND id = $2", ts_fmt);
    const char *params[] = {account_id, event_id};
    wp_db *db = wp_jobs_db(ev->q);
    PGconn *c = conn ? conn : wp_db_acquire(db, err);
    if (!c) return err ? err->status : WP_EUNAVAIL;
    PGresult *r;
    wp_status st = wp_db_query(c, sql, 2, params, &r, err);
    if (!conn) wp_db_release(db, c);
    if (st != WP_OK) return st;
    if (PQntuples(r) == 1) *out = event_doc(r, 0);
    else st = wp_err_set(err, WP_ENOTFOUND, "no event %s", event_id);
    PQclear(r);
    return st;
}

bool wp_events_type_valid(const char *type) { return name_valid(type); }

wp_status wp_events_page(PGconn *conn, const char *account_id, const char *type, const char *pass_id, const char *after,
                         int limit, json_object **data, bool *has_more, wp_err *err)
{
    *data = NULL;
    *has_more = false;
    char lim[16], sql[1024];
    snprintf(lim, sizeof lim, "%d", limit + 1);
    snprintf(sql, sizeof sql,
             "SELECT " EVENT_COLS_FMT " FROM events WHERE account_id = $1"
             " AND ($2::text IS NULL OR type = $2) AND ($3::text IS NULL OR id < $3)"
             /* the pass an event is about: its "pass" resource, or its "pass_id" (events_pass_idx) */
             " AND ($5::text IS NULL OR coalesce(data->'pass'->>'id', data->>'pass_id') = $5)"
             " ORDER BY id DESC LIMIT $4::int",
             ts_fmt);
    const char *params[] = {account_id, type && type[0] ? type : NULL, after && after[0] ? after : NULL, lim,
                            pass_id && pass_id[0] ? pass_id : NULL};
    PGresult *r;
    wp_status st = wp_db_query(conn, sql, 5, params, &r, err);
    if (st != WP_OK) return st;
    int n = PQntuples(r);
    *data = json_object_new_array();
    for (int i = 0; i < n && i < limit; i++) json_object_array_add(*data, event_doc(r, i));
    PQclear(r);
    *has_more = n > limit;
    return WP_OK;
}
