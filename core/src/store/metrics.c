/*
 * metrics.c - fixed-size open-addressing tables of atomic series.
 *
 * Lookups are lock-free: a slot becomes visible (ready = 1, release) only
 * after its key is written, and its counters are atomics.  The mutex is
 * taken only to claim a new slot.  Tables never shrink; route patterns
 * (not raw paths) are the keys, so their number is bounded by the router.
 */
#include "metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

#define SLOTS 1024
#define NBUCKETS 12
static const double bucket_le[NBUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

typedef struct {
    atomic_int ready;
    char method[8];
    char route[160];
    int status;
    atomic_ullong count;
} req_series;

typedef struct {
    atomic_int ready;
    char method[8];
    char route[160];
    atomic_ullong buckets[NBUCKETS];
    atomic_ullong count;
    atomic_ullong sum_us;
} lat_series;

typedef struct {
    char name[96];
    char help[160];
    double value;
} counter;

struct wp_metrics {
    pthread_mutex_t mu;
    req_series req[SLOTS];
    lat_series lat[SLOTS];
    counter *counters;
    size_t ncounters;
};

wp_status wp_metrics_new(wp_metrics **out)
{
    wp_metrics *m = calloc(1, sizeof *m);
    if (!m) return WP_ENOMEM;
    pthread_mutex_init(&m->mu, NULL);
    *out = m;
    return WP_OK;
}

void wp_metrics_free(wp_metrics *m)
{
    if (!m) return;
    pthread_mutex_destroy(&m->mu);
    free(m->counters);
    free(m);
}

static unsigned hash3(const char *a, const char *b, int c)
{
    unsigned h = 2166136261u;
    for (; *a; a++) h = (h ^ (unsigned char)*a) * 16777619u;
    for (; *b; b++) h = (h ^ (unsigned char)*b) * 16777619u;
    return (h ^ (unsigned)c) * 16777619u;
}

static req_series *req_slot(wp_metrics *m, const char *method, const char *route, int status)
{
    unsigned h = hash3(method, route, status) % SLOTS;
    for (unsigned i = 0; i < SLOTS; i++) {
        req_series *s = &m->req[(h + i) % SLOTS];
        if (atomic_load_explicit(&s->ready, memory_order_acquire)) {
            if (s->status == status && strcmp(s->route, route) == 0 && strcmp(s->method, method) == 0) return s;
            continue;
        }
        pthread_mutex_lock(&m->mu);
        if (!atomic_load_explicit(&s->ready, memory_order_acquire)) {
            snprintf(s->method, sizeof s->method, "%s", method);
            snprintf(s->route, sizeof s->route, "%s", route);
            s->status = status;
            atomic_store_explicit(&s->ready, 1, memory_order_release);
            pthread_mutex_unlock(&m->mu);
            return s;
        }
        pthread_mutex_unlock(&m->mu);
        i--; /* someone filled it meanwhile: look at the same slot again */
    }
    return NULL;
}

static lat_series *lat_slot(wp_metrics *m, const char *method, const char *route)
{
    unsigned h = hash3(method, route, 0) % SLOTS;
    for (unsigned i = 0; i < SLOTS; i++) {
        lat_series *s = &m->lat[(h + i) % SLOTS];
        if (atomic_load_explicit(&s->ready, memory_order_acquire)) {
            if (strcmp(s->route, route) == 0 && strcmp(s->method, method) == 0) return s;
            continue;
        }
        pthread_mutex_lock(&m->mu);
        if (!atomic_load_explicit(&s->ready, memory_order_acquire)) {
            snprintf(s->method, sizeof s->method, "%s", method);
            snprintf(s->route, sizeof s->route, "%s", route);
            atomic_store_explicit(&s->ready, 1, memory_order_release);
            pthread_mutex_unlock(&m->mu);
            return s;
        }
        pthread_mutex_unlock(&m->mu);
        i--;
    }
    return NULL;
}

void wp_metrics_request(wp_metrics *m, const char *method, const char *route, int status, double seconds)
{
    req_series *r = req_slot(m, method, route, status);
    if (r) atomic_fetch_add_explicit(&r->count, 1, memory_order_relaxed);
    lat_series *l = lat_slot(m, method, route);
    if (!l) return;
    for (int b = 0; b < NBUCKETS; b++)
        if (seconds <= bucket_le[b]) {
            atomic_fetch_add_explicit(&l->buckets[b], 1, memory_order_relaxed);
            break;
        }
    atomic_fetch_add_explicit(&l->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&l->sum_us, (unsigned long long)(seconds * 1e6), memory_order_relaxed);
}

static int valid_name(const char *n)
{
    if (!n || !*n || strlen(n) >= 96) return 0;
    for (const char *p = n; *p; p++) {
        int alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == ':';
        if (!alpha && !(p != n && *p >= '0' && *p <= '9')) return 0;
    }
    return 1;
}

wp_status wp_metrics_counter_add(wp_metrics *m, const char *name, const char *help, double delta)
{
    if (!valid_name(name)) return WP_EINVAL;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->ncounters; i++)
        if (strcmp(m->counters[i].name, name) == 0) {
            m->counters[i].value += delta;
            pthread_mutex_unlock(&m->mu);
            return WP_OK;
        }
    counter *nc = realloc(m->counters, (m->ncounters + 1) * sizeof *nc);
    if (!nc) {
        pthread_mutex_unlock(&m->mu);
        return WP_ENOMEM;
    }
    m->counters = nc;
    counter *c = &nc[m->ncounters++];
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->help, sizeof c->help, "%s", help ? help : name);
    for (char *p = c->help; *p; p++)
        if (*p == '\n') *p = ' ';
    c->value = delta;
    pthread_mutex_unlock(&m->mu);
    return WP_OK;
}

typedef struct {
    char *buf;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t nc = b->cap * 2 + (size_t)(n > 0 ? n : 0);
        char *nb = realloc(b->buf, nc);
        if (!nb) {
            b->oom = 1;
            return;
        }
        b->buf = nb;
        b->cap = nc;
    }
}

char *wp_metrics_render(wp_metrics *m, struct wp_db *pool, size_t *len)
{
    sbuf b = {.buf = malloc(16384), .cap = 16384};
    if (!b.buf) return NULL;
    b.buf[0] = '\0';
    sb_printf(&b, "# HELP walletpass_http_requests_total HTTP requests by method, route and status.\n"
                  "# TYPE walletpass_http_requests_total counter\n");
    for (int i = 0; i < SLOTS; i++) {
        req_series *s = &m->req[i];
        if (!atomic_load_explicit(&s->ready, memory_order_acquire)) continue;
        sb_printf(&b, "walletpass_http_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} %llu\n", s->method,
                  s->route, s->status, (unsigned long long)atomic_load(&s->count));
    }
    sb_printf(&b, "# HELP walletpass_http_request_duration_seconds Request latency by method and route.\n"
                  "# TYPE walletpass_http_request_duration_seconds histogram\n");
    for (int i = 0; i < SLOTS; i++) {
        lat_series *s = &m->lat[i];
        if (!atomic_load_explicit(&s->ready, memory_order_acquire)) continue;
        unsigned long long cum = 0;
        for (int k = 0; k < NBUCKETS; k++) {
            cum += atomic_load(&s->buckets[k]);
            sb_printf(&b, "walletpass_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"%g\"} %llu\n",
                      s->method, s->route, bucket_le[k], cum);
        }
        unsigned long long count = atomic_load(&s->count);
        sb_printf(&b, "walletpass_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"+Inf\"} %llu\n",
                  s->method, s->route, count);
        sb_printf(&b, "walletpass_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} %.6f\n", s->method,
                  s->route, (double)atomic_load(&s->sum_us) / 1e6);
        sb_printf(&b, "walletpass_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} %llu\n", s->method,
                  s->route, count);
    }
    if (pool) {
        int size, in_use, open;
        wp_db_stats(pool, &size, &in_use, &open);
        sb_printf(&b,
                  "# HELP walletpass_db_pool_size Database connection slots.\n# TYPE walletpass_db_pool_size gauge\n"
                  "walletpass_db_pool_size %d\n"
                  "# HELP walletpass_db_pool_in_use Connections lent to requests and workers.\n"
                  "# TYPE walletpass_db_pool_in_use gauge\nwalletpass_db_pool_in_use %d\n"
                  "# HELP walletpass_db_pool_open Open database connections.\n"
                  "# TYPE walletpass_db_pool_open gauge\nwalletpass_db_pool_open %d\n",
                  size, in_use, open);
    }
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->ncounters; i++)
        sb_printf(&b, "# HELP %s %s\n# TYPE %s counter\n%s %.17g\n", m->counters[i].name, m->counters[i].help,
                  m->counters[i].name, m->counters[i].name, m->counters[i].value);
    pthread_mutex_unlock(&m->mu);
    if (b.oom) {
        free(b.buf);
        return NULL;
    }
    *len = b.len;
    return b.buf;
}
