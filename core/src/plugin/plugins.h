/*
 * plugins.h - the plugin loader and the host side of walletpass/plugin.h.
 *
 * Configuration:  "plugin_dir": "/usr/lib/walletpass/plugins"   (env WALLETPASS_PLUGIN_DIR;
 *                                  default: the build's plugin output directory)
 *                 "plugins": [{"name": "webhooks", "path": "webhooks.so", "optional": false, "config": {...}}]
 * `path` defaults to "<name>.so"; relative paths are taken inside plugin_dir,
 * and a file that resolves outside it (symlinks included), is not a regular
 * file, or is world-writable is refused.  A plugin's migrations live next
 * to it, in <directory of the .so>/<name>/migrations/NNNN_*.sql, and are
 * applied (component "<name>" in schema_migrations) before its init runs.
 *
 * Every plugin is first dlopen()ed RTLD_NOW|RTLD_LOCAL and checked
 * (magic, size, ABI major, the ABI minor it requires, name, json-c), then
 * what the plugins need (wp_plugin_def.needs_plugins: configured, no cycle)
 * before any of them runs.  They start (migrations, init) in configuration
 * order, a needed plugin before the plugins needing it.  What init
 * registers is kept by the loader and committed to the router, the hook
 * bus, the event bus and the job queue only once init returned WP_OK, so a
 * failing optional plugin leaves nothing behind.  Then every hook in a
 * plugin's needs_hooks must have a filter, and the hook bus is sealed.
 *
 * WALLETPASS_PLUGIN_ABI=1.N (a test aid) presents an older ABI minor to
 * plugins: a host table of that minor's size, the newer slots NULL, and
 * plugins requiring more are refused.
 *
 * Ownership: wp_plugins_load() returns a set the caller frees with
 * wp_plugins_unload() (shutdown in reverse order, then free), after the
 * server and the job workers have stopped.  env is copied; what it points
 * to is borrowed and must outlive the set.
 */
#ifndef WP_PLUGINS_H
#define WP_PLUGINS_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "db.h"
#include "domain.h"
#include "err.h"
#include "events.h"
#include "jobs.h"
#include "metrics.h"
#include "router.h"

typedef struct wp_plugins_env {
    wp_router *router;      /* where plugin routes go (required) */
    wp_db *db;              /* NULL: no migrations, db_query answers WP_EUNAVAIL (listing mode) */
    wp_metrics *metrics;    /* NULL: metrics_add is a no-op */
    wp_jobs *jobs;          /* NULL: job handlers are recorded but not registered; enqueue WP_EUNAVAIL */
    wp_events *events;      /* NULL: same for subscribers and publish */
    bool allow_private_targets; /* outbound.allow_private_targets */
    wp_domain *domain;      /* NULL (listing mode): pass_get/pass_link_*, vault and secrets answer WP_EUNAVAIL */
} wp_plugins_env;

typedef struct wp_plugins wp_plugins;

/*
 * Validates cfg->plugins, loads every plugin and seals the hook bus.  On
 * failure of a plugin that is not optional, returns its error (err names the
 * plugin and its file) and loads nothing more; *out is then NULL and every
 * plugin already initialised has been shut down.
 */
wp_status wp_plugins_load(const wp_config *cfg, const wp_plugins_env *env, wp_plugins **out, wp_err *err);

/* Calls shutdown in reverse load order, then frees the set.  NULL is fine. */
void wp_plugins_unload(wp_plugins *ps);

/* `walletpass plugins`: one line per loaded plugin (name, version, ABI, file, what it registered). */
void wp_plugins_print(const wp_plugins *ps, FILE *out);
size_t wp_plugins_count(const wp_plugins *ps);

/* The plugin directory in effect for cfg (config, env, or the build default). */
const char *wp_plugins_dir(const wp_config *cfg);

/*
 * SIGHUP (app/reload.c), on the main thread: compares the "plugins" arrays of
 * the running and the new configuration.  A changed entry (its file, optional,
 * the list or its order) is reported in `restart` as "plugins".  For each
 * loaded plugin whose config changed, the changed keys it declared
 * reloadable (reload_register) are handed to its reload function and named in
 * `done` once it accepted them ("plugins.webhooks.config.max_endpoints"); the
 * other changed keys are named in `restart`.  A refusal is logged.  The lines
 * are ", "-separated and end in "..." when full.  set may be NULL.
 */
void wp_plugins_reload(wp_plugins *set, json_object *cur, json_object *next, char *done, size_t dlen, char *restart,
                       size_t rlen);

/* Only the config check (unit tests): WP_ECONFIG naming "plugins[i].key". */
wp_status wp_plugins_check_config(json_object *plugins, wp_err *err);

#endif
