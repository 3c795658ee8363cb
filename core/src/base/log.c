/* log.c - timestamped lines on stderr; one fprintf per line keeps lines whole across threads. */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Atomic: SIGHUP changes it while every thread logs (relaxed: a line or two at the old level is fine). */
static atomic_int wp_log_min = WP_LOG_INFO;

void wp_log_set_level(wp_log_level level) { atomic_store_explicit(&wp_log_min, (int)level, memory_order_relaxed); }

wp_log_level wp_log_get_level(void) { return (wp_log_level)atomic_load_explicit(&wp_log_min, memory_order_relaxed); }

int wp_log_level_parse(const char *name)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (name && strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

void wp_log(wp_log_level level, const char *fmt, ...)
{
    static const char *tags[] = {"debug", "info", "warn", "error"};
    if ((int)level < atomic_load_explicit(&wp_log_min, memory_order_relaxed))
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, tags[level]);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}
