/*
 * wh.h - what the webhooks plugin's files share: the host table, the
 * configuration, ids, secret storage and the per-endpoint concurrency slots.
 *
 * Everything here is set in init (main thread) and read-only afterwards,
 * except the slot table, which guards itself with a mutex.
 */
#ifndef WH_H
#define WH_H

#include <stddef.h>
#include <stdint.h>

/* url_check (1.1) and vault_seal/vault_open (1.3) carry it; init checks them. */
#define WP_REQUIRE_ABI_MINOR 3
#include <walletpass/plugin.h>

#include "wh_sign.h"

#define WH_JOB_KIND "webhooks.attempt"
#define WH_ID_MAX 48

/* ISO 8601 UTC with milliseconds, as every API timestamp. */
#define WH_ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

typedef struct wh_config {
    int allow_http;                 /* http:// endpoints (local testing) */
    double retry_scale;             /* multiplies the schedule (tests only); 1 in production */
    int secret_overlap_s;           /* how long the previous secret keeps signing after a rotation */
    long connect_timeout_ms;
    long timeout_ms;                /* total, per attempt */
    size_t max_response_bytes;
    int per_endpoint_concurrency;   /* attempts in flight per endpoint, in the whole deployment */
    int max_concurrency;            /* attempts in flight in total, per process */
    int defer_ms;                   /* an attempt that finds no slot runs again this much later */
    int max_endpoints;              /* per account */
    long test_timeout_ms;           /* the synchronous test send: it holds a server worker */
    int test_max_concurrency;       /* test sends in flight at once, per process */
} wh_config;

extern const wp_host *wh_host;
extern wp_plugin *wh_self;
extern wh_config wh_cfg;
/* max_endpoints as in effect: reloadable (SIGHUP, host reload_register), so request threads read it with
 * wh_max_endpoints(); wh_cfg.max_endpoints is the value at start. */
int wh_max_endpoints(void);

/* "<prefix>_" + 26 Crockford base32 characters (48-bit ms time, 80 random bits), like the core's ids. */
int wh_id_new(const char *prefix, char out[WH_ID_MAX]);

/*
 * Secret storage: sealed with the host vault (vault_seal, ABI 1.3; AES-256-GCM
 * under the master key, bound to the account, this plugin and the purpose
 * "webhook_secret/<endpoint id>").  out: >= 512 bytes.
 */
wp_status wh_secret_store(const char *account_id, const char *endpoint_id, const char *secret, char *out, size_t len);
/* Opens what wh_secret_store made into out[WH_SECRET_MAX]. */
wp_status wh_secret_load(const char *account_id, const char *endpoint_id, const char *stored,
                         char out[WH_SECRET_MAX]);

/* This process's slots for attempts in flight (per endpoint, and max_concurrency in all): 1 taken, 0 none free. */
int wh_slot_acquire(const char *endpoint_id);
void wh_slot_release(const char *endpoint_id);

/*
 * The deployment's slots of an endpoint (per_endpoint_concurrency across every gateway process,
 * in the database): 1 taken (token filled: give it back with it), 0 none free, -1 database error.
 * A slot not given back (its process died) frees itself after the attempt's timeout.
 */
int wh_endpoint_slot_take(const char *account_id, const char *endpoint_id, char token[WH_ID_MAX]);
void wh_endpoint_slot_give(const char *account_id, const char *endpoint_id, const char *token);

/* Slots for synchronous test sends (test_max_concurrency per process): 1 taken, 0 none free. */
int wh_test_slot_acquire(void);
void wh_test_slot_release(void);

/* Enqueues attempt n of a delivery at at_ms (Unix ms; 0 now); with req, in its transaction. */
wp_status wh_enqueue_attempt(wp_req *req, const char *account_id, const char *delivery_id, int n, int64_t at_ms);

/*
 * Runs attempt n of a delivery now (claim, check the URL, sign, send,
 * record, schedule the next).  use_slots 0 skips the concurrency slots and
 * bounds the send by test_timeout_ms (the synchronous test send, which runs
 * on a server worker).  WP_OK also when there was nothing to do.
 */
wp_status wh_attempt_run(const char *account_id, const char *delivery_id, int n, int use_slots);

/* Registration (init). */
wp_status wh_routes_register(void);
wp_status wh_deliver_register(void);

#endif
