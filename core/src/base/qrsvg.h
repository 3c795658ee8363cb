/*
 * qrsvg.h - a QR code (libqrencode) drawn as inline SVG, for the share page.
 *
 * The SVG is one <path> of the dark modules on a white square with the
 * standard 4-module quiet zone, sized by its viewBox (scale it with CSS or
 * the width attribute); it carries role="img" and a <title> for screen
 * readers.  No style attributes, so a strict Content-Security-Policy allows it.
 */
#ifndef WP_QRSVG_H
#define WP_QRSVG_H

#include <stddef.h>

#include "err.h"

/*
 * Encodes text (a URL: 8-bit mode, error correction M) and writes the SVG into
 * *out (malloc'd, the caller frees).  title is the accessible name (plain
 * text: escaped here).  WP_EINVAL when text does not fit in a QR code
 * (about 2,300 bytes at level M), WP_ENOMEM otherwise on failure.
 */
wp_status wp_qr_svg(const char *text, const char *title, char **out);

#endif
