/*
 * apns.c - the apns plugin: Apple's pass web service and an APNs push on
 * every change of a pass (Apple's Wallet developer documentation).
 *
 * Web service (under webServiceURL = public_url + "/apple", which the
 * apple-signer writes into every pass):
 *   POST   /apple/v1/devices/:device/registrations/:ptid/:serial   register (201 new, 200 known)
 *   DELETE /apple/v1/devices/:device/registrations/:ptid/:serial   unregister (200)
 *   GET    /apple/v1/devices/:device/registrations/:ptid           serials updated since a tag (200 / 204)
 *   GET|HEAD /apple/v1/passes/:ptid/:serial                        the latest signed pass (200 / 304)
 *   POST   /apple/v1/log                                           Wallet's error messages (200)
 * API (API key):
 *   GET /api/v1/passes/:id/devices    devices registered for a pass, last push result
 *   GET /api/v1/apple/logs            the account's Wallet log lines
 * Events: subscribes to pass.updated, pass.voided, pass.notify (one push per
 * registered device); publishes pass.installed and pass.removed.
 * Job: apns.push retries pushes APNs answered 429/5xx (or never answered).
 *
 * The bundle itself comes from the apple-signer through the hook
 * "apple.pkpass.build", and a device is authenticated by it through
 * "apple.pass.authenticate" (the token is the apple-signer's per-pass
 * secret; no HTTP call between plugins).  A notification
 * message travels as the back field "wp_message" with changeMessage "%@".
 *
 * Threads: handlers run concurrently; the configuration is written in init
 * only; the APNs connections lock (apns_client.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
/* pass_authenticate (1.4) is what the web service stands on; init checks it. */
#define WP_REQUIRE_ABI_MINOR 4
#include <walletpass/plugin.h>
#include <walletpass/plugin_config.h>

#include "apns_client.h"
#include "wpc_cred.h"
#include "wpc_json.h"
#include "wpc_time.h"

static const wp_host *host;
static wp_plugin *self;
/* Written by init from the configuration (apns_keys), read-only afterwards. */
static apns_conf conf;
/* a batch that finds APNs busy (its connection, or max_concurrency) is queued again this much later */
static long conf_defer_ms;
/* POST /apple/v1/log: calls per second for the whole process, and the burst */
static double conf_log_rate;
static double conf_log_burst;

#define MAX_ATTEMPTS 5
static const int retry_delay_s[] = {2, 10, 60, 300};
#define RETRY_AFTER_MAX 3600 /* the longest Retry-After honoured, seconds */
#define MESSAGE_KEY "wp_message"
#define MAX_LOG_LINES 100
#define MAX_LOG_CHARS 4096
#define MAX_TOKEN 4096

static const char *row_str(json_object *rows, size_t i, const char *k)
{
    return wpc_json_str(json_object_array_get_idx(rows, i), k);
}

/* ---- small helpers ---------------------------------------------------------- */

/* Printable ASCII without '/', 1..max characters (identifiers travel in URL paths). */
static int ident_ok(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e || s[i] == '/') return 0;
    return 1;
}

/* A serial number as the API lets a pass have one: letters, digits, '-', '_', '.', at most 64. */
static int serial_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.'))
            return 0;
    }
    return 1;
}

/*
 * The identifiers in a web-service path, checked before anything is looked
 * up: one that no pass or device can have is a malformed request (400
 * naming it), not a lookup that happens to fail.  Returns 1 when all are
 * well formed, else 0 after sending the 400.
 */
static int path_ok(wp_req *req)
{
    const char *device = host->req_param(req, "device"), *ptid = host->req_param(req, "ptid");
    const char *serial = host->req_param(req, "serial");
    if (device && !ident_ok(device, 128)) {
        host->resp_error(req, 400, "parameter_invalid", "deviceLibraryIdentifier",
                         "deviceLibraryIdentifier must be 1 to 128 printable characters");
        return 0;
    }
    if (ptid && !ident_ok(ptid, 255)) {
        host->resp_error(req, 400, "parameter_invalid", "passTypeIdentifier",
                         "passTypeIdentifier must be 1 to 255 printable characters");
        return 0;
    }
    if (serial && !serial_ok(serial)) {
        host->resp_error(req, 400, "parameter_invalid", "serialNumber",
                         "serialNumber may hold only letters, digits, '-', '_' and '.' (1 to 64)");
        return 0;
    }
    return 1;
}

static void publish_device(wp_req *req, const char *account, const char *type, const char *pass_id,
                           const char *serial, const char *device)
{
    json_object *data = json_object_new_object(), *p = json_object_new_object();
    json_object_object_add(p, "id", json_object_new_string(pass_id));
    json_object_object_add(p, "serial_number", json_object_new_string(serial));
    json_object_object_add(data, "schema", json_object_new_int(1));
    json_object_object_add(data, "pass", p);
    json_object_object_add(data, "device_library_identifier", json_object_new_string(device));
    if (host->publish(self, req, account, type, data, NULL, 0) != WP_OK)
        host->log(self, WP_LOG_WARN, "%s for pass %s not published: %s", type, pass_id, host->last_error());
    json_object_put(data);
}

/* ---- authentication of the device calls ------------------------------------- */

/*
 * The pass (ptid, serial) whose authentication token is `token`, through the
 * apple-signer's hook "apple.pass.authenticate" (every account holding that
 * pass type identifier and serial is a candidate, each token compared in
 * constant time).  WP_OK with *pass (transferred), WP_EAUTH alike for an
 * unknown pass and a wrong token, WP_EUNAVAIL when it could not be checked.
 */
static wp_status authenticate(wp_req *req, const char *ptid, const char *serial, const char *token, json_object **pass)
{
    *pass = NULL;
    if (!ptid || !serial || !token) return WP_EAUTH;
    json_object *doc = json_object_new_object();
    if (!doc) return WP_EUNAVAIL;
    json_object_object_add(doc, "schema", json_object_new_int(1));
    json_object_object_add(doc, "pass_type_identifier", json_object_new_string(ptid));
    json_object_object_add(doc, "serial_number", json_object_new_string(serial));
    json_object_object_add(doc, "authentication_token", json_object_new_string(token));
    wp_err *err = host->err_new(req);
    wp_status st = WP_EAUTH;
    if (!err || host->hook_run("apple.pass.authenticate", doc, req, err) == WP_FILTER_REJECT || wpc_json_get(doc, "unavailable")) {
        st = WP_EUNAVAIL;
    } else if (wpc_json_get(doc, "pass") && json_object_is_type(wpc_json_get(doc, "pass"), json_type_object)) {
        *pass = json_object_get(wpc_json_get(doc, "pass"));
        st = WP_OK;
    }
    json_object *t = wpc_json_get(doc, "authentication_token");
    if (t) OPENSSL_cleanse((char *)json_object_get_string(t), (size_t)json_object_get_string_len(t));
    json_object_put(doc);
    return st;
}

/*
 * Finds the pass named by :ptid/:serial whose token is the one in
 * "Authorization: ApplePass <authenticationToken>" (authenticate above).
 * Returns the pass (transferred) or NULL after sending 401 or 503.  An
 * unknown serial and a wrong token get the same 401, so the service tells
 * nobody which serials exist.
 */
static json_object *authorize(wp_req *req)
{
    const char *ptid = host->req_param(req, "ptid"), *serial = host->req_param(req, "serial");
    const char *h = host->req_header(req, "Authorization");
    if (!h || strncmp(h, "ApplePass ", 10) != 0 || !h[10]) {
        host->resp_header(req, "WWW-Authenticate", "ApplePass");
        host->resp_error(req, 401, "pass_token_missing", NULL, "send Authorization: ApplePass <authenticationToken>");
        return NULL;
    }
    json_object *pass = NULL;
    wp_status st = authenticate(req, ptid, serial, h + 10, &pass);
    if (st == WP_EAUTH) {
        host->resp_header(req, "WWW-Authenticate", "ApplePass");
        host->resp_error(req, 401, "pass_token_invalid", NULL,
                         "no pass with this pass type identifier and serial number has this authentication token");
        return NULL;
    }
    if (st != WP_OK) {
        host->log(self, WP_LOG_WARN, "%s: the pass could not be read: %s", host->req_id(req), host->last_error());
        host->resp_header(req, "Retry-After", "1");
        host->resp_error(req, 503, "pass_unavailable", NULL, "the pass could not be read; retry");
        return NULL;
    }
    return pass;
}

/* ---- POST/DELETE /apple/v1/devices/:device/registrations/:ptid/:serial ------ */

/*
 * The pass of a deleted account (the core's "account_deleted" in pass_get):
 * it stops updating, so a device neither registers for it nor fetches it
 * again (410, like its links); unregistering still works.  1 when the 410
 * was sent (pass released).
 */
static int gone(wp_req *req, json_object *pass)
{
    json_object *d = wpc_json_get(pass, "account_deleted");
    if (!d || !json_object_get_boolean(d)) return 0;
    host->resp_error(req, 410, "account_deleted", NULL, "the account of this pass was deleted");
    json_object_put(pass);
    return 1;
}

static void register_device(wp_req *req, void *ud)
{
    (void)ud;
    if (!path_ok(req)) return;
    json_object *pass = authorize(req);
    if (!pass || gone(req, pass)) return;
    json_object *in = NULL, *rows = NULL;
    const char *device = host->req_param(req, "device"), *ptid = host->req_param(req, "ptid");
    wp_err *err = host->err_new(req);
    if (!ident_ok(device, 128)) {
        host->resp_error(req, 400, "parameter_invalid", "deviceLibraryIdentifier",
                         "deviceLibraryIdentifier must be 1 to 128 printable characters");
        goto done;
    }
    if (host->req_json(req, &in, err) != WP_OK) {
        host->resp_err(req, err);
        goto done;
    }
    const char *token = wpc_json_str(in, "pushToken");
    if (!json_object_is_type(in, json_type_object) || !token || !*token || strlen(token) > MAX_TOKEN) {
        host->resp_error(req, 400, token && *token ? "parameter_invalid" : "parameter_missing", "pushToken",
                         "pushToken must be a string of 1 to %d characters", MAX_TOKEN);
        goto done;
    }
    const char *account = wpc_json_str(pass, "owner_account_id"), *pass_id = wpc_json_str(pass, "id"),
               *serial = wpc_json_str(pass, "serial_number");
    const char *p[] = {account, device, ptid, serial, token, pass_id};
    wp_status st = host->db_query(self, req,
                                  "INSERT INTO apns_registrations (account_id, device_library_identifier,"
                                  " pass_type_identifier, serial_number, push_token, pass_id) VALUES ($1, $2, $3, $4, $5, $6)"
                                  " ON CONFLICT (account_id, device_library_identifier, pass_type_identifier, serial_number)"
                                  " DO UPDATE SET push_token = EXCLUDED.push_token, pass_id = EXCLUDED.pass_id,"
                                  " updated_at = now() RETURNING (xmax = 0) AS created",
                                  6, p, &rows);
    /* a new push token of a known device replaces the old one everywhere */
    if (st == WP_OK)
        st = host->db_query(self, req,
                            "UPDATE apns_registrations SET push_token = $3, updated_at = now()"
                            " WHERE account_id = $1 AND device_library_identifier = $2 AND push_token <> $3",
                            3, (const char *const[]){account, device, token}, NULL);
    if (st == WP_OK)
        st = host->db_query(self, req,
                            "INSERT INTO apns_passes (account_id, pass_id, serial_number, tag, modified_s)"
                            " VALUES ($1, $2, $3, coalesce((SELECT last_tag FROM apns_accounts WHERE account_id = $1), 0), 0)"
                            " ON CONFLICT (account_id, pass_id) DO NOTHING",
                            3, (const char *const[]){account, pass_id, serial}, NULL);
    if (st != WP_OK) {
        host->resp_error(req, 503, "registration_unavailable", NULL, "the registration could not be stored: %s",
                         host->last_error());
        goto done;
    }
    json_object *created = wpc_json_get(json_object_array_get_idx(rows, 0), "created");
    int is_new = created && json_object_get_boolean(created);
    if (is_new) publish_device(req, account, "pass.installed", pass_id, serial, device);
    host->resp_header(req, "Cache-Control", "no-store");
    host->resp_raw(req, is_new ? 201 : 200, "application/json", "{}", 2);
    host->metrics_add(self, "registrations_total", "device registrations (new)", is_new ? 1 : 0);
done:
    json_object_put(rows);
    json_object_put(in);
    json_object_put(pass);
}

static void unregister_device(wp_req *req, void *ud)
{
    (void)ud;
    if (!path_ok(req)) return;
    json_object *pass = authorize(req);
    if (!pass) return;
    json_object *rows = NULL;
    const char *device = host->req_param(req, "device"), *ptid = host->req_param(req, "ptid");
    const char *account = wpc_json_str(pass, "owner_account_id"), *pass_id = wpc_json_str(pass, "id"),
               *serial = wpc_json_str(pass, "serial_number");
    const char *p[] = {account, device, ptid, serial};
    if (host->db_query(self, req,
                       "DELETE FROM apns_registrations WHERE account_id = $1 AND device_library_identifier = $2"
                       " AND pass_type_identifier = $3 AND serial_number = $4 RETURNING 1 AS gone",
                       4, p, &rows) != WP_OK) {
        host->resp_error(req, 503, "registration_unavailable", NULL, "the registration could not be removed: %s",
                         host->last_error());
    } else {
        if (json_object_array_length(rows) > 0) publish_device(req, account, "pass.removed", pass_id, serial, device);
        host->resp_header(req, "Cache-Control", "no-store");
        host->resp_raw(req, 200, "application/json", "{}", 2);
    }
    json_object_put(rows);
    json_object_put(pass);
}

/* ---- GET /apple/v1/devices/:device/registrations/:ptid ---------------------- */

static void list_serials(wp_req *req, void *ud)
{
    (void)ud;
    if (!path_ok(req)) return;
    const char *device = host->req_param(req, "device"), *ptid = host->req_param(req, "ptid");
    char since[64] = "", tagbuf[32] = "-1";
    /* Apple's archive names it passesUpdatedSince, the current pages previousLastUpdated */
    int has = host->req_query(req, "passesUpdatedSince", since, sizeof since);
    if (has != 1) has = host->req_query(req, "previousLastUpdated", since, sizeof since);
    if (has == 1 && since[0]) {
        /* an unknown tag format (another server's) is treated as "no tag": all serials */
        char *end = NULL;
        long long v = strtoll(since, &end, 10);
        if (end && !*end && v >= 0) snprintf(tagbuf, sizeof tagbuf, "%lld", v);
    }
    json_object *rows = NULL;
    const char *p[] = {device, ptid, tagbuf};
    if (host->db_query(self, NULL,
                       "SELECT r.serial_number, p.tag::text AS tag FROM apns_registrations r JOIN apns_passes p"
                       " ON p.account_id = r.account_id AND p.pass_id = r.pass_id"
                       " WHERE r.device_library_identifier = $1 AND r.pass_type_identifier = $2 AND p.tag > $3::bigint"
                       " ORDER BY p.tag, r.serial_number",
                       3, p, &rows) != WP_OK) {
        host->resp_error(req, 503, "registrations_unavailable", NULL, "the registrations could not be read: %s",
                         host->last_error());
        return;
    }
    host->resp_header(req, "Cache-Control", "no-store");
    size_t n = json_object_array_length(rows);
    if (n == 0) {
        host->resp_raw(req, 204, NULL, NULL, 0);
        json_object_put(rows);
        return;
    }
    json_object *out = json_object_new_object(), *serials = json_object_new_array();
    for (size_t i = 0; i < n; i++) json_object_array_add(serials, json_object_new_string(row_str(rows, i, "serial_number")));
    json_object_object_add(out, "serialNumbers", serials);
    /* rows are ordered by tag: the last is the newest, strictly later than the request's */
    json_object_object_add(out, "lastUpdated", json_object_new_string(row_str(rows, n - 1, "tag")));
    host->resp_json(req, 200, out);
    json_object_put(out);
    json_object_put(rows);
}

/* ---- GET|HEAD /apple/v1/passes/:ptid/:serial -------------------------------- */

/*
 * What a fetch needs of the pass's apns_passes row: its Last-Modified second
 * and its last message.  Every device fetch reads it, so it is kept in the
 * gateway's memory beside the pass's row (pass_memo_*, ABI 1.10) as
 * "<modified_s>\0<'1' message_id | '0'>\0<'1' message | '0'>\0"; the table's
 * trigger (migrations/0002) makes every process forget it on a change.
 */
typedef struct pass_state {
    long long modified_s;
    const char *message, *message_id; /* NULL when none; point into buf */
    char *buf;                        /* owned: free() */
} pass_state;

/* Splits an encoded state (buf owned by st) into its fields: 0 when malformed. */
static int state_decode(pass_state *st, char *buf, size_t len)
{
    st->buf = buf;
    char *f[3], *p = buf, *end = buf + len;
    for (int i = 0; i < 3; i++) {
        char *nul = memchr(p, '\0', (size_t)(end - p));
        if (!nul) return 0;
        f[i] = p;
        p = nul + 1;
    }
    st->modified_s = atoll(f[0]);
    st->message_id = f[1][0] == '1' ? f[1] + 1 : NULL;
    st->message = f[2][0] == '1' ? f[2] + 1 : NULL;
    return p == end;
}

static wp_status pass_state_read(wp_req *req, const char *account, const char *pass_id, pass_state *st)
{
    memset(st, 0, sizeof st[0]);
    int memo = WP_HOST_HAS(host, pass_memo_get);
    uint64_t gen = 0;
    size_t len = 0;
    char small[2048];
    if (memo) {
        wp_status m = host->pass_memo_get(self, account, pass_id, small, sizeof small, &len, &gen);
        if (m == WP_OK) {
            char *buf = malloc(len);
            if (buf) {
                memcpy(buf, small, len);
                if (state_decode(st, buf, len)) return WP_OK;
                free(buf);
                memset(st, 0, sizeof st[0]);
            }
        }
    }
    json_object *rows = NULL;
    if (host->db_query(self, req,
                       "SELECT modified_s::text AS modified_s, message, message_id FROM apns_passes"
                       " WHERE account_id = $1 AND pass_id = $2",
                       2, (const char *const[]){account, pass_id}, &rows) != WP_OK)
        return WP_EUNAVAIL;
    json_object *row = json_object_array_get_idx(rows, 0);
    const char *ms = row ? wpc_json_str(row, "modified_s") : NULL, *mid = row ? wpc_json_str(row, "message_id") : NULL,
               *msg = row ? wpc_json_str(row, "message") : NULL;
    if (!ms) ms = "0";
    size_t lm = strlen(ms), li = mid ? strlen(mid) : 0, lg = msg ? strlen(msg) : 0;
    len = lm + 1 + 1 + li + 1 + 1 + lg + 1;
    char *buf = malloc(len);
    if (!buf) {
        json_object_put(rows);
        return WP_ENOMEM;
    }
    char *p = buf;
    memcpy(p, ms, lm + 1);
    p += lm + 1;
    *p++ = mid ? '1' : '0';
    if (mid) memcpy(p, mid, li);
    p += li;
    *p++ = '\0';
    *p++ = msg ? '1' : '0';
    if (msg) memcpy(p, msg, lg);
    p += lg;
    *p++ = '\0';
    json_object_put(rows);
    if (memo && len <= 65536) (void)host->pass_memo_put(self, account, pass_id, buf, len, gen); /* kept or not: both fine */
    if (!state_decode(st, buf, len)) {
        free(buf);
        memset(st, 0, sizeof st[0]);
        return WP_EINTERNAL;
    }
    return WP_OK;
}

static void get_pass(wp_req *req, void *ud)
{
    (void)ud;
    if (!path_ok(req)) return;
    json_object *pass = authorize(req);
    if (!pass || gone(req, pass)) return;
    json_object *doc = NULL;
    pass_state ps = {0};
    const char *account = wpc_json_str(pass, "owner_account_id"), *pass_id = wpc_json_str(pass, "id");
    if (pass_state_read(req, account, pass_id, &ps) != WP_OK) {
        host->resp_error(req, 503, "pass_unavailable", NULL, "the pass could not be read: %s", host->last_error());
        goto done;
    }
    /* Last-Modified: whole seconds; modified_s moves by at least one second per
     * change (apns_passes), so a change within the second of the previous one
     * is not hidden by If-Modified-Since. */
    long long m = wpc_time_iso_parse(wpc_json_str(pass, "updated_at"));
    if (ps.modified_s > m) m = ps.modified_s;
    long long now = (long long)time(NULL), lm = m > now ? now : m;
    char lmh[64];
    wpc_time_http_format(lm, lmh, sizeof lmh);
    host->resp_header(req, "Last-Modified", lmh);
    host->resp_header(req, "Cache-Control", "no-cache");
    long long ims = wpc_time_http_parse(host->req_header(req, "If-Modified-Since"));
    if (ims >= 0 && ims >= m) {
        host->resp_raw(req, 304, NULL, NULL, 0);
        goto done;
    }
    const char *message = ps.message, *mid = ps.message_id;
    doc = json_object_new_object();
    json_object_object_add(doc, "schema", json_object_new_int(1));
    json_object_object_add(doc, "account_id", json_object_new_string(account));
    json_object_object_add(doc, "pass_id", json_object_new_string(pass_id));
    json_object_object_add(doc, "pass", json_object_get(pass)); /* read above: not read again */
    json_object_object_add(doc, "respond", json_object_new_boolean(1)); /* the signer sends the bytes itself */
    json_object_object_add(doc, "variant", message ? json_object_new_string(mid ? mid : "m") : NULL);
    if (message) {
        json_object *f = json_object_new_object(), *a = json_object_new_array();
        json_object_object_add(f, "key", json_object_new_string(MESSAGE_KEY));
        json_object_object_add(f, "label", json_object_new_string("Message"));
        json_object_object_add(f, "value", json_object_new_string(message));
        json_object_object_add(f, "changeMessage", json_object_new_string("%@"));
        json_object_array_add(a, f);
        json_object_object_add(doc, "back_fields", a);
    }
    wp_err *err = host->err_new(req);
    if (host->hook_run("apple.pkpass.build", doc, req, err) == WP_FILTER_REJECT) {
        host->resp_err(req, err);
        goto done;
    }
    json_object *responded = wpc_json_get(doc, "responded");
    if (responded && json_object_get_boolean(responded)) goto done;
    /* an apple-signer that hands the bundle back instead */
    const char *b64 = wpc_json_str(doc, "pkpass_base64");
    if (!b64) {
        host->resp_error(req, 503, "apple_signer_missing", NULL,
                         "no plugin builds .pkpass bundles: load the apple-signer plugin");
        goto done;
    }
    size_t bl = strlen(b64);
    unsigned char *bytes = malloc(bl / 4 * 3 + 3);
    int n = bytes ? EVP_DecodeBlock(bytes, (const unsigned char *)b64, (int)bl) : -1;
    if (n < 0) {
        free(bytes);
        host->resp_error(req, 500, "pkpass_invalid", NULL, "the bundle could not be decoded");
        goto done;
    }
    if (bl >= 1 && b64[bl - 1] == '=') n--;
    if (bl >= 2 && b64[bl - 2] == '=') n--;
    if (wpc_json_str(doc, "etag")) host->resp_header(req, "ETag", wpc_json_str(doc, "etag"));
    host->resp_raw(req, 200, "application/vnd.apple.pkpass", bytes, (size_t)n);
    free(bytes);
done:
    free(ps.buf);
    json_object_put(doc);
    json_object_put(pass);
}

/* ---- POST /apple/v1/log ------------------------------------------------------ */

/*
 * Wallet posts its error messages here with no credentials, so the text of a
 * line proves nothing about whose pass it is about.  A line reaches a
 * tenant's log (apns_logs, GET /api/v1/apple/logs) only when the call carries
 * "Authorization: ApplePass <token>" and the line names the pass type and
 * serial number of a pass that token authenticates; every other line goes to
 * the server log only (operators), control characters replaced, cut short.
 * Calls are rate-limited for the whole process (log_rate_per_second,
 * log_burst) and bounded (MAX_LOG_BODY bytes, MAX_LOG_LINES lines).
 */
#define MAX_LOG_BODY 65536
#define SERVER_LOG_LINES 20
#define SERVER_LOG_CHARS 512
#define LOG_PASSES 4 /* distinct passes one call may attribute lines to */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static double log_tokens = -1, log_last; /* the bucket; -1: full, not yet used */

/* 1 when a call may proceed (token bucket; rate 0 disables the limit). */
static int log_rate_ok(void)
{
    if (conf_log_rate <= 0) return 1;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    pthread_mutex_lock(&log_mu);
    if (log_tokens < 0) log_tokens = conf_log_burst;
    else log_tokens += (now - log_last) * conf_log_rate;
    if (log_tokens > conf_log_burst) log_tokens = conf_log_burst;
    log_last = now;
    int ok = log_tokens >= 1;
    if (ok) log_tokens -= 1;
    pthread_mutex_unlock(&log_mu);
    return ok;
}

/* Copies the value after `label` up to a ',', ')' or space into out; 0 when absent or too long. */
static int line_value(const char *line, const char *label, char *out, size_t len)
{
    const char *p = strstr(line, label);
    if (!p) return 0;
    p += strlen(label);
    size_t n = strcspn(p, ",) \t\r\n");
    if (n == 0 || n >= len) return 0;
    memcpy(out, p, n);
    out[n] = '\0';
    return 1;
}

typedef struct log_pass {
    char ptid[256], serial[256], account[64];
    int ok;
} log_pass;

/*
 * The account a line may be attributed to: the owner of the pass it names
 * ("pass type <ptid>, serial number <serial>", as Wallet writes them) when
 * the call's ApplePass token authenticates that pass; NULL otherwise.
 * seen caches the passes already tried in this call.
 */
static const char *line_account(const char *line, const char *token, log_pass *seen, int *nseen)
{
    char ptid[256], serial[256];
    if (!token || !line_value(line, "pass type ", ptid, sizeof ptid) ||
        !line_value(line, "serial number ", serial, sizeof serial))
        return NULL;
    for (int i = 0; i < *nseen; i++)
        if (strcmp(seen[i].ptid, ptid) == 0 && strcmp(seen[i].serial, serial) == 0)
            return seen[i].ok ? seen[i].account : NULL;
    if (*nseen >= LOG_PASSES) return NULL;
    log_pass *lp = &seen[(*nseen)++];
    snprintf(lp->ptid, sizeof lp->ptid, "%s", ptid);
    snprintf(lp->serial, sizeof lp->serial, "%s", serial);
    json_object *pass = NULL;
    lp->ok = authenticate(NULL, ptid, serial, token, &pass) == WP_OK && wpc_json_str(pass, "owner_account_id");
    if (lp->ok) snprintf(lp->account, sizeof lp->account, "%s", wpc_json_str(pass, "owner_account_id"));
    json_object_put(pass);
    return lp->ok ? lp->account : NULL;
}

/* One line for the server log: control characters replaced, cut on a character boundary. */
static void server_log_line(const char *s)
{
    char clean[SERVER_LOG_CHARS + 4];
    size_t n = strlen(s), o = 0;
    if (n > SERVER_LOG_CHARS) {
        n = SERVER_LOG_CHARS;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    }
    for (size_t i = 0; i < n; i++) clean[o++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    clean[o] = '\0';
    host->log(self, WP_LOG_INFO, "Wallet log (unattributed): %s%s", clean, n < strlen(s) ? "..." : "");
}

static void device_log(wp_req *req, void *ud)
{
    (void)ud;
    if (!log_rate_ok()) {
        host->resp_header(req, "Retry-After", "1");
        host->resp_error(req, 429, "rate_limited", NULL, "too many log calls; retry later");
        return;
    }
    const char *raw = NULL;
    size_t raw_len = 0;
    wp_status bst = host->req_body(req, &raw, &raw_len);
    if (bst == WP_ETOOLARGE || (bst == WP_OK && raw_len > MAX_LOG_BODY)) {
        host->resp_error(req, 413, "payload_too_large", "logs", "a log call carries at most %d bytes", MAX_LOG_BODY);
        return;
    }
    if (bst != WP_OK) {
        host->resp_error(req, 400, "body_unreadable", NULL, "the body could not be read: %s", host->last_error());
        return;
    }
    json_object *in = NULL, *rows = NULL;
    wp_err *err = host->err_new(req);
    if (host->req_json(req, &in, err) != WP_OK) {
        host->resp_err(req, err);
        return;
    }
    json_object *logs = wpc_json_get(in, "logs");
    if (!json_object_is_type(in, json_type_object) || !logs || !json_object_is_type(logs, json_type_array)) {
        host->resp_error(req, 400, logs ? "parameter_invalid" : "parameter_missing", "logs",
                         "logs must be an array of strings");
        json_object_put(in);
        return;
    }
    size_t n = json_object_array_length(logs);
    for (size_t i = 0; i < n; i++)
        if (!json_object_is_type(json_object_array_get_idx(logs, i), json_type_string)) {
            host->resp_error(req, 400, "parameter_invalid", "logs", "logs[%zu] must be a string", i);
            json_object_put(in);
            return;
        }
    const char *h = host->req_header(req, "Authorization");
    const char *token = h && strncmp(h, "ApplePass ", 10) == 0 && h[10] ? h + 10 : NULL;
    log_pass seen[LOG_PASSES];
    int nseen = 0;
    size_t logged = 0;
    rows = json_object_new_array();
    for (size_t i = 0; i < n && i < MAX_LOG_LINES; i++) { /* the rest is dropped */
        const char *s = json_object_get_string(json_object_array_get_idx(logs, i));
        size_t len = strlen(s);
        if (len > MAX_LOG_CHARS) {
            len = MAX_LOG_CHARS;
            while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80) len--; /* whole UTF-8 characters */
        }
        const char *account = line_account(s, token, seen, &nseen);
        if (account) {
            json_object *r = json_object_new_object();
            json_object_object_add(r, "a", json_object_new_string(account));
            json_object_object_add(r, "m", json_object_new_string_len(s, (int)len));
            json_object_array_add(rows, r);
        } else if (logged++ < SERVER_LOG_LINES) {
            server_log_line(s);
        }
    }
    if (logged > SERVER_LOG_LINES)
        host->log(self, WP_LOG_INFO, "Wallet log: %zu more unattributed lines not logged", logged - SERVER_LOG_LINES);
    wp_status st = WP_OK;
    if (json_object_array_length(rows) > 0) {
        const char *p[] = {json_object_to_json_string_ext(rows, JSON_C_TO_STRING_PLAIN)};
        st = host->db_query(self, req,
                            "INSERT INTO apns_logs (account_id, message)"
                            " SELECT e->>'a', e->>'m' FROM json_array_elements($1::json) AS e",
                            1, p, NULL);
    }
    if (st != WP_OK) {
        host->log(self, WP_LOG_WARN, "%s: Wallet log not stored: %s", host->req_id(req), host->last_error());
        host->resp_header(req, "Retry-After", "1");
        host->resp_error(req, 503, "log_unavailable", NULL, "the log could not be stored; retry");
    } else {
        host->resp_raw(req, 200, "application/json", "{}", 2);
    }
    json_object_put(rows);
    json_object_put(in);
}

/* ---- API: GET /api/v1/apple/logs, GET /api/v1/passes/:id/devices -------------- */

static void api_logs(wp_req *req, void *ud)
{
    (void)ud;
    char lim[16] = "";
    long limit = 50;
    int q = host->req_query(req, "limit", lim, sizeof lim);
    if (q != 0) {
        char *end = NULL;
        limit = q > 0 ? strtol(lim, &end, 10) : 0;
        if (q < 0 || !end || *end || limit < 1 || limit > 100) {
            host->resp_error(req, 400, "parameter_invalid", "limit", "limit must be an integer from 1 to 100");
            return;
        }
    }
    snprintf(lim, sizeof lim, "%ld", limit);
    json_object *rows = NULL;
    if (host->db_query(self, req,
                       "SELECT id::text AS id, message, to_char(created_at AT TIME ZONE 'UTC',"
                       " 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS created_at FROM apns_logs"
                       " WHERE account_id = $1 ORDER BY id DESC LIMIT $2::int",
                       2, (const char *const[]){host->req_account_id(req), lim}, &rows) != WP_OK) {
        host->resp_error(req, 503, "log_unavailable", NULL, "the log could not be read: %s", host->last_error());
        return;
    }
    json_object *out = json_object_new_object(), *data = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(rows); i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_string(row_str(rows, i, "id")));
        json_object_object_add(o, "object", json_object_new_string("apple_log"));
        json_object_object_add(o, "message", json_object_new_string(row_str(rows, i, "message")));
        json_object_object_add(o, "created_at", json_object_new_string(row_str(rows, i, "created_at")));
        json_object_array_add(data, o);
    }
    json_object_object_add(out, "object", json_object_new_string("list"));
    json_object_object_add(out, "data", data);
    host->resp_json(req, 200, out);
    json_object_put(out);
    json_object_put(rows);
}

#define TSQ(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

static void api_devices(wp_req *req, void *ud)
{
    (void)ud;
    const char *account = host->req_account_id(req), *id = host->req_param(req, "id");
    json_object *pass = NULL, *rows = NULL;
    wp_status st = host->pass_get(self, account, id, &pass);
    if (st == WP_ENOTFOUND) {
        host->resp_error(req, 404, "resource_missing", "id", "no such pass: %s", id);
        return;
    }
    json_object_put(pass);
    if (st != WP_OK ||
        host->db_query(self, req,
                       "SELECT device_library_identifier, pass_type_identifier, " TSQ("created_at") " AS created_at, "
                       TSQ("updated_at") " AS updated_at, last_push_status, last_push_reason, "
                       TSQ("last_push_at") " AS last_push_at FROM apns_registrations"
                       " WHERE account_id = $1 AND pass_id = $2 ORDER BY created_at, device_library_identifier LIMIT 1000",
                       2, (const char *const[]){account, id}, &rows) != WP_OK) {
        host->resp_error(req, 503, "devices_unavailable", NULL, "the devices could not be read: %s", host->last_error());
        return;
    }
    json_object *out = json_object_new_object(), *data = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(rows); i++) {
        json_object *r = json_object_array_get_idx(rows, i), *o = json_object_new_object();
        json_object_object_add(o, "object", json_object_new_string("device"));
        json_object_object_add(o, "platform", json_object_new_string("apple"));
        json_object_object_add(o, "device_library_identifier", json_object_new_string(wpc_json_str(r, "device_library_identifier")));
        json_object_object_add(o, "pass_type_identifier", json_object_new_string(wpc_json_str(r, "pass_type_identifier")));
        json_object_object_add(o, "registered_at", json_object_new_string(wpc_json_str(r, "created_at")));
        json_object_object_add(o, "updated_at", json_object_new_string(wpc_json_str(r, "updated_at")));
        json_object *lp = NULL;
        if (wpc_json_get(r, "last_push_status")) {
            lp = json_object_new_object();
            json_object_object_add(lp, "status", json_object_get(wpc_json_get(r, "last_push_status")));
            const char *reason = wpc_json_str(r, "last_push_reason");
            json_object_object_add(lp, "reason", reason ? json_object_new_string(reason) : NULL);
            json_object_object_add(lp, "at", json_object_new_string(wpc_json_str(r, "last_push_at")));
        }
        json_object_object_add(o, "last_push", lp);
        json_object_array_add(data, o);
    }
    json_object_object_add(out, "object", json_object_new_string("list"));
    json_object_object_add(out, "data", data);
    host->resp_json(req, 200, out);
    json_object_put(out);
    json_object_put(rows);
}

/* ---- pushes ------------------------------------------------------------------ */

static int64_t unix_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Queues an apns.push job for devices: attempt `attempt`, put off `deferred` times in a row, at at_ms. */
static wp_status push_later(const char *account, const char *pass_id, json_object *devices, int attempt, int deferred,
                            int64_t at_ms)
{
    json_object *payload = json_object_new_object();
    json_object_object_add(payload, "account_id", json_object_new_string(account));
    json_object_object_add(payload, "pass_id", json_object_new_string(pass_id));
    json_object_object_add(payload, "devices", json_object_get(devices));
    json_object_object_add(payload, "attempt", json_object_new_int(attempt));
    if (deferred) json_object_object_add(payload, "deferred", json_object_new_int(deferred));
    wp_status st = host->job_enqueue(self, NULL, "apns.push", payload, at_ms, NULL, 0);
    json_object_put(payload);
    return st;
}

/*
 * Pushes to the devices [{d: device, t: token}] of one pass and acts on each
 * answer: 200 done; 410 and 400 BadDeviceToken remove the token's
 * registrations (unless it registered again after the 410's timestamp);
 * 429, 5xx and no answer are retried through an apns.push job with backoff;
 * anything else is recorded and dropped.  Every result is recorded.  A batch that finds APNs
 * busy (apns_send: WP_ELIMIT) is queued again as it is, not counted as an attempt.
 */
static wp_status push_devices(const char *account, const char *pass_id, json_object *devices, int attempt, int deferred)
{
    size_t n = json_object_array_length(devices);
    if (n == 0) return WP_OK;
    json_object *creds = NULL;
    wp_status st = host->vault_read(self, account, "apple", &creds);
    if (st == WP_ENOTFOUND) {
        host->log(self, WP_LOG_WARN, "pass %s: the account has no Apple credentials: nothing pushed", pass_id);
        return WP_FAIL;
    }
    if (st != WP_OK) {
        host->log(self, WP_LOG_WARN, "pass %s: Apple credentials unavailable: %s", pass_id, host->last_error());
        return WP_RETRY;
    }
    const char **tokens = calloc(n, sizeof *tokens);
    apns_result *res = calloc(n, sizeof *res);
    if (!tokens || !res) {
        free(tokens);
        free(res);
        wpc_cred_wipe_put(creds);
        return WP_RETRY;
    }
    for (size_t i = 0; i < n; i++) tokens[i] = wpc_json_str(json_object_array_get_idx(devices, i), "t");
    char msg[300] = "";
    st = apns_send(wpc_json_str(creds, "certificate_pem"), wpc_json_str(creds, "private_key_pem"),
                   wpc_json_str(creds, "pass_type_identifier"), tokens, n, res, msg, sizeof msg);
    wpc_cred_wipe_put(creds);
    if (st == WP_ELIMIT) {
        /* APNs is busy with other batches (slow, or hanging until timeout_ms): this one comes back
         * later as a job, without counting as an attempt, and its worker serves other work.
         * The delay doubles with each deferral in a row, up to 16 times conf_defer_ms. */
        free(tokens);
        free(res);
        int64_t delay = conf_defer_ms << (deferred < 4 ? deferred : 4);
        if (push_later(account, pass_id, devices, attempt, deferred + 1, unix_ms() + delay) != WP_OK) {
            host->log(self, WP_LOG_WARN, "pass %s: pushes not queued: %s", pass_id, host->last_error());
            return WP_RETRY;
        }
        host->metrics_add(self, "push_batches_deferred_total", "APNs batches put off while APNs was busy", 1);
        return WP_OK;
    }
    if (st != WP_OK) {
        host->log(self, WP_LOG_WARN, "pass %s: pushes not sent: %s", pass_id, msg);
        free(tokens);
        free(res);
        return WP_RETRY;
    }
    long retry_after = 0; /* the longest Retry-After among the pushes to retry */
    json_object *results = json_object_new_array(), *again = json_object_new_array();
    int ok = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *dev = json_object_array_get_idx(devices, i), *r = json_object_new_object();
        const char *device = wpc_json_str(dev, "d");
        json_object_object_add(r, "d", json_object_new_string(device ? device : ""));
        json_object_object_add(r, "s", json_object_new_int(res[i].status));
        json_object_object_add(r, "r", res[i].reason[0] ? json_object_new_string(res[i].reason) : NULL);
        json_object_object_add(r, "i", res[i].apns_id[0] ? json_object_new_string(res[i].apns_id) : NULL);
        json_object_array_add(results, r);
        int s = res[i].status;
        if (s == 200) {
            ok++;
        } else if (s == 410 || (s == 400 && strcmp(res[i].reason, "BadDeviceToken") == 0)) {
            char ts[32];
            snprintf(ts, sizeof ts, "%lld", s == 410 && res[i].timestamp_ms > 0 ? res[i].timestamp_ms : (long long)time(NULL) * 1000 + 1000);
            json_object *gone = NULL;
            if (host->db_query(self, NULL,
                               "DELETE FROM apns_registrations WHERE account_id = $1 AND push_token = $2"
                               " AND updated_at <= to_timestamp($3::bigint / 1000.0)"
                               " RETURNING pass_id, serial_number, device_library_identifier",
                               3, (const char *const[]){account, tokens[i], ts}, &gone) == WP_OK) {
                for (size_t k = 0; k < json_object_array_length(gone); k++)
                    publish_device(NULL, account, "pass.removed", row_str(gone, k, "pass_id"),
                                   row_str(gone, k, "serial_number"), row_str(gone, k, "device_library_identifier"));
            } else {
                host->log(self, WP_LOG_WARN, "pass %s: stale token not removed: %s", pass_id, host->last_error());
            }
            json_object_put(gone);
        } else if (s == 0 || s == 429 || s >= 500) {
            json_object_array_add(again, json_object_get(dev));
            if (res[i].retry_after_s > retry_after) retry_after = res[i].retry_after_s;
        } else {
            host->log(self, s == 403 ? WP_LOG_ERROR : WP_LOG_WARN, "pass %s: APNs refused a push: %d %s%s", pass_id, s,
                      res[i].reason, s == 403 ? " (the Pass Type ID certificate is not accepted for push)" : "");
        }
    }
    char att[16];
    snprintf(att, sizeof att, "%d", attempt);
    const char *rj = json_object_to_json_string_ext(results, JSON_C_TO_STRING_PLAIN);
    if (host->db_query(self, NULL,
                       "WITH x AS (SELECT e->>'d' AS d, (e->>'s')::int AS s, e->>'r' AS r, e->>'i' AS i"
                       "   FROM json_array_elements($3::json) e),"
                       " u AS (UPDATE apns_registrations g SET last_push_status = x.s, last_push_reason = x.r,"
                       "   last_push_at = now() FROM x WHERE g.account_id = $1 AND g.pass_id = $2"
                       "   AND g.device_library_identifier = x.d)"
                       " INSERT INTO apns_pushes (account_id, pass_id, device_library_identifier, status, reason, apns_id,"
                       " attempt) SELECT $1, $2, d, s, r, i, $4::int FROM x",
                       4, (const char *const[]){account, pass_id, rj, att}, NULL) != WP_OK)
        host->log(self, WP_LOG_WARN, "pass %s: push results not recorded: %s", pass_id, host->last_error());
    host->metrics_add(self, "pushes_total", "APNs pushes sent", (double)n);
    host->metrics_add(self, "pushes_failed_total", "APNs pushes not answered 200", (double)(n - (size_t)ok));
    size_t nagain = json_object_array_length(again);
    if (nagain > 0) {
        if (attempt >= MAX_ATTEMPTS) {
            host->log(self, WP_LOG_WARN, "pass %s: %zu pushes still failing after %d attempts: given up", pass_id,
                      nagain, attempt);
        } else {
            /* the schedule's delay, or the server's Retry-After when that is longer (capped) */
            long delay = retry_delay_s[attempt - 1 < 4 ? attempt - 1 : 3];
            if (retry_after > delay) delay = retry_after < RETRY_AFTER_MAX ? retry_after : RETRY_AFTER_MAX;
            if (push_later(account, pass_id, again, attempt + 1, 0, unix_ms() + (int64_t)delay * 1000) != WP_OK) {
                host->log(self, WP_LOG_WARN, "pass %s: retry not queued: %s", pass_id, host->last_error());
                json_object_put(again);
                json_object_put(results);
                free(tokens);
                free(res);
                return WP_RETRY;
            }
        }
    }
    json_object_put(again);
    json_object_put(results);
    free(tokens);
    free(res);
    return WP_OK;
}

/* pass.updated, pass.voided, pass.notify: a new tag and Last-Modified, then one push per device. */
static wp_status on_change(void *ud, const wp_plugin_event *ev)
{
    (void)ud;
    json_object *pass = wpc_json_get(ev->data, "pass");
    const char *pass_id = wpc_json_str(pass, "id"), *serial = wpc_json_str(pass, "serial_number");
    if (!pass_id || !serial) {
        host->log(self, WP_LOG_WARN, "event %s carries no pass: ignored", ev->id);
        return WP_FAIL;
    }
    int notify = strcmp(ev->type, "pass.notify") == 0;
    const char *message = notify ? wpc_json_str(ev->data, "message") : NULL;
    const char *mid = notify ? wpc_json_str(ev->data, "notification_id") : NULL;
    if (notify && !mid) mid = ev->id;
    const char *p[] = {ev->account_id, pass_id, serial, message, mid};
    if (host->db_query(self, NULL,
                       "WITH t AS (INSERT INTO apns_accounts (account_id, last_tag) VALUES ($1, 1)"
                       "   ON CONFLICT (account_id) DO UPDATE SET last_tag = apns_accounts.last_tag + 1 RETURNING last_tag)"
                       " INSERT INTO apns_passes (account_id, pass_id, serial_number, tag, modified_s, message, message_id)"
                       " SELECT $1, $2, $3, t.last_tag, ceil(extract(epoch FROM clock_timestamp()))::bigint, $4, $5 FROM t"
                       " ON CONFLICT (account_id, pass_id) DO UPDATE SET tag = EXCLUDED.tag,"
                       " modified_s = greatest(EXCLUDED.modified_s, apns_passes.modified_s + 1),"
                       " message = coalesce(EXCLUDED.message, apns_passes.message),"
                       " message_id = coalesce(EXCLUDED.message_id, apns_passes.message_id), updated_at = now()",
                       5, p, NULL) != WP_OK) {
        host->log(self, WP_LOG_WARN, "pass %s: update tag not stored: %s", pass_id, host->last_error());
        return WP_RETRY;
    }
    /* the devices pushed below fetch the pass at once, from any process: none
     * may still hold the row this change replaced (its message, its second) */
    if (WP_HOST_HAS(host, pass_memo_sync)) (void)host->pass_memo_sync(self);
    /* A test-mode pass (the core's "livemode": false) is served to devices
     * that ask, but no push goes to Apple for it. */
    json_object *lm = wpc_json_get(pass, "livemode");
    if (lm && json_object_is_type(lm, json_type_boolean) && !json_object_get_boolean(lm)) {
        host->log(self, WP_LOG_DEBUG, "pass %s is a test pass: no push", pass_id);
        return WP_OK;
    }
    json_object *devices = NULL;
    if (host->db_query(self, NULL,
                       "SELECT device_library_identifier AS d, push_token AS t FROM apns_registrations"
                       " WHERE account_id = $1 AND pass_id = $2 ORDER BY device_library_identifier",
                       2, p, &devices) != WP_OK) {
        host->log(self, WP_LOG_WARN, "pass %s: registrations not read: %s", pass_id, host->last_error());
        return WP_RETRY;
    }
    wp_status st = push_devices(ev->account_id, pass_id, devices, 1, 0);
    json_object_put(devices);
    return st;
}

static wp_status on_push_job(void *ud, const wp_plugin_job *job)
{
    (void)ud;
    const char *account = wpc_json_str(job->payload, "account_id"), *pass_id = wpc_json_str(job->payload, "pass_id");
    json_object *devices = wpc_json_get(job->payload, "devices"), *att = wpc_json_get(job->payload, "attempt"),
                *def = wpc_json_get(job->payload, "deferred");
    if (!account || !pass_id || !devices || !json_object_is_type(devices, json_type_array)) {
        host->log(self, WP_LOG_WARN, "job %s: malformed payload", job->id);
        return WP_FAIL;
    }
    /* only the devices still registered with the same token */
    json_object *cur = NULL;
    const char *p[] = {account, pass_id, json_object_to_json_string_ext(devices, JSON_C_TO_STRING_PLAIN)};
    if (host->db_query(self, NULL,
                       "SELECT r.device_library_identifier AS d, r.push_token AS t FROM apns_registrations r"
                       " JOIN json_array_elements($3::json) e ON e->>'d' = r.device_library_identifier AND e->>'t' = r.push_token"
                       " WHERE r.account_id = $1 AND r.pass_id = $2",
                       3, p, &cur) != WP_OK)
        return WP_RETRY;
    wp_status st = push_devices(account, pass_id, cur, att ? json_object_get_int(att) : 2, def ? json_object_get_int(def) : 0);
    json_object_put(cur);
    return st;
}

/* ---- lifecycle ----------------------------------------------------------------- */

/* The configuration ("config" of the plugin entry): README.md lists the keys. */
typedef struct apns_settings {
    apns_conf client;
    double log_rate_per_second;
    long log_burst;
    long defer_ms;
} apns_settings;

static const char *const push_types[] = {"background", "alert", NULL};
static const wp_cfg_key apns_keys[] = {
    WP_CFG_STRING("host", apns_settings, client.host, "api.push.apple.com", WP_CFG_NONEMPTY),
    WP_CFG_INT("port", apns_settings, client.port, 443, 1, 65535),
    WP_CFG_STRING("ca_file", apns_settings, client.ca_file, "", 0),
    WP_CFG_ENUM("push_type", apns_settings, client.push_type, "background", push_types),
    WP_CFG_INT("expiration_s", apns_settings, client.expiration_s, 86400, 0, 30L * 86400),
    WP_CFG_INT("timeout_ms", apns_settings, client.timeout_ms, 30000, 100, 600000),
    WP_CFG_INT("max_connections", apns_settings, client.max_connections, 64, 1, 10000),
    WP_CFG_INT("max_concurrency", apns_settings, client.max_concurrency, 2, 1, 1000),
    WP_CFG_INT("defer_ms", apns_settings, defer_ms, 500, 10, 60000),
    WP_CFG_NUMBER("log_rate_per_second", apns_settings, log_rate_per_second, 5, 0, 1e6, 0),
    WP_CFG_INT("log_burst", apns_settings, log_burst, 20, 1, 1000000),
    WP_CFG_END,
};

static wp_status apns_init(const wp_host *h, wp_plugin *me, const json_object *config)
{
    host = h;
    self = me;
    if (h->abi_minor < 2 || !WP_HOST_HAS(h, pass_get)) {
        h->init_error(me, "apns needs plugin ABI 1.2 (pass_get)");
        return WP_EABI;
    }
    apns_settings set;
    memset(&set, 0, sizeof set);
    char why[300];
    wp_status st = wp_cfg_parse(apns_keys, config, &set, why, sizeof why);
    if (st != WP_OK) {
        h->init_error(me, "%s", why);
        return st;
    }
    conf = set.client;
    conf_log_rate = set.log_rate_per_second;
    conf_log_burst = (double)set.log_burst;
    conf_defer_ms = set.defer_ms;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        h->init_error(me, "libcurl could not be initialised");
        return WP_EINTERNAL;
    }
    const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
    if (!(cv->features & CURL_VERSION_HTTP2)) {
        h->init_error(me, "libcurl %s has no HTTP/2, which APNs requires", cv->version);
        curl_global_cleanup();
        return WP_ECONFIG;
    }
    apns_client_init(&conf);
    static const uint32_t backoff[] = {5, 30, 120, 600};
    wp_retry_policy retry = WP_RETRY_POLICY_INIT;
    retry.max_attempts = 5;
    retry.backoff_s = backoff;
    retry.nbackoff = 4;
    static const char *const dev = "/apple/v1/devices/:device/registrations/:ptid";
    char reg[128];
    snprintf(reg, sizeof reg, "%s/:serial", dev);
    if ((st = h->route_add(me, "POST", reg, WP_AUTH_PASS_TOKEN, register_device, NULL)) != WP_OK ||
        (st = h->route_add(me, "DELETE", reg, WP_AUTH_PASS_TOKEN, unregister_device, NULL)) != WP_OK ||
        (st = h->route_add(me, "GET", dev, WP_AUTH_PUBLIC, list_serials, NULL)) != WP_OK ||
        (st = h->route_add(me, "GET", "/apple/v1/passes/:ptid/:serial", WP_AUTH_PASS_TOKEN, get_pass, NULL)) != WP_OK ||
        (st = h->route_add(me, "HEAD", "/apple/v1/passes/:ptid/:serial", WP_AUTH_PASS_TOKEN, get_pass, NULL)) != WP_OK ||
        (st = h->route_add(me, "POST", "/apple/v1/log", WP_AUTH_PUBLIC, device_log, NULL)) != WP_OK ||
        (st = h->route_add(me, "GET", "/api/v1/apple/logs", WP_AUTH_API_KEY, api_logs, NULL)) != WP_OK ||
        (st = h->route_add(me, "GET", "/api/v1/passes/:id/devices", WP_AUTH_API_KEY, api_devices, NULL)) != WP_OK ||
        (st = h->subscribe(me, "pass.updated", on_change, NULL, &retry)) != WP_OK ||
        (st = h->subscribe(me, "pass.voided", on_change, NULL, &retry)) != WP_OK ||
        (st = h->subscribe(me, "pass.notify", on_change, NULL, &retry)) != WP_OK ||
        (st = h->job_register(me, "apns.push", on_push_job, NULL, &retry)) != WP_OK) {
        h->init_error(me, "%s", h->last_error());
        apns_client_shutdown();
        curl_global_cleanup();
        return st;
    }
    return WP_OK;
}

static void apns_shutdown(wp_plugin *me)
{
    (void)me;
    apns_client_shutdown();
    curl_global_cleanup();
}

/* The bundles a device downloads come from the apple-signer, through the hook apple.pkpass.build:
 * without it every download would fail, so the gateway refuses to start without it. */
static const char *const apns_needs_plugins[] = {"apple-signer", NULL};
static const char *const apns_needs_hooks[] = {"apple.pkpass.build", "apple.pass.authenticate", NULL};
WP_PLUGIN_DEFINE_NEEDS("apns", "0.1.0", "Apple Wallet web service and APNs pushes on every pass update", apns_init,
                       apns_shutdown, NULL, NULL, apns_needs_plugins, apns_needs_hooks)
