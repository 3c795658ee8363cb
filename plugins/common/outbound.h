/*
 * outbound.h - what the plugins that deliver events to URLs of their users'
 * (webhooks, zapier-bridge, bubble-bridge) share: the delivery schedule and
 * one HTTP attempt, built on wpc_fetch (the SSRF-pinned, size-capped
 * transfer).
 *
 * The schedule: attempt n of a delivery is due outbound_schedule_s[n - 1]
 * seconds after the event (0 s, 5 s, 30 s, 5 min, 30 min: OUTBOUND_ATTEMPTS
 * attempts); a receiver's Retry-After (429, 503) postpones the next attempt
 * to at least that long after its answer, capped at OUTBOUND_RETRY_AFTER_MAX
 * seconds, never bringing it forward.
 *
 * outbound_send POSTs body to url, connecting only to the address in pin (the
 * "host:port:address" string host->url_check returned, via CURLOPT_RESOLVE:
 * DNS rebinding between the check and the connect cannot redirect it).
 * Redirects are not followed (a 3xx is a failed attempt); the connect and
 * total timeouts bound the attempt; at most max_response_bytes of the answer
 * are read (the transfer is cut there) and the first OUTBOUND_EXCERPT bytes kept.
 *
 * Thread-safe (one easy handle per call; curl_global_init is the plugin's).
 * Ownership: every input is borrowed; the result is a caller struct.
 */
#ifndef OUTBOUND_H
#define OUTBOUND_H

#include <stddef.h>

#define OUTBOUND_ATTEMPTS 5
#define OUTBOUND_RETRY_AFTER_MAX 3600 /* the longest Retry-After (seconds) a receiver can ask for */
#define OUTBOUND_EXCERPT 512

/* Seconds after the event of attempts 1..OUTBOUND_ATTEMPTS: 0, 5, 30, 300, 1800. */
extern const int outbound_schedule_s[OUTBOUND_ATTEMPTS];

typedef struct outbound_opts {
    long connect_timeout_ms;
    long timeout_ms;
    size_t max_response_bytes;
    int allow_http;                 /* else https only */
    const char *user_agent;         /* NULL: "WalletPass/1.0" */
} outbound_opts;

typedef struct outbound_result {
    int status_code;                /* 0: no HTTP response */
    char error[256];                /* "" when an HTTP response arrived (any status) */
    long latency_ms;
    char excerpt[OUTBOUND_EXCERPT + 1]; /* the start of the response body (NUL-terminated) */
    long retry_after_s;             /* a 429's or 503's Retry-After in seconds (delta or date); 0: none */
} outbound_result;

/* headers: NULL-terminated "Name: value" strings.  Never fails: the outcome is in *res. */
void outbound_send(const char *url, const char *pin, const char *const *headers, const char *body, size_t body_len,
                   const outbound_opts *o, outbound_result *res);

#endif
