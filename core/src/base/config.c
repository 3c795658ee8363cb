/*
 * config.c - table-driven validation of the configuration document.
 *
 * Every leaf key is described once in `schema` below: its dotted path,
 * type, range and default.  Unknown keys are refused so that a typo never
 * silently falls back to a default.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clientaddr.h"
#include "json_strict.h"
#include "log.h"

typedef enum { K_INT, K_BOOL, K_STR, K_DOUBLE, K_SIZE, K_JSON_ARRAY, K_JSON_OBJECT, K_LOGLEVEL, K_URL } kind;

typedef struct {
    const char *path;       /* dotted */
    kind type;
    double min, max;
    const char *def;        /* default as text; NULL: absent */
    size_t off;
    const char *env;        /* environment override, or NULL */
} key_spec;

#define OFF(f) offsetof(wp_config, f)

static const key_spec schema[] = {
    {"server.listen_address", K_STR, 0, 0, "127.0.0.1", OFF(listen_address), NULL},
    {"server.port", K_INT, 1, 65535, "8080", OFF(port), "WALLETPASS_PORT"},
    {"server.num_threads", K_INT, 1, 1024, "50", OFF(num_threads), NULL},
    {"server.keep_alive", K_BOOL, 0, 0, "true", OFF(keep_alive), NULL},
    {"server.keep_alive_timeout_ms", K_INT, 0, 3600000, "65000", OFF(keep_alive_timeout_ms), NULL},
    {"server.request_timeout_ms", K_INT, 100, 3600000, "30000", OFF(request_timeout_ms), NULL},
    {"server.header_timeout_seconds", K_INT, 1, 300, "5", OFF(header_timeout_seconds), NULL},
    {"server.listen_backlog", K_INT, 1, 65535, "512", OFF(listen_backlog), NULL},
    {"server.document_root", K_STR, 0, 0, NULL, OFF(document_root), NULL},
    {"server.tls.certificate_file", K_STR, 0, 0, NULL, OFF(tls_certificate_file), "WALLETPASS_TLS_CERTIFICATE_FILE"},
    {"server.tls.key_file", K_STR, 0, 0, NULL, OFF(tls_key_file), "WALLETPASS_TLS_KEY_FILE"},
    {"server.tls.redirect_port", K_INT, 0, 65535, "0", OFF(tls_redirect_port), NULL},
    {"server.tls.hsts_max_age_seconds", K_INT, 0, 63072000, "31536000", OFF(tls_hsts_max_age), NULL},
    {"server.trusted_proxies", K_JSON_ARRAY, 0, 0, "[]", OFF(trusted_proxies), NULL},
    {"public_url", K_URL, 0, 0, "http://localhost:8080", OFF(public_url), "WALLETPASS_PUBLIC_URL"},
    {"database.url", K_STR, 0, 0, NULL, OFF(database_url), "WALLETPASS_DATABASE_URL"},
    {"database.pool_size", K_INT, 0, 1000, "0", OFF(db_pool_size), NULL},
    {"database.acquire_timeout_ms", K_INT, 1, 600000, "5000", OFF(db_acquire_timeout_ms), NULL},
    {"database.statement_timeout_ms", K_INT, 0, 3600000, "30000", OFF(db_statement_timeout_ms), NULL},
    {"database.connect_timeout_seconds", K_INT, 2, 600, "10", OFF(db_connect_timeout_s), NULL},
    {"database.startup_wait_seconds", K_INT, 0, 3600, "60", OFF(db_startup_wait_s), NULL},
    {"database.prepared_statements", K_INT, 0, 100000, "512", OFF(db_prepared_statements), NULL},
    {"database.transaction_pooling", K_BOOL, 0, 0, "false", OFF(db_transaction_pooling), NULL},
    {"database.listen_url", K_STR, 0, 0, NULL, OFF(db_listen_url), "WALLETPASS_DATABASE_LISTEN_URL"},
    {"master_key", K_STR, 0, 0, NULL, OFF(master_key), "WALLETPASS_MASTER_KEY"},
    {"limits.max_body_bytes", K_SIZE, 1024, 1073741824.0, "2097152", OFF(max_body_bytes), NULL},
    {"limits.max_json_depth", K_INT, 2, 1000, "32", OFF(max_json_depth), NULL},
    {"limits.max_string_bytes", K_SIZE, 16, 1048576, "4096", OFF(max_string_bytes), NULL},
    {"limits.max_image_bytes", K_SIZE, 1024, 67108864, "1048576", OFF(max_image_bytes), NULL},
    {"limits.max_metadata_bytes", K_SIZE, 16, 16777216, "16384", OFF(max_metadata_bytes), NULL},
    {"rate_limit.requests_per_second", K_DOUBLE, 0, 1e9, "100", OFF(rate_limit_per_second), NULL},
    {"rate_limit.burst", K_DOUBLE, 1, 1e9, "200", OFF(rate_limit_burst), NULL},
    {"cache.api_keys", K_INT, 0, 10000000, "10000", OFF(cache_api_keys), NULL},
    {"cache.credentials", K_INT, 0, 100000, "1000", OFF(cache_credentials), NULL},
    {"cache.api_key_ttl_ms", K_INT, 100, 600000, "5000", OFF(cache_api_key_ttl_ms), NULL},
    {"cache.passes", K_INT, 0, 10000000, "10000", OFF(cache_passes), NULL},
    {"cache.passes_mb", K_INT, 1, 65536, "32", OFF(cache_passes_mb), NULL},
    {"cache.lease_ms", K_INT, 100, 60000, "1000", OFF(cache_lease_ms), NULL},
    {"access_log.flush_interval_ms", K_INT, 10, 60000, "250", OFF(access_log_flush_ms), NULL},
    {"access_log.batch_size", K_INT, 1, 100000, "500", OFF(access_log_batch), NULL},
    {"access_log.queue_capacity", K_INT, 16, 10000000, "100000", OFF(access_log_queue), NULL},
    {"migrations_dir", K_STR, 0, 0, WP_SOURCE_DIR "/migrations", OFF(migrations_dir), "WALLETPASS_MIGRATIONS_DIR"},
    {"plugin_dir", K_STR, 0, 0, NULL, OFF(plugin_dir), "WALLETPASS_PLUGIN_DIR"},
    {"plugins", K_JSON_ARRAY, 0, 0, "[]", OFF(plugins), NULL},
    {"plans", K_JSON_OBJECT, 0, 0,
     "{\"trial\":{\"operations_per_month\":1000},\"starter\":{\"operations_per_month\":10000},"
     "\"growth\":{\"operations_per_month\":100000},\"unlimited\":{\"operations_per_month\":-1}}",
     OFF(plans), NULL},
    {"metering.default_plan", K_STR, 0, 0, "trial", OFF(default_plan), NULL},
    {"metering.trial_days", K_INT, 0, 3650, "14", OFF(trial_days), NULL},
    {"accounts.deleted_retention_days", K_INT, 0, 3650, "30", OFF(deleted_retention_days), NULL},
    {"test_mode.retention_days", K_INT, 1, 3650, "7", OFF(test_retention_days), NULL},
    {"accounts.sweep_interval_seconds", K_INT, 1, 86400, "3600", OFF(sweep_interval_seconds), NULL},
    {"log_level", K_LOGLEVEL, 0, 0, "info", OFF(log_level), "WALLETPASS_LOG_LEVEL"},
    {"portal.enabled", K_BOOL, 0, 0, "true", OFF(portal_enabled), NULL},
    {"portal.signup", K_STR, 0, 0, "off", OFF(portal_signup), "WALLETPASS_PORTAL_SIGNUP"},
    {"portal.dashboard_dir", K_STR, 0, 0, WP_SOURCE_DIR "/dashboard", OFF(portal_dashboard_dir),
     "WALLETPASS_DASHBOARD_DIR"},
    {"portal.session_idle_minutes", K_INT, 1, 525600, "720", OFF(portal_session_idle_minutes), NULL},
    {"portal.session_max_hours", K_INT, 1, 8760, "168", OFF(portal_session_max_hours), NULL},
    {"portal.login_max_failures", K_INT, 1, 1000, "5", OFF(portal_login_max_failures), NULL},
    {"portal.login_ip_max_failures", K_INT, 1, 100000, "50", OFF(portal_login_ip_max_failures), NULL},
    {"portal.login_window_minutes", K_INT, 1, 10080, "15", OFF(portal_login_window_minutes), NULL},
    {"portal.login_lockout_minutes", K_INT, 1, 10080, "15", OFF(portal_login_lockout_minutes), NULL},
    {"portal.signup_ip_max", K_INT, 1, 100000, "10", OFF(portal_signup_ip_max), NULL},
    {"portal.password_min_length", K_INT, 8, 1024, "10", OFF(portal_password_min_length), NULL},
    {"portal.password_scrypt_log2_n", K_INT, 10, 20, "15", OFF(portal_password_log2_n), NULL},
    {"portal.invite_ttl_hours", K_INT, 1, 8760, "72", OFF(portal_invite_ttl_hours), NULL},
};

#define NKEYS (sizeof schema / sizeof schema[0])

/*
 * Keys that moved out of the gateway's configuration into a plugin's (the
 * "config" of its "plugins" entry).  Each plugin lists its own in
 * plugins/<name>/moved_config.def as WP_MOVED_KEY(old dotted key, plugin,
 * new key); the build gathers them into wp_moved_config.h.  Such a key is
 * refused with its new place named, never silently ignored.
 */
typedef struct {
    const char *old, *plugin, *key;
} moved_key;

static const moved_key moved[] = {
#define WP_MOVED_KEY(old_, plugin_, key_) {old_, plugin_, key_},
#include "wp_moved_config.h"
#undef WP_MOVED_KEY
    {NULL, NULL, NULL}};

static const moved_key *find_moved(const char *dotted)
{
    for (const moved_key *m = moved; m->old; m++)
        if (strcmp(m->old, dotted) == 0) return m;
    return NULL;
}

/* The first moved key inside the section `dotted`, or NULL. */
static const moved_key *find_moved_section(const char *dotted)
{
    size_t n = strlen(dotted);
    for (const moved_key *m = moved; m->old; m++)
        if (strncmp(m->old, dotted, n) == 0 && m->old[n] == '.') return m;
    return NULL;
}

static wp_status moved_error(wp_err *err, const char *dotted, const moved_key *m)
{
    return wp_err_param(err, WP_ECONFIG, dotted,
                        "%s: moved into the configuration of the plugin \"%s\": set \"%s\" in the \"config\" of its "
                        "entry under \"plugins\" ({\"name\": \"%s\", \"config\": {\"%s\": ...}})",
                        dotted, m->plugin, m->key, m->plugin, m->key);
}

/* A key of a section whose keys moved into a plugin: name the new place. */
static wp_status moved_section_error(json_object *v, const char *dotted, const moved_key *m, wp_err *err)
{
    if (json_object_is_type(v, json_type_object)) {
        json_object_object_foreach(v, k, child) {
            (void)child;
            if (strcmp(k, "$comment") == 0) continue;
            char inner[300];
            snprintf(inner, sizeof inner, "%s.%s", dotted, k);
            const moved_key *km = find_moved(inner);
            if (km) return moved_error(err, inner, km);
            return wp_err_param(err, WP_ECONFIG, inner, "%s: unknown configuration key (the section \"%s\" moved into "
                                "the configuration of the plugin \"%s\")", inner, dotted, m->plugin);
        }
    }
    return wp_err_param(err, WP_ECONFIG, dotted, "%s: moved into the configuration of the plugin \"%s\" (the "
                        "\"config\" of its entry under \"plugins\")", dotted, m->plugin);
}

/* Sections other modules own; their keys are validated by those modules. */
static const char *const open_sections[] = {"vault", "jobs", "outbound", NULL};

static bool is_section(const char *dotted, size_t n)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strncmp(schema[i].path, dotted, n) == 0 && schema[i].path[n] == '.')
            return true;
    return false;
}

static const key_spec *find_key(const char *dotted)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(schema[i].path, dotted) == 0)
            return &schema[i];
    return NULL;
}

/* Refuses keys that no spec names, recursively through the known sections. */
static wp_status check_unknown(json_object *obj, const char *prefix, wp_err *err)
{
    json_object_object_foreach(obj, k, v) {
        char dotted[256];
        if (strcmp(k, "$comment") == 0) continue; /* documentation inside the file */
        snprintf(dotted, sizeof dotted, "%s%s%s", prefix, *prefix ? "." : "", k);
        if (!*prefix) {
            bool open = false;
            for (const char *const *s = open_sections; *s; s++)
                if (strcmp(*s, k) == 0) open = true;
            if (open) {
                if (!json_object_is_type(v, json_type_object))
                    return wp_err_param(err, WP_ECONFIG, dotted, "%s: must be an object", dotted);
                continue;
            }
        }
        if (find_key(dotted)) continue;
        if (is_section(dotted, strlen(dotted))) {
            if (!json_object_is_type(v, json_type_object))
                return wp_err_param(err, WP_ECONFIG, dotted, "%s: must be an object", dotted);
            wp_status st = check_unknown(v, dotted, err);
            if (st != WP_OK) return st;
            continue;
        }
        const moved_key *m = find_moved(dotted);
        if (m) return moved_error(err, dotted, m);
        if ((m = find_moved_section(dotted)) != NULL) return moved_section_error(v, dotted, m, err);
        return wp_err_param(err, WP_ECONFIG, dotted, "%s: unknown configuration key", dotted);
    }
    return WP_OK;
}

static json_object *lookup(json_object *root, const char *dotted)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", dotted);
    json_object *cur = root;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save)) {
        if (!cur || !json_object_is_type(cur, json_type_object)) return NULL;
        if (!json_object_object_get_ex(cur, tok, &cur)) return NULL;
    }
    return cur;
}

/* Sets root[dotted] = val (taking ownership of val), creating sections. */
static void assign(json_object *root, const char *dotted, json_object *val)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", dotted);
    json_object *cur = root;
    char *save = NULL;
    char *tok = strtok_r(buf, ".", &save);
    for (char *next = strtok_r(NULL, ".", &save); next; tok = next, next = strtok_r(NULL, ".", &save)) {
        json_object *child;
        if (!json_object_object_get_ex(cur, tok, &child)) {
            child = json_object_new_object();
            json_object_object_add(cur, tok, child);
        } else if (!json_object_is_type(child, json_type_object)) {
            /* left as it is, so that validation reports the file's mistake */
            json_object_put(val);
            return;
        }
        cur = child;
    }
    json_object_object_add(cur, tok, val);
}

static wp_status apply_env(json_object *root, wp_err *err)
{
    for (size_t i = 0; i < NKEYS; i++) {
        const key_spec *ks = &schema[i];
        if (!ks->env) continue;
        const char *v = getenv(ks->env);
        if (!v || !*v) continue;
        if (ks->type == K_INT) {
            char *end;
            errno = 0;
            long n = strtol(v, &end, 10);
            if (errno || *end || end == v)
                return wp_err_param(err, WP_ECONFIG, ks->path, "%s (from %s): must be an integer, got \"%s\"",
                                    ks->path, ks->env, v);
            assign(root, ks->path, json_object_new_int64(n));
        } else {
            assign(root, ks->path, json_object_new_string(v));
        }
    }
    return WP_OK;
}

static wp_status set_value(wp_config *cfg, const key_spec *ks, json_object *v, wp_err *err)
{
    char *base = (char *)cfg + ks->off;
    switch (ks->type) {
    case K_INT:
    case K_SIZE: {
        if (!json_object_is_type(v, json_type_int))
            return wp_err_param(err, WP_ECONFIG, ks->path, "%s: must be an integer", ks->path);
        int64_t n = json_object_get_int64(v);
        if ((double)n < ks->min || (double)n > ks->max)
            return wp_err_param(err, WP_ECONFIG, ks->path, "%s: must be between %.0f and %.0f, got %lld",
                                ks->path, ks->min, ks->max, (long long)n);
        if (ks->type == K_INT) *(int *)base = (int)n;
        else *(size_t *)base = (size_t)n;
        return WP_OK;
    }
    case K_DOUBLE: {
        if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
            return wp_err_param(err, WP_ECONFIG, ks->path, "%s: must be a number", ks->path);
        double d = json_object_get_double(v);
        if (d < ks->min || d > ks->max)
            return wp_err_param(err, WP_ECONFIG, ks->path, "%s: must be between %g and %g", ks->path, ks->min, ks->max);
        *(double *)base = d;
        return WP_OK;
    }
    case K_BOOL:
        if (!json_object_is_type(v, json_type_boolean))
            return wp_err_param(err, WP_ECONFIG, ks->path, "%s: must be true or false", ks->path);
        *(bool *)base = json_object_get_boolean(v);
        return WP_OK;
    case K_STR:
    case K_URL: {
        if (json_object_is_type(v, json_type_null)) return WP_OK;
        if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
            return wp_err_param(err, WP_ECONFIG, ks->path, "%s: must be a non-empty string", ks->path);
        const char *s = json_object_get_string(v);
        if (ks->type == K_URL) {
            /* links are built by appending to it: it needs a host and no spaces */
            const char *host = strncmp(s, "http://", 7) == 0 ? s + 7 : strncmp(s, "https://", 8) == 0 ? s + 8 : NULL;
            if (!host || *host == '\0' || *host == '/' || strpbrk(s, " \t\r\n"))
                return wp_err_param(err, WP_ECONFIG, ks->path,
                                    "%s: must be an http:// or https:// URL with a host, got \"%s\"", ks->path, s);
        }
        char *copy = strdup(s);
        if (!copy) return wp_err_set(err, WP_ENOMEM, "out of memory");
        if (ks->type == K_URL) {
            size_t n = strlen(copy);
            while (n > 0 && copy[n - 1] == '/') copy[--n] = '\0';
        }
        *(char **)base = copy;
        return WP_OK;
    }
    case K_LOGLEVEL: {
        int lvl = json_object_is_type(v, json_type_string) ? wp_log_level_parse(json_object_get_string(v)) : -1;
        if (lvl < 0)
            return wp_err_param(err, WP_ECONFIG, ks->path, "%s: must be one of debug, info, warn, error", ks->path);
        *(int *)base = lvl;
        return WP_OK;
    }
    case K_JSON_ARRAY:
    case K_JSON_OBJECT: {
        json_type want = ks->type == K_JSON_ARRAY ? json_type_array : json_type_object;
        if (!json_object_is_type(v, want))
            return wp_err_param(err, WP_ECONFIG, ks->path, "%s: must be an %s", ks->path,
                                want == json_type_array ? "array" : "object");
        *(json_object **)base = json_object_get(v);
        return WP_OK;
    }
    }
    return wp_err_set(err, WP_EINTERNAL, "config: unhandled key type");
}

static wp_status check_plans(wp_config *cfg, wp_err *err)
{
    json_object_object_foreach(cfg->plans, name, plan) {
        char key[200];
        if (strcmp(name, "$comment") == 0) continue;
        snprintf(key, sizeof key, "plans.%s", name);
        json_object *ops;
        if (!json_object_is_type(plan, json_type_object))
            return wp_err_param(err, WP_ECONFIG, key, "%s: must be an object", key);
        json_object_object_foreach(plan, pk, pv) {
            (void)pv;
            if (strcmp(pk, "operations_per_month") != 0 && strcmp(pk, "$comment") != 0) {
                char full[400];
                snprintf(full, sizeof full, "%s.%s", key, pk);
                return wp_err_param(err, WP_ECONFIG, full, "%s: unknown configuration key", full);
            }
        }
        if (!json_object_object_get_ex(plan, "operations_per_month", &ops) ||
            !json_object_is_type(ops, json_type_int) || json_object_get_int64(ops) < -1) {
            char full[400];
            snprintf(full, sizeof full, "%s.operations_per_month", key);
            return wp_err_param(err, WP_ECONFIG, full, "%s: must be an integer >= 0, or -1 for unlimited", full);
        }
    }
    /* "$comment" is a key of the object but not a plan */
    if (strcmp(cfg->default_plan, "$comment") == 0 || !json_object_object_get_ex(cfg->plans, cfg->default_plan, NULL))
        return wp_err_param(err, WP_ECONFIG, "metering.default_plan",
                            "metering.default_plan: \"%s\" is not a plan listed under \"plans\"", cfg->default_plan);
    return WP_OK;
}

/* server.tls: both files or neither; the links it hands out must be https. */
static wp_status check_tls(const wp_config *cfg, wp_err *err)
{
    bool tls = cfg->tls_certificate_file || cfg->tls_key_file;
    if (!tls) {
        if (cfg->tls_redirect_port)
            return wp_err_param(err, WP_ECONFIG, "server.tls.redirect_port",
                                "server.tls.redirect_port: redirects to HTTPS need server.tls.certificate_file and "
                                "server.tls.key_file");
        return WP_OK;
    }
    if (!cfg->tls_certificate_file)
        return wp_err_param(err, WP_ECONFIG, "server.tls.certificate_file",
                            "server.tls.certificate_file: required with server.tls.key_file (a PEM file: the "
                            "server's certificate, then its intermediates, e.g. certbot's fullchain.pem)");
    if (!cfg->tls_key_file)
        return wp_err_param(err, WP_ECONFIG, "server.tls.key_file",
                            "server.tls.key_file: required with server.tls.certificate_file (a PEM file with the "
                            "unencrypted private key, e.g. certbot's privkey.pem)");
    if (strncmp(cfg->public_url, "https://", 8) != 0)
        return wp_err_param(err, WP_ECONFIG, "public_url",
                            "public_url: must start with https:// when the gateway serves HTTPS (server.tls), got "
                            "\"%s\"",
                            cfg->public_url);
    if (cfg->tls_redirect_port == cfg->port)
        return wp_err_param(err, WP_ECONFIG, "server.tls.redirect_port",
                            "server.tls.redirect_port: %d is server.port, which serves HTTPS; use another port (80)",
                            cfg->tls_redirect_port);
    return WP_OK;
}

/* The host of an http(s) URL, without brackets or port, lowercased into out. */
static void url_host(const char *url, char *out, size_t len)
{
    const char *h = strstr(url, "://");
    h = h ? h + 3 : url;
    size_t n = strcspn(h, "/?#");
    const char *at = memchr(h, '@', n); /* userinfo */
    if (at) {
        n -= (size_t)(at + 1 - h);
        h = at + 1;
    }
    if (*h == '[') {
        const char *close = memchr(h, ']', n);
        h++;
        n = close ? (size_t)(close - h) : n - 1;
    } else {
        const char *colon = memchr(h, ':', n);
        if (colon) n = (size_t)(colon - h);
    }
    if (n >= len) n = len - 1;
    for (size_t i = 0; i < n; i++) out[i] = (char)tolower((unsigned char)h[i]);
    out[n] = '\0';
}

static bool loopback_host(const char *host)
{
    size_t n = strlen(host);
    if (strcmp(host, "localhost") == 0 || (n > 10 && strcmp(host + n - 10, ".localhost") == 0)) return true;
    unsigned char a[16];
    if (inet_pton(AF_INET, host, a) == 1) return a[0] == 127;
    if (inet_pton(AF_INET6, host, a) == 1) return IN6_IS_ADDR_LOOPBACK((struct in6_addr *)a);
    return false;
}

int wp_config_public_url_warning(const wp_config *cfg, char *buf, size_t len)
{
    if (!cfg->public_url || strncmp(cfg->public_url, "http://", 7) != 0) return 0;
    char host[256];
    url_host(cfg->public_url, host, sizeof host);
    if (loopback_host(host)) return 0;
    snprintf(buf, len,
             "public_url %s is plain HTTP: wallet apps call a pass's web service only over HTTPS, so wallet apps "
             "will not update the passes this gateway issues. Serve HTTPS (server.tls, or a reverse proxy in front) "
             "and set public_url to the https:// address (docs/operations.md, \"HTTPS\")",
             cfg->public_url);
    return 1;
}

wp_status wp_config_from_json(json_object *doc, wp_config *cfg, wp_err *err)
{
    memset(cfg, 0, sizeof *cfg);
    if (!json_object_is_type(doc, json_type_object))
        return wp_err_set(err, WP_ECONFIG, "configuration: the document must be a JSON object");
    wp_status st = check_unknown(doc, "", err);
    if (st != WP_OK) return st;
    for (size_t i = 0; i < NKEYS; i++) {
        const key_spec *ks = &schema[i];
        json_object *v = lookup(doc, ks->path);
        json_object *def = NULL;
        if (v && json_object_is_type(v, json_type_null)) v = NULL; /* null: the default */
        if (!v && ks->def) {
            def = json_tokener_parse(ks->def);
            if (!def) def = json_object_new_string(ks->def);
            if (ks->type == K_STR || ks->type == K_URL || ks->type == K_LOGLEVEL) {
                json_object_put(def);
                def = json_object_new_string(ks->def);
            }
            v = def;
        }
        if (v) st = set_value(cfg, ks, v, err);
        json_object_put(def);
        if (st != WP_OK) {
            wp_config_free(cfg);
            return st;
        }
    }
    if ((st = check_plans(cfg, err)) != WP_OK) {
        wp_config_free(cfg);
        return st;
    }
    if ((st = check_tls(cfg, err)) != WP_OK) {
        wp_config_free(cfg);
        return st;
    }
    if (strcmp(cfg->portal_signup, "open") != 0 && strcmp(cfg->portal_signup, "invite") != 0 &&
        strcmp(cfg->portal_signup, "off") != 0) {
        st = wp_err_param(err, WP_ECONFIG, "portal.signup", "portal.signup: must be \"open\", \"invite\" or \"off\", got \"%s\"",
                          cfg->portal_signup);
        wp_config_free(cfg);
        return st;
    }
    /* A transaction-pooling PgBouncer hands each transaction any server connection: a statement
     * prepared on one is unknown on the next, so pooled connections run every statement unnamed. */
    if (cfg->db_transaction_pooling && cfg->db_prepared_statements > 0) {
        json_object *ps = lookup(doc, "database.prepared_statements");
        if (ps && !json_object_is_type(ps, json_type_null)) {
            st = wp_err_param(err, WP_ECONFIG, "database.prepared_statements",
                              "database.prepared_statements: must be 0 (or left out) with database.transaction_pooling: "
                              "a transaction-pooling PgBouncer does not keep a connection's prepared statements, got %d",
                              cfg->db_prepared_statements);
            wp_config_free(cfg);
            return st;
        }
        cfg->db_prepared_statements = 0;
    }
    wp_proxies proxies;
    if ((st = wp_proxies_from_json(cfg->trusted_proxies, &proxies, err)) != WP_OK) {
        wp_config_free(cfg);
        return st;
    }
    wp_proxies_free(&proxies);
    if (cfg->db_pool_size == 0) cfg->db_pool_size = cfg->num_threads + 4;
    cfg->root = json_object_get(doc);
    return WP_OK;
}

wp_status wp_config_load(const char *path, wp_config *cfg, wp_err *err)
{
    memset(cfg, 0, sizeof *cfg);
    if (!path) path = getenv("WALLETPASS_CONFIG");
    json_object *doc = NULL;
    if (path && *path) {
        FILE *f = fopen(path, "rb");
        if (!f) return wp_err_set(err, WP_ECONFIG, "configuration file %s: %s", path, strerror(errno));
        size_t cap = 1 << 16, len = 0;
        char *buf = malloc(cap);
        size_t n;
        while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
            len += n;
            if (len == cap) {
                if (cap >= (64u << 20)) { free(buf); buf = NULL; break; }
                char *nb = realloc(buf, cap *= 2);
                if (!nb) { free(buf); buf = NULL; }
                buf = nb;
            }
        }
        fclose(f);
        if (!buf) return wp_err_set(err, WP_ECONFIG, "configuration file %s: too large or out of memory", path);
        wp_json_limits lim = {.max_depth = 64, .max_string = 1 << 20, .max_long_string = 1 << 20};
        wp_err perr;
        wp_err_clear(&perr);
        wp_status st = wp_json_parse_strict(buf, len, &lim, &doc, &perr);
        free(buf);
        if (st != WP_OK)
            return wp_err_set(err, WP_ECONFIG, "configuration file %s: %s", path, perr.msg);
    } else {
        doc = json_object_new_object();
    }
    wp_status st = apply_env(doc, err);
    if (st == WP_OK) {
        st = wp_config_from_json(doc, cfg, err);
        /* a value that came from the environment: say where to look */
        const key_spec *ks = st == WP_ECONFIG && err ? find_key(err->param) : NULL;
        const char *ev = ks && ks->env ? getenv(ks->env) : NULL;
        if (ev && *ev) {
            size_t n = strlen(err->msg);
            snprintf(err->msg + n, sizeof err->msg - n, " (set by %s)", ks->env);
        }
    }
    json_object_put(doc);
    return st;
}

const char *wp_config_source_name(wp_config_source src)
{
    switch (src) {
    case WP_CONFIG_FROM_ENV: return "environment";
    case WP_CONFIG_FROM_FILE: return "file";
    case WP_CONFIG_FROM_DEFAULT: break;
    }
    return "default";
}

/* Appends s[0..n) to out at *o; false when it does not fit. */
static bool put(char *out, size_t len, size_t *o, const char *s, size_t n)
{
    if (*o + n >= len) return false;
    memcpy(out + *o, s, n);
    *o += n;
    out[*o] = '\0';
    return true;
}

bool wp_config_redact(const char *value, char *out, size_t len)
{
    static const char red[] = "REDACTED";
    size_t o = 0;
    if (!len) return false;
    out[0] = '\0';
    const char *p = value;
    /* scheme://user:password@host: the password is what lies between the first ':' of the userinfo and '@' */
    const char *scheme = strstr(p, "://");
    if (scheme) {
        const char *auth = scheme + 3;
        size_t an = strcspn(auth, "/?#");
        const char *at = memchr(auth, '@', an);
        const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon) {
            if (!put(out, len, &o, p, (size_t)(colon + 1 - p)) || !put(out, len, &o, red, sizeof red - 1)) goto small;
            p = at;
        }
    }
    /* password=VALUE (query string or libpq keywords): VALUE up to '&', a space or the end */
    while (*p) {
        const char *k = strstr(p, "password=");
        if (!k) break;
        bool word = k == value || k[-1] == '?' || k[-1] == '&' || k[-1] == ' ';
        k += 9;
        if (!put(out, len, &o, p, (size_t)(k - p))) goto small;
        p = k;
        if (word) {
            p += strcspn(p, "& ");
            if (!put(out, len, &o, red, sizeof red - 1)) goto small;
        }
    }
    if (!put(out, len, &o, p, strlen(p))) goto small;
    return true;
small:
    snprintf(out, len, "(redacted)");
    return false;
}

bool wp_config_key_is_secret(const char *dotted)
{
    static const char *const words[] = {"password", "secret", "token", "private", "master_key", "previous_keys",
                                        "api_key", "credential", NULL};
    char low[300];
    size_t n = 0;
    for (; dotted[n] && n < sizeof low - 1; n++) low[n] = (char)tolower((unsigned char)dotted[n]);
    low[n] = '\0';
    for (const char *const *w = words; *w; w++)
        if (strstr(low, *w)) return true;
    /* a last component "key" or ending in "_key" (not key_version, key_file ...) */
    const char *last = strrchr(low, '.');
    last = last ? last + 1 : low;
    size_t ln = strlen(last);
    return strcmp(last, "key") == 0 || (ln > 4 && strcmp(last + ln - 4, "_key") == 0);
}

void wp_config_each(const wp_config *cfg, wp_config_visit fn, void *ud)
{
    for (size_t i = 0; i < NKEYS; i++) {
        const key_spec *ks = &schema[i];
        const char *base = (const char *)cfg + ks->off;
        const char *ev = ks->env ? getenv(ks->env) : NULL;
        json_object *inroot = cfg->root ? lookup(cfg->root, ks->path) : NULL;
        wp_config_source src = ev && *ev ? WP_CONFIG_FROM_ENV
                               : inroot && !json_object_is_type(inroot, json_type_null) ? WP_CONFIG_FROM_FILE
                                                                                        : WP_CONFIG_FROM_DEFAULT;
        char text[1024];
        switch (ks->type) {
        case K_INT: snprintf(text, sizeof text, "%d", *(const int *)base); break;
        case K_SIZE: snprintf(text, sizeof text, "%zu", *(const size_t *)base); break;
        case K_DOUBLE: snprintf(text, sizeof text, "%g", *(const double *)base); break;
        case K_BOOL: snprintf(text, sizeof text, "%s", *(const bool *)base ? "true" : "false"); break;
        case K_LOGLEVEL: {
            static const char *names[] = {"debug", "info", "warn", "error"};
            int l = *(const int *)base;
            snprintf(text, sizeof text, "%s", l >= 0 && l < 4 ? names[l] : "?");
            break;
        }
        case K_STR:
        case K_URL: {
            const char *v = *(char *const *)base;
            if (!v) snprintf(text, sizeof text, "(not set)");
            else if (ks->off == OFF(master_key)) snprintf(text, sizeof text, "(set, redacted)");
            else wp_config_redact(v, text, sizeof text);
            break;
        }
        case K_JSON_ARRAY:
        case K_JSON_OBJECT: {
            json_object *v = *(json_object *const *)base;
            if (ks->off == OFF(plugins)) {
                /* their names only: a plugin's config may hold secrets (walletpass config check lists it) */
                size_t o = 0;
                text[0] = '\0';
                put(text, sizeof text, &o, "[", 1);
                for (size_t k = 0; v && k < json_object_array_length(v); k++) {
                    json_object *e = json_object_array_get_idx(v, k), *nm = NULL;
                    const char *name = json_object_object_get_ex(e, "name", &nm) ? json_object_get_string(nm) : "?";
                    if (k) put(text, sizeof text, &o, ", ", 2);
                    if (!put(text, sizeof text, &o, name, strlen(name))) break;
                }
                put(text, sizeof text, &o, "]", 1);
                break;
            }
            const char *js = v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : "null";
            if (strlen(js) >= sizeof text) snprintf(text, sizeof text, "(%zu bytes of JSON)", strlen(js));
            else snprintf(text, sizeof text, "%s", js);
            break;
        }
        }
        /* database.pool_size 0 means num_threads + 4: the value shown is the one used */
        fn(ud, ks->path, text, src, src == WP_CONFIG_FROM_ENV ? ks->env : NULL);
    }
}

static bool same_value(const key_spec *ks, const wp_config *a, const wp_config *b)
{
    const char *pa = (const char *)a + ks->off, *pb = (const char *)b + ks->off;
    switch (ks->type) {
    case K_INT:
    case K_LOGLEVEL: return *(const int *)pa == *(const int *)pb;
    case K_SIZE: return *(const size_t *)pa == *(const size_t *)pb;
    case K_DOUBLE: return *(const double *)pa == *(const double *)pb;
    case K_BOOL: return *(const bool *)pa == *(const bool *)pb;
    case K_STR:
    case K_URL: {
        const char *sa = *(char *const *)pa, *sb = *(char *const *)pb;
        return (!sa && !sb) || (sa && sb && strcmp(sa, sb) == 0);
    }
    case K_JSON_ARRAY:
    case K_JSON_OBJECT: return json_object_equal(*(json_object *const *)pa, *(json_object *const *)pb) != 0;
    }
    return false;
}

void wp_config_diff(const wp_config *a, const wp_config *b, void (*fn)(void *ud, const char *key), void *ud)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (schema[i].off != OFF(plugins) && !same_value(&schema[i], a, b)) fn(ud, schema[i].path);
    for (const char *const *sec = open_sections; *sec; sec++) {
        json_object *va = a->root ? lookup(a->root, *sec) : NULL, *vb = b->root ? lookup(b->root, *sec) : NULL;
        if (!json_object_equal(va, vb)) fn(ud, *sec);
    }
}

/* Removes root[dotted] when present. */
static void unassign(json_object *root, const char *dotted)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", dotted);
    char *dot = strrchr(buf, '.');
    json_object *parent = root;
    if (dot) {
        *dot = '\0';
        parent = lookup(root, buf);
    }
    if (parent && json_object_is_type(parent, json_type_object)) json_object_object_del(parent, dot ? dot + 1 : buf);
}

wp_status wp_config_merge(const wp_config *base, const wp_config *next, const char *const *keys, size_t nkeys,
                          wp_config **out, wp_err *err)
{
    *out = NULL;
    json_object *doc = NULL;
    if (!base->root || json_object_deep_copy(base->root, &doc, NULL) != 0 || !doc)
        return wp_err_set(err, WP_ENOMEM, "configuration: out of memory");
    for (size_t i = 0; i < nkeys; i++) {
        json_object *v = next->root ? lookup(next->root, keys[i]) : NULL, *copy = NULL;
        if (!v) {
            unassign(doc, keys[i]);
            continue;
        }
        if (json_object_deep_copy(v, &copy, NULL) != 0 || !copy) {
            json_object_put(doc);
            return wp_err_set(err, WP_ENOMEM, "configuration: out of memory");
        }
        assign(doc, keys[i], copy);
    }
    wp_config *c = calloc(1, sizeof *c);
    if (!c) {
        json_object_put(doc);
        return wp_err_set(err, WP_ENOMEM, "configuration: out of memory");
    }
    wp_status st = wp_config_from_json(doc, c, err);
    json_object_put(doc);
    if (st != WP_OK) {
        free(c);
        return st;
    }
    *out = c;
    return WP_OK;
}

void wp_config_free(wp_config *cfg)
{
    for (size_t i = 0; i < NKEYS; i++) {
        char *base = (char *)cfg + schema[i].off;
        if (schema[i].type == K_STR || schema[i].type == K_URL) {
            free(*(char **)base);
            *(char **)base = NULL;
        } else if (schema[i].type == K_JSON_ARRAY || schema[i].type == K_JSON_OBJECT) {
            json_object_put(*(json_object **)base);
            *(json_object **)base = NULL;
        }
    }
    json_object_put(cfg->root);
    cfg->root = NULL;
}
