/*
 * zb.h - what the zapier-bridge plugin's files share: the host table, the
 * configuration, ids and small JSON helpers.
 *
 * Everything here is set in init (main thread) and read-only afterwards,
 * except the count of deliveries in flight, which guards itself.
 */
#ifndef ZB_H
#define ZB_H

#include <stddef.h>
#include <stdint.h>

/* api_call (1.8) is how every action reaches the core's rules. */
#define WP_REQUIRE_ABI_MINOR 8
#include <walletpass/plugin.h>

#define ZB_NAME "zapier-bridge"
#define ZB_JOB_KIND "zapier-bridge.attempt"
#define ZB_ID_MAX 48
#define ZB_URL_MAX 2048

/* ISO 8601 UTC with milliseconds, as every API timestamp. */
#define ZB_ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

typedef struct zb_config {
    int allow_http;           /* http:// target URLs (local testing) */
    double retry_scale;       /* multiplies the delivery schedule (tests only); 1 in production */
    long connect_timeout_ms;
    long timeout_ms;          /* total, per delivery attempt */
    size_t max_response_bytes;
    int max_hooks;            /* REST-hook subscriptions per account */
    int max_concurrency;      /* attempts in flight per process */
    int defer_ms;             /* an attempt that finds no free slot runs again this much later */
} zb_config;

extern const wp_host *zb_host;
extern wp_plugin *zb_self;
extern zb_config zb_cfg;

/* "<prefix>_" + 26 Crockford base32 characters (48-bit ms time, 80 random bits). */
int zb_id_new(const char *prefix, char out[ZB_ID_MAX]);

/* A slot for an attempt in flight (max_concurrency per process): 1 taken, 0 none free. */
int zb_slot_acquire(void);
void zb_slot_release(void);

/* The six event types of the REST-hook triggers, NULL-terminated; 1 when type is one. */
extern const char *const zb_event_types[];
int zb_event_type_known(const char *type);

/* Registration (init). */
wp_status zb_routes_register(void);
wp_status zb_deliver_register(void);

#endif
