/* reload.c - see reload.h. */
#include "reload.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

typedef struct wp_retired {
    struct wp_retired *next;
    wp_config *cfg;
    wp_ratelimit *rl;
} wp_retired;

/* The keys of the gateway's own configuration that a reload applies. */
static const char *const reloadable[] = {"log_level",   "rate_limit.requests_per_second", "rate_limit.burst",
                                         "plans",       "metering.default_plan",          "metering.trial_days"};
#define NRELOADABLE (sizeof reloadable / sizeof reloadable[0])

static bool is_reloadable(const char *key)
{
    for (size_t i = 0; i < NRELOADABLE; i++)
        if (strcmp(reloadable[i], key) == 0) return true;
    return false;
}

/* Kept for wp_reload_free; if even that allocation fails, the object is leaked rather than freed under a reader. */
static void retire(wp_server *srv, wp_config *cfg, wp_ratelimit *rl)
{
    wp_retired *r = malloc(sizeof *r);
    if (!r) return;
    *r = (wp_retired){.next = srv->retired, .cfg = cfg, .rl = rl};
    srv->retired = r;
}

typedef struct {
    const char *keys[128];
    char names[128][64];
    size_t n;
} keylist;

static void collect(void *ud, const char *key)
{
    keylist *l = ud;
    if (l->n >= sizeof l->names / sizeof l->names[0]) return;
    snprintf(l->names[l->n], sizeof l->names[0], "%s", key);
    l->keys[l->n] = l->names[l->n];
    l->n++;
}

/* Appends ", what" to a line; a line that is full ends in "..." instead of losing the end silently. */
static void add(char *line, size_t len, const char *what)
{
    size_t n = strlen(line);
    if (n + strlen(what) + 6 >= len) {
        if (n + 4 < len && (n < 3 || strcmp(line + n - 3, "...") != 0)) snprintf(line + n, len - n, "...");
        return;
    }
    snprintf(line + n, len - n, "%s%s", n ? ", " : "", what);
}

wp_status wp_reload(wp_server *srv, wp_plugins *plugins, wp_err *err)
{
    wp_config next;
    if (wp_config_load(NULL, &next, err) != WP_OK) {
        wp_log_error("SIGHUP: the configuration was not reloaded (the running one stays): %s", err->msg);
        return err->status;
    }
    const wp_config *cur = srv->domain.cfg;
    keylist changed = {.n = 0};
    wp_config_diff(cur, &next, collect, &changed);
    keylist apply = {.n = 0};
    char done[1200] = "", restart[1200] = "";
    for (size_t i = 0; i < changed.n; i++) {
        if (is_reloadable(changed.keys[i])) {
            collect(&apply, changed.keys[i]);
            add(done, sizeof done, changed.keys[i]);
        } else {
            add(restart, sizeof restart, changed.keys[i]);
        }
    }
    /* the plugins: their own settings (reload_register) and the entries themselves */
    wp_plugins_reload(plugins, cur->plugins, next.plugins, done, sizeof done, restart, sizeof restart);

    wp_config *snap = NULL;
    wp_ratelimit *rl = NULL;
    wp_status st = WP_OK;
    if (apply.n > 0) {
        st = wp_config_merge(cur, &next, apply.keys, apply.n, &snap, err);
        if (st == WP_OK && (snap->rate_limit_per_second != cur->rate_limit_per_second ||
                            snap->rate_limit_burst != cur->rate_limit_burst))
            st = wp_ratelimit_new(snap->rate_limit_per_second, snap->rate_limit_burst, &rl);
        if (st != WP_OK) {
            if (snap) {
                wp_config_free(snap);
                free(snap);
            }
            wp_log_error("SIGHUP: the gateway's settings were not reloaded: %s",
                         err->msg[0] ? err->msg : wp_status_str(st));
            wp_config_free(&next);
            return st;
        }
    }
    /* Said before a new log_level applies, so that raising it does not hide what was done. */
    if (done[0]) wp_log_warn("SIGHUP: reloaded: %s", done);
    if (restart[0]) wp_log_warn("SIGHUP: changed, but not reloaded (a restart applies them): %s", restart);
    if (!done[0] && !restart[0]) wp_log_info("SIGHUP: the configuration is unchanged");
    if (snap) {
        if (rl) retire(srv, NULL, atomic_exchange(&srv->ratelimit, rl));
        if (snap->log_level != cur->log_level) wp_log_set_level((wp_log_level)snap->log_level);
        srv->domain.cfg = snap; /* atomic: requests from now on see the new plans */
        if (srv->live_cfg) retire(srv, srv->live_cfg, NULL);
        srv->live_cfg = snap;
    }
    wp_config_free(&next);
    return WP_OK;
}

void wp_reload_free(wp_server *srv)
{
    for (wp_retired *r = srv->retired, *next; r; r = next) {
        next = r->next;
        if (r->cfg) {
            wp_config_free(r->cfg);
            free(r->cfg);
        }
        wp_ratelimit_free(r->rl);
        free(r);
    }
    srv->retired = NULL;
    if (srv->live_cfg) {
        wp_config_free(srv->live_cfg);
        free(srv->live_cfg);
    }
    srv->live_cfg = NULL;
}
