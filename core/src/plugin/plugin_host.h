/*
 * plugin_host.h - what the files of the plugin layer share, private to it
 * (plugins.h is the layer's interface): a loaded plugin, its registrations,
 * the set, and the host functions the table of host_table.c points at.
 *
 *   plugins.c      configuration, loading, start order, commit, unload
 *   registry.c     what init registers (routes, filters, subscriptions, jobs, credential kinds)
 *   glue.c         plugin routes' transactions; job and event trampolines
 *   host.c         diagnostics, logging, errors, events, jobs, SQL, metrics, the request and response
 *   host_passes.c  passes, capabilities, the vault and per-pass secrets (through wp_domain)
 *   host_api.c     the gateway's API called in process (api_call)
 *   host_table.c   the wp_host table handed to plugins
 */
#ifndef WP_PLUGIN_HOST_H
#define WP_PLUGIN_HOST_H

#include "plugins.h"

#include <dlfcn.h>
#include <errno.h>
#include <json-c/json_c_version.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hooks.h"
#include "credentials.h"
#include "http.h"
#include "log.h"
#include "migrate.h"
#include "domain.h"
#include "ssrf.h"

#include <openssl/crypto.h>

#include "pass_secrets.h"
#include "pass_service.h"
#include "vault.h"

#ifndef WP_DEFAULT_PLUGIN_DIR
#define WP_DEFAULT_PLUGIN_DIR "/usr/local/lib/walletpass/plugins"
#endif

enum { REG_ROUTE, REG_FILTER, REG_SUB, REG_JOB, REG_CRED };

/* One registration made during init: host-owned, tagged with its plugin. */
typedef struct reg {
    int what;
    struct wp_plugin *p;
    char *a, *b;            /* route: method, pattern; filter: hook; sub: type; job: kind */
    int num;                /* route: auth; filter: priority */
    void (*fn)(void);       /* the plugin's callback, cast back by kind */
    void *ud;
    int *delays;            /* retry schedule (sub, job) */
    int ndelays;
    uint32_t schema_min, schema_max; /* sub: the data schemas the handler understands (max 0: any) */
    uint32_t on_mismatch;   /* sub: wp_schema_mismatch */
    wp_cred_kind *kind;     /* credential kind (owned; the router's routes point at it) */
} reg;

struct wp_plugin {
    char name[65];
    char *path;
    void *dl;
    const wp_plugin_def *def;
    unsigned built_minor;   /* the header the plugin was built with (its required minor before ABI 1.5) */
    const char *const *needs_plugins; /* the definition's, NULL when it has none (or predates ABI 1.5) */
    const char *const *needs_hooks;
    json_object *config;    /* owned: a deep copy of the entry's "config", handed to init */
    json_object *live;      /* owned: the config as last reloaded (reload.c); NULL: config.  Main thread only */
    const char *const *reload_keys; /* reload_register (ABI 1.9): the reloadable keys, the plugin's */
    wp_plugin_reload_fn reload_fn;
    wp_plugins *set;
    bool optional;          /* the entry's "optional" */
    bool registering;
    bool ready;             /* init returned WP_OK: shutdown is due */
    int mark;               /* start-order sort: 0 new, 1 visiting, 2 placed */
    char init_error[400];
    reg **regs;
    size_t nregs, capregs;
    size_t count[5];
};

struct wp_plugins {
    wp_plugins_env env;
    char *public_url;       /* cfg->public_url without a trailing slash */
    struct wp_plugin **p;   /* in start order once sorted */
    size_t n;
    unsigned minor;         /* the ABI minor presented to plugins (WALLETPASS_PLUGIN_ABI), <= WP_ABI_MINOR */
    const wp_host *host;    /* the table handed to init: host_table, or presented_table */
};

/* The table handed to plugins (host_table.c). */
extern const wp_host wp_plugin_host_table;
/* The last warning or error a plugin logged on this thread: a job's last_error (host.c). */
extern _Thread_local char wp_plugin_last_log[400];

/* the loader (plugins.c) */
void wp_plugin_reg_free(reg *r);

/* registration during init (registry.c) */
wp_status wp_host_route_add(wp_plugin *p, const char *method, const char *pattern, wp_auth_kind auth, wp_plugin_route_fn fn, void *ud);
wp_status wp_host_filter_add(wp_plugin *p, const char *hook, int priority, wp_plugin_filter_fn fn, void *ud);
wp_status wp_host_subscribe(wp_plugin *p, const char *type, wp_plugin_event_fn fn, void *ud, const wp_retry_policy *retry);
wp_status wp_host_subscribe_ex(wp_plugin *p, const char *type, wp_plugin_event_fn fn, void *ud, const wp_subscribe_options *opts);
int wp_plugin_own_kind(const wp_plugin *p, const char *kind);
wp_status wp_host_job_register(wp_plugin *p, const char *kind, wp_plugin_job_fn fn, void *ud, const wp_retry_policy *retry);
wp_status wp_host_credential_kind_register(wp_plugin *p, const wp_credential_kind *kind);
wp_status wp_host_reload_register(wp_plugin *p, const char *const *keys, wp_plugin_reload_fn fn);

/* request, job and event trampolines (glue.c) */
PGconn *wp_plugin_req_conn(wp_req *req, wp_err *e);
int wp_plugin_finish_tx(wp_req *req, int status);
void wp_plugin_route_entry(wp_req *req, void *ud);
wp_status wp_plugin_job_entry(const char *kind, json_object *payload, const char *job_id, int attempt, void *ud, wp_err *err);
wp_status wp_plugin_event_entry(const wp_event_delivery *d, void *ud, wp_err *err);

/* the host table's general slots and the diagnostics (host.c) */
wp_status wp_plugin_fail(wp_status st, const wp_err *e);
wp_status wp_plugin_failf(wp_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
wp_status wp_plugin_ok(void);
void wp_host_log(wp_plugin *p, wp_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *wp_host_last_error(void);
void wp_host_set_error(wp_plugin *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void wp_host_error_set(wp_err *err, wp_status status, const char *code, const char *param, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
wp_err *wp_host_err_new(wp_req *req);
const char *wp_host_err_message(const wp_err *err);
wp_status wp_host_publish(wp_plugin *p, wp_req *req, const char *account_id, const char *type, const json_object *data, char *id_out, size_t id_len);
wp_status wp_host_job_enqueue(wp_plugin *p, wp_req *req, const char *kind, const json_object *payload, int64_t run_at_ms, char *id_out, size_t id_len);
wp_status wp_host_job_enqueue_ex(wp_plugin *p, wp_req *req, const char *kind, const json_object *payload, const wp_job_options *opts, char *id_out, size_t id_len);
wp_status wp_host_db_query(wp_plugin *p, wp_req *req, const char *sql, int nparams, const char *const *params, json_object **rows);
wp_status wp_host_metrics_add(wp_plugin *p, const char *name, const char *help, double delta);
wp_filter_result wp_host_hook_run(const char *hook, json_object *doc, wp_req *req, wp_err *err);
const char *wp_host_req_method(wp_req *req);
const char *wp_host_req_param(wp_req *req, const char *name);
const char *wp_host_req_header(wp_req *req, const char *name);
int wp_host_req_query(wp_req *req, const char *name, char *buf, size_t len);
wp_status wp_host_req_body(wp_req *req, const char **data, size_t *len);
wp_status wp_host_req_json(wp_req *req, json_object **out, wp_err *err);
const char *wp_host_req_account_id(wp_req *req);
const char *wp_host_req_id(wp_req *req);
void *wp_host_req_alloc(wp_req *req, size_t n);
void wp_host_resp_header(wp_req *req, const char *name, const char *value);
void wp_host_resp_json(wp_req *req, int status, const json_object *body);
void wp_host_resp_raw(wp_req *req, int status, const char *content_type, const void *body, size_t len);
void wp_host_resp_error(wp_req *req, int status, const char *code, const char *param, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void wp_host_resp_err(wp_req *req, const wp_err *err);
wp_status wp_host_url_check(wp_plugin *p, const char *url, char *pin, size_t pin_len);
wp_status wp_host_vault_read(wp_plugin *p, const char *account_id, const char *name, json_object **out);

/* The credential text val (len bytes: its stamp, NUL, text) of the process's cache, parsed:
 * a new object (the caller's), copied from this thread's tree of the same text when it has
 * one (cred_parsed.c).  NULL when text does not parse. */
json_object *wp_cred_parsed(const char *val, size_t len, const char *text);

/* what a plugin keeps about a pass in memory (host_memo.c) */
wp_status wp_host_pass_memo_get(wp_plugin *p, const char *account_id, const char *pass_id, void *out, size_t cap, size_t *len, uint64_t *gen);
wp_status wp_host_pass_memo_put(wp_plugin *p, const char *account_id, const char *pass_id, const void *val, size_t len, uint64_t gen);
wp_status wp_host_pass_memo_sync(wp_plugin *p);

/* the slots on passes, capabilities, the vault and per-pass secrets (host_passes.c) */
const char *wp_host_public_url(wp_plugin *p);
wp_status wp_host_pass_get(wp_plugin *p, const char *account_id, const char *pass_id, json_object **out);
wp_status wp_host_pass_link_token(wp_plugin *p, const char *account_id, const char *pass_id, char *out, size_t len);
wp_status wp_host_pass_link_verify(wp_plugin *p, const char *pass_id, const char *token, char *account_out, size_t account_len);
wp_status wp_host_req_api_key(wp_req *req);
wp_status wp_host_vault_seal(wp_plugin *p, const char *account_id, const char *purpose, const void *plain, size_t len, char *out, size_t out_len);
wp_status wp_host_vault_open(wp_plugin *p, const char *account_id, const char *purpose, const char *sealed, void *out, size_t out_cap, size_t *out_len);
wp_status wp_host_pass_cap_token(wp_plugin *p, const char *purpose, const char *account_id, const char *pass_id, char *out, size_t len);
wp_status wp_host_pass_cap_verify(wp_plugin *p, const char *purpose, const char *pass_id, const char *token, char *account_out, size_t account_len);
wp_status wp_host_pass_secret_get(wp_plugin *p, wp_req *req, const char *account_id, const char *pass_id, const char *name, uint32_t flags, char *out, size_t out_cap, size_t *out_len);
wp_status wp_host_pass_secret_put(wp_plugin *p, wp_req *req, const char *account_id, const char *pass_id, const char *name, const char *value, size_t len);
wp_status wp_host_pass_secret_find(wp_plugin *p, const char *name, const char *serial_number, const char *secret, json_object **out);

/* the API called in process (host_api.c) */
wp_status wp_host_api_call(wp_plugin *p, wp_req *req, const char *method, const char *path, const json_object *body, int *status, json_object **out, json_object **headers);

#endif
