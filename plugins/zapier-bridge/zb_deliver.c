/*
 * zb_deliver.c - REST-hook deliveries: from events to POSTs at Zapier's
 * target URLs, through the same durable queue and on the same schedule as
 * the webhooks plugin (plugins/common/outbound.h).
 *
 * Fan-out (an event subscriber per trigger type): every subscription of the
 * account to the event's type gets one delivery row (unique per subscription
 * and event, so an event delivered twice fans out once) holding the flat
 * event (zb_flat.h), and a job for its first attempt.
 *
 * Attempts: each attempt is its own job ("zapier-bridge.attempt", payload
 * {a: account, d: delivery, n: attempt number}) queued for event time +
 * outbound_schedule_s[n - 1] x retry_scale.  The delivery row is the truth:
 *   - attempt already recorded (a job run again after a crash): make sure the
 *     next one is queued, nothing else;
 *   - the claim (locked_until, only while attempts = n - 1) lets one worker
 *     send it;
 *   - a 2xx ends it; a 410 Gone means Zapier dropped the subscription: it is
 *     deleted with its deliveries; anything else is recorded and the next
 *     attempt queued (a Retry-After postpones it), until the last.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "outbound.h"
#include "wpc_json.h"
#include "zb.h"
#include "zb_flat.h"

static int64_t now_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


static wp_status enqueue_attempt(const char *account_id, const char *delivery_id, int n, int64_t at_ms)
{
    json_object *p = json_object_new_object();
    if (!p) return WP_ENOMEM;
    json_object_object_add(p, "a", json_object_new_string(account_id));
    json_object_object_add(p, "d", json_object_new_string(delivery_id));
    json_object_object_add(p, "n", json_object_new_int(n));
    wp_job_options o = WP_JOB_OPTIONS_INIT;
    o.run_at_ms = at_ms;
    wp_status st = zb_host->job_enqueue_ex(zb_self, NULL, ZB_JOB_KIND, p, &o, NULL, 0);
    json_object_put(p);
    return st;
}

/* ---- fan-out ---------------------------------------------------------------- */

static wp_status on_event(void *ud, const wp_plugin_event *ev)
{
    (void)ud;
    const char *p1[] = {ev->account_id, ev->type};
    json_object *hooks = NULL;
    wp_status st = zb_host->db_query(zb_self, NULL,
                                     "SELECT id FROM zapier_bridge_hooks WHERE account_id = $1 AND event = $2 "
                                     "ORDER BY id",
                                     2, p1, &hooks);
    if (st != WP_OK) {
        zb_host->log(zb_self, WP_LOG_WARN, "event %s: subscriptions not read: %s", ev->id, zb_host->last_error());
        return WP_RETRY;
    }
    size_t n = json_object_array_length(hooks);
    if (n == 0) {
        json_object_put(hooks);
        return WP_OK;
    }
    json_object *flat = zb_flat_event(ev->id, ev->type, ev->created_at, ev->data);
    if (!flat) {
        json_object_put(hooks);
        zb_host->log(zb_self, WP_LOG_ERROR, "event %s: type %s has no flat shape", ev->id, ev->type);
        return WP_FAIL;
    }
    const char *text = json_object_to_json_string_ext(flat, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    wp_status out = WP_OK;
    for (size_t i = 0; i < n && out == WP_OK; i++) {
        const char *hook = wpc_json_text(json_object_array_get_idx(hooks, i), "id");
        char did[ZB_ID_MAX];
        if (zb_id_new("zhd", did) != 0) {
            out = WP_RETRY;
            break;
        }
        const char *p[] = {ev->account_id, did, hook, ev->id, text, ev->created_at};
        json_object *rows = NULL;
        st = zb_host->db_query(
            zb_self, NULL,
            "WITH ins AS (INSERT INTO zapier_bridge_deliveries (account_id, id, hook_id, event_id, body, "
            "event_created_at, next_attempt_at) SELECT $1, $2, $3, $4, $5, coalesce($6::timestamptz, now()), "
            "coalesce($6::timestamptz, now()) WHERE EXISTS (SELECT 1 FROM zapier_bridge_hooks "
            "WHERE account_id = $1 AND id = $3) "
            "ON CONFLICT (account_id, hook_id, event_id) DO NOTHING RETURNING id, attempts, status) "
            "SELECT id, attempts, status FROM ins UNION ALL "
            "SELECT id, attempts, status FROM zapier_bridge_deliveries WHERE account_id = $1 AND hook_id = $3 "
            "AND event_id = $4 AND NOT EXISTS (SELECT 1 FROM ins)",
            6, p, &rows);
        if (st != WP_OK) {
            zb_host->log(zb_self, WP_LOG_WARN, "event %s: delivery to %s not stored: %s", ev->id, hook,
                         zb_host->last_error());
            out = WP_RETRY;
            break;
        }
        json_object *r = json_object_array_length(rows) ? json_object_array_get_idx(rows, 0) : NULL;
        /* attempts 0: the first attempt's job may not exist yet (a crash before it was queued) */
        if (r && wpc_json_int64(r, "attempts", 0) == 0 && strcmp(wpc_json_text(r, "status"), "pending") == 0 &&
            enqueue_attempt(ev->account_id, wpc_json_text(r, "id"), 1, 0) != WP_OK) {
            zb_host->log(zb_self, WP_LOG_WARN, "event %s: attempt not queued: %s", ev->id, zb_host->last_error());
            out = WP_RETRY;
        }
        json_object_put(rows);
    }
    json_object_put(flat);
    json_object_put(hooks);
    return out;
}

/* ---- one attempt --------------------------------------------------------------- */

/* Zapier dropped the subscription (410 Gone): it goes, with its deliveries. */
static wp_status remove_gone(const char *account_id, const char *hook_id)
{
    const char *p[] = {account_id, hook_id};
    wp_status st = zb_host->db_query(zb_self, NULL, "DELETE FROM zapier_bridge_hooks WHERE account_id = $1 AND id = $2",
                                     2, p, NULL);
    if (st != WP_OK) {
        zb_host->log(zb_self, WP_LOG_WARN, "subscription %s not removed after 410: %s", hook_id, zb_host->last_error());
        return WP_RETRY;
    }
    zb_host->log(zb_self, WP_LOG_INFO, "subscription %s removed: its target answered 410 Gone", hook_id);
    zb_host->metrics_add(zb_self, "subscriptions_gone_total", "REST-hook subscriptions removed after a 410 Gone", 1);
    return WP_OK;
}

static wp_status send_attempt(const char *account_id, const char *delivery_id, json_object *d, int n)
{
    const char *url = wpc_json_text(d, "target_url");
    const char *body = wpc_json_text(d, "body");
    outbound_result res;
    memset(&res, 0, sizeof res);
    char pin[600] = "";
    if (zb_host->url_check(zb_self, url, pin, sizeof pin) != WP_OK) {
        snprintf(res.error, sizeof res.error, "refused: %s", zb_host->last_error());
    } else {
        const char *hdrs[] = {"Content-Type: application/json", NULL};
        outbound_opts o = {zb_cfg.connect_timeout_ms, zb_cfg.timeout_ms, zb_cfg.max_response_bytes, zb_cfg.allow_http,
                           "WalletPass-Zapier/1.0"};
        outbound_send(url, pin, hdrs, body, strlen(body), &o, &res);
    }
    if (res.status_code == 410) return remove_gone(account_id, wpc_json_text(d, "hook_id"));
    int ok = res.status_code >= 200 && res.status_code < 300;
    long ra = res.retry_after_s > OUTBOUND_RETRY_AFTER_MAX ? OUTBOUND_RETRY_AFTER_MAX : res.retry_after_s;
    if (!ok && !res.error[0]) snprintf(res.error, sizeof res.error, "HTTP %d", res.status_code);
    for (char *c = res.error; *c; c++)
        if ((unsigned char)*c >= 0x80 || (unsigned char)*c < 0x20) *c = '?';
    char sn[16], code[16], off[32], after[24];
    snprintf(sn, sizeof sn, "%d", n);
    snprintf(code, sizeof code, "%d", res.status_code);
    snprintf(off, sizeof off, "%.3f", n < OUTBOUND_ATTEMPTS ? outbound_schedule_s[n] * zb_cfg.retry_scale : 0.0);
    snprintf(after, sizeof after, "%ld", ok ? 0 : ra);
    const char *p[] = {account_id, delivery_id, sn, res.status_code ? code : NULL, ok ? NULL : res.error,
                       ok ? "true" : "false", off, after};
    json_object *rows = NULL;
    wp_status st = zb_host->db_query(
        zb_self, NULL,
        "UPDATE zapier_bridge_deliveries SET attempts = $3::int, "
        "status = CASE WHEN $6::boolean THEN 'succeeded' WHEN $3::int >= max_attempts THEN 'failed' ELSE 'pending' END, "
        "next_attempt_at = CASE WHEN $6::boolean OR $3::int >= max_attempts THEN NULL "
        "ELSE greatest(now(), event_created_at + make_interval(secs => $7::float8), "
        "now() + make_interval(secs => $8::int)) END, "
        "last_status_code = $4::int, last_error = $5, locked_until = NULL, updated_at = now() "
        "WHERE account_id = $1 AND id = $2 "
        "RETURNING status, (extract(epoch FROM next_attempt_at) * 1000)::bigint AS next_ms",
        8, p, &rows);
    if (st != WP_OK) {
        zb_host->log(zb_self, WP_LOG_WARN, "delivery %s attempt %d not recorded: %s", delivery_id, n,
                     zb_host->last_error());
        return WP_RETRY;
    }
    zb_host->metrics_add(zb_self, ok ? "deliveries_succeeded_total" : "attempts_failed_total",
                         ok ? "REST-hook deliveries answered 2xx" : "REST-hook attempts that failed", 1);
    if (!ok) zb_host->log(zb_self, WP_LOG_INFO, "delivery %s attempt %d failed: %s", delivery_id, n, res.error);
    json_object *r = json_object_array_length(rows) ? json_object_array_get_idx(rows, 0) : NULL;
    wp_status out = WP_OK;
    if (r && strcmp(wpc_json_text(r, "status"), "pending") == 0 &&
        enqueue_attempt(account_id, delivery_id, n + 1, wpc_json_int64(r, "next_ms", 0)) != WP_OK) {
        zb_host->log(zb_self, WP_LOG_WARN, "delivery %s: attempt %d not queued: %s", delivery_id, n + 1,
                     zb_host->last_error());
        out = WP_RETRY; /* this job runs again, finds attempt n recorded and queues n + 1 */
    }
    json_object_put(rows);
    return out;
}

static wp_status attempt_run(const char *account_id, const char *delivery_id, int n)
{
    const char *p[] = {account_id, delivery_id};
    json_object *rows = NULL;
    wp_status st = zb_host->db_query(
        zb_self, NULL,
        "SELECT d.hook_id, d.body, d.status, d.attempts, d.max_attempts, "
        "(extract(epoch FROM d.next_attempt_at) * 1000)::bigint AS next_ms, "
        "(extract(epoch FROM d.locked_until) * 1000)::bigint AS locked_ms, h.target_url "
        "FROM zapier_bridge_deliveries d JOIN zapier_bridge_hooks h ON h.account_id = d.account_id AND h.id = d.hook_id "
        "WHERE d.account_id = $1 AND d.id = $2",
        2, p, &rows);
    if (st != WP_OK) {
        zb_host->log(zb_self, WP_LOG_WARN, "delivery %s not read: %s", delivery_id, zb_host->last_error());
        return WP_RETRY;
    }
    json_object *d = json_object_array_length(rows) ? json_object_array_get_idx(rows, 0) : NULL;
    if (!d || strcmp(wpc_json_text(d, "status"), "pending") != 0) goto nothing; /* unsubscribed, or finished */
    int done = (int)wpc_json_int64(d, "attempts", 0), max = (int)wpc_json_int64(d, "max_attempts", 0);
    if (done >= n) {
        /* run again after a crash: the attempt is recorded; its successor may not be queued */
        if (done == n && done < max && enqueue_attempt(account_id, delivery_id, n + 1, wpc_json_int64(d, "next_ms", 0)) != WP_OK) {
            json_object_put(rows);
            return WP_RETRY;
        }
        goto nothing;
    }
    if (done < n - 1 || n > max) goto nothing;
    if (!zb_slot_acquire()) {
        st = enqueue_attempt(account_id, delivery_id, n, now_unix_ms() + zb_cfg.defer_ms);
        json_object_put(rows);
        return st == WP_OK ? WP_OK : WP_RETRY;
    }
    char sn[16], lease[24];
    snprintf(sn, sizeof sn, "%d", n - 1);
    /* the claim outlives the attempt by a margin; it is what a rerun after a crash waits for */
    snprintf(lease, sizeof lease, "%ld", zb_cfg.timeout_ms / 1000 + 5);
    const char *pc[] = {account_id, delivery_id, sn, lease};
    json_object *claimed = NULL;
    st = zb_host->db_query(zb_self, NULL,
                           "UPDATE zapier_bridge_deliveries SET locked_until = now() + make_interval(secs => $4::int) "
                           "WHERE account_id = $1 AND id = $2 AND status = 'pending' AND attempts = $3::int "
                           "AND (locked_until IS NULL OR locked_until < now()) RETURNING id",
                           4, pc, &claimed);
    if (st != WP_OK || json_object_array_length(claimed) == 0) {
        zb_slot_release();
        if (st != WP_OK) {
            zb_host->log(zb_self, WP_LOG_WARN, "delivery %s not claimed: %s", delivery_id, zb_host->last_error());
        } else if (wpc_json_int64(d, "locked_ms", 0) > now_unix_ms()) {
            /* another worker holds it, or a dead process did: look again when the claim expires */
            st = enqueue_attempt(account_id, delivery_id, n, wpc_json_int64(d, "locked_ms", 0) + 100);
        }
        json_object_put(claimed);
        json_object_put(rows);
        return st == WP_OK ? WP_OK : WP_RETRY;
    }
    json_object_put(claimed);
    st = send_attempt(account_id, delivery_id, d, n);
    zb_slot_release();
    json_object_put(rows);
    return st;
nothing:
    json_object_put(rows);
    return WP_OK;
}

static wp_status on_attempt(void *ud, const wp_plugin_job *job)
{
    (void)ud;
    json_object *a, *d, *n;
    if (!json_object_object_get_ex(job->payload, "a", &a) || !json_object_object_get_ex(job->payload, "d", &d) ||
        !json_object_object_get_ex(job->payload, "n", &n)) {
        zb_host->log(zb_self, WP_LOG_ERROR, "job %s: malformed payload", job->id);
        return WP_FAIL;
    }
    return attempt_run(json_object_get_string(a), json_object_get_string(d), json_object_get_int(n));
}

wp_status zb_deliver_register(void)
{
    /* Job-level retries cover only the database failing around an attempt;
     * the delivery schedule itself is one job per attempt. */
    static const uint32_t backoff[] = {1, 5, 30, 120};
    wp_retry_policy retry = WP_RETRY_POLICY_INIT;
    retry.max_attempts = 5;
    retry.backoff_s = backoff;
    retry.nbackoff = 4;
    wp_status st = zb_host->job_register(zb_self, ZB_JOB_KIND, on_attempt, NULL, &retry);
    wp_subscribe_options so = WP_SUBSCRIBE_OPTIONS_INIT;
    so.schema_min = so.schema_max = 1; /* the flat shapes read schema 1 of each event's data */
    for (const char *const *t = zb_event_types; st == WP_OK && *t; t++)
        st = zb_host->subscribe_ex(zb_self, *t, on_event, NULL, &so);
    return st;
}
