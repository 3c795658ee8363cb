/*
 * portal.h - the dashboard's accounts and sessions: /portal/api/... (docs/dashboard.md).
 *
 * Sign-up, login, logout, the session, password changes, users and
 * invitations are routes of their own under /portal/api/.  The public API
 * itself is reached from the dashboard as /portal/api/v1/..., the same
 * routes and handlers as /api/v1/..., authenticated by the session cookie
 * instead of an API key (server.c maps the path; wp_portal_authenticate is
 * the check): no resource has a second implementation.
 *
 * A session is a random token in an HttpOnly, SameSite=Lax cookie (Secure
 * when public_url is https), stored as its SHA-256 (portal_store.h), minted
 * anew at every login and password change.  Every request that is not GET or
 * HEAD must carry the session's CSRF token in X-CSRF-Token: a MAC of the
 * session under the master key, handed out in the login and session answers
 * (never in a cookie).  Login failures are counted per email and per client
 * address in the database, so a lockout holds in every gateway process.
 */
#ifndef WP_PORTAL_H
#define WP_PORTAL_H

#include "domain.h"
#include "http.h"
#include "router.h"

#define WP_PORTAL_PREFIX "/portal"          /* /portal/api/v1/... is /api/v1/... with a session */
#define WP_PORTAL_COOKIE "wp_session"
#define WP_PORTAL_CSRF_HEADER "X-CSRF-Token"
#define WP_PORTAL_MODE_HEADER "WalletPass-Mode" /* "test": the API as a test key would see it */

/*
 * The value of cookie `name` in one Cookie header's value ("a=1; wp_session=x"): the first
 * "name=" pair's value, spaces around it dropped, into out (len bytes with the NUL).  1 when
 * found and it fits; 0 otherwise (a longer value is not taken, never cut).
 */
int wp_portal_cookie_in(const char *header, const char *name, char *out, size_t len);

/*
 * The mode a dashboard request acts in: 1 live (no WalletPass-Mode header, or "live"), 0 test
 * ("test": the account's test workspace, as a test key); -1 when the 400 naming the header was sent.
 */
int wp_portal_mode(wp_req *req);

/* Registers the /portal/api/ routes (when portal.enabled). */
wp_status wp_portal_routes(wp_router *r, wp_domain *d, wp_err *err);

/*
 * The session check of a portal request (a WP_AUTH_PORTAL route or an API
 * route reached under /portal/api/v1/): 1 with req->account_id (the user's
 * account), req->api_key_id (the user's id: the scope of Idempotency-Key)
 * and req->portal_user_id filled; or 0 when the 401 (no or no valid session)
 * or 403 (a state-changing request without its CSRF token) was sent.
 */
int wp_portal_authenticate(wp_req *req, const wp_domain *d);

#endif
