/*
 * bb_deliver.c - from events to POSTs on Bubble backend workflows.
 *
 * Fan-out (event subscriber, one per event type a destination can take):
 * every enabled destination of the account for that type (and, when it
 * names one, for the pass's template) gets one delivery row holding the
 * flat body to send (bb_flat_delivery; unique per destination and event, so
 * an event delivered twice fans out once) and a job for its first attempt.
 * pass.installed and pass.removed carry only the pass's id: the pass is
 * read (host->pass_get) so their deliveries have the same keys as the others.
 *
 * Attempts follow the webhooks plugin's schedule and rules, one job per
 * attempt ("bubble-bridge.attempt", payload {a, d, n}): 0 s, 5 s, 30 s,
 * 5 min, 30 min after the event (times retry_scale), a receiver's
 * Retry-After postponing the next one (at most an hour), the delivery row
 * as the truth (a claim while an attempt is in flight, the result and the
 * next state written in one statement, so a crash repeats at worst one
 * attempt and loses none), the URL checked with url_check and the
 * connection pinned to the checked address, https only unless allow_http.
 * A 401 or 403 from Bubble disables the destination with the reason, in the
 * same statement, and ends the delivery: Bubble refuses the token, so
 * retrying cannot help.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bb.h"
#include "bb_flat.h"
#include "outbound.h"
#include "wpc_json.h"

static int row_bool(json_object *row, const char *key)
{
    json_object *v;
    return row && json_object_object_get_ex(row, key, &v) && json_object_is_type(v, json_type_boolean) &&
           json_object_get_boolean(v);
}

wp_status bb_enqueue_attempt(const char *account_id, const char *delivery_id, int n, int64_t at_ms)
{
    json_object *p = json_object_new_object();
    if (!p) return WP_ENOMEM;
    json_object_object_add(p, "a", json_object_new_string(account_id));
    json_object_object_add(p, "d", json_object_new_string(delivery_id));
    json_object_object_add(p, "n", json_object_new_int(n));
    wp_status st = bb_host->job_enqueue(bb_self, NULL, BB_JOB_KIND, p, at_ms, NULL, 0);
    json_object_put(p);
    return st;
}

/* ---- fan-out ------------------------------------------------------------------------------- */

static wp_status on_event(void *ud, const wp_plugin_event *ev)
{
    (void)ud;
    const char *p1[] = {ev->account_id, ev->type};
    json_object *dests = NULL;
    wp_status st = bb_host->db_query(bb_self, NULL,
                                      "SELECT id, template_id FROM bubble_bridge_destinations WHERE account_id = $1 "
                                      "AND enabled AND event_type = $2 ORDER BY id",
                                      2, p1, &dests);
    if (st != WP_OK) {
        bb_host->log(bb_self, WP_LOG_WARN, "event %s: destinations not read: %s", ev->id, bb_host->last_error());
        return WP_RETRY;
    }
    size_t n = json_object_array_length(dests);
    if (n == 0) {
        json_object_put(dests);
        return WP_OK;
    }
    json_object *data = (json_object *)ev->data, *pass = NULL, *read = NULL, *changed = NULL, *dv = NULL;
    if (data) {
        json_object_object_get_ex(data, "pass", &pass);
        json_object_object_get_ex(data, "changed", &changed);
        json_object_object_get_ex(data, "device_library_identifier", &dv);
    }
    const char *pass_id = wpc_json_text(pass, "id");
    if (pass_id && !wpc_json_text(pass, "created_at")) {
        /* a device event names the pass only: read it whole (a pass deleted since is sent as named) */
        st = bb_host->pass_get(bb_self, ev->account_id, pass_id, &read);
        if (st == WP_OK) {
            pass = read;
        } else if (st != WP_ENOTFOUND) {
            bb_host->log(bb_self, WP_LOG_WARN, "event %s: pass %s not read: %s", ev->id, pass_id, bb_host->last_error());
            json_object_put(dests);
            return WP_RETRY;
        }
    }
    char created[40];
    const char *created_at = NULL;
    if (ev->size >= offsetof(wp_plugin_event, created_at) + sizeof ev->created_at) created_at = ev->created_at;
    if (!created_at) {
        bb_now_iso(created); /* a host that does not say: the fan-out time, within moments of the event */
        created_at = created;
    }
    const char *tpl = wpc_json_text(pass, "template_id");
    const char *device = dv && json_object_is_type(dv, json_type_string) ? json_object_get_string(dv) : NULL;
    wp_status out = WP_OK;
    for (size_t i = 0; i < n && out == WP_OK; i++) {
        json_object *d = json_object_array_get_idx(dests, i);
        const char *dest = wpc_json_text(d, "id"), *only = wpc_json_text(d, "template_id");
        if (only && *only && (!tpl || strcmp(only, tpl) != 0)) continue; /* another template's passes only */
        char did[BB_ID_MAX];
        if (bb_id_new("bdlv", did) != 0) {
            out = WP_RETRY;
            break;
        }
        json_object *flat = bb_flat_delivery(ev->id, ev->type, created_at, 0, dest, pass, changed, device, NULL);
        const char *text = json_object_to_json_string_ext(flat, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        const char *p[] = {ev->account_id, did, dest, ev->id, ev->type, text, created_at};
        json_object *rows = NULL;
        st = bb_host->db_query(
            bb_self, NULL,
            "WITH ins AS (INSERT INTO bubble_bridge_deliveries (account_id, id, destination_id, event_id, event_type, "
            "body, event_created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz, $7::timestamptz) "
            "ON CONFLICT (account_id, destination_id, event_id) DO NOTHING RETURNING id, attempts, status) "
            "SELECT id, attempts, status FROM ins UNION ALL "
            "SELECT id, attempts, status FROM bubble_bridge_deliveries WHERE account_id = $1 AND destination_id = $3 "
            "AND event_id = $4 AND NOT EXISTS (SELECT 1 FROM ins)",
            7, p, &rows);
        json_object_put(flat);
        if (st != WP_OK) {
            bb_host->log(bb_self, WP_LOG_WARN, "event %s: delivery to %s not stored: %s", ev->id, dest,
                         bb_host->last_error());
            out = WP_RETRY;
            break;
        }
        json_object *r = json_object_array_length(rows) ? json_object_array_get_idx(rows, 0) : NULL;
        /* attempts 0: the first attempt's job may not exist yet (a crash before it was queued) */
        if (r && wpc_json_int64(r, "attempts", 0) == 0 && strcmp(wpc_json_text(r, "status"), "pending") == 0 &&
            bb_enqueue_attempt(ev->account_id, wpc_json_text(r, "id"), 1, 0) != WP_OK) {
            bb_host->log(bb_self, WP_LOG_WARN, "event %s: attempt not queued: %s", ev->id, bb_host->last_error());
            out = WP_RETRY;
        }
        json_object_put(rows);
    }
    json_object_put(read);
    json_object_put(dests);
    if (out == WP_OK) bb_host->metrics_add(bb_self, "events_fanned_out_total", "Events turned into Bubble deliveries", 1);
    return out;
}

/* ---- one attempt -------------------------------------------------------------------------------- */

/* Response text as stored: printable ASCII, anything else '?'. */
static void clean_excerpt(char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x80 || (c < 0x20 && c != '\n' && c != '\t')) *s = '?';
    }
}

static const char *refused_reason(int code)
{
    return code == 401
               ? "Bubble answered 401 (unauthorized): the bearer token is missing, or is not one of the app's API "
                 "tokens (Bubble: Settings > API). Set bearer_token to an API token of the app, or let the workflow "
                 "run without authentication, then enable the destination again."
               : "Bubble answered 403 (forbidden): the token may not run this workflow, or the app's Workflow API is "
                 "off (Bubble: Settings > API, \"Enable Workflow API and backend workflows\"). Fix it in Bubble, then "
                 "enable the destination again.";
}

static wp_status send_attempt(const char *account_id, const char *delivery_id, json_object *d, int n, int test,
                              outbound_result *res)
{
    char url[2200];
    const char *dest = wpc_json_text(d, "destination_id"), *body = wpc_json_text(d, "body");
    snprintf(url, sizeof url, "%s%s", wpc_json_text(d, "url"), wpc_json_text(d, "url_suffix") ? wpc_json_text(d, "url_suffix") : "");
    memset(res, 0, sizeof *res);
    char pin[600] = "", token[BB_TOKEN_MAX + 1] = "", auth[BB_TOKEN_MAX + 32] = "";
    if (!test && !row_bool(d, "enabled")) {
        snprintf(res->error, sizeof res->error, "destination disabled");
    } else if (bb_host->url_check(bb_self, url, pin, sizeof pin) != WP_OK) {
        snprintf(res->error, sizeof res->error, "refused: %s", bb_host->last_error());
    } else if (wpc_json_text(d, "token_sealed") && bb_token_open(account_id, dest, wpc_json_text(d, "token_sealed"), token) != WP_OK) {
        snprintf(res->error, sizeof res->error, "bearer token does not open (master key changed?)");
    } else {
        char evh[96];
        snprintf(evh, sizeof evh, "WalletPass-Event-Id: %s", wpc_json_text(d, "event_id"));
        if (token[0]) snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        memset(token, 0, sizeof token);
        const char *hdrs[] = {"Content-Type: application/json", evh, auth[0] ? auth : NULL, NULL};
        long tmo = test && bb_cfg.test_timeout_ms < bb_cfg.timeout_ms ? bb_cfg.test_timeout_ms : bb_cfg.timeout_ms;
        outbound_opts o = {bb_cfg.connect_timeout_ms < tmo ? bb_cfg.connect_timeout_ms : tmo, tmo,
                           bb_cfg.max_response_bytes, bb_cfg.allow_http, "WalletPass-Bubble/1.0"};
        outbound_send(url, pin, hdrs, body, strlen(body), &o, res);
        memset(auth, 0, sizeof auth);
    }
    clean_excerpt(res->excerpt);
    int ok = res->status_code >= 200 && res->status_code < 300;
    int refused = res->status_code == 401 || res->status_code == 403;
    long ra = res->retry_after_s > OUTBOUND_RETRY_AFTER_MAX ? OUTBOUND_RETRY_AFTER_MAX : res->retry_after_s;
    if (!ok && !res->error[0]) {
        if (refused) snprintf(res->error, sizeof res->error, "HTTP %d: the destination is disabled", res->status_code);
        else if (ra > 0) snprintf(res->error, sizeof res->error, "HTTP %d, Retry-After %ld s", res->status_code, ra);
        else snprintf(res->error, sizeof res->error, "HTTP %d", res->status_code);
    }
    char sn[16], code[16], off[32], after[24];
    snprintf(after, sizeof after, "%ld", ok ? 0 : ra);
    snprintf(sn, sizeof sn, "%d", n);
    snprintf(code, sizeof code, "%d", res->status_code);
    snprintf(off, sizeof off, "%.3f", n < OUTBOUND_ATTEMPTS ? outbound_schedule_s[n] * bb_cfg.retry_scale : 0.0);
    const char *p[] = {account_id, delivery_id, sn, res->status_code ? code : NULL, ok ? NULL : res->error,
                       ok ? "true" : "false", off, after, refused ? "true" : "false", dest,
                       refused ? refused_reason(res->status_code) : NULL};
    json_object *rows = NULL;
    wp_status st = bb_host->db_query(
        bb_self, NULL,
        "WITH off AS (UPDATE bubble_bridge_destinations SET enabled = false, disabled_reason = $11, "
        "disabled_at = now(), updated_at = now() WHERE $9::boolean AND account_id = $1 AND id = $10) "
        "UPDATE bubble_bridge_deliveries SET attempts = $3::int, "
        "status = CASE WHEN $6::boolean THEN 'succeeded' WHEN $9::boolean OR $3::int >= max_attempts THEN 'failed' "
        "ELSE 'pending' END, "
        "next_attempt_at = CASE WHEN $6::boolean OR $9::boolean OR $3::int >= max_attempts THEN NULL "
        "ELSE greatest(now(), event_created_at + make_interval(secs => $7::float8), "
        "now() + make_interval(secs => $8::int)) END, "
        "last_status_code = $4::int, last_error = $5, locked_until = NULL, updated_at = now() "
        "WHERE account_id = $1 AND id = $2 "
        "RETURNING status, (extract(epoch FROM next_attempt_at) * 1000)::bigint AS next_ms",
        11, p, &rows);
    if (st != WP_OK) {
        bb_host->log(bb_self, WP_LOG_WARN, "delivery %s attempt %d not recorded: %s", delivery_id, n,
                     bb_host->last_error());
        return WP_RETRY;
    }
    if (refused)
        bb_host->log(bb_self, WP_LOG_WARN, "destination %s disabled: Bubble answered %d", dest, res->status_code);
    bb_host->metrics_add(bb_self, ok ? "attempts_succeeded_total" : "attempts_failed_total",
                         ok ? "Bubble deliveries answered 2xx" : "Bubble delivery attempts that failed", 1);
    json_object *r = json_object_array_length(rows) ? json_object_array_get_idx(rows, 0) : NULL;
    if (r && strcmp(wpc_json_text(r, "status"), "pending") == 0 &&
        bb_enqueue_attempt(account_id, delivery_id, n + 1, wpc_json_int64(r, "next_ms", 0)) != WP_OK) {
        bb_host->log(bb_self, WP_LOG_WARN, "delivery %s: attempt %d not queued: %s", delivery_id, n + 1,
                     bb_host->last_error());
        json_object_put(rows);
        return WP_RETRY; /* this job runs again, finds attempt n recorded and queues n + 1 */
    }
    json_object_put(rows);
    return WP_OK;
}

wp_status bb_attempt_run(const char *account_id, const char *delivery_id, int n, int test)
{
    const char *p[] = {account_id, delivery_id};
    json_object *rows = NULL;
    wp_status st = bb_host->db_query(
        bb_self, NULL,
        "SELECT d.destination_id, d.event_id, d.body, d.url_suffix, d.status, d.attempts, d.max_attempts, "
        "(extract(epoch FROM d.next_attempt_at) * 1000)::bigint AS next_ms, "
        "(extract(epoch FROM d.locked_until) * 1000)::bigint AS locked_ms, x.url, x.enabled, x.token_sealed "
        "FROM bubble_bridge_deliveries d JOIN bubble_bridge_destinations x ON x.account_id = d.account_id "
        "AND x.id = d.destination_id WHERE d.account_id = $1 AND d.id = $2",
        2, p, &rows);
    if (st != WP_OK) {
        bb_host->log(bb_self, WP_LOG_WARN, "delivery %s not read: %s", delivery_id, bb_host->last_error());
        return WP_RETRY;
    }
    json_object *d = json_object_array_length(rows) ? json_object_array_get_idx(rows, 0) : NULL;
    if (!d || strcmp(wpc_json_text(d, "status"), "pending") != 0) goto nothing; /* deleted, or finished */
    int done = (int)wpc_json_int64(d, "attempts", 0), max = (int)wpc_json_int64(d, "max_attempts", 0);
    if (done >= n) {
        /* run again after a crash: the attempt is recorded; its successor may not be queued */
        if (done == n && done < max && bb_enqueue_attempt(account_id, delivery_id, n + 1, wpc_json_int64(d, "next_ms", 0)) != WP_OK) {
            json_object_put(rows);
            return WP_RETRY;
        }
        goto nothing;
    }
    if (done < n - 1 || n > max) goto nothing;
    const char *dest = wpc_json_text(d, "destination_id");
    if (!test && !bb_slot_acquire(dest)) {
        st = bb_enqueue_attempt(account_id, delivery_id, n, bb_now_ms() + bb_cfg.defer_ms);
        json_object_put(rows);
        return st == WP_OK ? WP_OK : WP_RETRY;
    }
    char sn[16], lease[24];
    snprintf(sn, sizeof sn, "%d", n - 1);
    /* the claim outlives the attempt (its total timeout) by a margin: what a rerun after a crash waits for */
    snprintf(lease, sizeof lease, "%ld", bb_cfg.timeout_ms / 1000 + 5);
    const char *pc[] = {account_id, delivery_id, sn, lease};
    json_object *claimed = NULL;
    st = bb_host->db_query(bb_self, NULL,
                           "UPDATE bubble_bridge_deliveries SET locked_until = now() + make_interval(secs => $4::int) "
                           "WHERE account_id = $1 AND id = $2 AND status = 'pending' AND attempts = $3::int "
                           "AND (locked_until IS NULL OR locked_until < now()) RETURNING id",
                           4, pc, &claimed);
    if (st != WP_OK || json_object_array_length(claimed) == 0) {
        if (!test) bb_slot_release(dest);
        if (st != WP_OK) {
            bb_host->log(bb_self, WP_LOG_WARN, "delivery %s not claimed: %s", delivery_id, bb_host->last_error());
        } else if (wpc_json_int64(d, "locked_ms", 0) > bb_now_ms()) {
            /* another worker holds it, or a dead process did: look again when the claim expires */
            st = bb_enqueue_attempt(account_id, delivery_id, n, wpc_json_int64(d, "locked_ms", 0) + 100);
        }
        json_object_put(claimed);
        json_object_put(rows);
        return st == WP_OK ? WP_OK : WP_RETRY;
    }
    json_object_put(claimed);
    outbound_result res;
    st = send_attempt(account_id, delivery_id, d, n, test, &res);
    if (!test) bb_slot_release(dest);
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
        bb_host->log(bb_self, WP_LOG_ERROR, "job %s: malformed payload", job->id);
        return WP_FAIL;
    }
    return bb_attempt_run(json_object_get_string(a), json_object_get_string(d), json_object_get_int(n), 0);
}

wp_status bb_deliver_register(void)
{
    /* Job-level retries cover only the database failing around an attempt; the delivery
     * schedule itself is one job per attempt. */
    static const uint32_t backoff[] = {1, 5, 30, 120};
    wp_retry_policy retry = WP_RETRY_POLICY_INIT;
    retry.max_attempts = 5;
    retry.backoff_s = backoff;
    retry.nbackoff = 4;
    wp_status st = bb_host->job_register(bb_self, BB_JOB_KIND, on_attempt, NULL, &retry);
    /* the data shapes of docs/plugins.md's event table, schema 1 */
    wp_subscribe_options o = WP_SUBSCRIBE_OPTIONS_INIT;
    o.schema_min = 1;
    o.schema_max = 1;
    for (const char *const *t = bb_event_types; st == WP_OK && *t; t++)
        st = bb_host->subscribe_ex(bb_self, *t, on_event, NULL, &o);
    return st;
}
