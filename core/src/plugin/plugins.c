/* plugins.c - see plugins.h.  The host table handed to plugins is at the end. */
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
#include "passes.h"
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

static const wp_host host_table;
/* host_table cut to an older minor (WALLETPASS_PLUGIN_ABI): its size and
 * minor say so and the newer slots are NULL, so plugins see what a host of
 * that minor would show them.  Written on the main thread before any init. */
static wp_host presented_table;

/* ---- thread-local diagnostics ---------------------------------------- */

static _Thread_local char last_error_buf[512];
static _Thread_local char last_log_buf[400]; /* last warning/error a plugin logged: a job's last_error */
static _Thread_local wp_err tls_err;

static wp_status host_fail(wp_status st, const wp_err *e)
{
    snprintf(last_error_buf, sizeof last_error_buf, "%s", e && e->msg[0] ? e->msg : wp_status_str(st));
    return st;
}

static wp_status host_failf(wp_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static wp_status host_failf(wp_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error_buf, sizeof last_error_buf, fmt, ap);
    va_end(ap);
    return st;
}

static wp_status host_ok(void)
{
    last_error_buf[0] = '\0';
    return WP_OK;
}

/* ---- configuration --------------------------------------------------- */

static int valid_plugin_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64) return 0;
    for (const char *c = s; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-')) return 0;
    return 1;
}

wp_status wp_plugins_check_config(json_object *plugins, wp_err *err)
{
    if (!plugins) return WP_OK;
    if (!json_object_is_type(plugins, json_type_array))
        return wp_err_param(err, WP_ECONFIG, "plugins", "plugins: must be an array of {name, path?, optional?, config?}");
    size_t n = json_object_array_length(plugins);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(plugins, i);
        char at[64];
        snprintf(at, sizeof at, "plugins[%zu]", i);
        if (!json_object_is_type(e, json_type_object))
            return wp_err_param(err, WP_ECONFIG, at, "%s: must be an object {name, path?, optional?, config?}", at);
        json_object_object_foreach(e, k, v) {
            char key[128];
            snprintf(key, sizeof key, "%s.%s", at, k);
            if (strcmp(k, "name") == 0) {
                if (!json_object_is_type(v, json_type_string) || !valid_plugin_name(json_object_get_string(v)))
                    return wp_err_param(err, WP_ECONFIG, key, "%s: must be 1..64 characters of [a-z0-9_-]", key);
            } else if (strcmp(k, "path") == 0) {
                if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0 ||
                    json_object_get_string_len(v) >= PATH_MAX)
                    return wp_err_param(err, WP_ECONFIG, key, "%s: must be a non-empty file name or path", key);
            } else if (strcmp(k, "optional") == 0) {
                if (!json_object_is_type(v, json_type_boolean))
                    return wp_err_param(err, WP_ECONFIG, key, "%s: must be true or false", key);
            } else if (strcmp(k, "config") == 0) {
                if (!json_object_is_type(v, json_type_object))
                    return wp_err_param(err, WP_ECONFIG, key, "%s: must be an object", key);
            } else if (strcmp(k, "$comment") != 0) {
                return wp_err_param(err, WP_ECONFIG, key,
                                    "%s: unknown key (a plugin entry has name, path, optional, config)", key);
            }
        }
        json_object *name;
        if (!json_object_object_get_ex(e, "name", &name)) {
            snprintf(at + strlen(at), sizeof at - strlen(at), ".name");
            return wp_err_param(err, WP_ECONFIG, at, "%s: is required", at);
        }
        for (size_t j = 0; j < i; j++) {
            json_object *other = json_object_object_get(json_object_array_get_idx(plugins, j), "name");
            if (strcmp(json_object_get_string(other), json_object_get_string(name)) == 0) {
                snprintf(at + strlen(at), sizeof at - strlen(at), ".name");
                return wp_err_param(err, WP_ECONFIG, at, "%s: plugin \"%s\" is already listed as plugins[%zu]", at,
                                    json_object_get_string(name), j);
            }
        }
    }
    return WP_OK;
}

const char *wp_plugins_dir(const wp_config *cfg)
{
    return cfg->plugin_dir && *cfg->plugin_dir ? cfg->plugin_dir : WP_DEFAULT_PLUGIN_DIR;
}

/* ---- loading ---------------------------------------------------------- */

/* Resolves the plugin file and checks where it is and what it is. */
static wp_status resolve_file(const char *dir, const char *name, const char *path, char out[PATH_MAX], wp_err *err)
{
    char want[PATH_MAX * 2], rdir[PATH_MAX];
    if (!realpath(dir, rdir))
        return wp_err_set(err, WP_ECONFIG, "plugin \"%s\": plugin_dir %s: %s", name, dir, strerror(errno));
    if (path && path[0] == '/') snprintf(want, sizeof want, "%s", path);
    else if (path) snprintf(want, sizeof want, "%s/%s", rdir, path);
    else snprintf(want, sizeof want, "%s/%s.so", rdir, name);
    if (!realpath(want, out))
        return wp_err_set(err, WP_ECONFIG, "plugin \"%s\" (%s): %s", name, want, strerror(errno));
    size_t dl = strlen(rdir);
    if (strncmp(out, rdir, dl) != 0 || out[dl] != '/')
        return wp_err_set(err, WP_ECONFIG, "plugin \"%s\" (%s): refused: the file is outside plugin_dir %s", name,
                          out, rdir);
    struct stat st;
    if (stat(out, &st) != 0) return wp_err_set(err, WP_ECONFIG, "plugin \"%s\" (%s): %s", name, out, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return wp_err_set(err, WP_ECONFIG, "plugin \"%s\" (%s): refused: not a regular file", name, out);
    if (st.st_mode & S_IWOTH)
        return wp_err_set(err, WP_ECONFIG, "plugin \"%s\" (%s): refused: the file is world-writable (chmod o-w)", name,
                          out);
    return WP_OK;
}

/* A field of the definition the plugin was built with: within its size. */
#define DEF_HAS(d, f) ((d)->size >= offsetof(wp_plugin_def, f) + sizeof (d)->f)

/* The checks, in PostgreSQL's order; only the first mismatch is reported. */
static wp_status check_def(struct wp_plugin *p, const wp_plugin_def *d, wp_err *err)
{
    if (!d) return wp_err_set(err, WP_EABI, "plugin \"%s\" (%s): wp_plugin_definition() returned NULL", p->name, p->path);
    if (d->magic != WP_PLUGIN_MAGIC)
        return wp_err_set(err, WP_EABI, "plugin \"%s\" (%s): bad magic 0x%08x (expected 0x%08x \"WPPL\"): not a "
                          "walletpass plugin, or a damaged file", p->name, p->path, d->magic, WP_PLUGIN_MAGIC);
    size_t min = offsetof(wp_plugin_def, json_put) + sizeof d->json_put;
    if (d->size < min)
        return wp_err_set(err, WP_EABI, "plugin \"%s\" (%s): its definition is %u bytes, walletpass needs at least %zu "
                          "(rebuild it against walletpass/plugin.h)", p->name, p->path, d->size, min);
    /* abi_minor is what the plugin requires; since 1.5 the header it was built with
     * travels beside it.  An older definition was built for exactly what it requires. */
    p->built_minor = DEF_HAS(d, built_abi_minor) ? d->built_abi_minor : d->abi_minor;
    p->needs_plugins = DEF_HAS(d, needs_plugins) ? d->needs_plugins : NULL;
    p->needs_hooks = DEF_HAS(d, needs_hooks) ? d->needs_hooks : NULL;
    if (d->abi_major != WP_ABI_MAJOR)
        return wp_err_set(err, WP_EABI, "plugin \"%s\" (%s) wants ABI %u.%u, walletpass provides ABI %d.%u (rebuild "
                          "the plugin against this walletpass)", p->name, p->path, d->abi_major, d->abi_minor,
                          WP_ABI_MAJOR, p->set->minor);
    if (d->abi_minor > p->set->minor)
        return wp_err_set(err, WP_EABI, "plugin \"%s\" (%s) requires ABI %u.%u (built against %u.%u), walletpass "
                          "provides ABI %d.%u%s: upgrade walletpass, or use a build of the plugin that requires at "
                          "most %d.%u", p->name, p->path, d->abi_major, d->abi_minor, d->abi_major, p->built_minor,
                          WP_ABI_MAJOR, p->set->minor,
                          p->set->minor < WP_ABI_MINOR ? " (presented as such by WALLETPASS_PLUGIN_ABI)" : "",
                          WP_ABI_MAJOR, p->set->minor);
    if (p->built_minor < d->abi_minor)
        return wp_err_set(err, WP_EABI, "plugin \"%s\" (%s): its definition says it requires ABI %u.%u but was built "
                          "against %u.%u: a damaged definition", p->name, p->path, d->abi_major, d->abi_minor,
                          d->abi_major, p->built_minor);
    if (!d->name || strcmp(d->name, p->name) != 0)
        return wp_err_set(err, WP_ECONFIG, "plugin \"%s\" (%s) calls itself \"%s\": the configured name must be the "
                          "plugin's own", p->name, p->path, d->name ? d->name : "(null)");
    for (size_t i = 0; i < p->set->n; i++)
        if (p->set->p[i] != p && strcmp(p->set->p[i]->name, p->name) == 0)
            return wp_err_set(err, WP_ECONFLICT, "plugin \"%s\" (%s) is already loaded", p->name, p->path);
    unsigned host_jc = (unsigned)json_c_version_num();
    if ((d->json_c_version >> 8) != (host_jc >> 8))
        return wp_err_set(err, WP_EABI, "plugin \"%s\" (%s) was built with json-c %u.%u, walletpass runs json-c %u.%u",
                          p->name, p->path, d->json_c_version >> 16, (d->json_c_version >> 8) & 0xff, host_jc >> 16,
                          (host_jc >> 8) & 0xff);
    if (d->json_put != json_object_put)
        return wp_err_set(err, WP_EABI, "plugin \"%s\" (%s) carries its own copy of json-c: link it with json-c "
                          "dynamically (pkg-config json-c)", p->name, p->path);
    if (!d->init)
        return wp_err_set(err, WP_EABI, "plugin \"%s\" (%s): the definition has no init function", p->name, p->path);
    return WP_OK;
}

static void reg_free(reg *r)
{
    if (!r) return;
    free(r->a);
    free(r->b);
    free(r->delays);
    wp_credentials_kind_free(r->kind);
    free(r);
}

static void plugin_free(struct wp_plugin *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->nregs; i++) reg_free(p->regs[i]);
    free(p->regs);
    json_object_put(p->config);
    /* Loaded code stays mapped: no unload (docs/plugins.md, "Lifecycle").
     * A plugin that never initialised has nothing registered and is closed. */
    if (p->dl && !p->ready) dlclose(p->dl);
    free(p->path);
    free(p);
}

/* Forward declarations of the trampolines that commit() installs. */
static void route_entry(wp_req *req, void *ud);
static wp_status job_entry(const char *kind, json_object *payload, const char *job_id, int attempt, void *ud,
                           wp_err *err);
static wp_status event_entry(const wp_event_delivery *d, void *ud, wp_err *err);

/* Hands init's registrations to the router, hook bus, event bus and queue. */
static wp_status commit(struct wp_plugin *p, wp_err *err)
{
    const wp_plugins_env *env = &p->set->env;
    for (size_t i = 0; i < p->nregs; i++) {
        reg *r = p->regs[i];
        wp_status st = WP_OK;
        wp_err e;
        wp_err_clear(&e);
        switch (r->what) {
        case REG_ROUTE:
            st = wp_router_add(env->router, r->a, r->b, (wp_auth_kind)r->num, route_entry, r, p->name, &e);
            break;
        case REG_FILTER:
            st = wp_hooks_add(r->a, r->num, p->name, (wp_plugin_filter_fn)r->fn, r->ud, &e);
            break;
        case REG_SUB:
            if (env->events)
                st = wp_events_subscribe(env->events, r->a, p->name, event_entry, r, r->delays, r->ndelays, &e);
            break;
        case REG_JOB:
            if (env->jobs) st = wp_jobs_register(env->jobs, r->a, job_entry, r, r->delays, r->ndelays, &e);
            break;
        case REG_CRED:
            st = wp_credentials_kind_routes(env->router, env->domain ? env->domain->vault : NULL, r->kind, p->name, &e);
            break;
        }
        if (st != WP_OK)
            return wp_err_set(err, st, "plugin \"%s\" (%s): %s", p->name, p->path, e.msg);
    }
    return WP_OK;
}

static wp_status run_migrations(struct wp_plugin *p, wp_err *err)
{
    if (!p->set->env.db) return WP_OK;
    char dir[PATH_MAX + 200];
    const char *slash = strrchr(p->path, '/');
    snprintf(dir, sizeof dir, "%.*s/%s/migrations", (int)(slash - p->path), p->path, p->name);
    wp_err e;
    wp_err_clear(&e);
    PGconn *c = wp_db_acquire(p->set->env.db, &e);
    if (!c) return wp_err_set(err, e.status, "plugin \"%s\" (%s): migrations: %s", p->name, p->path, e.msg);
    int n = 0;
    wp_status st = wp_migrate_dir(c, p->name, dir, 0, &n, &e);
    wp_db_release(p->set->env.db, c);
    if (st != WP_OK) return wp_err_set(err, st, "plugin \"%s\" (%s): migrations in %s: %s", p->name, p->path, dir, e.msg);
    if (n) wp_log_info("plugin %s: %d migration(s) applied from %s", p->name, n, dir);
    return WP_OK;
}

/* Opens the plugin file and checks its definition; nothing of the plugin runs but that function. */
static wp_status open_one(wp_plugins *set, const char *dir, json_object *entry, struct wp_plugin *p, wp_err *err)
{
    json_object *v;
    snprintf(p->name, sizeof p->name, "%s", json_object_get_string(json_object_object_get(entry, "name")));
    p->set = set;
    p->optional = json_object_object_get_ex(entry, "optional", &v) && json_object_get_boolean(v);
    const char *path = json_object_object_get_ex(entry, "path", &v) ? json_object_get_string(v) : NULL;
    /* The plugin's own deep copy, not a reference into the configuration document: whatever
     * a plugin does with it (json-c objects are not thread-safe) never touches the host's. */
    p->config = NULL;
    if (!json_object_object_get_ex(entry, "config", &v)) p->config = json_object_new_object();
    else if (json_object_deep_copy(v, &p->config, NULL) != 0) p->config = NULL;
    if (!p->config) return wp_err_set(err, WP_ENOMEM, "out of memory");
    char real[PATH_MAX];
    wp_status st = resolve_file(dir, p->name, path, real, err);
    if (st != WP_OK) return st;
    if (!(p->path = strdup(real))) return wp_err_set(err, WP_ENOMEM, "out of memory");
    dlerror();
    p->dl = dlopen(p->path, RTLD_NOW | RTLD_LOCAL);
    if (!p->dl) return wp_err_set(err, WP_EABI, "plugin \"%s\" (%s): cannot load: %s", p->name, p->path, dlerror());
    void *sym = dlsym(p->dl, WP_PLUGIN_SYMBOL);
    if (!sym)
        return wp_err_set(err, WP_EABI, "plugin \"%s\" (%s): no %s symbol: not a walletpass plugin (define it with "
                          "WP_PLUGIN_DEFINE)", p->name, p->path, WP_PLUGIN_SYMBOL);
    wp_plugin_definition_fn fn;
    memcpy(&fn, &sym, sizeof fn); /* object-to-function pointer, as dlsym requires */
    p->def = fn();
    return check_def(p, p->def, err);
}

/* Migrations, init, and the commit of what init registered. */
static wp_status start_one(struct wp_plugin *p, wp_err *err)
{
    wp_status st;
    if ((st = run_migrations(p, err)) != WP_OK) return st;
    p->registering = true;
    p->init_error[0] = '\0';
    st = p->def->init(p->set->host, p, p->config);
    p->registering = false;
    if (st != WP_OK)
        return wp_err_set(err, st, "plugin \"%s\" (%s): init failed: %s", p->name, p->path,
                          p->init_error[0] ? p->init_error : wp_status_str(st));
    p->ready = true;
    if ((st = commit(p, err)) != WP_OK) return st;
    char built[32] = "";
    if (p->built_minor != p->def->abi_minor)
        snprintf(built, sizeof built, ", built against %u.%u", p->def->abi_major, p->built_minor);
    wp_log_info("plugin %s %s loaded from %s (ABI %u.%u%s): %zu route(s), %zu filter(s), %zu subscription(s), %zu job "
                "kind(s), %zu credential kind(s)", p->name, p->def->version ? p->def->version : "?", p->path,
                p->def->abi_major, p->def->abi_minor, built, p->count[REG_ROUTE], p->count[REG_FILTER],
                p->count[REG_SUB], p->count[REG_JOB], p->count[REG_CRED]);
    return WP_OK;
}

static struct wp_plugin *find_plugin(const wp_plugins *set, const char *name)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->p[i]->name, name) == 0) return set->p[i];
    return NULL;
}

static bool configured(const wp_config *cfg, const char *name)
{
    size_t n = cfg->plugins ? json_object_array_length(cfg->plugins) : 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(json_object_get_string(json_object_object_get(json_object_array_get_idx(cfg->plugins, i), "name")),
                   name) == 0)
            return true;
    return false;
}

/* A needs list of the definition: NULL-terminated names, at most this many (a
 * list that runs on has lost its NULL). */
#define MAX_NEEDS 64

static wp_status check_needs_list(const struct wp_plugin *p, const char *const *list, const char *what,
                                  int (*valid)(const char *), wp_err *err)
{
    for (size_t i = 0; list && list[i]; i++)
        if (i >= MAX_NEEDS || !valid(list[i]))
            return wp_err_set(err, WP_EABI, "plugin \"%s\" (%s): its definition's %s list is malformed (entry %zu: "
                              "%s)", p->name, p->path, what, i,
                              i >= MAX_NEEDS ? "more than 64 entries, or no NULL at the end" : "not a valid name");
    return WP_OK;
}

static int valid_hook_name(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* Removes p from the set (not started, or shut down already) and frees it. */
static void drop(wp_plugins *set, size_t i)
{
    plugin_free(set->p[i]);
    memmove(&set->p[i], &set->p[i + 1], (set->n - i - 1) * sizeof *set->p);
    set->n--;
}

/* The plugins p needs are placed before it (depth first, stable in configuration order). */
static wp_status place(wp_plugins *set, struct wp_plugin *p, struct wp_plugin **order, size_t *n, wp_err *err)
{
    if (p->mark == 2) return WP_OK;
    if (p->mark == 1)
        return wp_err_set(err, WP_ECONFIG, "plugin \"%s\" (%s) needs itself through its needed plugins (a cycle in "
                          "needs_plugins): no start order exists", p->name, p->path);
    p->mark = 1;
    for (size_t i = 0; p->needs_plugins && p->needs_plugins[i]; i++) {
        struct wp_plugin *q = find_plugin(set, p->needs_plugins[i]);
        wp_status st = q ? place(set, q, order, n, err) : WP_OK;
        if (st != WP_OK) {
            if (q != p) /* name the path back to p */
                snprintf(err->msg + strlen(err->msg), sizeof err->msg - strlen(err->msg), "; \"%s\" needs \"%s\"",
                         p->name, q->name);
            return st;
        }
    }
    p->mark = 2;
    order[(*n)++] = p;
    return WP_OK;
}

/* Reads WALLETPASS_PLUGIN_ABI ("1.2"): the ABI minor to present to plugins. */
static wp_status presented_minor(unsigned *out, wp_err *err)
{
    *out = WP_ABI_MINOR;
    const char *v = getenv("WALLETPASS_PLUGIN_ABI");
    if (!v || !*v) return WP_OK;
    unsigned major = 0, minor = 0;
    int used = 0;
    if (sscanf(v, "%u.%u%n", &major, &minor, &used) != 2 || v[used] != '\0' || major != WP_ABI_MAJOR ||
        minor > WP_ABI_MINOR)
        return wp_err_set(err, WP_ECONFIG, "WALLETPASS_PLUGIN_ABI: \"%.32s\" is not an ABI this walletpass can present "
                          "(%d.0 to %d.%d)", v, WP_ABI_MAJOR, WP_ABI_MAJOR, WP_ABI_MINOR);
    *out = minor;
    return WP_OK;
}

/* host->size of a host of each minor, from the ledger in plugin.h. */
static const size_t host_sizes[] = {WP_HOST_SIZE_1_0, WP_HOST_SIZE_1_1, WP_HOST_SIZE_1_2,
                                    WP_HOST_SIZE_1_3, WP_HOST_SIZE_1_4, WP_HOST_SIZE_1_5,
                                    WP_HOST_SIZE_1_6, WP_HOST_SIZE_1_7};
_Static_assert(sizeof host_sizes / sizeof host_sizes[0] == WP_ABI_MINOR + 1, "a host size per ABI minor");

static void present(wp_plugins *set)
{
    if (set->minor == WP_ABI_MINOR) {
        set->host = &host_table;
        return;
    }
    memcpy(&presented_table, &host_table, sizeof presented_table);
    presented_table.size = (uint32_t)host_sizes[set->minor];
    presented_table.abi_minor = (uint16_t)set->minor;
    /* The slots past that minor's table are NULL: a plugin that calls one without WP_HOST_HAS fails here, at once. */
    memset((char *)&presented_table + host_sizes[set->minor], 0, sizeof presented_table - host_sizes[set->minor]);
    set->host = &presented_table;
    wp_log_warn("plugins see plugin ABI %d.%u (WALLETPASS_PLUGIN_ABI), not this walletpass's %d.%d", WP_ABI_MAJOR,
                set->minor, WP_ABI_MAJOR, WP_ABI_MINOR);
}

/* Fails the plugin at i: an optional one is dropped with a warning, a required one stops start-up. */
static bool fail_one(wp_plugins *set, size_t i, const wp_err *e, wp_err *err)
{
    struct wp_plugin *p = set->p[i];
    /* A plugin whose init succeeded but whose registrations failed (a route another
     * plugin owns) is shut down again; some of its registrations may be live, so this
     * is fatal even for an optional plugin: it is a configuration conflict. */
    bool committed_part = p->ready;
    if (p->ready && p->def->shutdown) p->def->shutdown(p);
    p->ready = false;
    bool fatal = !p->optional || committed_part;
    drop(set, i);
    if (fatal) {
        *err = *e;
        return true;
    }
    wp_log_warn("%s; it is optional, starting without it", e->msg);
    return false;
}

wp_status wp_plugins_load(const wp_config *cfg, const wp_plugins_env *env, wp_plugins **out, wp_err *err)
{
    *out = NULL;
    wp_status st = wp_plugins_check_config(cfg->plugins, err);
    if (st != WP_OK) return st;
    unsigned minor;
    if ((st = presented_minor(&minor, err)) != WP_OK) return st;
    wp_plugins *set = calloc(1, sizeof *set);
    size_t n = cfg->plugins ? json_object_array_length(cfg->plugins) : 0;
    struct wp_plugin **order = n ? calloc(n, sizeof *order) : NULL;
    if (!set || (n && (!(set->p = calloc(n, sizeof *set->p)) || !order))) {
        if (set) free(set->p);
        free(set);
        free(order);
        return wp_err_set(err, WP_ENOMEM, "out of memory");
    }
    set->env = *env;
    set->minor = minor;
    present(set);
    const char *pu = cfg->public_url ? cfg->public_url : "";
    size_t pul = strlen(pu);
    while (pul > 0 && pu[pul - 1] == '/') pul--;
    if (!(set->public_url = strndup(pu, pul))) {
        st = wp_err_set(err, WP_ENOMEM, "out of memory");
        goto fail;
    }
    const char *dir = wp_plugins_dir(cfg);
    wp_err e;

    /* 1. Open every plugin and check its definition. */
    for (size_t i = 0; i < n; i++) {
        struct wp_plugin *p = calloc(1, sizeof *p);
        if (!p) {
            st = wp_err_set(err, WP_ENOMEM, "out of memory");
            goto fail;
        }
        set->p[set->n++] = p;
        wp_err_clear(&e);
        st = open_one(set, dir, json_object_array_get_idx(cfg->plugins, i), p, &e);
        if (st == WP_OK) {
            if ((st = check_needs_list(p, p->needs_plugins, "needs_plugins", valid_plugin_name, &e)) == WP_OK)
                st = check_needs_list(p, p->needs_hooks, "needs_hooks", valid_hook_name, &e);
        }
        if (st != WP_OK && fail_one(set, set->n - 1, &e, err)) goto fail;
    }
    st = WP_OK;

    /* 2. What they need: every needed plugin configured (and opened).  Dropping an
     *    optional plugin may leave another without what it needs: repeat until stable. */
    for (bool again = true; again;) {
        again = false;
        for (size_t i = 0; i < set->n && !again; i++) {
            struct wp_plugin *p = set->p[i];
            for (size_t k = 0; p->needs_plugins && p->needs_plugins[k]; k++) {
                const char *need = p->needs_plugins[k];
                if (find_plugin(set, need)) continue;
                wp_err_clear(&e);
                if (!configured(cfg, need))
                    st = wp_err_set(&e, WP_ECONFIG, "plugin \"%s\" (%s) needs plugin \"%s\", which is not configured: add "
                                    "{\"name\": \"%s\"} to plugins", p->name, p->path, need, need);
                else
                    st = wp_err_set(&e, WP_ECONFIG, "plugin \"%s\" (%s) needs plugin \"%s\", which did not load",
                                    p->name, p->path, need);
                if (fail_one(set, i, &e, err)) goto fail;
                again = true;
                break;
            }
        }
    }
    st = WP_OK;

    /* 3. Start order: configuration order, a needed plugin before the plugins needing it. */
    size_t no = 0;
    for (size_t i = 0; i < set->n; i++)
        if ((st = place(set, set->p[i], order, &no, err)) != WP_OK) goto fail;
    if (no) memcpy(set->p, order, no * sizeof *order); /* both NULL with no plugins */

    /* 4. Start them. */
    for (size_t i = 0; i < set->n;) {
        struct wp_plugin *p = set->p[i];
        wp_err_clear(&e);
        st = WP_OK;
        for (size_t k = 0; p->needs_plugins && p->needs_plugins[k] && st == WP_OK; k++) {
            const struct wp_plugin *q = find_plugin(set, p->needs_plugins[k]);
            if (!q || !q->ready)
                st = wp_err_set(&e, WP_ECONFIG, "plugin \"%s\" (%s) needs plugin \"%s\", which did not start", p->name,
                                p->path, p->needs_plugins[k]);
        }
        if (st == WP_OK) st = start_one(p, &e);
        if (st == WP_OK) {
            i++;
            continue;
        }
        if (fail_one(set, i, &e, err)) goto fail;
    }
    st = WP_OK;

    /* 5. Every hook a plugin runs and needs a filter on has one. */
    for (size_t i = 0; i < set->n; i++) {
        const struct wp_plugin *p = set->p[i];
        for (size_t k = 0; p->needs_hooks && p->needs_hooks[k]; k++) {
            if (wp_hooks_count(p->needs_hooks[k]) > 0) continue;
            st = wp_err_set(err, WP_ECONFIG, "plugin \"%s\" (%s) runs hook \"%s\", and no loaded plugin has a filter on "
                            "it: configure the plugin that provides it", p->name, p->path, p->needs_hooks[k]);
            goto fail;
        }
    }
    wp_hooks_seal();
    free(order);
    *out = set;
    return WP_OK;
fail:
    free(order);
    wp_plugins_unload(set);
    return st;
}

void wp_plugins_unload(wp_plugins *set)
{
    if (!set) return;
    for (size_t i = set->n; i-- > 0;) {
        struct wp_plugin *p = set->p[i];
        if (p->ready && p->def->shutdown) p->def->shutdown(p);
    }
    for (size_t i = set->n; i-- > 0;) plugin_free(set->p[i]);
    free(set->p);
    free(set->public_url);
    free(set);
}

size_t wp_plugins_count(const wp_plugins *set) { return set ? set->n : 0; }

void wp_plugins_print(const wp_plugins *set, FILE *out)
{
    fprintf(out, "walletpass %s, plugin ABI %d.%d", WP_VERSION, WP_ABI_MAJOR, WP_ABI_MINOR);
    if (set && set->minor != WP_ABI_MINOR)
        fprintf(out, ", presented to plugins as %d.%u (WALLETPASS_PLUGIN_ABI)", WP_ABI_MAJOR, set->minor);
    fprintf(out, "\n");
    if (!set || set->n == 0) {
        fprintf(out, "no plugins loaded\n");
        return;
    }
    for (size_t i = 0; i < set->n; i++) {
        const struct wp_plugin *p = set->p[i];
        /* "ABI 1.2" is what the plugin requires; the header it was built with follows when newer. */
        char built[32] = "";
        if (p->built_minor != p->def->abi_minor)
            snprintf(built, sizeof built, " (built %u.%u)", p->def->abi_major, p->built_minor);
        fprintf(out, "%-16s %-10s ABI %u.%u%s  %s\n", p->name, p->def->version ? p->def->version : "?",
                p->def->abi_major, p->def->abi_minor, built, p->path);
        fprintf(out, "    %s\n", p->def->description ? p->def->description : "");
        for (size_t k = 0; p->needs_plugins && p->needs_plugins[k]; k++)
            fprintf(out, "    needs  plugin %s\n", p->needs_plugins[k]);
        for (size_t k = 0; p->needs_hooks && p->needs_hooks[k]; k++)
            fprintf(out, "    needs  hook %s\n", p->needs_hooks[k]);
        fprintf(out, "    %zu route(s), %zu filter(s), %zu subscription(s), %zu job kind(s), %zu credential kind(s)\n",
                p->count[REG_ROUTE], p->count[REG_FILTER], p->count[REG_SUB], p->count[REG_JOB], p->count[REG_CRED]);
        for (size_t j = 0; j < p->nregs; j++) {
            const reg *r = p->regs[j];
            if (r->what == REG_ROUTE) fprintf(out, "    route  %s %s\n", r->a, r->b);
            else if (r->what == REG_SUB) fprintf(out, "    event  %s\n", r->a);
            else if (r->what == REG_JOB) fprintf(out, "    job    %s\n", r->a);
            else if (r->what == REG_CRED)
                fprintf(out, "    credential %s (PUT, GET, DELETE /api/v1/credentials/%s)\n", r->a, r->a);
        }
    }
}

/* ---- registration (init only) ------------------------------------------ */

static wp_status add_reg(wp_plugin *p, int what, const char *a, const char *b, int num, void (*fn)(void), void *ud,
                         const wp_retry_policy *retry)
{
    if (!p || !p->registering)
        return host_failf(WP_ELATE, "plugin %s: routes, filters, subscriptions, job handlers and credential kinds "
                          "can only be registered during init", p ? p->name : "?");
    if (!a || !*a || !fn) return host_failf(WP_EINVAL, "plugin %s: registration needs a name and a function", p->name);
    reg *r = calloc(1, sizeof *r);
    if (!r) return host_failf(WP_ENOMEM, "out of memory");
    r->what = what;
    r->p = p;
    r->num = num;
    r->fn = fn;
    r->ud = ud;
    r->a = strdup(a);
    r->b = b ? strdup(b) : NULL;
    if (what == REG_SUB || what == REG_JOB) {
        /* The policy is read only within its own size (older plugins pass shorter structs). */
        uint32_t attempts = 8, nb = 0;
        const uint32_t *bs = NULL;
        if (retry && retry->size >= offsetof(wp_retry_policy_v1, max_attempts) + sizeof(uint32_t) && retry->max_attempts)
            attempts = retry->max_attempts;
        if (retry && retry->size >= sizeof(wp_retry_policy_v1) && retry->backoff_s && retry->nbackoff) {
            bs = retry->backoff_s;
            nb = retry->nbackoff;
        }
        static const uint32_t def[] = {10, 30, 120, 600, 1800, 3600, 7200};
        if (!bs) {
            bs = def;
            nb = sizeof def / sizeof def[0];
        }
        if (attempts > 1000) attempts = 1000;
        r->ndelays = (int)attempts - 1;
        if (r->ndelays > 0 && !(r->delays = calloc((size_t)r->ndelays, sizeof *r->delays))) r->a = NULL;
        for (int i = 0; i < r->ndelays; i++) r->delays[i] = (int)bs[(uint32_t)i < nb ? (uint32_t)i : nb - 1];
    }
    if (!r->a || (b && !r->b)) {
        reg_free(r);
        return host_failf(WP_ENOMEM, "out of memory");
    }
    if (p->nregs == p->capregs) {
        size_t nc = p->capregs ? p->capregs * 2 : 8;
        reg **nr = realloc(p->regs, nc * sizeof *nr);
        if (!nr) {
            reg_free(r);
            return host_failf(WP_ENOMEM, "out of memory");
        }
        p->regs = nr;
        p->capregs = nc;
    }
    p->regs[p->nregs++] = r;
    p->count[what]++;
    return host_ok();
}

static wp_status h_route_add(wp_plugin *p, const char *method, const char *pattern, wp_auth_kind auth,
                             wp_plugin_route_fn fn, void *ud)
{
    if (!method || !pattern || pattern[0] != '/')
        return host_failf(WP_EINVAL, "route %s %s: method and a pattern starting with '/' are required",
                          method ? method : "(null)", pattern ? pattern : "(null)");
    if ((int)auth < WP_AUTH_PUBLIC || (int)auth > WP_AUTH_PORTAL)
        return host_failf(WP_EINVAL, "route %s %s: unknown auth kind %d", method, pattern, (int)auth);
    for (size_t i = 0; p && i < p->nregs; i++)
        if (p->regs[i]->what == REG_ROUTE && strcmp(p->regs[i]->a, method) == 0 && strcmp(p->regs[i]->b, pattern) == 0)
            return host_failf(WP_ECONFLICT, "route %s %s is already registered by %s", method, pattern, p->name);
    return add_reg(p, REG_ROUTE, method, pattern, (int)auth, (void (*)(void))fn, ud, NULL);
}

static wp_status h_filter_add(wp_plugin *p, const char *hook, int priority, wp_plugin_filter_fn fn, void *ud)
{
    if (priority < WP_PRIO_FIRST || priority > WP_PRIO_LAST)
        return host_failf(WP_EINVAL, "filter on %s: priority %d is outside %d..%d (the rest is the core's)",
                          hook ? hook : "(null)", priority, WP_PRIO_FIRST, WP_PRIO_LAST);
    return add_reg(p, REG_FILTER, hook, NULL, priority, (void (*)(void))fn, ud, NULL);
}

static wp_status h_subscribe(wp_plugin *p, const char *type, wp_plugin_event_fn fn, void *ud,
                             const wp_retry_policy *retry)
{
    return add_reg(p, REG_SUB, type, NULL, 0, (void (*)(void))fn, ud, retry);
}

/* ABI 1.5: options in a sized struct; only the fields within opts->size are read. */
static wp_status h_subscribe_ex(wp_plugin *p, const char *type, wp_plugin_event_fn fn, void *ud,
                                const wp_subscribe_options *opts)
{
    uint32_t lo = 0, hi = 0, mode = WP_SCHEMA_REFUSE;
    const wp_retry_policy *retry = NULL;
    if (opts) {
        if (opts->size < offsetof(wp_subscribe_options_v1, schema_min))
            return host_failf(WP_EINVAL, "subscribe_ex: opts->size is %u; start from WP_SUBSCRIBE_OPTIONS_INIT",
                              (unsigned)opts->size);
        if (opts->size >= offsetof(wp_subscribe_options_v1, schema_min) + sizeof opts->schema_min) lo = opts->schema_min;
        if (opts->size >= offsetof(wp_subscribe_options_v1, schema_max) + sizeof opts->schema_max) hi = opts->schema_max;
        if (opts->size >= offsetof(wp_subscribe_options_v1, on_mismatch) + sizeof opts->on_mismatch)
            mode = opts->on_mismatch;
        if (opts->size >= offsetof(wp_subscribe_options_v1, retry) + sizeof opts->retry) retry = opts->retry;
    }
    if (lo == 0) lo = 1;
    if (hi != 0 && hi < lo)
        return host_failf(WP_EINVAL, "subscribe_ex %s: schema_max %u is below schema_min %u", type ? type : "(null)",
                          (unsigned)hi, (unsigned)lo);
    if (mode != WP_SCHEMA_REFUSE && mode != WP_SCHEMA_SKIP)
        return host_failf(WP_EINVAL, "subscribe_ex %s: on_mismatch %u is neither WP_SCHEMA_REFUSE nor WP_SCHEMA_SKIP",
                          type ? type : "(null)", (unsigned)mode);
    wp_status st = add_reg(p, REG_SUB, type, NULL, 0, (void (*)(void))fn, ud, retry);
    if (st != WP_OK) return st;
    reg *r = p->regs[p->nregs - 1];
    r->schema_min = lo;
    r->schema_max = hi;
    r->on_mismatch = mode;
    return WP_OK;
}

/* Job kinds are namespaced by plugin ("hello.cleanup"), so plugins cannot take each other's. */
static int own_kind(const wp_plugin *p, const char *kind)
{
    size_t n = strlen(p->name);
    return kind && strncmp(kind, p->name, n) == 0 && kind[n] == '.' && kind[n + 1];
}

static wp_status h_job_register(wp_plugin *p, const char *kind, wp_plugin_job_fn fn, void *ud,
                                const wp_retry_policy *retry)
{
    if (p && !own_kind(p, kind))
        return host_failf(WP_EINVAL, "job kind \"%s\" must start with \"%s.\"", kind ? kind : "(null)", p->name);
    return add_reg(p, REG_JOB, kind, NULL, 0, (void (*)(void))fn, ud, retry);
}

/* ABI 1.5: the kind is copied now; its routes go to the router at commit. */
static wp_status h_credential_kind_register(wp_plugin *p, const wp_credential_kind *kind)
{
    if (!p || !p->registering)
        return host_failf(WP_ELATE, "plugin %s: credential kinds can only be registered during init", p ? p->name : "?");
    wp_err e;
    wp_err_clear(&e);
    wp_cred_kind *k = NULL;
    if (wp_credentials_kind_new(kind, &k, &e) != WP_OK) return host_failf(e.status, "plugin %s: %s", p->name, e.msg);
    for (size_t i = 0; i < p->nregs; i++)
        if (p->regs[i]->what == REG_CRED && strcmp(p->regs[i]->a, k->name) == 0) {
            wp_credentials_kind_free(k);
            return host_failf(WP_ECONFLICT, "credential kind \"%s\" is already registered by %s", kind->name, p->name);
        }
    wp_status st = add_reg(p, REG_CRED, k->name, NULL, 0, (void (*)(void))k->validate, k->ud, NULL);
    if (st != WP_OK) {
        wp_credentials_kind_free(k);
        return st;
    }
    p->regs[p->nregs - 1]->kind = k;
    return st;
}

/* ---- request transactions ------------------------------------------- */

/* The plugin route running on this thread, and whether the host opened its transaction. */
typedef struct {
    wp_req *req;
    bool tx;
} route_ctx;
static _Thread_local route_ctx *cur_route;

/* The connection for a host call made with req; opens the plugin route's transaction on first use. */
static PGconn *req_conn(wp_req *req, wp_err *e)
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
static int finish_tx(wp_req *req, int status)
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

static void route_entry(wp_req *req, void *ud)
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

static wp_status job_entry(const char *kind, json_object *payload, const char *job_id, int attempt, void *ud,
                           wp_err *err)
{
    reg *r = ud;
    wp_plugin_job job = {sizeof(wp_plugin_job), (uint32_t)attempt, job_id, kind, payload};
    last_log_buf[0] = '\0';
    wp_status st = ((wp_plugin_job_fn)r->fn)(r->ud, &job);
    if (st != WP_OK)
        wp_err_set(err, st, "%s", last_log_buf[0] ? last_log_buf : wp_status_str(st));
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

static wp_status event_entry(const wp_event_delivery *d, void *ud, wp_err *err)
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
    last_log_buf[0] = '\0';
    wp_status st = ((wp_plugin_event_fn)r->fn)(r->ud, &ev);
    if (st != WP_OK)
        wp_err_set(err, st, "%s", last_log_buf[0] ? last_log_buf : wp_status_str(st));
    return st;
}

/* ---- the rest of the host table ---------------------------------------- */

static void h_log(wp_plugin *p, wp_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void h_log(wp_plugin *p, wp_log_level level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if ((int)level < WP_LOG_DEBUG || (int)level > WP_LOG_ERROR) level = WP_LOG_ERROR;
    if (level >= WP_LOG_WARN) snprintf(last_log_buf, sizeof last_log_buf, "%.*s", (int)sizeof last_log_buf - 1, msg);
    wp_log(level, "plugin %s: %s", p ? p->name : "?", msg);
}

static const char *h_last_error(void) { return last_error_buf; }

static void h_set_error(wp_plugin *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void h_set_error(wp_plugin *p, const char *fmt, ...)
{
    if (!p) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->init_error, sizeof p->init_error, fmt, ap);
    va_end(ap);
}

static void h_error_set(wp_err *err, wp_status status, const char *code, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void h_error_set(wp_err *err, wp_status status, const char *code, const char *param, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    wp_hooks_error_set(err, status, code, param, msg);
}

static wp_err *h_err_new(wp_req *req)
{
    wp_err *e = req ? wp_req_alloc(req, sizeof *e) : &tls_err;
    if (e) wp_err_clear(e);
    return e;
}

static const char *h_err_message(const wp_err *err) { return err ? err->msg : ""; }

static wp_status h_publish(wp_plugin *p, wp_req *req, const char *account_id, const char *type, const json_object *data,
                           char *id_out, size_t id_len)
{
    wp_events *ev = p ? p->set->env.events : NULL;
    if (!ev) return host_failf(WP_EUNAVAIL, "events are not available in this process");
    /* Since ABI 1.5 an event's data says which version of its shape it is (subscribe_ex reads it). */
    json_object *sv;
    if (p->built_minor >= 5 &&
        (!data || !json_object_is_type((json_object *)data, json_type_object) ||
         !json_object_object_get_ex((json_object *)data, "schema", &sv) || !json_object_is_type(sv, json_type_int) ||
         json_object_get_int64(sv) < 1 || json_object_get_int64(sv) > UINT32_MAX))
        return host_failf(WP_EINVAL, "publish %s: data.schema, the version of the event's data, must be an integer "
                          "from 1 (plugins built against ABI 1.5 or later)", type ? type : "(null)");
    wp_err e;
    wp_err_clear(&e);
    PGconn *c = NULL;
    if (req && !(c = req_conn(req, &e))) return host_fail(e.status, &e);
    char id[48] = "";
    wp_status st = wp_events_publish(ev, c, account_id, type, (json_object *)data, id, &e);
    if (st != WP_OK) return host_fail(st, &e);
    if (id_out && id_len) snprintf(id_out, id_len, "%s", id);
    return host_ok();
}

static wp_status h_job_enqueue(wp_plugin *p, wp_req *req, const char *kind, const json_object *payload,
                               int64_t run_at_ms, char *id_out, size_t id_len)
{
    wp_jobs *q = p ? p->set->env.jobs : NULL;
    if (!q) return host_failf(WP_EUNAVAIL, "the job queue is not available in this process");
    if (!own_kind(p, kind))
        return host_failf(WP_EINVAL, "job kind \"%s\" must start with \"%s.\"", kind ? kind : "(null)", p->name);
    wp_err e;
    wp_err_clear(&e);
    PGconn *c = NULL;
    if (req && !(c = req_conn(req, &e))) return host_fail(e.status, &e);
    const char *acct = req && req->account_id[0] ? req->account_id : NULL;
    char id[48] = "";
    wp_status st = wp_jobs_enqueue(q, c, acct, kind, (json_object *)payload, run_at_ms, id, &e);
    if (st != WP_OK) return host_fail(st, &e);
    if (id_out && id_len) snprintf(id_out, id_len, "%s", id);
    return host_ok();
}

/* ABI 1.4: options in a sized struct; only the fields within opts->size are read. */
static wp_status h_job_enqueue_ex(wp_plugin *p, wp_req *req, const char *kind, const json_object *payload,
                                  const wp_job_options *opts, char *id_out, size_t id_len)
{
    wp_jobs *q = p ? p->set->env.jobs : NULL;
    if (!q) return host_failf(WP_EUNAVAIL, "the job queue is not available in this process");
    if (!own_kind(p, kind))
        return host_failf(WP_EINVAL, "job kind \"%s\" must start with \"%s.\"", kind ? kind : "(null)", p->name);
    wp_job_opts o = {0};
    if (opts) {
        if (opts->size < offsetof(wp_job_options_v1, run_at_ms))
            return host_failf(WP_EINVAL, "job_enqueue_ex: opts->size is %u; start from WP_JOB_OPTIONS_INIT",
                              (unsigned)opts->size);
        if (opts->size >= offsetof(wp_job_options_v1, run_at_ms) + sizeof opts->run_at_ms)
            o.run_at_unix_ms = opts->run_at_ms;
        if (opts->size >= offsetof(wp_job_options_v1, serial_key) + sizeof opts->serial_key)
            o.serial_key = opts->serial_key;
    }
    /* Keys are namespaced by plugin, so one plugin cannot hold back another's jobs. */
    size_t n = strlen(p->name);
    if (o.serial_key && (strncmp(o.serial_key, p->name, n) != 0 || o.serial_key[n] != ':' || !o.serial_key[n + 1]))
        return host_failf(WP_EINVAL, "serial key \"%.64s\" must start with \"%s:\"", o.serial_key, p->name);
    wp_err e;
    wp_err_clear(&e);
    PGconn *c = NULL;
    if (req && !(c = req_conn(req, &e))) return host_fail(e.status, &e);
    const char *acct = req && req->account_id[0] ? req->account_id : NULL;
    char id[48] = "";
    wp_status st = wp_jobs_enqueue_opts(q, c, acct, kind, (json_object *)payload, &o, id, &e);
    if (st != WP_OK) return host_fail(st, &e);
    if (id_out && id_len) snprintf(id_out, id_len, "%s", id);
    return host_ok();
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

static wp_status h_db_query(wp_plugin *p, wp_req *req, const char *sql, int nparams, const char *const *params,
                            json_object **rows)
{
    if (rows) *rows = NULL;
    if (!p || !sql || nparams < 0 || (nparams > 0 && !params))
        return host_failf(WP_EINVAL, "db_query: sql, and params for nparams > 0, are required");
    wp_db *db = p->set->env.db;
    wp_err e;
    wp_err_clear(&e);
    PGconn *c;
    if (req) c = req_conn(req, &e);
    else if (!db) return host_failf(WP_EUNAVAIL, "the database is not available in this process");
    else c = wp_db_acquire(db, &e);
    if (!c) return host_fail(e.status, &e);
    PGresult *res = NULL;
    wp_status st = wp_db_query(c, sql, nparams, params, &res, &e);
    if (!req) wp_db_release(db, c);
    if (st != WP_OK) {
        wp_log_debug("plugin %s: query failed: %s", p->name, e.msg);
        return host_fail(st, &e);
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
    return host_ok();
}

static wp_status h_metrics_add(wp_plugin *p, const char *name, const char *help, double delta)
{
    if (!p || !name || !*name) return host_failf(WP_EINVAL, "metrics_add: a name is required");
    if (!p->set->env.metrics) return host_ok();
    char full[160];
    snprintf(full, sizeof full, "walletpass_%s_%s", p->name, name);
    for (char *c = full; *c; c++)
        if (*c == '-') *c = '_';
    wp_err e;
    wp_err_clear(&e);
    wp_status st = wp_metrics_counter_add(p->set->env.metrics, full, help ? help : "", delta);
    if (st != WP_OK) return host_failf(st, "metrics_add: \"%s\" is not a valid metric name", full);
    return host_ok();
}

static wp_filter_result h_hook_run(const char *hook, json_object *doc, wp_req *req, wp_err *err)
{
    return wp_hooks_run(hook, doc, req, err);
}

static const char *h_req_method(wp_req *req) { return wp_req_method(req); }
static const char *h_req_param(wp_req *req, const char *name) { return wp_req_param(req, name); }
static const char *h_req_header(wp_req *req, const char *name) { return wp_req_header(req, name); }

static int h_req_query(wp_req *req, const char *name, char *buf, size_t len)
{
    wp_err e;
    wp_err_clear(&e);
    int r = wp_req_query(req, name, buf, len, &e);
    if (r < 0) host_fail(e.status, &e);
    return r;
}

static wp_status h_req_body(wp_req *req, const char **data, size_t *len)
{
    wp_err e;
    wp_err_clear(&e);
    wp_status st = wp_req_body(req, data, len, &e);
    return st == WP_OK ? host_ok() : host_fail(st, &e);
}

static wp_status h_req_json(wp_req *req, json_object **out, wp_err *err)
{
    wp_err local;
    wp_err_clear(&local);
    wp_status st = wp_req_json(req, out, err ? err : &local);
    return st == WP_OK ? host_ok() : host_fail(st, err ? err : &local);
}

static const char *h_req_account_id(wp_req *req) { return req->account_id; }
static const char *h_req_id(wp_req *req) { return req->request_id; }
static void *h_req_alloc(wp_req *req, size_t n) { return wp_req_alloc(req, n); }
static void h_resp_header(wp_req *req, const char *name, const char *value) { wp_resp_header(req, name, value); }

static void h_resp_json(wp_req *req, int status, const json_object *body)
{
    if (finish_tx(req, status)) wp_resp_json(req, status, (json_object *)body);
}

static void h_resp_raw(wp_req *req, int status, const char *content_type, const void *body, size_t len)
{
    if (finish_tx(req, status)) wp_resp_raw(req, status, content_type, body, len);
}

static void h_resp_error(wp_req *req, int status, const char *code, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void h_resp_error(wp_req *req, int status, const char *code, const char *param, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (status < 400 || status > 599) status = 500;
    finish_tx(req, status);
    const char *type = status == 401 ? "authentication_error" : status == 429 ? "rate_limit_error"
                     : status >= 500 ? "api_error" : "invalid_request_error";
    wp_resp_error(req, status, type, code && *code ? code : "plugin_error", param, "%s", msg);
}

static void h_resp_err(wp_req *req, const wp_err *err)
{
    finish_tx(req, 400);
    wp_resp_rejected(req, err);
}

static wp_status h_url_check(wp_plugin *p, const char *url, char *pin, size_t pin_len)
{
    wp_err e;
    wp_err_clear(&e);
    wp_status st = wp_ssrf_check_url(url, p && p->set->env.allow_private_targets, pin, pin_len, &e);
    return st == WP_OK ? host_ok() : host_fail(st, &e);
}

static wp_status h_vault_read(wp_plugin *p, const char *account_id, const char *name, json_object **out)
{
    if (out) *out = NULL;
    if (!p || !account_id || !name || !out)
        return host_failf(WP_EINVAL, "vault_read: account_id, name and out are required");
    wp_domain *dom = p->set->env.domain;
    if (!dom || !dom->vault || !dom->db)
        return host_failf(WP_EUNAVAIL, "vault_read: the credential vault is not available in this process");
    wp_err e;
    wp_err_clear(&e);
    wp_status st = wp_credentials_read_pool(dom->vault, dom->db, account_id, name, out, &e);
    return st == WP_OK ? host_ok() : host_fail(st, &e);
}

/* ---- ABI 1.2 ------------------------------------------------------------ */

static const char *h_public_url(wp_plugin *p) { return p && p->set->public_url ? p->set->public_url : ""; }

/* wp_pass_load's document (released here), reshaped as the ABI promises: the
 * API resource with "body" (the effective unified body) beside it. */
static wp_status pass_shape(json_object *doc, const char *account_id, json_object **out)
{
    json_object *res = NULL, *v;
    if (json_object_object_get_ex(doc, "pass", &v) && json_object_is_type(v, json_type_object))
        res = json_object_get(v);
    else
        res = json_object_new_object();
    if (!res) {
        json_object_put(doc);
        return host_failf(WP_ENOMEM, "out of memory");
    }
    if (json_object_object_get_ex(doc, "body", &v)) json_object_object_add(res, "body", json_object_get(v));
    /* Not "account_id": that is also a field of loyalty passes (the member's account). */
    json_object_object_add(res, "owner_account_id", json_object_new_string(account_id));
    json_object_put(doc);
    *out = res;
    return host_ok();
}

static wp_status h_pass_get(wp_plugin *p, const char *account_id, const char *pass_id, json_object **out)
{
    if (out) *out = NULL;
    if (!p || !account_id || !pass_id || !out) return host_failf(WP_EINVAL, "pass_get: account_id, pass_id and out are required");
    wp_domain *dom = p->set->env.domain;
    if (!dom || !dom->db) return host_failf(WP_EUNAVAIL, "pass_get: passes are not available in this process");
    wp_err e;
    wp_err_clear(&e);
    json_object *doc = NULL;
    wp_status st = wp_pass_load(dom, NULL, account_id, pass_id, &doc, &e);
    if (st != WP_OK) return host_fail(st, &e);
    return pass_shape(doc, account_id, out);
}

static wp_status h_pass_link_token(wp_plugin *p, const char *account_id, const char *pass_id, char *out, size_t len)
{
    if (out && len) out[0] = '\0';
    if (!p || !account_id || !pass_id || !out || len == 0)
        return host_failf(WP_EINVAL, "pass_link_token: account_id, pass_id and out are required");
    if (len < WP_PASS_LINK_TOKEN_LEN + 1)
        return host_failf(WP_EINVAL, "pass_link_token: out must hold at least %d bytes", WP_PASS_LINK_TOKEN_LEN + 1);
    wp_domain *dom = p->set->env.domain;
    if (!dom) return host_failf(WP_EUNAVAIL, "pass_link_token: passes are not available in this process");
    char tok[WP_PASS_LINK_TOKEN_LEN + 1];
    wp_status st = wp_pass_link_token(dom, account_id, pass_id, tok);
    if (st != WP_OK) return host_failf(st, "pass_link_token: %s", wp_status_str(st));
    snprintf(out, len, "%s", tok);
    OPENSSL_cleanse(tok, sizeof tok);
    return host_ok();
}

/* Checks a capability of `purpose` (the vault's) for pass_id.  It names no
 * account: the owner is looked up by pass id (ids are random, but the key is
 * (account_id, id), so every owner is tried) and the MAC checked in constant
 * time by the passes module. */
static wp_status pass_verify(wp_plugin *p, const char *purpose, const char *pass_id, const char *token,
                             char *account_out, size_t account_len)
{
    if (account_out && account_len) account_out[0] = '\0';
    if (!p || !pass_id || !token || !*token || strlen(token) > 256 || strlen(pass_id) > 64)
        return host_failf(WP_ENOTFOUND, "no such pass or capability");
    wp_domain *dom = p->set->env.domain;
    if (!dom || !dom->db) return host_failf(WP_EUNAVAIL, "capability check: passes are not available in this process");
    wp_err e;
    wp_err_clear(&e);
    PGconn *c = wp_db_acquire(dom->db, &e);
    if (!c) return host_fail(e.status, &e);
    PGresult *res = NULL;
    const char *params[1] = {pass_id};
    wp_status st = wp_db_query(c, "SELECT account_id FROM passes WHERE id = $1 LIMIT 4", 1, params, &res, &e);
    wp_db_release(dom->db, c);
    if (st != WP_OK) return host_fail(st, &e);
    int found = 0;
    for (int i = 0; i < PQntuples(res) && !found; i++) {
        if (wp_pass_cap_verify(dom, purpose, PQgetvalue(res, i, 0), pass_id, token) != WP_OK) continue;
        found = 1;
        if (account_out && account_len) snprintf(account_out, account_len, "%s", PQgetvalue(res, i, 0));
    }
    PQclear(res);
    return found ? host_ok() : host_failf(WP_ENOTFOUND, "no such pass or capability");
}

static wp_status h_pass_link_verify(wp_plugin *p, const char *pass_id, const char *token, char *account_out,
                                    size_t account_len)
{
    return pass_verify(p, WP_PASS_LINK_PURPOSE, pass_id, token, account_out, account_len);
}

static wp_status h_req_api_key(wp_req *req)
{
    const char *h = req ? wp_req_header(req, "Authorization") : NULL;
    if (!h || !*h) return host_failf(WP_ENOTFOUND, "no Authorization header");
    if (req->env->auth_bearer && req->env->auth_bearer(req)) return host_ok();
    return host_failf(WP_EAUTH, "the API key was refused (the response was sent)");
}

/* ---- ABI 1.3 ------------------------------------------------------------ */

/* purpose: 1..128 of [A-Za-z0-9._/-]; the associated data names account, plugin and purpose. */
static wp_status vault_aad(wp_plugin *p, const char *fn, const char *account_id, const char *purpose, char *aad,
                           size_t len)
{
    size_t n = purpose ? strlen(purpose) : 0;
    if (!account_id || !*account_id || n == 0 || n > 128 || strspn(purpose, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                                      "abcdefghijklmnopqrstuvwxyz0123456789._/-") != n)
        return host_failf(WP_EINVAL, "%s: account_id and a purpose of 1..128 characters [A-Za-z0-9._/-] are required",
                          fn);
    snprintf(aad, len, "%s/%s/%s", account_id, p->name, purpose);
    return WP_OK;
}

static wp_status h_vault_seal(wp_plugin *p, const char *account_id, const char *purpose, const void *plain,
                              size_t len, char *out, size_t out_len)
{
    if (out && out_len) out[0] = '\0';
    if (!p || (!plain && len) || !out || out_len == 0)
        return host_failf(WP_EINVAL, "vault_seal: plain and out are required");
    char aad[320];
    wp_status st = vault_aad(p, "vault_seal", account_id, purpose, aad, sizeof aad);
    if (st != WP_OK) return st;
    wp_domain *dom = p->set->env.domain;
    if (!dom || !dom->vault) return host_failf(WP_EUNAVAIL, "vault_seal: the vault is not available in this process");
    wp_err e;
    wp_err_clear(&e);
    char *sealed = NULL;
    if ((st = wp_vault_seal(dom->vault, aad, plain ? plain : "", len, &sealed, &e)) != WP_OK) return host_fail(st, &e);
    size_t n = strlen(sealed);
    if (n + 1 > out_len) {
        free(sealed);
        return host_failf(WP_ETOOLARGE, "vault_seal: out holds %zu bytes, the sealed value needs %zu", out_len, n + 1);
    }
    memcpy(out, sealed, n + 1);
    free(sealed);
    return host_ok();
}

static wp_status h_vault_open(wp_plugin *p, const char *account_id, const char *purpose, const char *sealed,
                              void *out, size_t out_cap, size_t *out_len)
{
    if (out_len) *out_len = 0;
    if (!p || !sealed || (!out && out_cap) || !out_len)
        return host_failf(WP_EINVAL, "vault_open: sealed, out and out_len are required");
    char aad[320];
    wp_status st = vault_aad(p, "vault_open", account_id, purpose, aad, sizeof aad);
    if (st != WP_OK) return st;
    wp_domain *dom = p->set->env.domain;
    if (!dom || !dom->vault) return host_failf(WP_EUNAVAIL, "vault_open: the vault is not available in this process");
    wp_err e;
    wp_err_clear(&e);
    unsigned char *plain = NULL;
    size_t n = 0;
    if ((st = wp_vault_open(dom->vault, aad, sealed, &plain, &n, &e)) != WP_OK) return host_fail(st, &e);
    if (n > out_cap) {
        wp_vault_free_plain(plain, n);
        return host_failf(WP_ETOOLARGE, "vault_open: out holds %zu bytes, the value has %zu", out_cap, n);
    }
    if (n) memcpy(out, plain, n);
    *out_len = n;
    wp_vault_free_plain(plain, n);
    return host_ok();
}

/* ---- ABI 1.4 ------------------------------------------------------------ */

/* The vault purpose of a plugin's capability: "pass-cap/<plugin>/<purpose>". */
static wp_status cap_purpose(wp_plugin *p, const char *fn, const char *purpose, char *out, size_t len)
{
    size_t n = purpose ? strlen(purpose) : 0;
    if (n == 0 || n > 64 || strspn(purpose, "abcdefghijklmnopqrstuvwxyz0123456789._-") != n)
        return host_failf(WP_EINVAL, "%s: purpose must be 1..64 characters of [a-z0-9._-]", fn);
    snprintf(out, len, "pass-cap/%s/%s", p->name, purpose);
    return WP_OK;
}

static wp_status h_pass_cap_token(wp_plugin *p, const char *purpose, const char *account_id, const char *pass_id,
                                  char *out, size_t len)
{
    if (out && len) out[0] = '\0';
    if (!p || !account_id || !pass_id || !out || len == 0)
        return host_failf(WP_EINVAL, "pass_cap_token: account_id, pass_id and out are required");
    if (len < WP_PASS_LINK_TOKEN_LEN + 1)
        return host_failf(WP_EINVAL, "pass_cap_token: out must hold at least %d bytes", WP_PASS_LINK_TOKEN_LEN + 1);
    char full[160];
    wp_status st = cap_purpose(p, "pass_cap_token", purpose, full, sizeof full);
    if (st != WP_OK) return st;
    wp_domain *dom = p->set->env.domain;
    if (!dom || !dom->vault) return host_failf(WP_EUNAVAIL, "pass_cap_token: passes are not available in this process");
    char tok[WP_PASS_LINK_TOKEN_LEN + 1];
    if ((st = wp_pass_cap_token(dom, full, account_id, pass_id, tok)) != WP_OK)
        return host_failf(st, "pass_cap_token: %s", wp_status_str(st));
    snprintf(out, len, "%s", tok);
    OPENSSL_cleanse(tok, sizeof tok);
    return host_ok();
}

static wp_status h_pass_cap_verify(wp_plugin *p, const char *purpose, const char *pass_id, const char *token,
                                   char *account_out, size_t account_len)
{
    if (account_out && account_len) account_out[0] = '\0';
    char full[160];
    if (!p) return host_failf(WP_ENOTFOUND, "no such pass or capability");
    wp_status st = cap_purpose(p, "pass_cap_verify", purpose, full, sizeof full);
    if (st != WP_OK) return st;
    return pass_verify(p, full, pass_id, token, account_out, account_len);
}

/* ---- ABI 1.5 ------------------------------------------------------------ */

/* The request's connection (its transaction), or NULL for a pooled one. */
static wp_status secret_conn(wp_req *req, PGconn **conn)
{
    *conn = NULL;
    if (!req) return WP_OK;
    wp_err e;
    wp_err_clear(&e);
    if (!(*conn = req_conn(req, &e))) return host_fail(e.status, &e);
    return WP_OK;
}

/* Maps the passes module's errors onto the ABI's: a value that does not open is unavailable, not a bug. */
static wp_status secret_fail(wp_status st, const wp_err *e)
{
    return host_fail(st == WP_ECRYPTO ? WP_EUNAVAIL : st, e);
}

static wp_status h_pass_secret_get(wp_plugin *p, wp_req *req, const char *account_id, const char *pass_id,
                                   const char *name, uint32_t flags, char *out, size_t out_cap, size_t *out_len)
{
    if (out && out_cap) out[0] = '\0';
    if (out_len) *out_len = 0;
    if (!p || !out || out_cap == 0) return host_failf(WP_EINVAL, "pass_secret_get: out is required");
    wp_domain *dom = p->set->env.domain;
    if (!dom || !dom->db || !dom->vault)
        return host_failf(WP_EUNAVAIL, "pass_secret_get: passes are not available in this process");
    PGconn *c;
    wp_status st = secret_conn(req, &c);
    if (st != WP_OK) return st;
    wp_err e;
    wp_err_clear(&e);
    char *v = NULL;
    size_t n = 0;
    st = wp_pass_secret_get(dom, c, account_id, pass_id, p->name, name, (flags & WP_PASS_SECRET_MINT) != 0, &v, &n, &e);
    if (st != WP_OK) return secret_fail(st, &e);
    if (n + 1 > out_cap) {
        wp_pass_secret_free(v, n);
        return host_failf(WP_ETOOLARGE, "pass_secret_get: out holds %zu bytes, the secret needs %zu", out_cap, n + 1);
    }
    memcpy(out, v, n + 1);
    if (out_len) *out_len = n;
    wp_pass_secret_free(v, n);
    return host_ok();
}

static wp_status h_pass_secret_put(wp_plugin *p, wp_req *req, const char *account_id, const char *pass_id,
                                   const char *name, const char *value, size_t len)
{
    if (!p) return host_failf(WP_EINVAL, "pass_secret_put: self is required");
    wp_domain *dom = p->set->env.domain;
    if (!dom || !dom->db || !dom->vault)
        return host_failf(WP_EUNAVAIL, "pass_secret_put: passes are not available in this process");
    PGconn *c;
    wp_status st = secret_conn(req, &c);
    if (st != WP_OK) return st;
    wp_err e;
    wp_err_clear(&e);
    st = wp_pass_secret_put(dom, c, account_id, pass_id, p->name, name, value, len, &e);
    return st == WP_OK ? host_ok() : secret_fail(st, &e);
}

static wp_status h_pass_secret_find(wp_plugin *p, const char *name, const char *serial_number, const char *secret,
                                    json_object **out)
{
    if (out) *out = NULL;
    if (!p || !out) return host_failf(WP_EINVAL, "pass_secret_find: out is required");
    wp_domain *dom = p->set->env.domain;
    if (!dom || !dom->db || !dom->vault)
        return host_failf(WP_EUNAVAIL, "pass_secret_find: passes are not available in this process");
    wp_err e;
    wp_err_clear(&e);
    char account[64], pass_id[64];
    wp_status st = wp_pass_secret_find(dom, NULL, p->name, name, serial_number, secret, account, sizeof account,
                                       pass_id, sizeof pass_id, &e);
    if (st == WP_EAUTH) return host_failf(WP_EAUTH, "no such pass, or not its secret");
    if (st != WP_OK) return secret_fail(st, &e);
    json_object *doc = NULL;
    wp_err_clear(&e);
    /* found a moment ago; a pass gone since answers as an unknown one */
    if ((st = wp_pass_load(dom, NULL, account, pass_id, &doc, &e)) == WP_ENOTFOUND)
        return host_failf(WP_EAUTH, "no such pass, or not its secret");
    if (st != WP_OK) return secret_fail(st, &e);
    return pass_shape(doc, account, out);
}

static const wp_host host_table = {
    .size = sizeof(wp_host),
    .abi_major = WP_ABI_MAJOR,
    .abi_minor = WP_ABI_MINOR,
    .log = h_log,
    .status_str = wp_status_str,
    .last_error = h_last_error,
    .init_error = h_set_error,
    .err_set = h_error_set,
    .err_new = h_err_new,
    .err_message = h_err_message,
    .route_add = h_route_add,
    .filter_add = h_filter_add,
    .subscribe = h_subscribe,
    .job_register = h_job_register,
    .publish = h_publish,
    .job_enqueue = h_job_enqueue,
    .db_query = h_db_query,
    .metrics_add = h_metrics_add,
    .hook_run = h_hook_run,
    .req_method = h_req_method,
    .req_param = h_req_param,
    .req_header = h_req_header,
    .req_query = h_req_query,
    .req_body = h_req_body,
    .req_json = h_req_json,
    .req_account_id = h_req_account_id,
    .req_id = h_req_id,
    .req_alloc = h_req_alloc,
    .resp_header = h_resp_header,
    .resp_json = h_resp_json,
    .resp_raw = h_resp_raw,
    .resp_error = h_resp_error,
    .resp_from_err = h_resp_err,
    .url_check = h_url_check,
    .vault_read = h_vault_read,
    .public_url = h_public_url,
    .pass_get = h_pass_get,
    .pass_link_token = h_pass_link_token,
    .pass_link_verify = h_pass_link_verify,
    .req_api_key = h_req_api_key,
    .vault_seal = h_vault_seal,
    .vault_open = h_vault_open,
    .pass_find = NULL,         /* retired in ABI 1.7 (plugin.h) */
    .pass_authenticate = NULL, /* retired in ABI 1.7 */
    .pass_cap_token = h_pass_cap_token,
    .pass_cap_verify = h_pass_cap_verify,
    .job_enqueue_ex = h_job_enqueue_ex,
    .subscribe_ex = h_subscribe_ex,
    .credential_kind_register = h_credential_kind_register,
    .pass_secret_get = h_pass_secret_get,
    .pass_secret_put = h_pass_secret_put,
    .pass_secret_find = h_pass_secret_find,
};
