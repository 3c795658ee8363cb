/* hooks.c - see hooks.h. */
#include "hooks.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

typedef struct {
    int priority;
    size_t seq;             /* registration order: the final tie-breaker keeps the sort stable */
    char *owner;
    wp_plugin_filter_fn fn;
    void *ud;
} filter;

typedef struct {
    char *name;
    filter *f;
    size_t n, cap;
} hook;

static hook *hooks;
static size_t nhooks, caphooks;
static size_t seq;
static int sealed;

/* Hooks running on this thread, innermost last (re-entrancy guard). */
#define MAX_DEPTH 16
static _Thread_local const char *running[MAX_DEPTH];
static _Thread_local int depth;
static _Thread_local char err_code[64];

static int valid_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64) return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-')) return 0;
    return 1;
}

static hook *find(const char *name)
{
    for (size_t i = 0; i < nhooks; i++)
        if (strcmp(hooks[i].name, name) == 0) return &hooks[i];
    return NULL;
}

wp_status wp_hooks_add(const char *name, int priority, const char *owner, wp_plugin_filter_fn fn, void *ud,
                       wp_err *err)
{
    if (sealed) return wp_err_set(err, WP_ELATE, "filter on \"%s\": filters can only be added during init", name);
    if (!valid_name(name))
        return wp_err_set(err, WP_EINVAL, "filter: hook name \"%s\" must be 1..64 characters of [a-z0-9._-]",
                          name ? name : "(null)");
    if (priority < WP_PRIO_REALLY_FIRST || priority > WP_PRIO_REALLY_LAST || !fn)
        return wp_err_set(err, WP_EINVAL, "filter on \"%s\": priority must be %d..%d and fn non-NULL", name,
                          WP_PRIO_REALLY_FIRST, WP_PRIO_REALLY_LAST);
    hook *h = find(name);
    if (!h) {
        if (nhooks == caphooks) {
            size_t nc = caphooks ? caphooks * 2 : 16;
            hook *nh = realloc(hooks, nc * sizeof *nh);
            if (!nh) return wp_err_set(err, WP_ENOMEM, "out of memory");
            hooks = nh;
            caphooks = nc;
        }
        h = &hooks[nhooks];
        memset(h, 0, sizeof *h);
        if (!(h->name = strdup(name))) return wp_err_set(err, WP_ENOMEM, "out of memory");
        nhooks++;
    }
    if (h->n == h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 4;
        filter *nf = realloc(h->f, nc * sizeof *nf);
        if (!nf) return wp_err_set(err, WP_ENOMEM, "out of memory");
        h->f = nf;
        h->cap = nc;
    }
    filter *f = &h->f[h->n];
    f->priority = priority;
    f->seq = seq++;
    f->owner = strdup(owner ? owner : "core");
    f->fn = fn;
    f->ud = ud;
    if (!f->owner) return wp_err_set(err, WP_ENOMEM, "out of memory");
    h->n++;
    return WP_OK;
}

static int filter_cmp(const void *a, const void *b)
{
    const filter *x = a, *y = b;
    if (x->priority != y->priority) return x->priority < y->priority ? -1 : 1;
    int c = strcmp(x->owner, y->owner);
    if (c) return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int hook_cmp(const void *a, const void *b)
{
    return strcmp(((const hook *)a)->name, ((const hook *)b)->name);
}

void wp_hooks_seal(void)
{
    if (sealed) return;
    /* qsort with a NULL base is undefined even for zero elements. */
    for (size_t i = 0; i < nhooks; i++)
        if (hooks[i].n > 1) qsort(hooks[i].f, hooks[i].n, sizeof(filter), filter_cmp);
    if (nhooks > 1) qsort(hooks, nhooks, sizeof *hooks, hook_cmp);
    sealed = 1;
}

void wp_hooks_error_set(wp_err *err, wp_status status, const char *code, const char *param, const char *msg)
{
    if (!err) return;
    if (status == WP_OK) status = WP_EINVAL;
    wp_err_param(err, status, param, "%s", msg ? msg : wp_status_str(status));
    if (code && *code) {
        snprintf(err_code, sizeof err_code, "%s", code);
        err->code = err_code;
    }
}

wp_filter_result wp_hooks_run(const char *name, json_object *doc, wp_req *req, wp_err *err)
{
    if (!sealed) {
        /* Hooks only run once start-up has finished; before that, no filter is complete. */
        wp_err_set(err, WP_EINTERNAL, "hook \"%s\" ran before the filters were sealed", name);
        return WP_FILTER_REJECT;
    }
    const hook *h = NULL;
    size_t lo = 0, hi = nhooks;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(hooks[mid].name, name);
        if (c == 0) { h = &hooks[mid]; break; }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    if (!h || h->n == 0) return WP_FILTER_CONTINUE;
    for (int i = 0; i < depth; i++)
        if (strcmp(running[i], name) == 0) {
            wp_err_set(err, WP_EINTERNAL, "hook \"%s\" was run again from one of its own filters", name);
            return WP_FILTER_REJECT;
        }
    if (depth >= MAX_DEPTH) {
        wp_err_set(err, WP_EINTERNAL, "hooks nested more than %d deep (running \"%s\")", MAX_DEPTH, name);
        return WP_FILTER_REJECT;
    }
    running[depth++] = h->name;
    wp_filter_result out = WP_FILTER_CONTINUE;
    for (size_t i = 0; i < h->n; i++) {
        const filter *f = &h->f[i];
        wp_err ferr;
        wp_err_clear(&ferr);
        wp_filter_result r = f->fn(f->ud, req, doc, &ferr);
        if (r == WP_FILTER_CONTINUE) continue;
        if (r == WP_FILTER_MODIFIED) {
            out = WP_FILTER_MODIFIED;
            continue;
        }
        if (r == WP_FILTER_STOP) {
            out = WP_FILTER_STOP;
            break;
        }
        if (r == WP_FILTER_REJECT && ferr.status != WP_OK) {
            if (err) *err = ferr;
        } else if (r == WP_FILTER_REJECT) {
            wp_err_set(err, WP_EINTERNAL, "filter of %s on \"%s\" rejected without saying why", f->owner, name);
        } else {
            wp_err_set(err, WP_EINTERNAL, "filter of %s on \"%s\" returned %d, not a wp_filter_result", f->owner,
                       name, (int)r);
        }
        if (err && err->status == WP_EINTERNAL) wp_log_error("%s", err->msg);
        out = WP_FILTER_REJECT;
        break;
    }
    depth--;
    return out;
}

void wp_hooks_dump(FILE *out)
{
    for (size_t i = 0; i < nhooks; i++)
        for (size_t j = 0; j < hooks[i].n; j++)
            fprintf(out, "%-28s %5d  %s\n", hooks[i].name, hooks[i].f[j].priority, hooks[i].f[j].owner);
}

size_t wp_hooks_count(const char *name)
{
    const hook *h = find(name);
    return h ? h->n : 0;
}

void wp_hooks_reset(void)
{
    for (size_t i = 0; i < nhooks; i++) {
        for (size_t j = 0; j < hooks[i].n; j++) free(hooks[i].f[j].owner);
        free(hooks[i].f);
        free(hooks[i].name);
    }
    free(hooks);
    hooks = NULL;
    nhooks = caphooks = 0;
    seq = 0;
    sealed = 0;
}
