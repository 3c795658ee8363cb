/*
 * hello.c - a complete WalletPass plugin, the template for your own.
 *
 * It shows each thing a plugin can do:
 *   - routes:     GET  /api/v1/hello/:name   greets, stores the greeting, publishes an event
 *                 GET  /api/v1/hello         counts greetings and delivered events of the account
 *                 POST /api/v1/hello/check-url  {"url": ...}: the SSRF check (ABI 1.1, probed)
 *   - a hook:     the greeting document runs through the hook "hello.greeting";
 *                 this plugin's own filter there refuses the name "nobody" and
 *                 (config "shout": true) upper-cases the greeting
 *   - an event:   "hello.greeted", published in the request's transaction;
 *                 this plugin's subscriber records each delivery (deduplicated)
 *   - a table:    migrations/0001_hello.sql
 *   - a metric:   walletpass_hello_greetings_total
 *   - its config: declared in a table and checked by walletpass/plugin_config.h
 *   - old hosts:  it requires ABI 1.0 only (WP_REQUIRE_ABI_MINOR 0) and probes
 *                 every newer slot with WP_HOST_HAS before calling it
 *
 * Threads: handlers, the filter and the subscriber run concurrently on
 * worker threads.  Everything static here is written once in init and only
 * read afterwards, so no lock is needed.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Runs on every 1.x host: what came after 1.0 is probed (url_check, subscribe_ex). */
#define WP_REQUIRE_ABI_MINOR 0
#include <walletpass/plugin.h>
#include <walletpass/plugin_config.h>

static const wp_host *host;  /* set in init, read-only afterwards */
static wp_plugin *self;

/* The configuration: its keys, types and defaults, declared once. */
typedef struct hello_conf {
    char greeting[64];
    bool shout;
} hello_conf;
static const wp_cfg_key hello_keys[] = {
    WP_CFG_STRING("greeting", hello_conf, greeting, "Hello", WP_CFG_NONEMPTY),
    WP_CFG_BOOL("shout", hello_conf, shout, false),
    WP_CFG_END,
};
static hello_conf conf; /* set in init, read-only afterwards */

/* ---- the filter on "hello.greeting" ------------------------------------ */

static wp_filter_result hello_filter(void *ud, wp_req *req, json_object *doc, wp_err *err)
{
    (void)ud;
    (void)req;
    json_object *name, *greeting, *trail;
    if (!json_object_object_get_ex(doc, "name", &name) || !json_object_object_get_ex(doc, "greeting", &greeting))
        return WP_FILTER_CONTINUE;
    if (strcmp(json_object_get_string(name), "nobody") == 0) {
        host->err_set(err, WP_EINVAL, "name_refused", "name", "the hello plugin does not greet \"nobody\"");
        return WP_FILTER_REJECT;
    }
    if (json_object_object_get_ex(doc, "filters", &trail)) json_object_array_add(trail, json_object_new_string("hello"));
    if (conf.shout) {
        char up[256];
        snprintf(up, sizeof up, "%s", json_object_get_string(greeting));
        for (char *c = up; *c; c++) *c = (char)toupper((unsigned char)*c);
        json_object_object_add(doc, "greeting", json_object_new_string(up));
    }
    return WP_FILTER_MODIFIED;
}

/* ---- routes -------------------------------------------------------------- */

static void say_hello(wp_req *req, void *ud)
{
    (void)ud;
    const char *name = host->req_param(req, "name");
    if (strlen(name) > 64) {
        host->resp_error(req, 400, "parameter_invalid", "name", "name: at most 64 characters");
        return;
    }
    char text[128];
    snprintf(text, sizeof text, "%s, %s!", conf.greeting, name);
    json_object *doc = json_object_new_object();
    json_object_object_add(doc, "schema", json_object_new_int(1));
    json_object_object_add(doc, "name", json_object_new_string(name));
    json_object_object_add(doc, "greeting", json_object_new_string(text));
    json_object_object_add(doc, "filters", json_object_new_array());

    /* Let every plugin (this one included) filter the greeting. */
    wp_err *err = host->err_new(req);
    if (host->hook_run("hello.greeting", doc, req, err) == WP_FILTER_REJECT) {
        host->resp_from_err(req, err);
        json_object_put(doc);
        return;
    }
    const char *account = host->req_account_id(req);
    const char *final = json_object_get_string(json_object_object_get(doc, "greeting"));
    /* With req, both statements run in the request's transaction: the
     * greeting row and the event exist together or not at all. */
    const char *params[] = {account, name, final};
    json_object *rows = NULL;
    if (host->db_query(self, req, "INSERT INTO hello_greetings (account_id, name, greeting) VALUES ($1, $2, $3) "
                       "RETURNING id", 3, params, &rows) != WP_OK) {
        host->log(self, WP_LOG_ERROR, "storing a greeting: %s", host->last_error());
        host->resp_error(req, 503, "service_unavailable", NULL, "cannot store the greeting");
        json_object_put(doc);
        return;
    }
    json_object_object_add(doc, "greeting_id",
                           json_object_get(json_object_object_get(json_object_array_get_idx(rows, 0), "id")));
    json_object_put(rows);

    /* "schema" is the version of this event's data: subscribers say which they understand. */
    json_object *data = json_object_new_object();
    json_object_object_add(data, "schema", json_object_new_int(1));
    json_object_object_add(data, "name", json_object_new_string(name));
    json_object_object_add(data, "greeting", json_object_new_string(final));
    char event_id[64] = "";
    wp_status st = host->publish(self, req, account, "hello.greeted", data, event_id, sizeof event_id);
    json_object_put(data);
    if (st != WP_OK) {
        host->log(self, WP_LOG_ERROR, "publishing hello.greeted: %s", host->last_error());
        host->resp_error(req, 503, "service_unavailable", NULL, "cannot publish the event");
        json_object_put(doc);
        return;
    }
    json_object_object_add(doc, "event_id", json_object_new_string(event_id));
    host->metrics_add(self, "greetings_total", "Greetings said by the hello plugin", 1);
    host->resp_json(req, 200, doc); /* commits the transaction, then sends */
    json_object_put(doc);
}

static void hello_stats(wp_req *req, void *ud)
{
    (void)ud;
    const char *params[] = {host->req_account_id(req)};
    json_object *rows = NULL;
    if (host->db_query(self, req,
                       "SELECT (SELECT count(*) FROM hello_greetings WHERE account_id = $1) AS greetings, "
                       "(SELECT count(*) FROM hello_deliveries WHERE account_id = $1) AS deliveries",
                       1, params, &rows) != WP_OK) {
        host->resp_error(req, 503, "service_unavailable", NULL, "%s", host->last_error());
        return;
    }
    host->resp_json(req, 200, json_object_array_get_idx(rows, 0));
    json_object_put(rows);
}

static void check_url(wp_req *req, void *ud)
{
    (void)ud;
    json_object *body = NULL, *url;
    wp_err *err = host->err_new(req);
    if (host->req_json(req, &body, err) != WP_OK) {
        host->resp_from_err(req, err);
        return;
    }
    if (!json_object_object_get_ex(body, "url", &url) || !json_object_is_type(url, json_type_string)) {
        host->resp_error(req, 400, "parameter_missing", "url", "url: a string is required");
        json_object_put(body);
        return;
    }
    json_object *out = json_object_new_object();
    if (!WP_HOST_HAS(host, url_check)) {
        /* An older host (ABI 1.0) has no SSRF check: say so instead of crashing. */
        host->resp_error(req, 501, "not_supported", NULL, "this gateway has no url_check (ABI 1.1)");
    } else {
        char pin[320] = "";
        wp_status st = host->url_check(self, json_object_get_string(url), pin, sizeof pin);
        json_object_object_add(out, "allowed", json_object_new_boolean(st == WP_OK));
        json_object_object_add(out, "reason", json_object_new_string(st == WP_OK ? "" : host->last_error()));
        if (st == WP_OK) json_object_object_add(out, "pin", json_object_new_string(pin));
        host->resp_json(req, 200, out);
    }
    json_object_put(out);
    json_object_put(body);
}

/* ---- the event subscriber ------------------------------------------------ */

static wp_status on_greeted(void *ud, const wp_plugin_event *ev)
{
    (void)ud;
    json_object *name = NULL;
    json_object_object_get_ex((json_object *)ev->data, "name", &name);
    const char *params[] = {ev->account_id, ev->id, name ? json_object_get_string(name) : ""};
    /* No request: the statement commits on its own.  ON CONFLICT makes a
     * second delivery of the same event harmless. */
    if (host->db_query(self, NULL, "INSERT INTO hello_deliveries (account_id, event_id, name) VALUES ($1, $2, $3) "
                       "ON CONFLICT DO NOTHING", 3, params, NULL) != WP_OK) {
        host->log(self, WP_LOG_WARN, "recording delivery of %s: %s", ev->id, host->last_error());
        return WP_RETRY;
    }
    return WP_OK;
}

/* ---- lifecycle ----------------------------------------------------------- */

static wp_status hello_init(const wp_host *h, wp_plugin *me, const json_object *config)
{
    host = h;
    self = me;
    /* Unknown keys, wrong types and values out of range are refused, naming the key. */
    char why[300];
    wp_status st = wp_cfg_parse(hello_keys, config, &conf, why, sizeof why);
    if (st != WP_OK) {
        host->init_error(me, "%s", why);
        return st;
    }
    static const uint32_t backoff[] = {1, 2, 5};
    wp_retry_policy retry = WP_RETRY_POLICY_INIT;
    retry.max_attempts = 5;
    retry.backoff_s = backoff;
    retry.nbackoff = 3;
    /* on_greeted reads version 1 of hello.greeted's data: since ABI 1.5 the host keeps others from it. */
    wp_subscribe_options sub = WP_SUBSCRIBE_OPTIONS_INIT;
    sub.schema_min = 1;
    sub.schema_max = 1;
    sub.retry = &retry;
    if ((st = host->route_add(me, "GET", "/api/v1/hello/:name", WP_AUTH_API_KEY, say_hello, NULL)) != WP_OK ||
        (st = host->route_add(me, "GET", "/api/v1/hello", WP_AUTH_API_KEY, hello_stats, NULL)) != WP_OK ||
        (st = host->route_add(me, "POST", "/api/v1/hello/check-url", WP_AUTH_API_KEY, check_url, NULL)) != WP_OK ||
        (st = host->filter_add(me, "hello.greeting", WP_PRIO_DEFAULT, hello_filter, NULL)) != WP_OK ||
        (st = WP_HOST_HAS(host, subscribe_ex) ? host->subscribe_ex(me, "hello.greeted", on_greeted, NULL, &sub)
                                              : host->subscribe(me, "hello.greeted", on_greeted, NULL, &retry)) != WP_OK) {
        host->init_error(me, "registration failed: %s", host->last_error());
        return st;
    }
    host->log(self, WP_LOG_INFO, "ready (greeting \"%s\"%s)", conf.greeting, conf.shout ? ", shouting" : "");
    return WP_OK;
}

static void hello_shutdown(wp_plugin *me)
{
    host->log(me, WP_LOG_INFO, "shutting down");
}

WP_PLUGIN_DEFINE_EXT("hello", "1.0.0", "Example plugin: a route, a filter, an event subscriber and a table",
                     hello_init, hello_shutdown, "MIT", "https://github.com/walletpass/walletpass")
