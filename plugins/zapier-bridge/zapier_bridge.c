/*
 * zapier_bridge.c - the zapier-bridge plugin: its definition, configuration,
 * ids and delivery slots.  The HTTP API for the Zapier app is zb_routes.c
 * (every action goes through the core's own routes with host->api_call),
 * the flat shapes zb_flat.c, REST-hook deliveries zb_deliver.c; the
 * schedule and the HTTP attempt are plugins/common/outbound.c's, the same as
 * the webhooks plugin's.
 *
 * Config (all optional; unknown keys refused): allow_http (false),
 * retry_scale (1, tests only), connect_timeout_ms (5000), timeout_ms (15000),
 * max_response_bytes (65536), max_hooks (100 per account),
 * max_concurrency (16 per process), defer_ms (500).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/rand.h>

#include "zb.h"

#include <walletpass/plugin_config.h>

const wp_host *zb_host;
wp_plugin *zb_self;
zb_config zb_cfg;

const char *const zb_event_types[] = {"pass.created",   "pass.updated", "pass.voided",
                                      "pass.installed", "pass.removed", "batch.completed", NULL};

int zb_event_type_known(const char *type)
{
    for (const char *const *t = zb_event_types; type && *t; t++)
        if (strcmp(*t, type) == 0) return 1;
    return 0;
}

int zb_id_new(const char *prefix, char out[ZB_ID_MAX])
{
    static const char b32[] = "0123456789abcdefghjkmnpqrstvwxyz";
    unsigned char raw[16];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    for (int i = 0; i < 6; i++) raw[i] = (unsigned char)(ms >> (40 - 8 * i));
    if (RAND_bytes(raw + 6, 10) != 1) return -1;
    size_t pl = strlen(prefix);
    if (pl > 16) return -1;
    memcpy(out, prefix, pl);
    out[pl] = '_';
    /* 128 bits as 26 base32 digits, most significant first (the top digit holds 3 bits). */
    for (int d = 0; d < 26; d++) {
        int bit = (25 - d) * 5;
        int v = 0;
        for (int b = 4; b >= 0; b--) {
            int k = bit + b;
            v <<= 1;
            if (k < 128) v |= (raw[15 - k / 8] >> (k % 8)) & 1;
        }
        out[pl + 1 + d] = b32[v];
    }
    out[pl + 27] = '\0';
    return 0;
}

/* Attempts in flight in this process: a target that hangs holds at most max_concurrency workers. */
static int in_flight;

int zb_slot_acquire(void)
{
    int n = __atomic_add_fetch(&in_flight, 1, __ATOMIC_SEQ_CST);
    if (n <= zb_cfg.max_concurrency) return 1;
    __atomic_sub_fetch(&in_flight, 1, __ATOMIC_SEQ_CST);
    return 0;
}

void zb_slot_release(void) { __atomic_sub_fetch(&in_flight, 1, __ATOMIC_SEQ_CST); }

static const wp_cfg_key zb_keys[] = {
    WP_CFG_BOOL("allow_http", zb_config, allow_http, false),
    WP_CFG_NUMBER("retry_scale", zb_config, retry_scale, 1.0, 0, 1, WP_CFG_ABOVE_MIN),
    WP_CFG_INT("connect_timeout_ms", zb_config, connect_timeout_ms, 5000, 100, 60000),
    WP_CFG_INT("timeout_ms", zb_config, timeout_ms, 15000, 100, 120000),
    WP_CFG_INT("max_response_bytes", zb_config, max_response_bytes, 65536, 1024, 16L * 1024 * 1024),
    WP_CFG_INT("max_hooks", zb_config, max_hooks, 100, 1, 10000),
    WP_CFG_INT("max_concurrency", zb_config, max_concurrency, 16, 1, 512),
    WP_CFG_INT("defer_ms", zb_config, defer_ms, 500, 10, 60000),
    WP_CFG_END,
};

static wp_status zb_init(const wp_host *h, wp_plugin *self, const json_object *config)
{
    zb_host = h;
    zb_self = self;
    char why[300];
    wp_status st = wp_cfg_parse(zb_keys, config, &zb_cfg, why, sizeof why);
    if (st != WP_OK) {
        h->init_error(self, "%s", why);
        return st;
    }
    if (zb_cfg.connect_timeout_ms > zb_cfg.timeout_ms) zb_cfg.connect_timeout_ms = zb_cfg.timeout_ms;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        h->init_error(self, "curl_global_init failed");
        return WP_EINTERNAL;
    }
    if ((st = zb_routes_register()) != WP_OK || (st = zb_deliver_register()) != WP_OK) {
        h->init_error(self, "registration failed: %s", h->last_error());
        curl_global_cleanup();
        return st;
    }
    return WP_OK;
}

static void zb_shutdown(wp_plugin *self)
{
    (void)self;
    curl_global_cleanup();
}

/* Needs no other plugin and runs no hook: what it does, it does through the API. */
WP_PLUGIN_DEFINE_NEEDS(ZB_NAME, "1.0.0", "Zapier integration: REST-hook triggers, actions and searches in flat fields",
                       zb_init, zb_shutdown, "MIT", NULL, NULL, NULL)
