/*
 * apns_client.h - HTTP/2 pushes to APNs with libcurl multi.
 *
 * One curl multi handle per client certificate (keyed by the SHA-256 of the
 * certificate and key PEMs), kept between calls, so the TLS connection to
 * APNs is opened once and reused (APNs treats rapid reconnects as an
 * attack).  CURLPIPE_MULTIPLEX + CURLOPT_PIPEWAIT put every push of a batch
 * on that one connection as concurrent streams, as many as the server's
 * SETTINGS_MAX_CONCURRENT_STREAMS allows (curl honours it), at most 500 at a
 * time.  Pushes lost with the connection (GOAWAY, reset or refused stream) are
 * sent again within the same call, on the next connection (3 rounds at most,
 * within timeout_ms), so they do not wait for the caller's retry.
 *
 * Threads: apns_send may be called from any thread; a connection is used by
 * one batch at a time (its own mutex), different certificates in parallel, at
 * most max_concurrency batches in all; a batch that would have to wait for
 * either is refused at once (WP_ELIMIT) rather than holding its thread.
 * Ownership: every argument is borrowed; results are written into the
 * caller's array.
 */
#ifndef APNS_CLIENT_H
#define APNS_CLIENT_H

#include <stddef.h>

#include <walletpass/plugin.h>

typedef struct apns_conf {
    char host[256];         /* api.push.apple.com */
    int port;               /* 443 */
    char ca_file[1024];     /* "" = the system store */
    char push_type[16];     /* "background" (priority 5, body {}) or "alert" (priority 10) */
    long expiration_s;      /* apns-expiration = now + this; 0 = "0" (not stored by APNs) */
    long timeout_ms;        /* whole batch */
    int max_connections;    /* certificates kept */
    int max_concurrency;    /* batches in flight at once, per process */
} apns_conf;

typedef struct apns_result {
    int status;             /* HTTP status; 0 = transport failure */
    char reason[256];       /* APNs "reason" ("Unregistered"), or the curl error */
    char apns_id[64];
    long long timestamp_ms; /* 410: when the token stopped being valid; 0 otherwise */
    long retry_after_s;     /* a Retry-After header's seconds; 0: none */
} apns_result;

void apns_client_init(const apns_conf *conf);
void apns_client_shutdown(void);

/* Sends one push to each of n tokens with topic; results[i] for tokens[i].
 * WP_OK when every push got an HTTP answer or a transport result (see
 * results); WP_ELIMIT when the batch must wait (this certificate's
 * connection is busy with another batch, or max_concurrency batches are in
 * flight): nothing was sent, try again shortly. */
wp_status apns_send(const char *cert_pem, const char *key_pem, const char *topic, const char *const *tokens, size_t n,
                    apns_result *results, char *msg, size_t msglen);

#endif
