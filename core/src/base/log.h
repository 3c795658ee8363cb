/*
 * log.h - the gateway's diagnostic log (stderr, one line per message).
 *
 * Never pass secrets (keys, tokens, passwords, credentials) to these
 * functions: the log is read by operators and shipped to log stores.
 */
#ifndef WP_LOG_H
#define WP_LOG_H

/* wp_log_level (WP_LOG_DEBUG .. WP_LOG_ERROR) is part of the plugin ABI. */
#include <walletpass/plugin.h>

/* Safe while other threads log (SIGHUP changes it). */
void wp_log_set_level(wp_log_level level);
wp_log_level wp_log_get_level(void);
/* Parses "debug" | "info" | "warn" | "error"; returns -1 for anything else. */
int wp_log_level_parse(const char *name);
void wp_log(wp_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define wp_log_debug(...) wp_log(WP_LOG_DEBUG, __VA_ARGS__)
#define wp_log_info(...) wp_log(WP_LOG_INFO, __VA_ARGS__)
#define wp_log_warn(...) wp_log(WP_LOG_WARN, __VA_ARGS__)
#define wp_log_error(...) wp_log(WP_LOG_ERROR, __VA_ARGS__)

#endif
