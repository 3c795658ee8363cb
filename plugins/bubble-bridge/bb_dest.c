/*
 * bb_dest.c - destinations: where an account's events go in its Bubble app.
 *   POST   /api/v1/bubble/destinations                  create
 *   GET    /api/v1/bubble/destinations                  list
 *   GET    /api/v1/bubble/destinations/:id              get
 *   POST   /api/v1/bubble/destinations/:id/update       update
 *   DELETE /api/v1/bubble/destinations/:id              delete
 *   POST   /api/v1/bubble/destinations/:id/test         send a test event now
 *   GET    /api/v1/bubble/destinations/:id/deliveries   its deliveries
 *
 * A destination is one event type and one backend-workflow URL, with an
 * optional bearer token (sealed by the vault, never shown again) and an
 * optional template (only that template's passes).  Input and answers are
 * flat, as every call of the bridge (bb_flat.h, bb_input.h).  Another
 * account's destination is 404.  A template is checked with api_call before
 * the route's own statements (which then run in the request's transaction).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bb.h"
#include "bb_flat.h"
#include "bb_input.h"
#include "bb_request.h"

#define DEST_COLS                                                                                          \
    "id, event_type, url, template_id, description, token_sealed IS NOT NULL AS has_token, enabled, "        \
    "disabled_reason, " BB_ISO("disabled_at") " AS disabled_at, " BB_ISO("created_at") " AS created_at, "  \
    BB_ISO("updated_at") " AS updated_at"

#define DELIVERY_COLS                                                                                      \
    "id, destination_id, event_id, event_type, test, status, attempts, max_attempts, last_status_code, "     \
    "last_error, " BB_ISO("next_attempt_at") " AS next_attempt_at, " BB_ISO("created_at") " AS created_at, " \
    BB_ISO("updated_at") " AS updated_at"

#define DESCRIPTION_MAX 500

typedef struct dest_in {
    const char *event_type, *url, *token, *template_id, *description;
    int enabled, clear_token, clear_template; /* enabled: -1 not given */
} dest_in;

static json_object *member(const json_object *o, const char *k)
{
    json_object *v = NULL;
    if (!o || !json_object_is_type((json_object *)o, json_type_object)) return NULL;
    return json_object_object_get_ex((json_object *)o, k, &v) ? v : NULL;
}

static const char *str_of(const json_object *o, const char *k)
{
    json_object *v = member(o, k);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static void send_json(wp_req *req, int status, json_object *o)
{
    bb_host->resp_json(req, status, o);
    json_object_put(o);
}

/* Reads and checks a create (event_type and url required) or update body.  -1 with e. */
static int dest_read(const json_object *in, int create, dest_in *d, bb_verr *e)
{
    static const char *const keys[] = {"event_type", "url", "bearer_token", "template_id", "description", "enabled",
                                       "clear_bearer_token", NULL};
    memset(d, 0, sizeof *d);
    d->enabled = -1;
    json_object_object_foreach((json_object *)in, k, v) {
        (void)v;
        int known = 0;
        for (const char *const *p = keys; *p; p++) known |= strcmp(*p, k) == 0 && (!create || strcmp(k, "clear_bearer_token") != 0);
        if (!known) return bb_refuse(e, "parameter_unknown", k, "unknown field %.128s", k);
    }
    int r;
    if ((r = bb_in_text(in, "event_type", &d->event_type, e)) < 0) return -1;
    if (r == BB_IN_NULL) return bb_refuse(e, "parameter_invalid", "event_type", "event_type cannot be unset");
    if ((r = bb_in_text(in, "url", &d->url, e)) < 0) return -1;
    if (r == BB_IN_NULL) return bb_refuse(e, "parameter_invalid", "url", "url cannot be unset");
    if (bb_in_text(in, "bearer_token", &d->token, e) < 0) return -1;
    if ((r = bb_in_text(in, "template_id", &d->template_id, e)) < 0) return -1;
    d->clear_template = r == BB_IN_NULL;
    if (bb_in_text(in, "description", &d->description, e) < 0) return -1;
    int b;
    if ((r = bb_in_bool(in, "enabled", &b, e)) < 0) return -1;
    if (r == BB_IN_SET) d->enabled = b;
    if ((r = bb_in_bool(in, "clear_bearer_token", &b, e)) < 0) return -1;
    d->clear_token = r == BB_IN_SET && b;
    if (create && !d->event_type)
        return bb_refuse(e, "parameter_missing", "event_type",
                         "event_type is required: pass.created, pass.updated, pass.voided, pass.installed or "
                         "pass.removed");
    if (create && !d->url)
        return bb_refuse(e, "parameter_missing", "url", "url is required: the backend workflow's URL");
    if (d->event_type && !bb_event_type_known(d->event_type))
        return bb_refuse(e, "parameter_invalid", "event_type",
                         "event_type must be pass.created, pass.updated, pass.voided, pass.installed or pass.removed");
    if (d->url && bb_url_check_shape(d->url, bb_cfg.allow_http, "url", e) != 0) return -1;
    if (d->token) {
        if (strlen(d->token) > BB_TOKEN_MAX)
            return bb_refuse(e, "parameter_invalid", "bearer_token", "bearer_token is longer than %d bytes", BB_TOKEN_MAX);
        for (const char *c = d->token; *c; c++)
            if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
                return bb_refuse(e, "parameter_invalid", "bearer_token",
                                 "bearer_token must be printable ASCII without spaces (Bubble's API token)");
        if (d->clear_token)
            return bb_refuse(e, "parameter_invalid", "clear_bearer_token",
                             "give either bearer_token or clear_bearer_token, not both");
    }
    if (d->template_id && strlen(d->template_id) > 64)
        return bb_refuse(e, "parameter_invalid", "template_id", "template_id is longer than 64 bytes");
    if (d->description && strlen(d->description) > DESCRIPTION_MAX)
        return bb_refuse(e, "parameter_invalid", "description", "description is longer than %d bytes", DESCRIPTION_MAX);
    return 0;
}

/* The URL's address against the private-target rules (the host resolves it).  Sends 400 and returns -1
 * when refused. */
static int check_target(wp_req *req, const char *url)
{
    wp_status st = bb_host->url_check(bb_self, url, NULL, 0);
    if (st == WP_OK) return 0;
    if (st == WP_EDENIED)
        bb_host->resp_error(req, 400, "url_refused", "url", "url is refused: %s", bb_host->last_error());
    else if (st == WP_EUNAVAIL)
        bb_host->resp_error(req, 400, "url_unresolvable", "url", "url's host does not resolve: %s",
                            bb_host->last_error());
    else
        bb_host->resp_error(req, 400, "parameter_invalid", "url", "url is not valid: %s", bb_host->last_error());
    return -1;
}

/* Loads the caller's destination :id (with req: in its transaction); sends 404/503 and returns NULL. */
static json_object *load_dest(wp_req *req, int use_req, const char *id)
{
    const char *p[] = {bb_host->req_account_id(req), id};
    json_object *rows = NULL;
    if (bb_host->db_query(bb_self, use_req ? req : NULL,
                          "SELECT " DEST_COLS ", token_sealed FROM bubble_bridge_destinations "
                          "WHERE account_id = $1 AND id = $2",
                          2, p, &rows) != WP_OK) {
        bb_db_fail(req);
        return NULL;
    }
    if (json_object_array_length(rows) == 0) {
        json_object_put(rows);
        bb_host->resp_error(req, 404, "resource_missing", "id", "no Bubble destination %.64s", id);
        return NULL;
    }
    json_object *r = json_object_get(json_object_array_get_idx(rows, 0));
    json_object_put(rows);
    return r;
}

/* ---- create, read, update, delete ------------------------------------------------------------ */

static void create_dest(wp_req *req, void *ud)
{
    (void)ud;
    json_object *in = bb_read_input(req);
    if (!in) return;
    dest_in d;
    bb_verr e = {0};
    json_object *tpl = NULL, *rows = NULL;
    if (dest_read(in, 1, &d, &e) != 0) {
        bb_send_verr(req, &e);
        goto done;
    }
    if (d.template_id && bb_load_template(req, d.template_id, "template_id", &tpl) != 0) goto done;
    if (check_target(req, d.url) != 0) goto done;
    const char *acct = bb_host->req_account_id(req);
    char id[BB_ID_MAX], sealed[BB_TOKEN_SEALED_MAX] = "", limit[16];
    if (bb_id_new("bdst", id) != 0 ||
        (d.token && bb_token_seal(acct, id, d.token, sealed, sizeof sealed) != WP_OK)) {
        bb_host->resp_error(req, 500, "internal_error", NULL, "the bearer token could not be sealed");
        goto done;
    }
    snprintf(limit, sizeof limit, "%d", bb_cfg.max_destinations);
    const char *p[] = {acct, id, d.event_type, d.url, d.template_id ? d.template_id : "",
                       d.description ? d.description : "", d.token ? sealed : NULL,
                       d.enabled == 0 ? "false" : "true", limit};
    /* The count and the insert in one statement; the advisory lock serialises one account's creations. */
    wp_status st = bb_host->db_query(
        bb_self, req,
        "WITH l AS (SELECT pg_advisory_xact_lock(hashtext('bubble-bridge:' || $1))), "
        "n AS (SELECT count(*) AS c FROM bubble_bridge_destinations, l WHERE account_id = $1) "
        "INSERT INTO bubble_bridge_destinations (account_id, id, event_type, url, template_id, description, "
        "token_sealed, enabled, disabled_at) SELECT $1, $2, $3, $4, $5, $6, $7, $8::boolean, "
        "CASE WHEN $8::boolean THEN NULL ELSE now() END FROM n WHERE n.c < $9::int RETURNING " DEST_COLS,
        9, p, &rows);
    memset(sealed, 0, sizeof sealed);
    if (st != WP_OK) {
        bb_db_fail(req);
        goto done;
    }
    if (json_object_array_length(rows) == 0) {
        bb_host->resp_error(req, 409, "destination_limit_reached", NULL,
                            "an account has at most %d Bubble destinations; delete one first", bb_cfg.max_destinations);
        goto done;
    }
    send_json(req, 201, bb_flat_destination(json_object_array_get_idx(rows, 0)));
done:
    json_object_put(rows);
    json_object_put(tpl);
    json_object_put(in);
}

/* ?limit= (1..100, default 20), ?starting_after=<prefix>_…; sends 400 and returns -1 when wrong. */
static int paging(wp_req *req, const char *prefix, int *limit, char after[BB_ID_MAX])
{
    char buf[64];
    *limit = 20;
    after[0] = '\0';
    int r = bb_host->req_query(req, "limit", buf, sizeof buf);
    if (r != 0 && !(r > 0 && !buf[0])) {
        char *end;
        long v = r > 0 ? strtol(buf, &end, 10) : 0;
        if (r < 0 || *end || v < 1 || v > 100) {
            bb_host->resp_error(req, 400, "parameter_invalid", "limit", "limit must be an integer from 1 to 100");
            return -1;
        }
        *limit = (int)v;
    }
    r = bb_host->req_query(req, "starting_after", buf, sizeof buf);
    if (r != 0 && !(r > 0 && !buf[0])) {
        size_t pl = strlen(prefix);
        if (r < 0 || strncmp(buf, prefix, pl) != 0 || buf[pl] != '_' || strlen(buf) >= BB_ID_MAX) {
            bb_host->resp_error(req, 400, "parameter_invalid", "starting_after", "starting_after must be a %s_… id",
                                prefix);
            return -1;
        }
        memcpy(after, buf, strlen(buf) + 1); /* length checked above */
    }
    return 0;
}

static void send_rows(wp_req *req, json_object *rows, int limit, json_object *(*flat)(const json_object *))
{
    json_object *items = json_object_new_array();
    size_t n = json_object_array_length(rows);
    for (size_t i = 0; i < n && (int)i < limit; i++) json_object_array_add(items, flat(json_object_array_get_idx(rows, i)));
    send_json(req, 200, bb_flat_list(items, (int)n > limit));
}

static void list_dests(wp_req *req, void *ud)
{
    (void)ud;
    int limit;
    char after[BB_ID_MAX], lim[16];
    if (paging(req, "bdst", &limit, after) != 0) return;
    snprintf(lim, sizeof lim, "%d", limit + 1);
    const char *p[] = {bb_host->req_account_id(req), after[0] ? after : NULL, lim};
    json_object *rows = NULL;
    if (bb_host->db_query(bb_self, req,
                          "SELECT " DEST_COLS " FROM bubble_bridge_destinations WHERE account_id = $1 "
                          "AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3::int",
                          3, p, &rows) != WP_OK) {
        bb_db_fail(req);
        return;
    }
    send_rows(req, rows, limit, bb_flat_destination);
    json_object_put(rows);
}

static void get_dest(wp_req *req, void *ud)
{
    (void)ud;
    json_object *r = load_dest(req, 1, bb_host->req_param(req, "id"));
    if (!r) return;
    send_json(req, 200, bb_flat_destination(r));
    json_object_put(r);
}

static void update_dest(wp_req *req, void *ud)
{
    (void)ud;
    json_object *in = bb_read_input(req);
    if (!in) return;
    const char *acct = bb_host->req_account_id(req), *id = bb_host->req_param(req, "id");
    dest_in d;
    bb_verr e = {0};
    json_object *tpl = NULL, *rows = NULL;
    char sealed[BB_TOKEN_SEALED_MAX] = "";
    if (dest_read(in, 0, &d, &e) != 0) {
        bb_send_verr(req, &e);
        goto done;
    }
    if (d.template_id && bb_load_template(req, d.template_id, "template_id", &tpl) != 0) goto done;
    if (d.url && check_target(req, d.url) != 0) goto done;
    if (d.token && bb_token_seal(acct, id, d.token, sealed, sizeof sealed) != WP_OK) {
        bb_host->resp_error(req, 500, "internal_error", NULL, "the bearer token could not be sealed");
        goto done;
    }
    const char *p[] = {acct, id, d.event_type, d.url, d.template_id, d.clear_template ? "true" : "false",
                       d.description, d.token ? sealed : NULL, d.clear_token ? "true" : "false",
                       d.enabled < 0 ? NULL : d.enabled ? "true" : "false"};
    /* enabled true clears the reason the gateway disabled it for; false keeps a reason already there */
    wp_status st = bb_host->db_query(
        bb_self, req,
        "UPDATE bubble_bridge_destinations SET event_type = coalesce($3, event_type), url = coalesce($4, url), "
        "template_id = CASE WHEN $6::boolean THEN '' ELSE coalesce($5, template_id) END, "
        "description = coalesce($7, description), "
        "token_sealed = CASE WHEN $9::boolean THEN NULL ELSE coalesce($8, token_sealed) END, "
        "disabled_reason = CASE WHEN $10::boolean THEN '' ELSE disabled_reason END, "
        "disabled_at = CASE WHEN $10::boolean IS NULL THEN disabled_at WHEN $10::boolean THEN NULL "
        "ELSE coalesce(disabled_at, now()) END, "
        "enabled = coalesce($10::boolean, enabled), updated_at = now() "
        "WHERE account_id = $1 AND id = $2 RETURNING " DEST_COLS,
        10, p, &rows);
    memset(sealed, 0, sizeof sealed);
    if (st != WP_OK) {
        bb_db_fail(req);
        goto done;
    }
    if (json_object_array_length(rows) == 0) {
        bb_host->resp_error(req, 404, "resource_missing", "id", "no Bubble destination %.64s", id);
        goto done;
    }
    send_json(req, 200, bb_flat_destination(json_object_array_get_idx(rows, 0)));
done:
    json_object_put(rows);
    json_object_put(tpl);
    json_object_put(in);
}

static void delete_dest(wp_req *req, void *ud)
{
    (void)ud;
    const char *p[] = {bb_host->req_account_id(req), bb_host->req_param(req, "id")};
    json_object *rows = NULL;
    if (bb_host->db_query(bb_self, req,
                          "DELETE FROM bubble_bridge_destinations WHERE account_id = $1 AND id = $2 RETURNING id", 2,
                          p, &rows) != WP_OK) {
        bb_db_fail(req);
        return;
    }
    size_t n = json_object_array_length(rows);
    json_object_put(rows);
    if (n == 0) {
        bb_host->resp_error(req, 404, "resource_missing", "id", "no Bubble destination %.64s", p[1]);
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(p[1]));
    json_object_object_add(o, "object", json_object_new_string("bubble_destination"));
    json_object_object_add(o, "deleted", json_object_new_boolean(1));
    send_json(req, 200, o);
}

/* ---- deliveries and the test send ------------------------------------------------------------ */

static json_object *load_delivery(wp_req *req, const char *acct, const char *did)
{
    const char *p[] = {acct, did};
    json_object *rows = NULL;
    if (bb_host->db_query(bb_self, NULL,
                          "SELECT " DELIVERY_COLS " FROM bubble_bridge_deliveries WHERE account_id = $1 AND id = $2",
                          2, p, &rows) != WP_OK) {
        bb_db_fail(req);
        return NULL;
    }
    json_object *r = json_object_array_length(rows) ? json_object_get(json_object_array_get_idx(rows, 0)) : NULL;
    json_object_put(rows);
    if (!r) bb_host->resp_error(req, 500, "internal_error", NULL, "the test delivery was not recorded");
    return r;
}

/*
 * The test send: a record whose every key carries a non-empty value of its
 * type (a sample pass with the destination template's fields), delivered at
 * once, one attempt, to the URL (or, with initialize, to <url>/initialize,
 * the address Bubble's "Detect data" listens on).  Statements run outside
 * the request (autocommit), so the template can be read with api_call first
 * and the delivery is recorded whatever the route answers.
 */
static void test_dest(wp_req *req, void *ud)
{
    (void)ud;
    json_object *in = bb_read_input(req);
    if (!in) return;
    const char *acct = bb_host->req_account_id(req), *id = bb_host->req_param(req, "id");
    bb_verr e = {0};
    int init = 0;
    json_object *dest = NULL, *tpl = NULL, *sample = NULL, *flat = NULL;
    json_object_object_foreach(in, k, v) {
        (void)v;
        if (strcmp(k, "initialize") != 0) {
            bb_refuse(&e, "parameter_unknown", k, "unknown field %.128s: a test send takes initialize only", k);
            bb_send_verr(req, &e);
            goto done;
        }
    }
    if (bb_in_bool(in, "initialize", &init, &e) < 0) {
        bb_send_verr(req, &e);
        goto done;
    }
    if (!(dest = load_dest(req, 0, id))) goto done;
    const char *tid = str_of(dest, "template_id");
    if (tid && *tid) {
        /* the template's fields make the sample's field_ keys; a template gone since leaves none */
        char path[256];
        int status = 0;
        json_object *headers = NULL;
        if (bb_object_path(path, sizeof path, "templates", tid, "") != 0 ||
            bb_host->api_call(bb_self, req, "GET", path, NULL, &status, &tpl, &headers) != WP_OK || status != 200) {
            json_object_put(tpl);
            tpl = NULL;
        }
        json_object_put(headers);
    }
    if (!bb_test_slot_acquire()) {
        bb_host->resp_header(req, "Retry-After", "1");
        bb_host->resp_error(req, 429, "rate_limited", NULL,
                            "too many test sends in flight in this gateway; retry in a moment");
        goto done;
    }
    char did[BB_ID_MAX], evt[BB_ID_MAX], now[40];
    bb_now_iso(now);
    if (bb_id_new("bdlv", did) != 0 || bb_id_new("evt", evt) != 0) {
        bb_test_slot_release();
        bb_host->resp_error(req, 500, "internal_error", NULL, "no id");
        goto done;
    }
    const char *type = str_of(dest, "event_type");
    json_object *changed = json_object_new_array();
    json_object_array_add(changed, json_object_new_string("logo_text"));
    json_object_array_add(changed, json_object_new_string("points"));
    sample = bb_flat_sample_pass(bb_host->public_url(bb_self), tpl, now);
    flat = bb_flat_delivery(evt, type, now, 1, id, sample, changed, "sample-device-library-identifier", NULL);
    json_object_put(changed);
    bb_flat_fill_sample(flat);
    const char *body = json_object_to_json_string_ext(flat, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    const char *p[] = {acct, did, id, evt, type, body, init ? "/initialize" : ""};
    json_object *rows = NULL;
    wp_status st = bb_host->db_query(
        bb_self, NULL,
        "INSERT INTO bubble_bridge_deliveries (account_id, id, destination_id, event_id, event_type, test, url_suffix, "
        "body, event_created_at, next_attempt_at, max_attempts) VALUES ($1, $2, $3, $4, $5, true, $7, $6, now(), now(), 1)",
        7, p, &rows);
    json_object_put(rows);
    if (st != WP_OK || bb_attempt_run(acct, did, 1, 1) != WP_OK) {
        bb_test_slot_release();
        bb_db_fail(req);
        goto done;
    }
    bb_test_slot_release();
    json_object *d = load_delivery(req, acct, did);
    if (!d) goto done;
    send_json(req, 200, bb_flat_delivery_row(d));
    json_object_put(d);
done:
    json_object_put(flat);
    json_object_put(sample);
    json_object_put(tpl);
    json_object_put(dest);
    json_object_put(in);
}

static void list_deliveries(wp_req *req, void *ud)
{
    (void)ud;
    const char *acct = bb_host->req_account_id(req), *id = bb_host->req_param(req, "id");
    int limit;
    char after[BB_ID_MAX], lim[16], status[32];
    if (paging(req, "bdlv", &limit, after) != 0) return;
    int rs = bb_host->req_query(req, "status", status, sizeof status);
    if (rs > 0 && !status[0]) rs = 0;
    if (rs < 0 || (rs > 0 && strcmp(status, "pending") != 0 && strcmp(status, "succeeded") != 0 &&
                   strcmp(status, "failed") != 0)) {
        bb_host->resp_error(req, 400, "parameter_invalid", "status", "status must be pending, succeeded or failed");
        return;
    }
    json_object *dest = load_dest(req, 1, id);
    if (!dest) return;
    json_object_put(dest);
    snprintf(lim, sizeof lim, "%d", limit + 1);
    const char *p[] = {acct, id, after[0] ? after : NULL, lim, rs > 0 ? status : NULL};
    json_object *rows = NULL;
    if (bb_host->db_query(bb_self, req,
                          "SELECT " DELIVERY_COLS " FROM bubble_bridge_deliveries WHERE account_id = $1 "
                          "AND destination_id = $2 AND ($3::text IS NULL OR id < $3) "
                          "AND ($5::text IS NULL OR status = $5) ORDER BY id DESC LIMIT $4::int",
                          5, p, &rows) != WP_OK) {
        bb_db_fail(req);
        return;
    }
    send_rows(req, rows, limit, bb_flat_delivery_row);
    json_object_put(rows);
}

wp_status bb_dest_register(void)
{
    static const struct {
        const char *method, *pattern;
        wp_plugin_route_fn fn;
    } routes[] = {
        {"POST", "/api/v1/bubble/destinations", create_dest},
        {"GET", "/api/v1/bubble/destinations", list_dests},
        {"GET", "/api/v1/bubble/destinations/:id", get_dest},
        {"POST", "/api/v1/bubble/destinations/:id/update", update_dest},
        {"DELETE", "/api/v1/bubble/destinations/:id", delete_dest},
        {"POST", "/api/v1/bubble/destinations/:id/test", test_dest},
        {"GET", "/api/v1/bubble/destinations/:id/deliveries", list_deliveries},
    };
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
        wp_status st = bb_host->route_add(bb_self, routes[i].method, routes[i].pattern, WP_AUTH_API_KEY,
                                          routes[i].fn, NULL);
        if (st != WP_OK) return st;
    }
    return WP_OK;
}
