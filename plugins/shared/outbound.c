/* outbound.c - the delivery schedule and one HTTP attempt (see outbound.h). */
#include "outbound.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

const int outbound_schedule_s[OUTBOUND_ATTEMPTS] = {0, 5, 30, 300, 1800};

typedef struct sink {
    outbound_result *res;
    size_t got, kept, max;
    int too_big;
} sink;

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    sink *s = ud;
    size_t len = size * n;
    if (s->got + len > s->max) {
        s->too_big = 1;
        return 0; /* cuts the transfer (CURLE_WRITE_ERROR) */
    }
    s->got += len;
    if (s->kept < OUTBOUND_EXCERPT) {
        size_t take = len < OUTBOUND_EXCERPT - s->kept ? len : OUTBOUND_EXCERPT - s->kept;
        memcpy(s->res->excerpt + s->kept, p, take);
        s->kept += take;
        s->res->excerpt[s->kept] = '\0';
    }
    return len;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void outbound_send(const char *url, const char *pin, const char *const *headers, const char *body, size_t body_len,
                   const outbound_opts *o, outbound_result *res)
{
    memset(res, 0, sizeof *res);
    long t0 = now_ms();
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(res->error, sizeof res->error, "out of memory (curl)");
        return;
    }
    struct curl_slist *hdrs = NULL, *resolve = NULL;
    int oom = 0;
    for (const char *const *p = headers; *p && !oom; p++) {
        struct curl_slist *n = curl_slist_append(hdrs, *p);
        if (!n) oom = 1; else hdrs = n;
    }
    /* curl adds "Expect: 100-continue" to larger POSTs: one round trip less without it. */
    struct curl_slist *n = oom ? NULL : curl_slist_append(hdrs, "Expect:");
    if (!n) oom = 1; else hdrs = n;
    if (!oom && pin && *pin) {
        resolve = curl_slist_append(NULL, pin);
        if (!resolve) oom = 1;
    }
    if (oom) {
        snprintf(res->error, sizeof res->error, "out of memory (headers)");
        goto done;
    }
    sink s = {res, 0, 0, o->max_response_bytes, 0};
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, o->allow_http ? "http,https" : "https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o->timeout_ms);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (resolve) curl_easy_setopt(h, CURLOPT_RESOLVE, resolve);
    curl_easy_setopt(h, CURLOPT_USERAGENT, o->user_agent ? o->user_agent : "WalletPass/1.0");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    CURLcode rc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    res->status_code = (int)code;
    if (code == 429 || code == 503) {
        /* curl reads both forms of the header (seconds, or an HTTP date as seconds from now) */
        curl_off_t ra = 0;
        if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
            res->retry_after_s = ra > 86400 ? 86400 : (long)ra;
    }
    if (s.too_big) {
        /* The status line arrived: it decides; the oversized body is just not read. */
        if (!code) snprintf(res->error, sizeof res->error, "response larger than %zu bytes", o->max_response_bytes);
    } else if (rc != CURLE_OK) {
        res->status_code = 0;
        snprintf(res->error, sizeof res->error, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
    }
done:
    res->latency_ms = now_ms() - t0;
    curl_slist_free_all(hdrs);
    curl_slist_free_all(resolve);
    curl_easy_cleanup(h);
}
