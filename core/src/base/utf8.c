/* utf8.c - UTF-8 validation and scrubbing (RFC 3629). */
#include "utf8.h"

#include <string.h>

int wp_utf8_seq_len(const unsigned char *p, size_t avail)
{
    if (avail == 0) return 0;
    unsigned c = p[0];
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return (avail >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && p[1] < 0xA0) return 0;  /* overlong */
        if (c == 0xED && p[1] >= 0xA0) return 0; /* surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (avail < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return 0;
        if (c == 0xF0 && p[1] < 0x90) return 0;  /* overlong */
        if (c == 0xF4 && p[1] >= 0x90) return 0; /* past U+10FFFF */
        return 4;
    }
    return 0;
}

int wp_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        int k = wp_utf8_seq_len(p, (size_t)(end - p));
        if (!k) return 0;
        p += k;
    }
    return 1;
}

void wp_utf8_scrub(char *s)
{
    unsigned char *p = (unsigned char *)s;
    size_t left = strlen(s);
    while (left) {
        int k = wp_utf8_seq_len(p, left);
        if (!k) {
            *p = '?';
            k = 1;
        }
        p += k;
        left -= (size_t)k;
    }
}

void wp_utf8_cut(char *s, size_t cap)
{
    static const char ellipsis[] = "\xe2\x80\xa6";
    const size_t el = sizeof ellipsis - 1;
    size_t n = strlen(s);
    if (cap == 0 || n + 1 < cap) return;
    int mark = cap - 1 >= el;               /* a buffer too small for the mark is only cut */
    size_t room = mark ? cap - 1 - el : cap - 1;
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        int k = wp_utf8_seq_len(p + i, n - i);
        /* in the last 3 bytes an invalid byte may be the start of a cut character */
        if (!k && n - i <= 3) break;
        if (!k) k = 1;
        if (i + (size_t)k > room) break;
        i += (size_t)k;
    }
    if (mark) memcpy(s + i, ellipsis, el + 1);
    else s[i] = '\0';
}
