/*
 * bb.h - what the bubble-bridge plugin's files share: the host table, the
 * configuration, ids, the bearer-token vault and the concurrency slots.
 *
 * Everything here is set in init (main thread) and read-only afterwards,
 * except the slot tables, which guard themselves with a mutex.
 */
#ifndef BB_H
#define BB_H

#include <stddef.h>
#include <stdint.h>

/* api_call (1.8) is how every pass and template call reaches the core's rules. */
#define WP_REQUIRE_ABI_MINOR 8
#include <walletpass/plugin.h>

#define BB_NAME "bubble-bridge"
#define BB_JOB_KIND "bubble-bridge.attempt"
#define BB_ID_MAX 48
#define BB_TOKEN_MAX 512        /* a bearer token, bytes */
#define BB_TOKEN_SEALED_MAX 1024

/* ISO 8601 UTC with milliseconds, as every API timestamp. */
#define BB_ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

typedef struct bb_config {
    int allow_http;                 /* http:// workflow URLs (local stand-ins in tests) */
    double retry_scale;             /* multiplies the schedule (tests only); 1 in production */
    long connect_timeout_ms;
    long timeout_ms;                /* total, per attempt */
    size_t max_response_bytes;
    int per_destination_concurrency;/* attempts in flight per destination, per process */
    int max_concurrency;            /* attempts in flight in total, per process */
    int defer_ms;                   /* an attempt that finds no slot runs again this much later */
    int max_destinations;           /* per account */
    long test_timeout_ms;           /* the synchronous test send: it holds a server worker */
    int test_max_concurrency;       /* test sends in flight at once, per process */
} bb_config;

extern const wp_host *bb_host;
extern wp_plugin *bb_self;
extern bb_config bb_cfg;
/* The event types a destination can take, NULL-terminated. */
extern const char *const bb_event_types[];
int bb_event_type_known(const char *type);

/* "<prefix>_" + 26 Crockford base32 characters (48-bit ms time, 80 random bits), like the core's ids. */
int bb_id_new(const char *prefix, char out[BB_ID_MAX]);

/*
 * A destination's bearer token, sealed with the host vault (vault_seal:
 * AES-256-GCM under the master key, bound to the account, this plugin and
 * the purpose "bearer_token/<destination id>").  out: BB_TOKEN_SEALED_MAX.
 */
wp_status bb_token_seal(const char *account_id, const char *destination_id, const char *token, char *out,
                        size_t len);
/* Opens what bb_token_seal made into out[BB_TOKEN_MAX + 1]; the caller wipes it after use. */
wp_status bb_token_open(const char *account_id, const char *destination_id, const char *sealed,
                        char out[BB_TOKEN_MAX + 1]);

/* Per-destination and total slots for attempts in flight: 1 taken, 0 none free. */
int bb_slot_acquire(const char *destination_id);
void bb_slot_release(const char *destination_id);
/* Slots for synchronous test sends (test_max_concurrency per process): 1 taken, 0 none free. */
int bb_test_slot_acquire(void);
void bb_test_slot_release(void);

/* Unix milliseconds now, and the ISO 8601 UTC text of now ("2026-11-26T12:00:00.000Z"). */
int64_t bb_now_ms(void);
void bb_now_iso(char out[40]);

/* A database failure on a route: logged, answered 503 with Retry-After: 1. */
void bb_db_fail(wp_req *req);

/* Enqueues attempt n of a delivery at at_ms (Unix ms; 0 now). */
wp_status bb_enqueue_attempt(const char *account_id, const char *delivery_id, int n, int64_t at_ms);

/*
 * Runs attempt n of a delivery now (claim, check the URL, open the token,
 * send, record, schedule the next; a 401 or 403 disables the destination).
 * test 1: the synchronous test send (no slots, test_timeout_ms).  WP_OK
 * also when there was nothing to do.
 */
wp_status bb_attempt_run(const char *account_id, const char *delivery_id, int n, int test);

/* Registration (init). */
wp_status bb_passes_register(void);
wp_status bb_dest_register(void);
wp_status bb_deliver_register(void);

#endif
