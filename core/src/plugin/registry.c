/*
 * registry.c - what a plugin registers during init: kept per plugin, committed by
 * the loader once init returned WP_OK (plugin_host.h).
 */
#include "plugin_host.h"

/* ---- registration (init only) ------------------------------------------ */

static wp_status add_reg(wp_plugin *p, int what, const char *a, const char *b, int num, void (*fn)(void), void *ud,
                         const wp_retry_policy *retry)
{
    if (!p || !p->registering)
        return wp_plugin_failf(WP_ELATE, "plugin %s: routes, filters, subscriptions, job handlers and credential kinds "
                          "can only be registered during init", p ? p->name : "?");
    if (!a || !*a || !fn) return wp_plugin_failf(WP_EINVAL, "plugin %s: registration needs a name and a function", p->name);
    reg *r = calloc(1, sizeof *r);
    if (!r) return wp_plugin_failf(WP_ENOMEM, "out of memory");
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
        wp_plugin_reg_free(r);
        return wp_plugin_failf(WP_ENOMEM, "out of memory");
    }
    if (p->nregs == p->capregs) {
        size_t nc = p->capregs ? p->capregs * 2 : 8;
        reg **nr = realloc(p->regs, nc * sizeof *nr);
        if (!nr) {
            wp_plugin_reg_free(r);
            return wp_plugin_failf(WP_ENOMEM, "out of memory");
        }
        p->regs = nr;
        p->capregs = nc;
    }
    p->regs[p->nregs++] = r;
    p->count[what]++;
    return wp_plugin_ok();
}

wp_status wp_host_route_add(wp_plugin *p, const char *method, const char *pattern, wp_auth_kind auth,
                             wp_plugin_route_fn fn, void *ud)
{
    if (!method || !pattern || pattern[0] != '/')
        return wp_plugin_failf(WP_EINVAL, "route %s %s: method and a pattern starting with '/' are required",
                          method ? method : "(null)", pattern ? pattern : "(null)");
    if ((int)auth < WP_AUTH_PUBLIC || (int)auth > WP_AUTH_PORTAL)
        return wp_plugin_failf(WP_EINVAL, "route %s %s: unknown auth kind %d", method, pattern, (int)auth);
    for (size_t i = 0; p && i < p->nregs; i++)
        if (p->regs[i]->what == REG_ROUTE && strcmp(p->regs[i]->a, method) == 0 && strcmp(p->regs[i]->b, pattern) == 0)
            return wp_plugin_failf(WP_ECONFLICT, "route %s %s is already registered by %s", method, pattern, p->name);
    return add_reg(p, REG_ROUTE, method, pattern, (int)auth, (void (*)(void))fn, ud, NULL);
}

wp_status wp_host_filter_add(wp_plugin *p, const char *hook, int priority, wp_plugin_filter_fn fn, void *ud)
{
    if (priority < WP_PRIO_FIRST || priority > WP_PRIO_LAST)
        return wp_plugin_failf(WP_EINVAL, "filter on %s: priority %d is outside %d..%d (the rest is the core's)",
                          hook ? hook : "(null)", priority, WP_PRIO_FIRST, WP_PRIO_LAST);
    return add_reg(p, REG_FILTER, hook, NULL, priority, (void (*)(void))fn, ud, NULL);
}

wp_status wp_host_subscribe(wp_plugin *p, const char *type, wp_plugin_event_fn fn, void *ud,
                             const wp_retry_policy *retry)
{
    return add_reg(p, REG_SUB, type, NULL, 0, (void (*)(void))fn, ud, retry);
}

/* ABI 1.5: options in a sized struct; only the fields within opts->size are read. */
wp_status wp_host_subscribe_ex(wp_plugin *p, const char *type, wp_plugin_event_fn fn, void *ud,
                                const wp_subscribe_options *opts)
{
    uint32_t lo = 0, hi = 0, mode = WP_SCHEMA_REFUSE;
    const wp_retry_policy *retry = NULL;
    if (opts) {
        if (opts->size < offsetof(wp_subscribe_options_v1, schema_min))
            return wp_plugin_failf(WP_EINVAL, "subscribe_ex: opts->size is %u; start from WP_SUBSCRIBE_OPTIONS_INIT",
                              (unsigned)opts->size);
        if (opts->size >= offsetof(wp_subscribe_options_v1, schema_min) + sizeof opts->schema_min) lo = opts->schema_min;
        if (opts->size >= offsetof(wp_subscribe_options_v1, schema_max) + sizeof opts->schema_max) hi = opts->schema_max;
        if (opts->size >= offsetof(wp_subscribe_options_v1, on_mismatch) + sizeof opts->on_mismatch)
            mode = opts->on_mismatch;
        if (opts->size >= offsetof(wp_subscribe_options_v1, retry) + sizeof opts->retry) retry = opts->retry;
    }
    if (lo == 0) lo = 1;
    if (hi != 0 && hi < lo)
        return wp_plugin_failf(WP_EINVAL, "subscribe_ex %s: schema_max %u is below schema_min %u", type ? type : "(null)",
                          (unsigned)hi, (unsigned)lo);
    if (mode != WP_SCHEMA_REFUSE && mode != WP_SCHEMA_SKIP)
        return wp_plugin_failf(WP_EINVAL, "subscribe_ex %s: on_mismatch %u is neither WP_SCHEMA_REFUSE nor WP_SCHEMA_SKIP",
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
int wp_plugin_own_kind(const wp_plugin *p, const char *kind)
{
    size_t n = strlen(p->name);
    return kind && strncmp(kind, p->name, n) == 0 && kind[n] == '.' && kind[n + 1];
}

wp_status wp_host_job_register(wp_plugin *p, const char *kind, wp_plugin_job_fn fn, void *ud,
                                const wp_retry_policy *retry)
{
    if (p && !wp_plugin_own_kind(p, kind))
        return wp_plugin_failf(WP_EINVAL, "job kind \"%s\" must start with \"%s.\"", kind ? kind : "(null)", p->name);
    return add_reg(p, REG_JOB, kind, NULL, 0, (void (*)(void))fn, ud, retry);
}

/* ABI 1.5: the kind is copied now; its routes go to the router at commit. */
wp_status wp_host_credential_kind_register(wp_plugin *p, const wp_credential_kind *kind)
{
    if (!p || !p->registering)
        return wp_plugin_failf(WP_ELATE, "plugin %s: credential kinds can only be registered during init", p ? p->name : "?");
    wp_err e;
    wp_err_clear(&e);
    wp_cred_kind *k = NULL;
    if (wp_credentials_kind_new(kind, &k, &e) != WP_OK) return wp_plugin_failf(e.status, "plugin %s: %s", p->name, e.msg);
    for (size_t i = 0; i < p->nregs; i++)
        if (p->regs[i]->what == REG_CRED && strcmp(p->regs[i]->a, k->name) == 0) {
            wp_credentials_kind_free(k);
            return wp_plugin_failf(WP_ECONFLICT, "credential kind \"%s\" is already registered by %s", kind->name, p->name);
        }
    wp_status st = add_reg(p, REG_CRED, k->name, NULL, 0, (void (*)(void))k->validate, k->ud, NULL);
    if (st != WP_OK) {
        wp_credentials_kind_free(k);
        return st;
    }
    p->regs[p->nregs - 1]->kind = k;
    return st;
}

wp_status wp_host_reload_register(wp_plugin *p, const char *const *keys, wp_plugin_reload_fn fn)
{
    if (!p || !p->registering)
        return wp_plugin_failf(WP_ELATE, "plugin %s: reload_register can only be called during init", p ? p->name : "?");
    if (!keys || !keys[0] || !fn)
        return wp_plugin_failf(WP_EINVAL, "plugin %s: reload_register needs at least one key and a function", p->name);
    if (p->reload_fn) return wp_plugin_failf(WP_EINVAL, "plugin %s: reload_register was called already", p->name);
    p->reload_keys = keys;
    p->reload_fn = fn;
    return wp_plugin_ok();
}
