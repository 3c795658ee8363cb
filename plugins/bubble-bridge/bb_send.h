/*
 * bb_send.h - one Bubble workflow HTTP attempt with libcurl.
 *
 * POSTs body to url, connecting only to the address in pin (the
 * "host:port:address" string host->url_check returned, via CURLOPT_RESOLVE:
 * DNS rebinding between the check and the connect cannot redirect it).
 * Redirects are not followed (a 3xx is a failed attempt); the connect and
 * total timeouts bound the attempt; at most max_response_bytes of the answer
 * are read (the transfer is cut there) and the first BB_EXCERPT bytes kept.
 *
 * Thread-safe (one easy handle per call; curl_global_init is the plugin's).
 * Ownership: every input is borrowed; the result is a caller struct.
 */
#ifndef BB_SEND_H
#define BB_SEND_H

#include <stddef.h>

#define BB_EXCERPT 512

typedef struct bb_send_opts {
    long connect_timeout_ms;
    long timeout_ms;
    size_t max_response_bytes;
    int allow_http;                 /* else https only */
} bb_send_opts;

typedef struct bb_send_result {
    int status_code;                /* 0: no HTTP response */
    char error[256];                /* "" when an HTTP response arrived (any status) */
    long latency_ms;
    char excerpt[BB_EXCERPT + 1];   /* the start of the response body (NUL-terminated) */
    long retry_after_s;             /* a 429's or 503's Retry-After in seconds (delta or date); 0: none */
} bb_send_result;

/* headers: NULL-terminated "Name: value" strings.  Never fails: the outcome is in *res. */
void bb_send(const char *url, const char *pin, const char *const *headers, const char *body, size_t body_len,
             const bb_send_opts *o, bb_send_result *res);

#endif
