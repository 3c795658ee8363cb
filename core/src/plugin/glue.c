/*
 * glue.c - the plugin routes' transactions and the trampolines that call a
 * plugin's route, job and event handlers (plugin_host.h).
 */
#include "plugin_host.h"

/* ---- request transactions ------------------------------------------- */

/* The plugin route running on this thread, and whether the host opened its transaction. */
typedef struct {
    wp_req *req;
    bool tx;
} route_ctx;
static _Thread_local route_ctx *cur_route;

/* The connection for a host call made with req; opens the plugin route's transaction on first use. */
PGconn *wp_plugin_req_conn(wp_req *req, wp_err *e)
{
    PGconn *c = wp_req_db(req, e);
    if (!c) return NULL;
    if (cur_route && cur_route->req == req && !cur_route->tx && PQtransactionStatus(c) == PQTRANS_IDLE) {
        if (wp_db_begin(c, e) != WP_OK) return NULL;
        cur_route->tx = true;
    }
    return c;
}

/* Before a response goes out: commit a successful route's work, roll back a failed one's.
 * Returns 0 when the commit failed (then the error response was sent instead). */
int wp_plugin_finish_tx(wp_req *req, int status)
{
    if (!cur_route || cur_route->req != req || !cur_route->tx) return 1;
    cur_route->tx = false;
    if (status >= 400) {
        wp_db_rollback(req->db);
        return 1;
    }
    wp_err e;
    wp_err_clear(&e);
    if (wp_db_commit(req->db, &e) != WP_OK) {
        wp_resp_from_err(req, &e);
        return 0;
    }
    return 1;
}

void wp_plugin_route_entry(wp_req *req, void *ud)
{
    reg *r = ud;
    route_ctx ctx = {req, false};
    route_ctx *saved = cur_route;
    cur_route = &ctx;
    ((wp_plugin_route_fn)r->fn)(req, r->ud);
    if (ctx.tx) wp_db_rollback(req->db); /* no response was sent: nothing is kept */
    cur_route = saved;
}

/* ---- job and event trampolines --------------------------------------- */

wp_status wp_plugin_job_entry(const char *kind, json_object *payload, const char *job_id, int attempt, void *ud,
                           wp_err *err)
{
    reg *r = ud;
    wp_plugin_job job = {sizeof(wp_plugin_job), (uint32_t)attempt, job_id, kind, payload};
    wp_plugin_last_log[0] = '\0';
    wp_status st = ((wp_plugin_job_fn)r->fn)(r->ud, &job);
    if (st != WP_OK)
        wp_err_set(err, st, "%s", wp_plugin_last_log[0] ? wp_plugin_last_log : wp_status_str(st));
    return st;
}

/* The version of an event's data: its "schema" member; 1 when it has none, 0 when it is not a positive integer. */
static uint32_t data_schema(json_object *data)
{
    json_object *v;
    if (!data || !json_object_object_get_ex(data, "schema", &v)) return 1;
    if (!json_object_is_type(v, json_type_int)) return 0;
    int64_t n = json_object_get_int64(v);
    return n >= 1 && n <= UINT32_MAX ? (uint32_t)n : 0;
}

wp_status wp_plugin_event_entry(const wp_event_delivery *d, void *ud, wp_err *err)
{
    reg *r = ud;
    uint32_t schema = data_schema(d->data);
    /* A subscriber that said which schemas it understands (subscribe_ex) never sees another. */
    if (r->schema_min && (schema < r->schema_min || (r->schema_max && schema > r->schema_max))) {
        char range[48];
        if (r->schema_max) snprintf(range, sizeof range, "%u..%u", r->schema_min, r->schema_max);
        else snprintf(range, sizeof range, "%u or later", r->schema_min);
        if (r->p->set->env.metrics)
            wp_metrics_counter_add(r->p->set->env.metrics, "walletpass_plugin_event_schema_mismatches_total",
                                   "Event deliveries whose data schema the subscribing plugin does not understand",
                                   1);
        if (r->on_mismatch == WP_SCHEMA_SKIP) {
            wp_log_info("plugin %s: skipped event %s (%s): its data schema is %u, the subscriber understands %s",
                        r->p->name, d->event_id, d->type, schema, range);
            return WP_OK;
        }
        return wp_err_set(err, WP_FAIL, "event %s (%s) has data schema %u; plugin %s understands %s: refused",
                          d->event_id, d->type, schema, r->p->name, range);
    }
    wp_plugin_event ev = {sizeof(wp_plugin_event), (uint32_t)d->attempt, d->event_id, d->type, d->account_id, d->data,
                          d->created_at, schema ? schema : 1, 0};
    wp_plugin_last_log[0] = '\0';
    wp_status st = ((wp_plugin_event_fn)r->fn)(r->ud, &ev);
    if (st != WP_OK)
        wp_err_set(err, st, "%s", wp_plugin_last_log[0] ? wp_plugin_last_log : wp_status_str(st));
    return st;
}
