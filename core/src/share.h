/*
 * share.h - the share page: GET /p/<pass_id>.<token>, no API key.
 *
 * A pass's holder opens the pass's share_url (passes.h) on any device and gets
 * one HTML page: the pass's name and logo and the buttons that fit the device
 * ("Add to Apple Wallet" on iOS and macOS Safari, "Add to Google Wallet" on
 * Android, both and a QR code of the page itself elsewhere).  The buttons are
 * the pass resource's own links (pkpass_url, google_save_url, from the
 * `pass.links` filters), so the page knows nothing of the platforms beyond
 * those two fields.  The page has no script; its only style is one <style>
 * element allowed by its hash in the Content-Security-Policy; every value from
 * the pass is escaped as text.  A wrong capability is 404 (an HTML page for
 * browsers, the JSON error otherwise), exactly like an unknown pass.
 */
#ifndef WP_SHARE_H
#define WP_SHARE_H

#include "err.h"

struct wp_server;

/* Registers GET /p/:capability (called from wp_server_init). */
wp_status wp_share_routes(struct wp_server *srv, wp_err *err);

/* What the page offers, by User-Agent (exposed for the unit test). */
enum { WP_SHARE_APPLE = 1, WP_SHARE_GOOGLE = 2, WP_SHARE_QR = 4 };
int wp_share_offer(const char *user_agent);

#endif
