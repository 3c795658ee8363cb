/* apple_fetch.c - see apple_fetch.h. */
#include "apple_fetch.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apple_bundle.h"
#include "wpc_fetch.h"

typedef struct img {
    char *url;
    unsigned char *data;
    size_t len;
    uint64_t used;
} img;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static img *cache;
static size_t ncache, max_n, max_total, total;
static uint64_t tick;

void apple_fetch_init(size_t max_entries, size_t max_bytes)
{
    pthread_mutex_lock(&mu);
    max_n = max_entries;
    max_total = max_bytes;
    cache = max_n ? calloc(max_n, sizeof *cache) : NULL;
    if (!cache) max_n = 0;
    ncache = total = 0;
    pthread_mutex_unlock(&mu);
}

void apple_fetch_shutdown(void)
{
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < ncache; i++) {
        free(cache[i].url);
        free(cache[i].data);
    }
    free(cache);
    cache = NULL;
    ncache = max_n = total = 0;
    pthread_mutex_unlock(&mu);
}

static void drop_locked(size_t i)
{
    total -= cache[i].len;
    free(cache[i].url);
    free(cache[i].data);
    cache[i] = cache[--ncache];
}

static int lookup(const char *url, unsigned char **data, size_t *len)
{
    int hit = 0;
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < ncache; i++) {
        if (strcmp(cache[i].url, url) != 0) continue;
        if ((*data = malloc(cache[i].len))) {
            memcpy(*data, cache[i].data, cache[i].len);
            *len = cache[i].len;
            cache[i].used = ++tick;
            hit = 1;
        }
        break;
    }
    pthread_mutex_unlock(&mu);
    return hit;
}

static void store(const char *url, const unsigned char *data, size_t len)
{
    if (len > max_total) return;
    char *u = strdup(url);
    unsigned char *d = malloc(len);
    if (!u || !d) {
        free(u);
        free(d);
        return;
    }
    memcpy(d, data, len);
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < ncache; i++)
        if (strcmp(cache[i].url, url) == 0) {
            drop_locked(i);
            break;
        }
    while (ncache > 0 && (ncache >= max_n || total + len > max_total)) {
        size_t lru = 0;
        for (size_t i = 1; i < ncache; i++)
            if (cache[i].used < cache[lru].used) lru = i;
        drop_locked(lru);
    }
    if (ncache < max_n) {
        cache[ncache++] = (img){u, d, len, ++tick};
        total += len;
        u = NULL;
        d = NULL;
    }
    pthread_mutex_unlock(&mu);
    free(u);
    free(d);
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double apple_fetch_deadline(long budget_ms) { return mono_now() + (double)budget_ms / 1000.0; }

wp_status apple_fetch_get(const char *url, const char *pin, const apple_fetch_opts *o, unsigned char **data,
                          size_t *len, char *msg, size_t msglen)
{
    *data = NULL;
    *len = 0;
    if (lookup(url, data, len)) return WP_OK;
    long timeout_ms = o->timeout_ms;
    if (o->deadline > 0) {
        double left_ms = (o->deadline - mono_now()) * 1000.0;
        if (left_ms < (double)timeout_ms) timeout_ms = (long)left_ms;
        if (timeout_ms < 1) {
            snprintf(msg, msglen, "the image could not be fetched: the pass's images took longer than %ld ms in all",
                     o->timeout_ms);
            return WP_EIO;
        }
    }
    wpc_fetch_req rq = {.url = url, .pin = pin, .connect_timeout_ms = timeout_ms, .timeout_ms = timeout_ms,
                        .max_bytes = o->max_bytes, .whole = true, .ca_file = o->ca_file,
                        .user_agent = "walletpass-apple-signer/0.1"};
    wpc_fetch_res fr;
    wpc_fetch(&rq, &fr);
    wp_status st = WP_OK;
    if (fr.too_big) {
        snprintf(msg, msglen, "the image at the URL is larger than %zu bytes", o->max_bytes);
        st = WP_ETOOLARGE;
    } else if (fr.oom) {
        snprintf(msg, msglen, "out of memory");
        st = WP_ENOMEM;
    } else if (fr.failed) {
        snprintf(msg, msglen, "the image could not be fetched: %s", fr.error);
        st = WP_EIO;
    } else if (fr.status != 200) {
        snprintf(msg, msglen, "the image URL answered HTTP %ld (200 expected; redirects are not followed)", fr.status);
        st = WP_EIO;
    } else {
        st = apple_png_check(fr.body, fr.len, o->max_bytes, NULL, NULL, msg, msglen);
    }
    if (st != WP_OK) {
        wpc_fetch_done(&fr);
        return st;
    }
    store(url, fr.body, fr.len);
    *data = fr.body;
    *len = fr.len;
    return WP_OK;
}
