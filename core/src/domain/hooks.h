/*
 * hooks.h - the filter bus: named hooks ("pass.validate", "pass.links" ...)
 * and the ordered filters plugins (or core modules) register on them.
 *
 * One registry per process.  Filters are added during start-up
 * (wp_hooks_add, main thread); wp_hooks_seal() then sorts every hook once,
 * stably, by priority and then by owner name (so the order does not depend
 * on load order), and flattens it into an array walked by index.  After
 * sealing the registry is read-only and wp_hooks_run() takes no lock.
 *
 * Ownership: hook and owner names are copied; `ud` is handed back as is.
 * The document passed to wp_hooks_run is borrowed and modified in place.
 */
#ifndef WP_HOOKS_H
#define WP_HOOKS_H

#include <json-c/json.h>
#include <stdio.h>

#include "err.h"

/* WP_ELATE after wp_hooks_seal(); WP_EINVAL for a bad hook name
 * (1..64 characters of [a-z0-9._-]) or priority (outside -10..110). */
wp_status wp_hooks_add(const char *hook, int priority, const char *owner, wp_plugin_filter_fn fn, void *ud,
                       wp_err *err);

/* Sorts and freezes the registry.  Idempotent. */
void wp_hooks_seal(void);

/*
 * Runs the filters of `hook` over doc.  Returns WP_FILTER_CONTINUE when no
 * filter is registered or none changed anything, WP_FILTER_MODIFIED when
 * one did, WP_FILTER_STOP when one stopped the chain, WP_FILTER_REJECT when
 * one refused: then err holds the error for the HTTP response (status,
 * code, param, message; wp_resp_rejected in http.h sends it).  A filter that returns
 * an unknown value, or REJECT without an error, is reported as an internal
 * error naming its owner.  Running a hook from inside one of its own filters
 * (on the same thread) is refused with WP_EINTERNAL.  req may be NULL.
 */
wp_filter_result wp_hooks_run(const char *hook, json_object *doc, wp_req *req, wp_err *err);


/* Fills a wp_err the way host->error_set does; code is copied into
 * thread-local storage that lives until the next call on this thread. */
void wp_hooks_error_set(wp_err *err, wp_status status, const char *code, const char *param, const char *msg);

/* Writes "hook  priority  owner" lines, in run order. */
void wp_hooks_dump(FILE *out);

/* Number of filters registered on hook (0 for an unknown hook). */
size_t wp_hooks_count(const char *hook);

/* Drops every registration (tests, and the end of `walletpass plugins`). */
void wp_hooks_reset(void);

#endif
