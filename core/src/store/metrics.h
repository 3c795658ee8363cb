/*
 * metrics.h - Prometheus counters for /metrics.
 *
 * Requests are counted by (method, route pattern, status) and timed into a
 * latency histogram per route.  Updates are lock-free on the hot path
 * (atomics on pre-sized slots); the series table grows under a mutex only
 * when a new (route, status) pair first appears.  Plugins add named counters.
 */
#ifndef WP_METRICS_H
#define WP_METRICS_H

#include <stddef.h>

#include "err.h"

typedef struct wp_metrics wp_metrics;
struct wp_db;

wp_status wp_metrics_new(wp_metrics **out);
void wp_metrics_free(wp_metrics *m);

/* route: the matched pattern ("/api/v1/passes/:id") or "unmatched". */
void wp_metrics_request(wp_metrics *m, const char *method, const char *route, int status, double seconds);

/* Adds `delta` to the counter `name` (a Prometheus metric name, [a-zA-Z_:][a-zA-Z0-9_:]*).
 * WP_EINVAL for a bad name. */
wp_status wp_metrics_counter_add(wp_metrics *m, const char *name, const char *help, double delta);

/* Renders the exposition text; caller frees. pool may be NULL. */
char *wp_metrics_render(wp_metrics *m, struct wp_db *pool, size_t *len);

#endif
