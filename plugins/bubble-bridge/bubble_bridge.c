/*
 * bubble_bridge.c - the bubble-bridge plugin: its definition,
 * configuration, ids, bearer-token sealing and concurrency slots.  The pass
 * and template routes are bb_passes.c, the destinations bb_dest.c, delivery
 * bb_deliver.c (its schedule and HTTP attempt: plugins/common/outbound.h),
 * the flat shapes bb_flat.c, the request input bb_input.c.
 *
 * Config (all optional; unknown keys refused): see README.md.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/rand.h>

#include "bb.h"

#include <walletpass/plugin_config.h>

const wp_host *bb_host;
wp_plugin *bb_self;
bb_config bb_cfg;
const char *const bb_event_types[] = {"pass.created", "pass.updated", "pass.voided", "pass.installed", "pass.removed",
                                      NULL};

int bb_event_type_known(const char *type)
{
    for (const char *const *t = bb_event_types; type && *t; t++)
        if (strcmp(*t, type) == 0) return 1;
    return 0;
}

/* ---- ids and time ------------------------------------------------------------ */

int bb_id_new(const char *prefix, char out[BB_ID_MAX])
{
    static const char b32[] = "0123456789abcdefghjkmnpqrstvwxyz";
    unsigned char raw[16];
    uint64_t ms = (uint64_t)bb_now_ms();
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

int64_t bb_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void bb_now_iso(char out[40])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 40 - n, ".%03dZ", (int)(ts.tv_nsec / 1000000) % 1000);
}

void bb_db_fail(wp_req *req)
{
    bb_host->log(bb_self, WP_LOG_WARN, "%s: database: %s", bb_host->req_id(req), bb_host->last_error());
    bb_host->resp_header(req, "Retry-After", "1");
    bb_host->resp_error(req, 503, "service_unavailable", NULL, "the database is unavailable; try again");
}

/* ---- bearer tokens ----------------------------------------------------------- */

/* Bound to the destination: a sealed token copied to another destination's row does not open there. */
static void purpose_of(const char *destination_id, char out[96])
{
    snprintf(out, 96, "bearer_token/%.64s", destination_id);
}

wp_status bb_token_seal(const char *account_id, const char *destination_id, const char *token, char *out,
                        size_t len)
{
    char purpose[96];
    purpose_of(destination_id, purpose);
    return bb_host->vault_seal(bb_self, account_id, purpose, token, strlen(token), out, len);
}

wp_status bb_token_open(const char *account_id, const char *destination_id, const char *sealed,
                        char out[BB_TOKEN_MAX + 1])
{
    char purpose[96];
    size_t n = 0;
    if (!sealed) return WP_EINVAL;
    purpose_of(destination_id, purpose);
    wp_status st = bb_host->vault_open(bb_self, account_id, purpose, sealed, out, BB_TOKEN_MAX, &n);
    if (st != WP_OK) return st;
    out[n] = '\0';
    return WP_OK;
}

/* ---- concurrency slots ---------------------------------------------------------- */

/* Attempts in flight in this process, per destination: a small open-addressing
 * table (at most max_concurrency destinations are in it at once), so one Bubble
 * app that hangs holds per_destination_concurrency workers at most. */
#define SLOTS 1024
static struct {
    char id[BB_ID_MAX];
    int n;
} slots[SLOTS];
static int in_flight, tests_in_flight;
static pthread_mutex_t slots_mu = PTHREAD_MUTEX_INITIALIZER;

static unsigned slot_hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h % SLOTS;
}

int bb_slot_acquire(const char *destination_id)
{
    int ok = 0;
    pthread_mutex_lock(&slots_mu);
    if (in_flight < bb_cfg.max_concurrency) {
        unsigned h = slot_hash(destination_id), free_at = SLOTS;
        for (unsigned i = 0; i < SLOTS; i++) {
            unsigned k = (h + i) % SLOTS;
            if (slots[k].n > 0 && strcmp(slots[k].id, destination_id) == 0) {
                if (slots[k].n < bb_cfg.per_destination_concurrency) {
                    slots[k].n++;
                    ok = 1;
                }
                free_at = SLOTS;
                goto out;
            }
            if (slots[k].n == 0 && free_at == SLOTS) free_at = k;
            if (slots[k].n == 0 && slots[k].id[0] == '\0') break; /* never used: the id is not further on */
        }
        if (free_at < SLOTS) {
            snprintf(slots[free_at].id, sizeof slots[0].id, "%s", destination_id);
            slots[free_at].n = 1;
            ok = 1;
        }
    }
out:
    if (ok) in_flight++;
    pthread_mutex_unlock(&slots_mu);
    return ok;
}

void bb_slot_release(const char *destination_id)
{
    pthread_mutex_lock(&slots_mu);
    unsigned h = slot_hash(destination_id);
    for (unsigned i = 0; i < SLOTS; i++) {
        unsigned k = (h + i) % SLOTS;
        if (slots[k].n > 0 && strcmp(slots[k].id, destination_id) == 0) {
            slots[k].n--;
            in_flight--;
            break;
        }
        if (slots[k].n == 0 && slots[k].id[0] == '\0') break;
    }
    pthread_mutex_unlock(&slots_mu);
}

int bb_test_slot_acquire(void)
{
    pthread_mutex_lock(&slots_mu);
    int ok = tests_in_flight < bb_cfg.test_max_concurrency;
    if (ok) tests_in_flight++;
    pthread_mutex_unlock(&slots_mu);
    return ok;
}

void bb_test_slot_release(void)
{
    pthread_mutex_lock(&slots_mu);
    if (tests_in_flight > 0) tests_in_flight--;
    pthread_mutex_unlock(&slots_mu);
}

/* ---- configuration and lifecycle ---------------------------------------------------- */

static const wp_cfg_key bb_keys[] = {
    WP_CFG_BOOL("allow_http", bb_config, allow_http, false),
    WP_CFG_NUMBER("retry_scale", bb_config, retry_scale, 1.0, 0, 1, WP_CFG_ABOVE_MIN),
    WP_CFG_INT("connect_timeout_ms", bb_config, connect_timeout_ms, 5000, 100, 60000),
    WP_CFG_INT("timeout_ms", bb_config, timeout_ms, 15000, 100, 120000),
    WP_CFG_INT("max_response_bytes", bb_config, max_response_bytes, 65536, 1024, 16L * 1024 * 1024),
    WP_CFG_INT("per_destination_concurrency", bb_config, per_destination_concurrency, 2, 1, 256),
    WP_CFG_INT("max_concurrency", bb_config, max_concurrency, 16, 1, 512),
    WP_CFG_INT("defer_ms", bb_config, defer_ms, 500, 10, 60000),
    WP_CFG_INT("max_destinations", bb_config, max_destinations, 50, 1, 10000),
    WP_CFG_INT("test_timeout_ms", bb_config, test_timeout_ms, 5000, 100, 30000),
    WP_CFG_INT("test_max_concurrency", bb_config, test_max_concurrency, 4, 1, 256),
    WP_CFG_END,
};

static wp_status bb_init(const wp_host *h, wp_plugin *self, const json_object *config)
{
    bb_host = h;
    bb_self = self;
    char why[300];
    wp_status st = wp_cfg_parse(bb_keys, config, &bb_cfg, why, sizeof why);
    if (st != WP_OK) {
        h->init_error(self, "%s", why);
        return st;
    }
    if (bb_cfg.connect_timeout_ms > bb_cfg.timeout_ms) bb_cfg.connect_timeout_ms = bb_cfg.timeout_ms;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        h->init_error(self, "curl_global_init failed");
        return WP_EINTERNAL;
    }
    if ((st = bb_passes_register()) != WP_OK || (st = bb_dest_register()) != WP_OK ||
        (st = bb_deliver_register()) != WP_OK) {
        h->init_error(self, "registration failed: %s", h->last_error());
        curl_global_cleanup();
        return st;
    }
    return WP_OK;
}

static void bb_shutdown(wp_plugin *self)
{
    (void)self;
    curl_global_cleanup();
}

/* Needs no other plugin and runs no hook: every pass call goes through the core's own routes. */
WP_PLUGIN_DEFINE_NEEDS("bubble-bridge", "1.0.0", "Wallet passes from a Bubble app: flat API Connector calls and "
                       "backend-workflow deliveries", bb_init, bb_shutdown, "MIT", NULL, NULL, NULL)
