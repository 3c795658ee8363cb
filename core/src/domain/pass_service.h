/*
 * pass_service.h - the pass rules: create, read, list, update, void and
 * notify a pass, its links and capabilities.  The API's handlers
 * (http/passes.c), batches, templates and the plugin host call these; none
 * of them needs an HTTP request.
 *
 * A pass row (migrations/0004) keeps the effective body (template merged
 * with the pass's own keys, without serial_number and template_id, which
 * are columns), `overrides` ({"<key>": true} for every body key the pass
 * set itself, so template propagation leaves them alone) and a version that
 * moves on every real change.  Secrets a platform needs per pass are its
 * plugin's, kept by pass_secrets.h.
 *
 * The API resource (docs/api.md "Passes") is, in this order: id, object,
 * serial_number, pass_type; the keys the platform plugins contribute through
 * the `pass.links` filter, sorted by name; share_url (the core's own,
 * wp_pass_share_url), status, version, template_id, created_at, updated_at;
 * then the body's keys.  A contributed key is 1..64 of [a-z0-9_] starting
 * with a letter, is none of the fixed keys above nor a body field (those are
 * refused, and logged), and its value is a string or null (anything else is
 * answered null).
 *
 * Writes: every write runs inside the caller's open transaction on `conn`
 * (wp_db_begin): the row, the metering count (metering.h), the event (the
 * transactional outbox, events.h) and whatever the `pass.validate` /
 * `pass.links` / `pass.notify.validate` filters write through `req` commit
 * together or not at all.  Nothing is committed here: the caller commits, or
 * rolls back on failure (the transaction may be aborted then).  Checks run
 * in the documented order: 400 (body, then the merged pass, then
 * pass.validate), 404, 402, then the 409s of the pass's state, then (notify)
 * pass.notify.validate's refusals (a platform's limit: 429).
 *
 * req: the HTTP request when there is one, handed on to the filters as they
 * take it (an opaque pointer, hooks.h), else NULL (a batch job, a tool).
 * Errors name the field in err->param and carry the API code in err->code
 * where it is not the status's default: WP_EINVAL 400, WP_ENOTFOUND 404,
 * WP_ELIMIT with code "plan_limit_reached" 402, WP_ECONFLICT 409
 * ("serial_number_taken", "pass_voided"); 5xx statuses are transient
 * (database, vault).
 *
 * Ownership: every json_object handed out through an out-parameter is
 * transferred (json_object_put it); inputs are borrowed.  conn may be NULL
 * in the read helpers that say so: then a pooled connection is used.
 */
#ifndef WP_PASS_SERVICE_H
#define WP_PASS_SERVICE_H

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "credmemo.h"
#include "domain.h"
#include "err.h"
#include "pass_schema.h"

/* The pass limits of the configuration (string, image and metadata sizes). */
wp_pass_limits wp_pass_limits_of(const wp_domain *dom);

/*
 * Creates one pass of the account from a POST /api/v1/passes body (`in`):
 * the template merge, the schema, `pass.validate`, metering (one operation),
 * the row, `pass.links` and the `pass.created` event.  template_id (may be
 * NULL) is the template used when `in` has no "template_id" key (a batch's).
 * *out: the API resource.  WP_ENOTFOUND names template_id; a taken
 * serial_number is WP_ECONFLICT "serial_number_taken".
 */
wp_status wp_pass_create(wp_domain *dom, PGconn *conn, const char *account_id, json_object *in,
                         const char *template_id, wp_req *req, json_object **out, wp_err *err);

/* The API resource of the account's pass (links included).  WP_ENOTFOUND names id. */
wp_status wp_pass_get(wp_domain *dom, PGconn *conn, const char *account_id, const char *pass_id, wp_req *req,
                      json_object **out, wp_err *err);

/*
 * PUT /api/v1/passes/:id: merges `patch` (null unsets a key) into the pass,
 * locked for the transaction.  A patch that changes nothing answers the
 * pass as it is (no version, no operation, no event); a real change moves
 * the version, counts one operation and publishes `pass.updated` with the
 * changed keys.  template_id is read-only (400); a voided pass cannot be
 * changed (WP_ECONFLICT "pass_voided", param status).
 */
wp_status wp_pass_update(wp_domain *dom, PGconn *conn, const char *account_id, const char *pass_id,
                         json_object *patch, wp_req *req, json_object **out, wp_err *err);

/* DELETE /api/v1/passes/:id: voids the pass and publishes `pass.voided`; voiding
 * a voided pass changes nothing and answers it. */
wp_status wp_pass_void(wp_domain *dom, PGconn *conn, const char *account_id, const char *pass_id, wp_req *req,
                       json_object **out, wp_err *err);

/*
 * POST /api/v1/passes/:id/notify: `in` is {"message": 1..WP_PASS_NOTIFY_MAX_CHARS
 * characters}.  Runs `pass.notify.validate` (the platforms' daily limits), records
 * the notification, counts one operation and publishes `pass.notify`.
 * *out: the pass_notification resource (status "queued").
 */
#define WP_PASS_NOTIFY_MAX_CHARS 4096
wp_status wp_pass_notify(wp_domain *dom, PGconn *conn, const char *account_id, const char *pass_id,
                         json_object *in, wp_req *req, json_object **out, wp_err *err);

/*
 * The filters of a pass list (GET /api/v1/passes), newest first.  Strings are
 * NULL when not filtered on; created_after / created_before are ISO 8601
 * times the caller checked (wp_iso8601_valid).  With near, only passes with
 * a location within radius_m metres (1..WP_PASS_NEAR_MAX_M) of (lat, lng):
 * the location index (migration 0006) gives the bounding box, the exact
 * great-circle distance decides.
 */
#define WP_PASS_NEAR_MAX_M 1000000.0
typedef struct wp_pass_query {
    int limit;                  /* 1..100 */
    const char *starting_after; /* the last id of the previous page */
    const char *status, *pass_type, *template_id;
    const char *created_after, *created_before;
    const char *serial_number, *barcode_message; /* exact matches (migration 0011 indexes them) */
    bool near;
    double lat, lng, radius_m;
} wp_pass_query;

/* One page of the account's passes: *data an array of API resources, *has_more
 * whether more follow. */
wp_status wp_pass_list(wp_domain *dom, PGconn *conn, const char *account_id, const wp_pass_query *q, wp_req *req,
                       json_object **data, bool *has_more, wp_err *err);

/*
 * Loads one pass of the account for a renderer:
 *   {"account_id": "acct_…", "pass": <the API resource without the plugins' keys>,
 *    "body": <the effective body>, "overrides": ["key", ...]}
 * WP_ENOTFOUND when the account has no such pass.  conn may be NULL.
 */
wp_status wp_pass_load(wp_domain *dom, PGconn *conn, const char *account_id, const char *pass_id,
                       json_object **out, wp_err *err);

/*
 * wp_pass_load on a pooled connection; with a current memo (credmemo.h) the
 * same query fills it with the account's credential stamps.
 */
wp_status wp_pass_load_stamped(wp_domain *dom, const char *account_id, const char *pass_id, json_object **out,
                               wp_err *err);

/* The resource's "livemode": false for a pass of a test workspace (tenancy.h).
 * Platform plugins read it from pass_get and the event data: a test pass is
 * marked as such and reaches no wallet service (docs/plugins.md). */
#define WP_PASS_LIVEMODE_COL "(SELECT a.livemode FROM accounts a WHERE a.id = passes.account_id)"

/* Whether the pass's account was deleted (a sub-account, subaccounts.c): the
 * document wp_pass_load gives (and pass_get) then carries "account_deleted":
 * true, and links to the pass answer 410 until its rows are purged. */
#define WP_PASS_GONE_COL "(SELECT a.deleted_at IS NOT NULL FROM accounts a WHERE a.id = passes.account_id)"

/*
 * The pass link capability (host pass_link_token: the one a platform plugin
 * puts in its download link): the vault MAC (purpose WP_PASS_LINK_PURPOSE) of
 * "<account_id>/<pass_id>".  It does not depend on the pass version, so a
 * link sent by email keeps working after updates and after the master key
 * rotates (as long as the old key is in vault.previous_keys).
 * out receives WP_PASS_LINK_TOKEN_LEN characters and a NUL.
 */
#define WP_PASS_LINK_TOKEN_LEN 32
wp_status wp_pass_link_token(wp_domain *dom, const char *account_id, const char *pass_id,
                             char out[WP_PASS_LINK_TOKEN_LEN + 1]);
/* WP_OK when token is the link token of that pass (constant time), else WP_ENOTFOUND. */
wp_status wp_pass_link_verify(wp_domain *dom, const char *account_id, const char *pass_id, const char *token);

/*
 * The same kind of capability for another purpose: the vault MAC of
 * "<account_id>/<pass_id>" under the key derived for `purpose`, so one
 * purpose's capability never passes for another's (the pass link's purpose
 * is WP_PASS_LINK_PURPOSE; plugins get "pass-cap/<plugin>/<purpose>", host
 * pass_cap_token).  purpose: at most 140 characters.
 * WP_PASS_LINK_PURPOSE is frozen: it derives the key of every link capability
 * already sent by mail or SMS, and those links must keep working (it was
 * renamed once, before the first release: docs/operations.md).
 */
#define WP_PASS_LINK_PURPOSE "pass-link"
wp_status wp_pass_cap_token(wp_domain *dom, const char *purpose, const char *account_id, const char *pass_id,
                            char out[WP_PASS_LINK_TOKEN_LEN + 1]);
wp_status wp_pass_cap_verify(wp_domain *dom, const char *purpose, const char *account_id, const char *pass_id,
                             const char *token);

/*
 * The owner of pass_id when token is its capability of `purpose`: ids are
 * random, but the key is (account_id, id), so every owner is tried, each MAC
 * checked in constant time.  account_out receives the account id.
 * WP_ENOTFOUND for an unknown pass or a wrong token alike; database errors
 * as db.h reports them.  Uses a pooled connection.
 */
wp_status wp_pass_cap_owner(wp_domain *dom, const char *purpose, const char *pass_id, const char *token,
                            char *account_out, size_t account_len, wp_err *err);

/*
 * For a public link route that knows only the pass id and the token:
 * loads the pass (wp_pass_load's shape) when the token is its link token.
 * Unknown id and wrong token are the same WP_ENOTFOUND (answer 404).
 * conn may be NULL.
 */
wp_status wp_pass_load_by_link(wp_domain *dom, PGconn *conn, const char *pass_id, const char *token,
                               json_object **out, wp_err *err);

/*
 * The share page's capability (share.h): the vault MAC (purpose "share-link") of
 * "<account_id>/<pass_id>", like the pass link's but of its own purpose, so
 * neither link can be made from the other.  The page is
 * <public_url>/p/<pass_id>.<token>: wp_pass_share_url writes it into out
 * (WP_EINVAL when it does not fit).  Every pass resource the API answers
 * carries it as share_url.
 */
wp_status wp_pass_share_token(wp_domain *dom, const char *account_id, const char *pass_id,
                              char out[WP_PASS_LINK_TOKEN_LEN + 1]);
wp_status wp_pass_share_url(wp_domain *dom, const char *account_id, const char *pass_id, char *out,
                            size_t len);
/* As wp_pass_load_by_link, for the share capability. */
wp_status wp_pass_load_by_share(wp_domain *dom, PGconn *conn, const char *pass_id, const char *token,
                                json_object **out, wp_err *err);

/*
 * Fills the links of a pass resource (res, changed in place) as the API
 * answers it: share_url, then the keys the `pass.links` filters contribute (see
 * the top of this file).  account_id is the pass's owner; req may be NULL.
 * want_links 0 tells the filters that no link is wanted (they may leave theirs
 * null and skip the signing): template propagation's events.
 * share_buttons (may be NULL) receives the filters' "share_buttons" array
 * (share.h says what an entry holds).
 */
wp_status wp_pass_links(wp_domain *dom, const char *account_id, wp_req *req, json_object *res,
                        int want_links, json_object **share_buttons, wp_err *err);

#endif
