/* plugins.c - see plugins.h; what the plugin layer's files share is plugin_host.h. */
#include "plugin_host.h"

/* wp_plugin_host_table cut to an older minor (WALLETPASS_PLUGIN_ABI): its size and
 * minor say so and the newer slots are NULL, so plugins see what a host of
 * that minor would show them.  Written on the main thread before any init. */
static wp_host presented_table;

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

void wp_plugin_reg_free(reg *r)
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
    for (size_t i = 0; i < p->nregs; i++) wp_plugin_reg_free(p->regs[i]);
    free(p->regs);
    json_object_put(p->config);
    json_object_put(p->live);
    /* Loaded code stays mapped: no unload (docs/plugins.md, "Lifecycle").
     * A plugin that never initialised has nothing registered and is closed. */
    if (p->dl && !p->ready) dlclose(p->dl);
    free(p->path);
    free(p);
}

/* Forward declarations of the trampolines that commit() installs. */

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
            st = wp_router_add(env->router, r->a, r->b, (wp_auth_kind)r->num, wp_plugin_route_entry, r, p->name, &e);
            break;
        case REG_FILTER:
            st = wp_hooks_add(r->a, r->num, p->name, (wp_plugin_filter_fn)r->fn, r->ud, &e);
            break;
        case REG_SUB:
            if (env->events)
                st = wp_events_subscribe(env->events, r->a, p->name, wp_plugin_event_entry, r, r->delays, r->ndelays, &e);
            break;
        case REG_JOB:
            if (env->jobs) st = wp_jobs_register(env->jobs, r->a, wp_plugin_job_entry, r, r->delays, r->ndelays, &e);
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
                                    WP_HOST_SIZE_1_6, WP_HOST_SIZE_1_7, WP_HOST_SIZE_1_8,
                                    WP_HOST_SIZE_1_9, WP_HOST_SIZE_1_10};
_Static_assert(sizeof host_sizes / sizeof host_sizes[0] == WP_ABI_MINOR + 1, "a host size per ABI minor");

static void present(wp_plugins *set)
{
    if (set->minor == WP_ABI_MINOR) {
        set->host = &wp_plugin_host_table;
        return;
    }
    memcpy(&presented_table, &wp_plugin_host_table, sizeof presented_table);
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

/* ---- SIGHUP (reload.c): the plugins' own settings ------------------------------------------- */

/* Appends ", what" to a report line, or "..." once it is full. */
static void report(char *line, size_t len, const char *what)
{
    size_t n = strlen(line);
    if (n + strlen(what) + 6 >= len) {
        if (n + 4 < len && (n < 3 || strcmp(line + n - 3, "...") != 0)) snprintf(line + n, len - n, "...");
        return;
    }
    snprintf(line + n, len - n, "%s%s", n ? ", " : "", what);
}

static json_object *entry_named(json_object *plugins, const char *name)
{
    for (size_t i = 0; plugins && i < json_object_array_length(plugins); i++) {
        json_object *e = json_object_array_get_idx(plugins, i), *n;
        if (json_object_object_get_ex(e, "name", &n) && strcmp(json_object_get_string(n), name) == 0) return e;
    }
    return NULL;
}

/* The entry without its "config": what only a restart changes (the file, optional, the order). */
static bool same_entries(json_object *a, json_object *b)
{
    size_t na = a ? json_object_array_length(a) : 0, nb = b ? json_object_array_length(b) : 0;
    if (na != nb) return false;
    for (size_t i = 0; i < na; i++) {
        json_object *ea = json_object_array_get_idx(a, i), *eb = json_object_array_get_idx(b, i);
        json_object_object_foreach(ea, k, v) {
            if (strcmp(k, "config") == 0) continue;
            json_object *w = NULL;
            if (!json_object_object_get_ex(eb, k, &w) || !json_object_equal(v, w)) return false;
        }
        json_object_object_foreach(eb, k2, v2) {
            (void)v2;
            if (strcmp(k2, "config") != 0 && !json_object_object_get_ex(ea, k2, NULL)) return false;
        }
    }
    return true;
}

static bool declared(const struct wp_plugin *p, const char *key)
{
    for (const char *const *k = p->reload_keys; k && *k; k++)
        if (strcmp(*k, key) == 0) return true;
    return false;
}

/* One plugin: the changed keys it declared go to its reload function, the others are reported. */
static void reload_one(struct wp_plugin *p, json_object *want, char *done, size_t dlen, char *restart, size_t rlen)
{
    json_object *cur = p->live ? p->live : p->config, *next = NULL;
    if (json_object_equal(cur, want)) return;
    if (json_object_deep_copy(cur, &next, NULL) != 0 || !next) {
        wp_log_error("plugin \"%s\": reload: out of memory", p->name);
        return;
    }
    char what[400];
    int n = 0;
    /* keys changed or added in the file, then keys the file no longer has */
    json_object_object_foreach(want, k, v) {
        json_object *old = NULL;
        if (json_object_object_get_ex(cur, k, &old) && json_object_equal(old, v)) continue;
        snprintf(what, sizeof what, "plugins.%s.config.%s", p->name, k);
        if (!p->reload_fn || !declared(p, k)) {
            report(restart, rlen, what);
            continue;
        }
        json_object *copy = NULL;
        if (json_object_deep_copy(v, &copy, NULL) == 0 && copy) json_object_object_add(next, k, copy);
        n++;
    }
    json_object_object_foreach(cur, k2, v2) {
        (void)v2;
        if (json_object_object_get_ex(want, k2, NULL)) continue;
        snprintf(what, sizeof what, "plugins.%s.config.%s", p->name, k2);
        if (!p->reload_fn || !declared(p, k2)) {
            report(restart, rlen, what);
            continue;
        }
        json_object_object_del(next, k2);
        n++;
    }
    if (n == 0) {
        json_object_put(next);
        return;
    }
    p->init_error[0] = '\0';
    wp_status st = p->reload_fn(p, next);
    if (st != WP_OK) {
        wp_log_error("plugin \"%s\": reload refused, its running settings stay: %s", p->name,
                     p->init_error[0] ? p->init_error : wp_status_str(st));
        json_object_put(next);
        return;
    }
    json_object_object_foreach(next, k3, v3) {
        json_object *old = NULL;
        if (json_object_object_get_ex(cur, k3, &old) && json_object_equal(old, v3)) continue;
        snprintf(what, sizeof what, "plugins.%s.config.%s", p->name, k3);
        report(done, dlen, what);
    }
    json_object_object_foreach(cur, k4, v4) {
        (void)v4;
        if (json_object_object_get_ex(next, k4, NULL)) continue;
        snprintf(what, sizeof what, "plugins.%s.config.%s", p->name, k4);
        report(done, dlen, what);
    }
    json_object_put(p->live);
    p->live = next;
}

void wp_plugins_reload(wp_plugins *set, json_object *cur, json_object *next, char *done, size_t dlen, char *restart,
                       size_t rlen)
{
    if (!same_entries(cur, next)) report(restart, rlen, "plugins");
    for (size_t i = 0; set && i < set->n; i++) {
        struct wp_plugin *p = set->p[i];
        json_object *e = entry_named(next, p->name), *want = NULL;
        if (!e) continue; /* removed from the file: reported with "plugins" above */
        json_object *empty = NULL;
        if (!json_object_object_get_ex(e, "config", &want) || !json_object_is_type(want, json_type_object))
            want = empty = json_object_new_object();
        reload_one(p, want, done, dlen, restart, rlen);
        json_object_put(empty);
    }
}
