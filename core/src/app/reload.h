/*
 * reload.h - SIGHUP: the configuration read again, and what can change
 * without a restart applied while the gateway serves.
 *
 * Reloaded: log_level, rate_limit.requests_per_second and rate_limit.burst
 * (a new set of buckets, full), plans, metering.default_plan and
 * metering.trial_days, and the plugin settings a plugin declares reloadable
 * (host reload_register, ABI 1.9).  Every other change is logged as needing
 * a restart and not applied: the running values stay.  A file that does not
 * load (a syntax error, a value out of range) changes nothing.
 *
 * Thread-safety: request threads read the configuration through
 * srv->domain.cfg and the rate limiter through srv->ratelimit, both atomic
 * pointers to objects nobody changes: a reload builds new ones and swaps the
 * pointers.  What it replaced is kept until wp_reload_free (the server's
 * end), since a request may still be using it.
 */
#ifndef WP_RELOAD_H
#define WP_RELOAD_H

#include "err.h"
#include "plugins.h"
#include "server.h"

/* Runs on the thread that took SIGHUP (main), never concurrently with itself.  Logs what it did and
 * what it did not; returns the loading error when the file could not be used. */
wp_status wp_reload(wp_server *srv, wp_plugins *plugins, wp_err *err);

/* Frees what reloads replaced, and the current snapshot. */
void wp_reload_free(wp_server *srv);

#endif
