/* apple_fetch.c - see apple_fetch.h. */
#include "apple_fetch.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "apple_bundle.h"

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

typedef struct {
    unsigned char *buf;
    size_t len, cap, max;
    int too_big;
} sink;

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    sink *s = ud;
    size_t add = size * n;
    if (s->len + add > s->max) {
        s->too_big = 1;
        return 0; /* aborts the transfer */
    }
    if (s->len + add > s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 16384;
        while (nc < s->len + add) nc *= 2;
        unsigned char *nb = realloc(s->buf, nc);
        if (!nb) return 0;
        s->buf = nb;
        s->cap = nc;
    }
    memcpy(s->buf + s->len, p, add);
    s->len += add;
    return add;
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
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(msg, msglen, "out of memory");
        return WP_ENOMEM;
    }
    struct curl_slist *resolve = pin && *pin ? curl_slist_append(NULL, pin) : NULL;
    sink s = {.max = o->max_bytes};
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_bytes);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "walletpass-apple-signer/0.1");
    if (resolve) curl_easy_setopt(h, CURLOPT_RESOLVE, resolve);
    if (o->ca_file && *o->ca_file) curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file);
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    curl_slist_free_all(resolve);
    wp_status st = WP_OK;
    if (s.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
        snprintf(msg, msglen, "the image at the URL is larger than %zu bytes", o->max_bytes);
        st = WP_ETOOLARGE;
    } else if (rc != CURLE_OK) {
        snprintf(msg, msglen, "the image could not be fetched: %s", cerr[0] ? cerr : curl_easy_strerror(rc));
        st = WP_EIO;
    } else if (status != 200) {
        snprintf(msg, msglen, "the image URL answered HTTP %ld (200 expected; redirects are not followed)", status);
        st = WP_EIO;
    } else {
        st = apple_png_check(s.buf, s.len, o->max_bytes, NULL, NULL, msg, msglen);
    }
    if (st != WP_OK) {
        free(s.buf);
        return st;
    }
    store(url, s.buf, s.len);
    *data = s.buf;
    *len = s.len;
    return WP_OK;
}
