/*
 * wpc_fetch.h - one outbound HTTP request to a URL a customer gave (an image,
 * a webhook endpoint), safe against server-side request forgery and bounded
 * in size and time.
 *
 * The caller checks the URL with host->url_check first and passes the pin
 * ("host:port:address") it got: the connection goes to the address that was
 * checked (CURLOPT_RESOLVE), so DNS rebinding between the check and the
 * connect cannot redirect it.  Redirects are not followed (a redirect could
 * lead past the check: a 3xx is answered as it is).  Only https, unless
 * allow_http.  At most max_bytes of the response body are read (the transfer
 * is cut there); the connect and total timeouts bound the request.
 *
 * Thread-safe (one easy handle per call; curl_global_init is the plugin's).
 * Inputs are borrowed; res->body is the caller's (wpc_fetch_done frees it).
 */
#ifndef WPC_FETCH_H
#define WPC_FETCH_H

#include <stdbool.h>
#include <stddef.h>

typedef struct wpc_fetch_req {
    const char *method;             /* "GET" (NULL) or "POST" */
    const char *url;
    const char *pin;                /* host->url_check's "host:port:address"; NULL or "": none */
    const char *const *headers;     /* NULL-terminated "Name: value" strings, or NULL */
    const char *body;               /* POST: the body (body_len bytes) */
    size_t body_len;
    bool allow_http;                /* else https only */
    long connect_timeout_ms, timeout_ms;
    size_t max_bytes;               /* of the response body */
    /* whole: the body is wanted whole: one larger than max_bytes (announced or
     * read) fails the request (too_big), and res->body holds all of it.  Else
     * res->body holds its first `keep` bytes and a larger body is only cut. */
    bool whole;
    size_t keep;
    const char *ca_file;            /* NULL or "": the system's CA store */
    const char *user_agent;
} wpc_fetch_req;

typedef struct wpc_fetch_res {
    long status;                    /* the HTTP status; 0: no response */
    bool failed;                    /* the transfer did not complete (error says why) */
    bool too_big;                   /* the body passed max_bytes */
    bool oom;                       /* out of memory before anything was sent */
    char error[256];                /* why it failed, "" otherwise */
    long retry_after_s;             /* a 429's or 503's Retry-After in seconds (delta or date), at most a day; 0: none */
    long latency_ms;                /* the whole request */
    unsigned char *body;            /* what was kept of the body, NUL-terminated (NULL: nothing) */
    size_t len;
} wpc_fetch_res;

/* Never fails as a call: the outcome is in *res (wpc_fetch_done releases it). */
void wpc_fetch(const wpc_fetch_req *rq, wpc_fetch_res *res);

/* Frees res->body. */
void wpc_fetch_done(wpc_fetch_res *res);

#endif
