/*
 * apple_render.h - the unified pass rendered as Apple's pass.json
 * (Apple's Wallet developer documentation).  Pure functions: no host calls, so the
 * unit suite links this file alone.
 *
 * Ownership: inputs are borrowed; *out is a new object the caller puts.
 */
#ifndef APPLE_RENDER_H
#define APPLE_RENDER_H

#include <stddef.h>

#include <walletpass/plugin.h>

typedef struct apple_ids {
    const char *pass_type_identifier;   /* from the account's credentials */
    const char *team_identifier;
    const char *web_service_url;        /* public_url + prefix, no trailing slash; NULL or "": no web service */
} apple_ids;

/*
 * pass: the resource host->pass_get returns (id, serial_number, pass_type,
 * status, body, authentication_token ...).  Fills *out with pass.json.
 * WP_EINVAL (message in msg) when the pass lacks what Apple requires.
 */
wp_status apple_render(const json_object *pass, const apple_ids *ids, json_object **out, char *msg, size_t msglen);

/* "#1a1a2e" -> "rgb(26, 26, 46)"; 0 when s is not #rrggbb. */
int apple_rgb(const char *hex, char *out, size_t len);

/* ISO 8601 with a zone -> "YYYY-MM-DDTHH:MM:SSZ" or "...±HH:MM" (no fraction); 0 when unusable. */
int apple_w3c_date(const char *iso, char *out, size_t len);

/* The pass.json style key of a unified pass_type ("loyalty" -> "storeCard"), NULL when unknown. */
const char *apple_style(const char *pass_type);

#endif
