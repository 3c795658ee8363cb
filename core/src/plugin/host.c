/*
 * host.c - the host table's general slots: diagnostics, logging, errors,
 * events, jobs, SQL, metrics, hooks, the request and the response (plugin_host.h).
 */
#include "plugin_host.h"

/* ---- thread-local diagnostics ---------------------------------------- */

static _Thread_local char last_error_buf[512];
_Thread_local char wp_plugin_last_log[400]; /* last warning/error a plugin logged: a job's last_error */
static _Thread_local wp_err tls_err;

wp_status wp_plugin_fail(wp_status st, const wp_err *e)
{
    snprintf(last_error_buf, sizeof last_error_buf, "%s", e && e->msg[0] ? e->msg : wp_status_str(st));
    return st;
}

wp_status wp_plugin_failf(wp_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
wp_status wp_plugin_failf(wp_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error_buf, sizeof last_error_buf, fmt, ap);
    va_end(ap);
    return st;
}

wp_status wp_plugin_ok(void)
{
    last_error_buf[0] = '\0';
    return WP_OK;
}


/* ---- the rest of the host table ---------------------------------------- */

void wp_host_log(wp_plugin *p, wp_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void wp_host_log(wp_plugin *p, wp_log_level level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if ((int)level < WP_LOG_DEBUG || (int)level > WP_LOG_ERROR) level = WP_LOG_ERROR;
    if (level >= WP_LOG_WARN) snprintf(wp_plugin_last_log, sizeof wp_plugin_last_log, "%.*s", (int)sizeof wp_plugin_last_log - 1, msg);
    wp_log(level, "plugin %s: %s", p ? p->name : "?", msg);
}

const char *wp_host_last_error(void) { return last_error_buf; }

void wp_host_set_error(wp_plugin *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void wp_host_set_error(wp_plugin *p, const char *fmt, ...)
{
    if (!p) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->init_error, sizeof p->init_error, fmt, ap);
    va_end(ap);
}

void wp_host_error_set(wp_err *err, wp_status status, const char *code, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void wp_host_error_set(wp_err *err, wp_status status, const char *code, const char *param, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    wp_hooks_error_set(err, status, code, param, msg);
}

wp_err *wp_host_err_new(wp_req *req)
{
    wp_err *e = req ? wp_req_alloc(req, sizeof *e) : &tls_err;
    if (e) wp_err_clear(e);
    return e;
}

const char *wp_host_err_message(const wp_err *err) { return err ? err->msg : ""; }

wp_status wp_host_publish(wp_plugin *p, wp_req *req, const char *account_id, const char *type, const json_object *data,
                           char *id_out, size_t id_len)
{
    wp_events *ev = p ? p->set->env.events : NULL;
    if (!ev) return wp_plugin_failf(WP_EUNAVAIL, "events are not available in this process");
    /* Since ABI 1.5 an event's data says which version of its shape it is (subscribe_ex reads it). */
    json_object *sv;
    if (p->built_minor >= 5 &&
        (!data || !json_object_is_type((json_object *)data, json_type_object) ||
         !json_object_object_get_ex((json_object *)data, "schema", &sv) || !json_object_is_type(sv, json_type_int) ||
         json_object_get_int64(sv) < 1 || json_object_get_int64(sv) > UINT32_MAX))
        return wp_plugin_failf(WP_EINVAL, "publish %s: data.schema, the version of the event's data, must be an integer "
                          "from 1 (plugins built against ABI 1.5 or later)", type ? type : "(null)");
    wp_err e;
    wp_err_clear(&e);
    PGconn *c = NULL;
    if (req && !(c = wp_plugin_req_conn(req, &e))) return wp_plugin_fail(e.status, &e);
    char id[48] = "";
    wp_status st = wp_events_publish(ev, c, account_id, type, (json_object *)data, id, &e);
    if (st != WP_OK) return wp_plugin_fail(st, &e);
    if (id_out && id_len) snprintf(id_out, id_len, "%s", id);
    return wp_plugin_ok();
}

wp_status wp_host_job_enqueue(wp_plugin *p, wp_req *req, const char *kind, const json_object *payload,
                               int64_t run_at_ms, char *id_out, size_t id_len)
{
    wp_jobs *q = p ? p->set->env.jobs : NULL;
    if (!q) return wp_plugin_failf(WP_EUNAVAIL, "the job queue is not available in this process");
    if (!wp_plugin_own_kind(p, kind))
        return wp_plugin_failf(WP_EINVAL, "job kind \"%s\" must start with \"%s.\"", kind ? kind : "(null)", p->name);
    wp_err e;
    wp_err_clear(&e);
    PGconn *c = NULL;
    if (req && !(c = wp_plugin_req_conn(req, &e))) return wp_plugin_fail(e.status, &e);
    const char *acct = req && req->account_id[0] ? req->account_id : NULL;
    char id[48] = "";
    wp_status st = wp_jobs_enqueue(q, c, acct, kind, (json_object *)payload, run_at_ms, id, &e);
    if (st != WP_OK) return wp_plugin_fail(st, &e);
    if (id_out && id_len) snprintf(id_out, id_len, "%s", id);
    return wp_plugin_ok();
}

/* ABI 1.4: options in a sized struct; only the fields within opts->size are read. */
wp_status wp_host_job_enqueue_ex(wp_plugin *p, wp_req *req, const char *kind, const json_object *payload,
                                  const wp_job_options *opts, char *id_out, size_t id_len)
{
    wp_jobs *q = p ? p->set->env.jobs : NULL;
    if (!q) return wp_plugin_failf(WP_EUNAVAIL, "the job queue is not available in this process");
    if (!wp_plugin_own_kind(p, kind))
        return wp_plugin_failf(WP_EINVAL, "job kind \"%s\" must start with \"%s.\"", kind ? kind : "(null)", p->name);
    wp_job_opts o = {0};
    if (opts) {
        if (opts->size < offsetof(wp_job_options_v1, run_at_ms))
            return wp_plugin_failf(WP_EINVAL, "job_enqueue_ex: opts->size is %u; start from WP_JOB_OPTIONS_INIT",
                              (unsigned)opts->size);
        if (opts->size >= offsetof(wp_job_options_v1, run_at_ms) + sizeof opts->run_at_ms)
            o.run_at_unix_ms = opts->run_at_ms;
        if (opts->size >= offsetof(wp_job_options_v1, serial_key) + sizeof opts->serial_key)
            o.serial_key = opts->serial_key;
    }
    /* Keys are namespaced by plugin, so one plugin cannot hold back another's jobs. */
    size_t n = strlen(p->name);
    if (o.serial_key && (strncmp(o.serial_key, p->name, n) != 0 || o.serial_key[n] != ':' || !o.serial_key[n + 1]))
        return wp_plugin_failf(WP_EINVAL, "serial key \"%.64s\" must start with \"%s:\"", o.serial_key, p->name);
    wp_err e;
    wp_err_clear(&e);
    PGconn *c = NULL;
    if (req && !(c = wp_plugin_req_conn(req, &e))) return wp_plugin_fail(e.status, &e);
    const char *acct = req && req->account_id[0] ? req->account_id : NULL;
    char id[48] = "";
    wp_status st = wp_jobs_enqueue_opts(q, c, acct, kind, (json_object *)payload, &o, id, &e);
    if (st != WP_OK) return wp_plugin_fail(st, &e);
    if (id_out && id_len) snprintf(id_out, id_len, "%s", id);
    return wp_plugin_ok();
}

static json_object *cell(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col)) return NULL;
    const char *v = PQgetvalue(res, row, col);
    switch (PQftype(res, col)) {
    case 16: return json_object_new_boolean(v[0] == 't');                  /* bool */
    case 20: case 21: case 23: case 26: return json_object_new_int64(strtoll(v, NULL, 10)); /* int8/2/4, oid */
    case 700: case 701: return json_object_new_double(strtod(v, NULL));   /* float4/8 */
    case 114: case 3802: {                                                 /* json, jsonb */
        json_object *j = json_tokener_parse(v);
        return j ? j : json_object_new_string(v);
    }
    default: return json_object_new_string(v);
    }
}

wp_status wp_host_db_query(wp_plugin *p, wp_req *req, const char *sql, int nparams, const char *const *params,
                            json_object **rows)
{
    if (rows) *rows = NULL;
    if (!p || !sql || nparams < 0 || (nparams > 0 && !params))
        return wp_plugin_failf(WP_EINVAL, "db_query: sql, and params for nparams > 0, are required");
    wp_db *db = p->set->env.db;
    wp_err e;
    wp_err_clear(&e);
    PGconn *c;
    if (req) c = wp_plugin_req_conn(req, &e);
    else if (!db) return wp_plugin_failf(WP_EUNAVAIL, "the database is not available in this process");
    else c = wp_db_acquire(db, &e);
    if (!c) return wp_plugin_fail(e.status, &e);
    PGresult *res = NULL;
    wp_status st = wp_db_query(c, sql, nparams, params, &res, &e);
    if (!req) wp_db_release(db, c);
    if (st != WP_OK) {
        wp_log_debug("plugin %s: query failed: %s", p->name, e.msg);
        return wp_plugin_fail(st, &e);
    }
    if (rows) {
        json_object *arr = json_object_new_array();
        int nr = PQntuples(res), nf = PQnfields(res);
        for (int i = 0; arr && i < nr; i++) {
            json_object *o = json_object_new_object();
            if (!o) break;
            for (int j = 0; j < nf; j++) json_object_object_add(o, PQfname(res, j), cell(res, i, j));
            json_object_array_add(arr, o);
        }
        *rows = arr;
    }
    PQclear(res);
    return wp_plugin_ok();
}

wp_status wp_host_metrics_add(wp_plugin *p, const char *name, const char *help, double delta)
{
    if (!p || !name || !*name) return wp_plugin_failf(WP_EINVAL, "metrics_add: a name is required");
    if (!p->set->env.metrics) return wp_plugin_ok();
    char full[160];
    snprintf(full, sizeof full, "walletpass_%s_%s", p->name, name);
    for (char *c = full; *c; c++)
        if (*c == '-') *c = '_';
    wp_err e;
    wp_err_clear(&e);
    wp_status st = wp_metrics_counter_add(p->set->env.metrics, full, help ? help : "", delta);
    if (st != WP_OK) return wp_plugin_failf(st, "metrics_add: \"%s\" is not a valid metric name", full);
    return wp_plugin_ok();
}

wp_filter_result wp_host_hook_run(const char *hook, json_object *doc, wp_req *req, wp_err *err)
{
    return wp_hooks_run(hook, doc, req, err);
}

const char *wp_host_req_method(wp_req *req) { return wp_req_method(req); }
const char *wp_host_req_param(wp_req *req, const char *name) { return wp_req_param(req, name); }
const char *wp_host_req_header(wp_req *req, const char *name) { return wp_req_header(req, name); }

int wp_host_req_query(wp_req *req, const char *name, char *buf, size_t len)
{
    wp_err e;
    wp_err_clear(&e);
    int r = wp_req_query(req, name, buf, len, &e);
    if (r < 0) wp_plugin_fail(e.status, &e);
    return r;
}

wp_status wp_host_req_body(wp_req *req, const char **data, size_t *len)
{
    wp_err e;
    wp_err_clear(&e);
    wp_status st = wp_req_body(req, data, len, &e);
    return st == WP_OK ? wp_plugin_ok() : wp_plugin_fail(st, &e);
}

wp_status wp_host_req_json(wp_req *req, json_object **out, wp_err *err)
{
    wp_err local;
    wp_err_clear(&local);
    wp_status st = wp_req_json(req, out, err ? err : &local);
    return st == WP_OK ? wp_plugin_ok() : wp_plugin_fail(st, err ? err : &local);
}

const char *wp_host_req_account_id(wp_req *req) { return req->account_id; }
const char *wp_host_req_id(wp_req *req) { return req->request_id; }
void *wp_host_req_alloc(wp_req *req, size_t n) { return wp_req_alloc(req, n); }
void wp_host_resp_header(wp_req *req, const char *name, const char *value) { wp_resp_header(req, name, value); }

void wp_host_resp_json(wp_req *req, int status, const json_object *body)
{
    if (wp_plugin_finish_tx(req, status)) wp_resp_json(req, status, (json_object *)body);
}

void wp_host_resp_raw(wp_req *req, int status, const char *content_type, const void *body, size_t len)
{
    if (wp_plugin_finish_tx(req, status)) wp_resp_raw(req, status, content_type, body, len);
}

void wp_host_resp_error(wp_req *req, int status, const char *code, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void wp_host_resp_error(wp_req *req, int status, const char *code, const char *param, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (status < 400 || status > 599) status = 500;
    wp_plugin_finish_tx(req, status);
    const char *type = status == 401 ? "authentication_error" : status == 429 ? "rate_limit_error"
                     : status >= 500 ? "api_error" : "invalid_request_error";
    wp_resp_error(req, status, type, code && *code ? code : "plugin_error", param, "%s", msg);
}

void wp_host_resp_err(wp_req *req, const wp_err *err)
{
    wp_plugin_finish_tx(req, 400);
    wp_resp_rejected(req, err);
}

wp_status wp_host_url_check(wp_plugin *p, const char *url, char *pin, size_t pin_len)
{
    wp_err e;
    wp_err_clear(&e);
    wp_status st = wp_ssrf_check_url(url, p && p->set->env.allow_private_targets, pin, pin_len, &e);
    return st == WP_OK ? wp_plugin_ok() : wp_plugin_fail(st, &e);
}
