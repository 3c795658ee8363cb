/*
 * qrsvg.c - a QR code as inline SVG (see qrsvg.h).
 */
#include "qrsvg.h"

#include <errno.h>
#include <stdbool.h>
#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUIET 4 /* modules of white border that scanners need */

/* Appends with a growing buffer; false on out of memory (the buffer is freed then). */
static bool put(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t nc = (*cap ? *cap * 2 : 4096);
        while (nc < *len + n + 1) nc *= 2;
        char *nb = realloc(*buf, nc);
        if (!nb) {
            free(*buf);
            *buf = NULL;
            return false;
        }
        *buf = nb;
        *cap = nc;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
    return true;
}

static bool puts_(char **buf, size_t *len, size_t *cap, const char *s)
{
    return put(buf, len, cap, s, strlen(s));
}

static bool put_text(char **buf, size_t *len, size_t *cap, const char *s)
{
    for (; *s; s++) {
        const char *e = NULL;
        switch (*s) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '"': e = "&quot;"; break;
        case '\'': e = "&#39;"; break;
        }
        if (!(e ? puts_(buf, len, cap, e) : put(buf, len, cap, s, 1))) return false;
    }
    return true;
}

wp_status wp_qr_svg(const char *text, const char *title, char **out)
{
    *out = NULL;
    if (!text || !*text) return WP_EINVAL;
    errno = 0;
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!qr) return errno == ERANGE || errno == EINVAL ? WP_EINVAL : WP_ENOMEM;
    int w = qr->width, size = w + 2 * QUIET;
    char *buf = NULL, tmp[256];
    size_t len = 0, cap = 0;
    snprintf(tmp, sizeof tmp,
             "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
             "role=\"img\" aria-labelledby=\"qr-title\" shape-rendering=\"crispEdges\">",
             size, size, size * 6, size * 6);
    bool ok = puts_(&buf, &len, &cap, tmp) && puts_(&buf, &len, &cap, "<title id=\"qr-title\">") &&
              put_text(&buf, &len, &cap, title ? title : "QR code") && puts_(&buf, &len, &cap, "</title>");
    snprintf(tmp, sizeof tmp, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"", size, size);
    ok = ok && puts_(&buf, &len, &cap, tmp);
    for (int y = 0; ok && y < w; y++) {
        for (int x = 0; ok && x < w; x++) {
            if (!(qr->data[y * w + x] & 1)) continue; /* bit 0: dark module */
            /* runs of dark modules on a row become one rectangle */
            int run = 1;
            while (x + run < w && (qr->data[y * w + x + run] & 1)) run++;
            snprintf(tmp, sizeof tmp, "M%d %dh%dv1h-%dz", x + QUIET, y + QUIET, run, run);
            ok = puts_(&buf, &len, &cap, tmp);
            x += run - 1;
        }
    }
    ok = ok && puts_(&buf, &len, &cap, "\"/></svg>");
    QRcode_free(qr);
    if (!ok) return WP_ENOMEM;
    *out = buf;
    return WP_OK;
}
