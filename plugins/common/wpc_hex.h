/*
 * wpc_hex.h - lowercase hex of bytes.  Digests become cache keys and ETags on
 * every download; a table is a few nanoseconds where snprintf("%02x") per
 * byte was a measurable share of a cached download.
 */
#ifndef WPC_HEX_H
#define WPC_HEX_H

#include <stddef.h>

/* out: 2n + 1 bytes, NUL-terminated. */
static inline void wpc_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

#endif
