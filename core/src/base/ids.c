/* ids.c - see ids.h. */
#include "ids.h"

#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sha256.h"

static const char b32[] = "0123456789abcdefghjkmnpqrstvwxyz";

wp_status wp_id_new(const char *prefix, char out[WP_ID_MAX])
{
    unsigned char raw[16];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    for (int i = 5; i >= 0; i--) {
        raw[i] = (unsigned char)(ms & 0xff);
        ms >>= 8;
    }
    if (RAND_bytes(raw + 6, 10) != 1) return WP_ECRYPTO;
    size_t plen = strlen(prefix);
    if (plen > 16) return WP_EINVAL;
    memcpy(out, prefix, plen);
    out[plen] = '_';
    char *d = out + plen + 1;
    /* 128 bits -> 26 base32 digits (the first carries 3 bits), as ULID does. */
    int bit = -2; /* 130 bits of output cover 128 of input: two leading zero bits */
    for (int i = 0; i < 26; i++, bit += 5) {
        unsigned v = 0;
        for (int b = 0; b < 5; b++) {
            int pos = bit + b;
            v <<= 1;
            if (pos >= 0 && pos < 128) v |= (raw[pos / 8] >> (7 - pos % 8)) & 1u;
        }
        d[i] = b32[v];
    }
    d[26] = '\0';
    return WP_OK;
}

int wp_id_valid(const char *s, const char *prefix)
{
    size_t plen = strlen(prefix);
    if (!s || strncmp(s, prefix, plen) != 0 || s[plen] != '_') return 0;
    s += plen + 1;
    /* 26 digits carry 130 bits of which the first two are zero: '0'..'7' only */
    if (*s < '0' || *s > '7') return 0;
    size_t n = 0;
    for (; s[n]; n++)
        if (!strchr(b32, s[n])) return 0;
    return n == 26;
}

/* n bytes as base64url without padding into out (at least (4n + 2) / 3 + 1 bytes). */
static void b64url(const unsigned char *raw, size_t nbytes, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < nbytes; i++) {
        acc = (acc << 8) | raw[i];
        bits += 8;
        while (bits >= 6) {
            out[o++] = a[(acc >> (bits - 6)) & 63];
            bits -= 6;
        }
    }
    if (bits > 0) out[o++] = a[(acc << (6 - bits)) & 63];
    out[o] = '\0';
}

wp_status wp_random_token(size_t nbytes, char *out, size_t outlen)
{
    unsigned char raw[128];
    if (nbytes > sizeof raw || outlen < (nbytes * 4 + 2) / 3 + 1) return WP_EINVAL;
    if (RAND_bytes(raw, (int)nbytes) != 1) return WP_ECRYPTO;
    b64url(raw, nbytes, out);
    OPENSSL_cleanse(raw, nbytes);
    return WP_OK;
}

wp_status wp_request_token(char out[21])
{
    /* ids are names, not secrets: one RAND_bytes per request was a few percent of a
     * cached download, so each thread draws 4 KB at a time */
    static _Thread_local unsigned char reserve[4095];
    static _Thread_local size_t used = sizeof reserve;
    if (used + 15 > sizeof reserve) {
        if (RAND_bytes(reserve, (int)sizeof reserve) != 1) return WP_ECRYPTO;
        used = 0;
    }
    b64url(reserve + used, 15, out);
    used += 15;
    return WP_OK;
}

void wp_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[32];
    (void)wp_sha256(data, len, md); /* all zero when OpenSSL fails */
    wp_hex(md, sizeof md, out);
}

void wp_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}
