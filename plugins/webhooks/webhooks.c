/*
 * webhooks.c - the webhooks plugin: its definition, configuration,
 * ids, secret storage and concurrency slots.  The HTTP API is wh_routes.c,
 * delivery wh_deliver.c, signing wh_sign.c; the schedule and the HTTP attempt are
 * plugins/common/outbound.c's.
 *
 * Config (all optional; unknown keys refused):
 *   allow_http (false)                http:// endpoint URLs, for local testing
 *   retry_scale (1)                   schedule multiplier, 0 < x <= 1 (tests only)
 *   secret_overlap_seconds (86400)    the previous secret signs this long after a rotation
 *   connect_timeout_ms (5000), timeout_ms (15000), max_response_bytes (65536),
 *   test_timeout_ms (5000), test_max_concurrency (4)
 *   per_endpoint_concurrency (2: attempts in flight per endpoint, in the whole deployment),
 *   max_concurrency (16: attempts in flight in this process), defer_ms (500)
 *   max_endpoints (50)                per account; reloadable (SIGHUP), the others need a restart
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/rand.h>

#include "wh.h"

#include <walletpass/plugin_config.h>

const wp_host *wh_host;
wp_plugin *wh_self;
wh_config wh_cfg;
static atomic_int max_endpoints_now;

int wh_max_endpoints(void) { return atomic_load(&max_endpoints_now); }

/* ---- ids ----------------------------------------------------------------- */

int wh_id_new(const char *prefix, char out[WH_ID_MAX])
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
        int bit = (25 - d) * 5; /* lowest bit of this digit */
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

/* ---- secrets --------------------------------------------------------------- */

/* The vault purpose of an endpoint's secrets: bound to the endpoint, so a
 * sealed value copied to another endpoint's row does not open there. */
static void purpose_of(const char *endpoint_id, char out[96])
{
    snprintf(out, 96, "webhook_secret/%.64s", endpoint_id);
}

wp_status wh_secret_store(const char *account_id, const char *endpoint_id, const char *secret, char *out, size_t len)
{
    char purpose[96];
    purpose_of(endpoint_id, purpose);
    return wh_host->vault_seal(wh_self, account_id, purpose, secret, strlen(secret), out, len);
}

wp_status wh_secret_load(const char *account_id, const char *endpoint_id, const char *stored,
                         char out[WH_SECRET_MAX])
{
    char purpose[96];
    size_t n = 0;
    purpose_of(endpoint_id, purpose);
    if (!stored) return WP_EINVAL;
    wp_status st = wh_host->vault_open(wh_self, account_id, purpose, stored, out, WH_SECRET_MAX - 1, &n);
    if (st != WP_OK) return st;
    out[n] = '\0';
    return WP_OK;
}

/* ---- concurrency slots ------------------------------------------------------ */

/* Attempts in flight in this process, per endpoint: a small open-addressing
 * table (at most max_concurrency endpoints are ever in it at once). */
#define SLOTS 1024
static struct {
    char id[WH_ID_MAX];
    int n;
} slots[SLOTS];
static int in_flight;
static pthread_mutex_t slots_mu = PTHREAD_MUTEX_INITIALIZER;

static unsigned slot_hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h % SLOTS;
}

static int tests_in_flight;

int wh_test_slot_acquire(void)
{
    pthread_mutex_lock(&slots_mu);
    int ok = tests_in_flight < wh_cfg.test_max_concurrency;
    if (ok) tests_in_flight++;
    pthread_mutex_unlock(&slots_mu);
    return ok;
}

void wh_test_slot_release(void)
{
    pthread_mutex_lock(&slots_mu);
    if (tests_in_flight > 0) tests_in_flight--;
    pthread_mutex_unlock(&slots_mu);
}

int wh_slot_acquire(const char *endpoint_id)
{
    int ok = 0;
    pthread_mutex_lock(&slots_mu);
    if (in_flight < wh_cfg.max_concurrency) {
        unsigned h = slot_hash(endpoint_id), free_at = SLOTS;
        for (unsigned i = 0; i < SLOTS; i++) {
            unsigned k = (h + i) % SLOTS;
            if (slots[k].n > 0 && strcmp(slots[k].id, endpoint_id) == 0) {
                if (slots[k].n < wh_cfg.per_endpoint_concurrency) {
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
            snprintf(slots[free_at].id, sizeof slots[0].id, "%s", endpoint_id);
            slots[free_at].n = 1;
            ok = 1;
        }
    }
out:
    if (ok) in_flight++;
    pthread_mutex_unlock(&slots_mu);
    return ok;
}

void wh_slot_release(const char *endpoint_id)
{
    pthread_mutex_lock(&slots_mu);
    unsigned h = slot_hash(endpoint_id);
    for (unsigned i = 0; i < SLOTS; i++) {
        unsigned k = (h + i) % SLOTS;
        if (slots[k].n > 0 && strcmp(slots[k].id, endpoint_id) == 0) {
            slots[k].n--;
            in_flight--;
            break;
        }
        if (slots[k].n == 0 && slots[k].id[0] == '\0') break;
    }
    pthread_mutex_unlock(&slots_mu);
}

/* The deployment's slots of an endpoint (table webhooks_endpoint_slots): one statement takes the
 * lowest slot that is free or whose holder's time ran out.  Two processes racing for one slot
 * conflict on its key; the loser's DO UPDATE finds it held and takes nothing (and defers). */
int wh_endpoint_slot_take(const char *account_id, const char *endpoint_id, char token[WH_ID_MAX])
{
    if (wh_id_new("whs", token) != 0) return -1;
    char n[16], hold[24];
    snprintf(n, sizeof n, "%d", wh_cfg.per_endpoint_concurrency);
    /* like the delivery's claim: the attempt's total timeout and a margin */
    snprintf(hold, sizeof hold, "%ld", wh_cfg.timeout_ms / 1000 + 5);
    const char *p[] = {account_id, endpoint_id, token, n, hold};
    json_object *rows = NULL;
    wp_status st = wh_host->db_query(
        wh_self, NULL,
        "INSERT INTO webhooks_endpoint_slots AS s (account_id, endpoint_id, slot, token, held_until) "
        "SELECT $1, $2, g, $3, now() + make_interval(secs => $5::int) FROM generate_series(0, $4::int - 1) g "
        "WHERE NOT EXISTS (SELECT 1 FROM webhooks_endpoint_slots x WHERE x.account_id = $1 AND x.endpoint_id = $2 "
        "AND x.slot = g AND x.held_until > now()) ORDER BY g LIMIT 1 "
        "ON CONFLICT (account_id, endpoint_id, slot) DO UPDATE SET token = excluded.token, "
        "held_until = excluded.held_until WHERE s.held_until <= now() RETURNING slot",
        5, p, &rows);
    if (st != WP_OK) {
        wh_host->log(wh_self, WP_LOG_WARN, "endpoint %s: slot not taken: %s", endpoint_id, wh_host->last_error());
        return -1;
    }
    int got = json_object_array_length(rows) > 0;
    json_object_put(rows);
    return got;
}

void wh_endpoint_slot_give(const char *account_id, const char *endpoint_id, const char *token)
{
    const char *p[] = {account_id, endpoint_id, token};
    if (wh_host->db_query(wh_self, NULL,
                          "DELETE FROM webhooks_endpoint_slots WHERE account_id = $1 AND endpoint_id = $2 AND token = $3",
                          3, p, NULL) != WP_OK)
        wh_host->log(wh_self, WP_LOG_WARN, "endpoint %s: slot not released (it frees itself when its time runs out): %s",
                     endpoint_id, wh_host->last_error());
}

/* ---- configuration ------------------------------------------------------------ */

static const wp_cfg_key wh_keys[] = {
    WP_CFG_BOOL("allow_http", wh_config, allow_http, false),
    WP_CFG_NUMBER("retry_scale", wh_config, retry_scale, 1.0, 0, 1, WP_CFG_ABOVE_MIN),
    WP_CFG_INT("secret_overlap_seconds", wh_config, secret_overlap_s, 86400, 0, 30L * 86400),
    WP_CFG_INT("connect_timeout_ms", wh_config, connect_timeout_ms, 5000, 100, 60000),
    WP_CFG_INT("timeout_ms", wh_config, timeout_ms, 15000, 100, 120000),
    WP_CFG_INT("max_response_bytes", wh_config, max_response_bytes, 65536, 1024, 16L * 1024 * 1024),
    WP_CFG_INT("per_endpoint_concurrency", wh_config, per_endpoint_concurrency, 2, 1, 256),
    WP_CFG_INT("max_concurrency", wh_config, max_concurrency, 16, 1, 512),
    WP_CFG_INT("defer_ms", wh_config, defer_ms, 500, 10, 60000),
    WP_CFG_INT("max_endpoints", wh_config, max_endpoints, 50, 1, 10000),
    WP_CFG_INT("test_timeout_ms", wh_config, test_timeout_ms, 5000, 100, 30000),
    WP_CFG_INT("test_max_concurrency", wh_config, test_max_concurrency, 4, 1, 256),
    WP_CFG_END,
};

static wp_status read_config(const json_object *config)
{
    char why[300];
    wp_status st = wp_cfg_parse(wh_keys, config, &wh_cfg, why, sizeof why);
    if (st != WP_OK) {
        wh_host->init_error(wh_self, "%s", why);
        return st;
    }
    if (wh_cfg.connect_timeout_ms > wh_cfg.timeout_ms) wh_cfg.connect_timeout_ms = wh_cfg.timeout_ms;
    atomic_store(&max_endpoints_now, wh_cfg.max_endpoints);
    return WP_OK;
}

/* SIGHUP (ABI 1.9): the keys that change without a restart, checked as at start, then published. */
static const char *const wh_reloadable[] = {"max_endpoints", NULL};

static wp_status wh_reload(wp_plugin *self, const json_object *config)
{
    wh_config next;
    char why[300];
    wp_status st = wp_cfg_parse(wh_keys, config, &next, why, sizeof why);
    if (st != WP_OK) {
        wh_host->init_error(self, "%s", why);
        return st;
    }
    atomic_store(&max_endpoints_now, next.max_endpoints);
    wh_host->log(self, WP_LOG_INFO, "max_endpoints is now %d per account", next.max_endpoints);
    return WP_OK;
}

static wp_status wh_init(const wp_host *h, wp_plugin *self, const json_object *config)
{
    wh_host = h;
    wh_self = self;
    wp_status st = read_config(config);
    if (st != WP_OK) return st;
    if (!WP_HOST_HAS(h, url_check) || !WP_HOST_HAS(h, vault_seal) || !WP_HOST_HAS(h, vault_open)) {
        h->init_error(self, "the host lacks url_check or vault_seal/vault_open (ABI 1.3 or later needed)");
        return WP_EABI;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        h->init_error(self, "curl_global_init failed");
        return WP_EINTERNAL;
    }
    /* a host older than 1.9 cannot reload: every change then needs a restart */
    if (WP_HOST_HAS(h, reload_register) && (st = h->reload_register(self, wh_reloadable, wh_reload)) != WP_OK) {
        h->init_error(self, "reload_register: %s", h->last_error());
        return st;
    }
    if ((st = wh_routes_register()) != WP_OK || (st = wh_deliver_register()) != WP_OK) {
        h->init_error(self, "registration failed: %s", h->last_error());
        curl_global_cleanup();
        return st;
    }
    return WP_OK;
}

static void wh_shutdown(wp_plugin *self)
{
    (void)self;
    curl_global_cleanup();
}

/* Needs no other plugin and runs no hook. */
WP_PLUGIN_DEFINE_NEEDS("webhooks", "1.0.0", "Signed event delivery to HTTPS endpoints (Standard Webhooks)", wh_init,
                       wh_shutdown, "MIT", NULL, NULL, NULL)
