/* wpc_fetch.c - see wpc_fetch.h. */
#include "wpc_fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

typedef struct sink {
    wpc_fetch_res *res;
    size_t got, max, keep, cap;
    bool whole, too_big, oom;
} sink;

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    sink *s = ud;
    size_t add = size * n;
    if (s->got + add > s->max) {
        s->too_big = true;
        return 0; /* cuts the transfer (CURLE_WRITE_ERROR) */
    }
    s->got += add;
    size_t take = s->whole ? add : s->res->len < s->keep ? (add < s->keep - s->res->len ? add : s->keep - s->res->len) : 0;
    if (take == 0) return add;
    if (s->res->len + take + 1 > s->cap) {
        size_t nc = s->cap ? s->cap * 2 : s->whole ? 16384 : s->keep + 1;
        while (nc < s->res->len + take + 1) nc *= 2;
        unsigned char *nb = realloc(s->res->body, nc);
        if (!nb) {
            s->oom = true;
            return 0;
        }
        s->res->body = nb;
        s->cap = nc;
    }
    memcpy(s->res->body + s->res->len, p, take);
    s->res->len += take;
    s->res->body[s->res->len] = '\0';
    return add;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void wpc_fetch(const wpc_fetch_req *rq, wpc_fetch_res *res)
{
    memset(res, 0, sizeof *res);
    long t0 = now_ms();
    bool post = rq->method && strcmp(rq->method, "POST") == 0;
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL, *resolve = NULL;
    if (!h) {
        res->failed = res->oom = true;
        snprintf(res->error, sizeof res->error, "out of memory (curl)");
        goto done;
    }
    for (const char *const *p = rq->headers; p && *p && !res->oom; p++) {
        struct curl_slist *n = curl_slist_append(hdrs, *p);
        if (!n) res->oom = true;
        else hdrs = n;
    }
    if (post && !res->oom) {
        /* curl adds "Expect: 100-continue" to larger POSTs: one round trip less without it. */
        struct curl_slist *n = curl_slist_append(hdrs, "Expect:");
        if (!n) res->oom = true;
        else hdrs = n;
    }
    if (!res->oom && rq->pin && *rq->pin && !(resolve = curl_slist_append(NULL, rq->pin))) res->oom = true;
    if (res->oom) {
        res->failed = true;
        snprintf(res->error, sizeof res->error, "out of memory (headers)");
        goto done;
    }
    sink s = {.res = res, .max = rq->max_bytes, .keep = rq->keep, .whole = rq->whole};
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, rq->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, rq->allow_http ? "http,https" : "https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, rq->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, rq->timeout_ms);
    if (rq->whole) curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)rq->max_bytes);
    if (post) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    }
    if (hdrs) curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (resolve) curl_easy_setopt(h, CURLOPT_RESOLVE, resolve);
    if (rq->ca_file && *rq->ca_file) curl_easy_setopt(h, CURLOPT_CAINFO, rq->ca_file);
    if (rq->user_agent) curl_easy_setopt(h, CURLOPT_USERAGENT, rq->user_agent);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->status);
    if (res->status == 429 || res->status == 503) {
        /* curl reads both forms of the header (seconds, or an HTTP date as seconds from now) */
        curl_off_t ra = 0;
        if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
            res->retry_after_s = ra > 86400 ? 86400 : (long)ra;
    }
    res->too_big = s.too_big || rc == CURLE_FILESIZE_EXCEEDED;
    if (rc != CURLE_OK) {
        res->failed = true;
        res->oom = s.oom;
        snprintf(res->error, sizeof res->error, "%s", s.oom ? "out of memory" : cerr[0] ? cerr : curl_easy_strerror(rc));
    }
done:
    res->latency_ms = now_ms() - t0;
    curl_slist_free_all(hdrs);
    curl_slist_free_all(resolve);
    if (h) curl_easy_cleanup(h);
}

void wpc_fetch_done(wpc_fetch_res *res)
{
    free(res->body);
    res->body = NULL;
    res->len = 0;
}
