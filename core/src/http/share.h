/*
 * share.h - the share page: GET /p/<pass_id>.<token>, no API key.
 *
 * A pass's holder opens the pass's share_url (pass_service.h) on any device and gets
 * one HTML page: the pass's name and logo and the buttons that fit the device.
 * The buttons are the platform plugins': each pass.links filter may add to the
 * document's "share_buttons" array an entry
 *   {"link": "<the key of its link in the pass resource>", "label": "Add to ...",
 *    "wallet": "<the wallet's name>", "devices": ["ios", "mac-safari", "android"]}
 * (label and wallet 1..80 bytes, shown as text).  A phone or a Mac's Safari
 * gets the buttons naming its device class (for one whose link is null, a
 * notice that the pass cannot be added to that wallet yet); anything else gets
 * every button with a link and a QR code of the page itself, to continue on a
 * phone.  So the page knows no platform: a plugin that adds a link adds its
 * button.  Only http(s) links become buttons.
 *
 * The page has no script; its only style is one <style> element allowed by
 * its hash in the Content-Security-Policy; every value from the pass and the
 * plugins is escaped as text.  A wrong capability is 404 (an HTML page for
 * browsers, the JSON error otherwise), exactly like an unknown pass.
 */
#ifndef WP_SHARE_H
#define WP_SHARE_H

#include "domain.h"
#include "err.h"
#include "router.h"


/* Registers GET /p/:capability (called from wp_server_init). */
wp_status wp_share_routes(wp_router *rt, wp_domain *dom, wp_err *err);

/* The device class of a User-Agent, and its name in "devices" (exposed for the unit test). */
typedef enum { WP_DEVICE_OTHER = 0, WP_DEVICE_IOS, WP_DEVICE_MAC_SAFARI, WP_DEVICE_ANDROID } wp_share_device;
wp_share_device wp_share_device_of(const char *user_agent);
const char *wp_share_device_name(wp_share_device d);

#endif
