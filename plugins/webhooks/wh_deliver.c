/*
 * wh_deliver.c - from events to signed HTTP attempts.
 *
 * Fan-out (event subscriber, one per public event type): every matching
 * enabled endpoint of the account gets one delivery row (unique per endpoint
 * and event, so an event delivered twice fans out once) and a job for its
 * first attempt.
 *
 * Attempts: each attempt is its own job ("webhooks.attempt", payload
 * {a: account, d: delivery, n: attempt number}), so a slow endpoint holds a
 * worker for at most one attempt's timeout and the schedule (0 s, 5 s, 30 s,
 * 5 min, 30 min after the event, times retry_scale) has millisecond
 * precision.  The delivery row is the truth; a job only says "try attempt n":
 *   - attempt already recorded (a job run twice after a crash): make sure the
 *     next one is queued, do nothing else;
 *   - the claim (locked_until, attempts = n - 1) lets one worker send it;
 *   - the result and the attempt row are written in one statement, then the
 *     next attempt's job is queued.  A crash between the two leaves the job
 *     un-finished: it runs again, finds the attempt recorded and queues the
 *     next one.  So nothing is lost, and at worst an attempt is sent twice.
 * Concurrency: an attempt first takes a slot of this process (wh_slot_acquire:
 * at most per_endpoint_concurrency per endpoint and max_concurrency in total),
 * then one of its endpoint's slots in the database (wh_endpoint_slot_take: at
 * most per_endpoint_concurrency per endpoint across every gateway process);
 * without either it is re-queued defer_ms later, leaving the worker to other
 * endpoints' attempts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "outbound.h"
#include "wh.h"
#include "wpc_json.h"
#include "wpc_time.h"

static const char *const event_types[] = {"pass.created",   "pass.updated", "pass.voided",
                                          "pass.installed", "pass.removed", "batch.completed",
                                          "account.created", "account.deleted"};

static int64_t now_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

wp_status wh_enqueue_attempt(wp_req *req, const char *account_id, const char *delivery_id, int n, int64_t at_ms)
{
    json_object *p = json_object_new_object();
    if (!p) return WP_ENOMEM;
    json_object_object_add(p, "a", json_object_new_string(account_id));
    json_object_object_add(p, "d", json_object_new_string(delivery_id));
    json_object_object_add(p, "n", json_object_new_int(n));
    wp_status st = wh_host->job_enqueue(wh_self, req, WH_JOB_KIND, p, at_ms, NULL, 0);
    json_object_put(p);
    return st;
}

/* ---- fan-out ----------------------------------------------------------------- */

static wp_status on_event(void *ud, const wp_plugin_event *ev)
{
    (void)ud;
    const char *p1[] = {ev->account_id, ev->type};
    json_object *eps = NULL;
    wp_status st = wh_host->db_query(wh_self, NULL,
                                     "SELECT id FROM webhooks_endpoints WHERE account_id = $1 AND enabled "
                                     "AND (event_types ? $2 OR event_types ? '*') ORDER BY id",
                                     2, p1, &eps);
    if (st != WP_OK) {
        wh_host->log(wh_self, WP_LOG_WARN, "event %s: endpoints not read: %s", ev->id, wh_host->last_error());
        return WP_RETRY;
    }
    size_t n = json_object_array_length(eps);
    if (n == 0) {
        json_object_put(eps);
        return WP_OK;
    }
    char created[40];
    const char *created_at = NULL;
    if (ev->size >= offsetof(wp_plugin_event, created_at) + sizeof ev->created_at) created_at = ev->created_at;
    if (!created_at) {
        wpc_time_iso_now(created); /* this host does not say (NEEDS_HOST.md): the fan-out time, within moments */
        created_at = created;
    }
    json_object *body = json_object_new_object();
    json_object_object_add(body, "id", json_object_new_string(ev->id));
    json_object_object_add(body, "type", json_object_new_string(ev->type));
    json_object_object_add(body, "created_at", json_object_new_string(created_at));
    json_object_object_add(body, "data", ev->data ? json_object_get((json_object *)ev->data) : json_object_new_object());
    const char *text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    wp_status out = WP_OK;
    for (size_t i = 0; i < n && out == WP_OK; i++) {
        const char *ep = wpc_json_text(json_object_array_get_idx(eps, i), "id");
        char did[WH_ID_MAX];
        if (wh_id_new("whd", did) != 0) {
            out = WP_RETRY;
            break;
        }
        const char *p[] = {ev->account_id, did, ep, ev->id, ev->type, text, created_at};
        json_object *rows = NULL;
        st = wh_host->db_query(
            wh_self, NULL,
            "WITH ins AS (INSERT INTO webhooks_deliveries (account_id, id, endpoint_id, event_id, event_type, body, "
            "event_created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz, $7::timestamptz) "
            "ON CONFLICT (account_id, endpoint_id, event_id) DO NOTHING RETURNING id, attempts, status) "
            "SELECT id, attempts, status FROM ins UNION ALL "
            "SELECT id, attempts, status FROM webhooks_deliveries WHERE account_id = $1 AND endpoint_id = $3 "
            "AND event_id = $4 AND NOT EXISTS (SELECT 1 FROM ins)",
            7, p, &rows);
        if (st != WP_OK) {
            wh_host->log(wh_self, WP_LOG_WARN, "event %s: delivery to %s not stored: %s", ev->id, ep,
                         wh_host->last_error());
            out = WP_RETRY;
            break;
        }
        json_object *r = json_object_array_length(rows) ? json_object_array_get_idx(rows, 0) : NULL;
        /* attempts 0: the first attempt's job may not exist yet (a crash before it was queued). */
        if (r && wpc_json_int64(r, "attempts", 0) == 0 && strcmp(wpc_json_text(r, "status"), "pending") == 0 &&
            wh_enqueue_attempt(NULL, ev->account_id, wpc_json_text(r, "id"), 1, 0) != WP_OK) {
            wh_host->log(wh_self, WP_LOG_WARN, "event %s: attempt not queued: %s", ev->id, wh_host->last_error());
            out = WP_RETRY;
        }
        json_object_put(rows);
    }
    json_object_put(body);
    json_object_put(eps);
    if (out == WP_OK) wh_host->metrics_add(wh_self, "events_fanned_out_total", "Events turned into deliveries", 1);
    return out;
}

/* ---- one attempt ------------------------------------------------------------------ */

/* Response text as stored: printable ASCII, anything else '?' (the column is text). */
static void clean_excerpt(char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x80 || (c < 0x20 && c != '\n' && c != '\t')) *s = '?';
    }
}

static wp_status send_attempt(const char *account_id, const char *delivery_id, json_object *d, int n,
                              long timeout_ms, outbound_result *res)
{
    char started[40];
    wpc_time_iso_now(started);
    const char *url = wpc_json_text(d, "url");
    const char *ep = wpc_json_text(d, "endpoint_id");
    const char *event_id = wpc_json_text(d, "event_id");
    const char *body = wpc_json_text(d, "body");
    json_object *en;
    int enabled = json_object_object_get_ex(d, "enabled", &en) && json_object_get_boolean(en);
    memset(res, 0, sizeof *res);
    char pin[600] = "";
    char sigs[256] = "";
    char secret[WH_SECRET_MAX];
    if (!enabled) {
        snprintf(res->error, sizeof res->error, "endpoint disabled");
    } else if (wh_host->url_check(wh_self, url, pin, sizeof pin) != WP_OK) {
        snprintf(res->error, sizeof res->error, "refused: %s", wh_host->last_error());
    } else if (wh_secret_load(account_id, ep, wpc_json_text(d, "secret_sealed"), secret) != WP_OK) {
        snprintf(res->error, sizeof res->error, "signing secret does not open");
    } else {
        char ts[24];
        snprintf(ts, sizeof ts, "%lld", (long long)(now_unix_ms() / 1000));
        size_t blen = strlen(body);
        int bad = wh_sign_append(secret, event_id, ts, body, blen, sigs, sizeof sigs) != 0;
        json_object *pv;
        if (!bad && json_object_object_get_ex(d, "prev_valid", &pv) && json_object_get_boolean(pv) &&
            wh_secret_load(account_id, ep, wpc_json_text(d, "previous_secret_sealed"), secret) == WP_OK)
            bad = wh_sign_append(secret, event_id, ts, body, blen, sigs, sizeof sigs) != 0;
        memset(secret, 0, sizeof secret);
        if (bad) {
            snprintf(res->error, sizeof res->error, "signing failed");
        } else {
            char h_id[96], h_ts[48], h_sig[300];
            snprintf(h_id, sizeof h_id, "webhook-id: %s", event_id);
            snprintf(h_ts, sizeof h_ts, "webhook-timestamp: %s", ts);
            snprintf(h_sig, sizeof h_sig, "webhook-signature: %s", sigs);
            const char *hdrs[] = {"Content-Type: application/json", h_id, h_ts, h_sig, NULL};
            outbound_opts o = {wh_cfg.connect_timeout_ms < timeout_ms ? wh_cfg.connect_timeout_ms : timeout_ms,
                              timeout_ms, wh_cfg.max_response_bytes, wh_cfg.allow_http, "WalletPass-Webhooks/1.0"};
            outbound_send(url, pin, hdrs, body, blen, &o, res);
        }
    }
    clean_excerpt(res->excerpt);
    int ok = res->status_code >= 200 && res->status_code < 300;
    /* A receiver's Retry-After (429, 503) postpones the next attempt, never brings it forward;
     * capped, so a receiver cannot park a delivery for days. */
    long ra = res->retry_after_s > OUTBOUND_RETRY_AFTER_MAX ? OUTBOUND_RETRY_AFTER_MAX : res->retry_after_s;
    if (!ok && !res->error[0]) {
        if (ra > 0) snprintf(res->error, sizeof res->error, "HTTP %d, Retry-After %ld s", res->status_code, ra);
        else snprintf(res->error, sizeof res->error, "HTTP %d", res->status_code);
    }
    char sn[16], code[16], lat[24], off[32], after[24];
    snprintf(after, sizeof after, "%ld", ok ? 0 : ra);
    snprintf(sn, sizeof sn, "%d", n);
    snprintf(code, sizeof code, "%d", res->status_code);
    snprintf(lat, sizeof lat, "%ld", res->latency_ms);
    snprintf(off, sizeof off, "%.3f", n < OUTBOUND_ATTEMPTS ? outbound_schedule_s[n] * wh_cfg.retry_scale : 0.0);
    const char *p[] = {account_id, delivery_id, sn, started, res->status_code ? code : NULL,
                       ok ? NULL : res->error, lat, res->excerpt, ok ? "true" : "false", off, after};
    json_object *rows = NULL;
    wp_status st = wh_host->db_query(
        wh_self, NULL,
        "WITH a AS (INSERT INTO webhooks_attempts (account_id, delivery_id, attempt, started_at, status_code, error, "
        "latency_ms, response_excerpt) VALUES ($1, $2, $3::int, $4::timestamptz, $5::int, $6, $7::int, $8) "
        "ON CONFLICT DO NOTHING) "
        "UPDATE webhooks_deliveries SET attempts = $3::int, "
        "status = CASE WHEN $9::boolean THEN 'succeeded' WHEN $3::int >= max_attempts THEN 'failed' ELSE 'pending' END, "
        "next_attempt_at = CASE WHEN $9::boolean OR $3::int >= max_attempts THEN NULL "
        "ELSE greatest(now(), event_created_at + make_interval(secs => $10::float8), "
        "now() + make_interval(secs => $11::int)) END, "
        "last_status_code = $5::int, last_error = $6, locked_until = NULL, updated_at = now() "
        "WHERE account_id = $1 AND id = $2 "
        "RETURNING status, (extract(epoch FROM next_attempt_at) * 1000)::bigint AS next_ms",
        11, p, &rows);
    if (st != WP_OK) {
        wh_host->log(wh_self, WP_LOG_WARN, "delivery %s attempt %d not recorded: %s", delivery_id, n,
                     wh_host->last_error());
        return WP_RETRY;
    }
    wh_host->metrics_add(wh_self, ok ? "attempts_succeeded_total" : "attempts_failed_total",
                         ok ? "Webhook attempts answered 2xx" : "Webhook attempts that failed", 1);
    json_object *r = json_object_array_length(rows) ? json_object_array_get_idx(rows, 0) : NULL;
    if (r && strcmp(wpc_json_text(r, "status"), "pending") == 0 &&
        wh_enqueue_attempt(NULL, account_id, delivery_id, n + 1, wpc_json_int64(r, "next_ms", 0)) != WP_OK) {
        wh_host->log(wh_self, WP_LOG_WARN, "delivery %s: attempt %d not queued: %s", delivery_id, n + 1,
                     wh_host->last_error());
        json_object_put(rows);
        return WP_RETRY; /* this job runs again, finds attempt n recorded and queues n + 1 */
    }
    json_object_put(rows);
    return WP_OK;
}

wp_status wh_attempt_run(const char *account_id, const char *delivery_id, int n, int use_slots)
{
    const char *p[] = {account_id, delivery_id};
    json_object *rows = NULL;
    wp_status st = wh_host->db_query(
        wh_self, NULL,
        "SELECT d.endpoint_id, d.event_id, d.body, d.status, d.attempts, d.max_attempts, "
        "(extract(epoch FROM d.next_attempt_at) * 1000)::bigint AS next_ms, "
        "(extract(epoch FROM d.locked_until) * 1000)::bigint AS locked_ms, e.url, e.enabled, e.secret_sealed, "
        "e.previous_secret_sealed, coalesce(e.previous_secret_until > now(), false) AS prev_valid "
        "FROM webhooks_deliveries d JOIN webhooks_endpoints e ON e.account_id = d.account_id AND e.id = d.endpoint_id "
        "WHERE d.account_id = $1 AND d.id = $2",
        2, p, &rows);
    if (st != WP_OK) {
        wh_host->log(wh_self, WP_LOG_WARN, "delivery %s not read: %s", delivery_id, wh_host->last_error());
        return WP_RETRY;
    }
    json_object *d = json_object_array_length(rows) ? json_object_array_get_idx(rows, 0) : NULL;
    if (!d || strcmp(wpc_json_text(d, "status"), "pending") != 0) goto nothing; /* deleted, or finished */
    int done = (int)wpc_json_int64(d, "attempts", 0), max = (int)wpc_json_int64(d, "max_attempts", 0);
    if (done >= n) {
        /* Run again after a crash: the attempt is recorded; its successor may not be queued. */
        if (done == n && done < max &&
            wh_enqueue_attempt(NULL, account_id, delivery_id, n + 1, wpc_json_int64(d, "next_ms", 0)) != WP_OK) {
            json_object_put(rows);
            return WP_RETRY;
        }
        goto nothing;
    }
    if (done < n - 1 || n > max) goto nothing; /* a stale job (the delivery was retried by hand meanwhile) */
    const char *ep = wpc_json_text(d, "endpoint_id");
    char slot[WH_ID_MAX] = "";
    if (use_slots && !wh_slot_acquire(ep)) {
        st = wh_enqueue_attempt(NULL, account_id, delivery_id, n, now_unix_ms() + wh_cfg.defer_ms);
        json_object_put(rows);
        return st == WP_OK ? WP_OK : WP_RETRY;
    }
    if (use_slots) {
        int got = wh_endpoint_slot_take(account_id, ep, slot);
        if (got != 1) {
            wh_slot_release(ep);
            st = got == 0 ? wh_enqueue_attempt(NULL, account_id, delivery_id, n, now_unix_ms() + wh_cfg.defer_ms)
                          : WP_RETRY;
            json_object_put(rows);
            return st == WP_OK ? WP_OK : WP_RETRY;
        }
    }
    char sn[16], lease[24];
    snprintf(sn, sizeof sn, "%d", n - 1);
    /* The claim outlives the attempt (total timeout) by a margin; it is what a rerun after a crash waits for. */
    snprintf(lease, sizeof lease, "%ld", wh_cfg.timeout_ms / 1000 + 5);
    const char *pc[] = {account_id, delivery_id, sn, lease};
    json_object *claimed = NULL;
    st = wh_host->db_query(wh_self, NULL,
                           "UPDATE webhooks_deliveries SET locked_until = now() + make_interval(secs => $4::int) "
                           "WHERE account_id = $1 AND id = $2 AND status = 'pending' AND attempts = $3::int "
                           "AND (locked_until IS NULL OR locked_until < now()) RETURNING id",
                           4, pc, &claimed);
    if (st != WP_OK || json_object_array_length(claimed) == 0) {
        if (use_slots) {
            wh_endpoint_slot_give(account_id, ep, slot);
            wh_slot_release(ep);
        }
        if (st != WP_OK) {
            wh_host->log(wh_self, WP_LOG_WARN, "delivery %s not claimed: %s", delivery_id, wh_host->last_error());
        } else {
            /* Another worker holds it, or a dead process did: look again when the claim expires,
             * so an attempt lost with its process is made after all.  Also when the row read a
             * moment ago showed no live claim: the claim is decided on the database's clock, and
             * a claim ending within the millisecond read looks over here while it still holds
             * there.  A look that finds the attempt made, or the delivery finished, ends. */
            int64_t at = wpc_json_int64(d, "locked_ms", 0), now = now_unix_ms();
            st = wh_enqueue_attempt(NULL, account_id, delivery_id, n, (at > now ? at : now) + 100);
        }
        json_object_put(claimed);
        json_object_put(rows);
        return st == WP_OK ? WP_OK : WP_RETRY;
    }
    json_object_put(claimed);
    outbound_result res;
    /* the test send runs on a server worker, inside its request: a tighter bound */
    long tmo = !use_slots && wh_cfg.test_timeout_ms < wh_cfg.timeout_ms ? wh_cfg.test_timeout_ms : wh_cfg.timeout_ms;
    st = send_attempt(account_id, delivery_id, d, n, tmo, &res);
    if (use_slots) {
        wh_endpoint_slot_give(account_id, ep, slot);
        wh_slot_release(ep);
    }
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
        wh_host->log(wh_self, WP_LOG_ERROR, "job %s: malformed payload", job->id);
        return WP_FAIL;
    }
    return wh_attempt_run(json_object_get_string(a), json_object_get_string(d), json_object_get_int(n), 1);
}

wp_status wh_deliver_register(void)
{
    /* Job-level retries cover only the database failing around an attempt;
     * the webhook schedule itself is one job per attempt. */
    static const uint32_t backoff[] = {1, 5, 30, 120};
    wp_retry_policy retry = WP_RETRY_POLICY_INIT;
    retry.max_attempts = 5;
    retry.backoff_s = backoff;
    retry.nbackoff = 4;
    wp_status st = wh_host->job_register(wh_self, WH_JOB_KIND, on_attempt, NULL, &retry);
    for (size_t i = 0; st == WP_OK && i < sizeof event_types / sizeof *event_types; i++)
        st = wh_host->subscribe(wh_self, event_types[i], on_event, NULL, NULL);
    return st;
}
