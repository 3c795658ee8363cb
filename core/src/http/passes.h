/*
 * passes.h - the pass resource: /api/v1/passes and the helpers the platform
 * plugins (through the host table) use to read passes.
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
 * Ownership: every json_object handed out through an out-parameter is
 * transferred (json_object_put it).  conn may be NULL in the helpers below:
 * then a pooled connection is used for the call.
 */
#ifndef WP_PASSES_H
#define WP_PASSES_H

#include <json-c/json.h>
#include <libpq-fe.h>

#include "domain.h"
#include "err.h"
#include "router.h"


/* Registers the /api/v1/passes routes (called from wp_server_init). */
wp_status wp_passes_routes(wp_router *rt, wp_domain *dom, wp_err *err);

/*
 * Creates one pass of the account from a POST /api/v1/passes body (`in`,
 * borrowed), inside the caller's open transaction on conn: the template
 * merge, the schema, `pass.validate`, metering (one operation), the row,
 * `pass.links` and the `pass.created` event.  Nothing is committed here:
 * the caller commits, or rolls back on failure (the transaction may be
 * aborted then).  template_id (may be NULL) is the template used when `in`
 * has no "template_id" key (a batch's).  req is the HTTP request when there
 * is one (filters see it), else NULL (a batch job).
 * *out: the API resource (transferred).  Errors name the field in
 * err->param and carry the API code (err->code) where it is not the
 * status's default: WP_EINVAL 400, WP_ENOTFOUND 404 (template_id),
 * WP_ELIMIT with code "plan_limit_reached" 402, WP_ECONFLICT 409
 * (serial_number_taken); 5xx statuses are transient (database, vault).
 */
struct wp_req;
wp_status wp_pass_create(wp_domain *dom, PGconn *conn, const char *account_id, json_object *in,
                         const char *template_id, struct wp_req *req, json_object **out, wp_err *err);

/*
 * Loads one pass of the account for a renderer:
 *   {"account_id": "acct_…", "pass": <the API resource without the plugins' keys>,
 *    "body": <the effective body>, "overrides": ["key", ...]}
 * WP_ENOTFOUND when the account has no such pass.
 */
wp_status wp_pass_load(wp_domain *dom, PGconn *conn, const char *account_id, const char *pass_id,
                       json_object **out, wp_err *err);

/*
 * The pass link capability (host pass_link_token: the one a platform plugin
 * puts in its download link): the vault MAC (purpose WP_PASS_LINK_PURPOSE) of
 * "<account_id>/<pass_id>".  It does not depend on the pass version, so a
 * link sent by email keeps working after updates and after the master key
 * rotates (as long as the old key is in vault.previous_keys).
 * out receives WP_PASS_LINK_TOKEN_LEN characters and a NUL.
 */
#define WP_PASS_LINK_TOKEN_LEN 32

/* The resource's "livemode": false for a pass of a test workspace (tenancy.h).
 * Platform plugins read it from pass_get and the event data: a test pass is
 * marked as such and reaches no wallet service (docs/plugins.md). */
#define WP_PASS_LIVEMODE_COL "(SELECT a.livemode FROM accounts a WHERE a.id = passes.account_id)"

/* Whether the pass's account was deleted (a sub-account, subaccounts.c): the
 * document wp_pass_load gives (and pass_get) then carries "account_deleted":
 * true, and links to the pass answer 410 until its rows are purged. */
#define WP_PASS_GONE_COL "(SELECT a.deleted_at IS NOT NULL FROM accounts a WHERE a.id = passes.account_id)"
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
 * For a public link route that knows only the pass id and the token:
 * loads the pass (wp_pass_load's shape) when the token is its link token.
 * Unknown id and wrong token are the same WP_ENOTFOUND (answer 404).
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
 * Fills the links of a pass resource (res, borrowed, changed in place) as the API
 * answers it: share_url, then the keys the `pass.links` filters contribute (see
 * the top of this file).  account_id is the pass's owner; req may be NULL.
 * want_links 0 tells the filters that no link is wanted (they may leave theirs
 * null and skip the signing): template propagation's events.
 * share_buttons (may be NULL) receives the filters' "share_buttons" array
 * (transferred; share.h says what an entry holds).
 */
wp_status wp_pass_links(wp_domain *dom, const char *account_id, struct wp_req *req, json_object *res,
                        int want_links, json_object **share_buttons, wp_err *err);

#endif
