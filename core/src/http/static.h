/*
 * static.h - the dashboard's files: GET /dashboard/<file> from portal.dashboard_dir.
 *
 * Only files of known types (HTML, JavaScript, CSS, SVG, PNG, ICO, JSON,
 * WOFF2, text) under the folder, named with letters, digits and "-._/"
 * without a segment starting with a dot, are served; anything else is 404.
 * Symbolic links are not followed.  Every answer carries the dashboard's
 * Content-Security-Policy (scripts and styles from the gateway only: no
 * inline script, no inline style), nosniff, no framing, and an ETag; the
 * files are read at each request (no cache: they are small, and a change on
 * disk shows at once).
 */
#ifndef WP_STATIC_H
#define WP_STATIC_H

#include "http.h"

/* The policy of every dashboard file (and the portal's HTML answers). */
#define WP_STATIC_CSP                                                                                                  \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https:; "                   \
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; "                \
    "frame-ancestors 'none'; object-src 'none'"

/* 1 when rel may name a dashboard file: letters, digits and "-._/", no empty segment, no
 * segment starting with a dot (".", "..", ".git"), not starting with "/". */
int wp_static_name_ok(const char *rel);

/* Answers req with the file `rel` ("" is index.html) under root: 200, 304 or 404. */
void wp_static_serve(wp_req *req, const char *root, const char *rel);

#endif
