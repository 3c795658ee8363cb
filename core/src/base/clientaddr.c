/*
 * clientaddr.c - the client's address behind trusted proxies (see clientaddr.h).
 */
#include "clientaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Text to binary; IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes IPv4.  0 on success. */
static int parse_addr(const char *text, int *family, unsigned char addr[16])
{
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, text, addr) == 1) {
        *family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, text, addr) != 1) return -1;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(addr, mapped, 12) == 0) {
        memmove(addr, addr + 12, 4);
        memset(addr + 4, 0, 12);
        *family = AF_INET;
        return 0;
    }
    *family = AF_INET6;
    return 0;
}

int wp_netblock_parse(const char *text, wp_netblock *out)
{
    char buf[WP_CLIENTADDR_MAX + 8];
    size_t n = strlen(text);
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, text, n + 1);
    char *slash = strchr(buf, '/');
    long bits = -1;
    if (slash) {
        *slash = '\0';
        char *end;
        const char *digits = slash + 1;
        if (*digits < '0' || *digits > '9' || strlen(digits) > 3) return -1;
        bits = strtol(digits, &end, 10);
        if (*end) return -1;
    }
    if (parse_addr(buf, &out->family, out->addr) != 0) return -1;
    int max = out->family == AF_INET ? 32 : 128;
    if (bits < 0) bits = max;
    if (bits > max) return -1;
    out->bits = (int)bits;
    /* host bits set in "10.1.2.3/8" are dropped: the block is what the prefix says */
    for (int i = 0; i < 16; i++) {
        int keep = out->bits - i * 8;
        if (keep <= 0) out->addr[i] = 0;
        else if (keep < 8) out->addr[i] &= (unsigned char)(0xff << (8 - keep));
    }
    return 0;
}

wp_status wp_proxies_from_json(json_object *arr, wp_proxies *out, wp_err *err)
{
    memset(out, 0, sizeof *out);
    if (!arr) return WP_OK;
    if (!json_object_is_type(arr, json_type_array))
        return wp_err_param(err, WP_ECONFIG, "server.trusted_proxies",
                            "server.trusted_proxies: must be an array of addresses or CIDR blocks");
    size_t n = json_object_array_length(arr);
    if (n == 0) return WP_OK;
    if (n > 1024)
        return wp_err_param(err, WP_ECONFIG, "server.trusted_proxies",
                            "server.trusted_proxies: at most 1024 entries; use CIDR blocks");
    out->blocks = calloc(n, sizeof *out->blocks);
    if (!out->blocks) return wp_err_set(err, WP_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        char key[64];
        snprintf(key, sizeof key, "server.trusted_proxies[%zu]", i);
        if (!json_object_is_type(v, json_type_string) ||
            wp_netblock_parse(json_object_get_string(v), &out->blocks[i]) != 0) {
            wp_proxies_free(out);
            return wp_err_param(err, WP_ECONFIG, key,
                                "%s: must be an IP address or a CIDR block (\"10.0.0.0/8\", \"::1\"), got %s", key,
                                json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
        }
    }
    out->n = n;
    return WP_OK;
}

void wp_proxies_free(wp_proxies *p)
{
    free(p->blocks);
    memset(p, 0, sizeof *p);
}

static int in_block(const wp_netblock *b, int family, const unsigned char addr[16])
{
    if (b->family != family) return 0;
    int full = b->bits / 8, rest = b->bits % 8;
    if (memcmp(b->addr, addr, (size_t)full) != 0) return 0;
    if (rest == 0) return 1;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (addr[full] & mask) == b->addr[full];
}

static int trusted(const wp_proxies *p, int family, const unsigned char addr[16])
{
    for (size_t i = 0; i < p->n; i++)
        if (in_block(&p->blocks[i], family, addr)) return 1;
    return 0;
}

/* One X-Forwarded-For entry: spaces around it, "[v6]:port" and "v4:port" allowed.  0 on success. */
static int parse_entry(const char *s, size_t n, int *family, unsigned char addr[16])
{
    while (n > 0 && (*s == ' ' || *s == '\t')) s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    if (n > 0 && *s == '[') {
        const char *close = memchr(s, ']', n);
        if (!close) return -1;
        size_t after = n - (size_t)(close + 1 - s);
        if (after && close[1] != ':') return -1;
        n = (size_t)(close - s - 1);
        s++;
    } else {
        const char *colon = memchr(s, ':', n);
        /* exactly one colon: IPv4 with a port (IPv6 has at least two) */
        if (colon && !memchr(colon + 1, ':', n - (size_t)(colon + 1 - s))) n = (size_t)(colon - s);
    }
    char buf[WP_CLIENTADDR_MAX];
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return parse_addr(buf, family, addr);
}

static void write_addr(int family, const unsigned char addr[16], char *out, size_t len)
{
    char text[INET6_ADDRSTRLEN];
    if (inet_ntop(family, addr, text, sizeof text)) snprintf(out, len, "%s", text);
}

void wp_clientaddr(const wp_proxies *p, const char *peer, const char *const *xff, size_t nxff, char *out, size_t len)
{
    snprintf(out, len, "%s", peer ? peer : "");
    int family;
    unsigned char addr[16];
    if (!p || p->n == 0 || !peer || parse_addr(peer, &family, addr) != 0 || !trusted(p, family, addr)) return;
    /* the last header holds the nearest proxy's entries; its last entry is the nearest */
    for (size_t h = nxff; h-- > 0;) {
        const char *v = xff[h];
        if (!v) continue;
        size_t end = strlen(v);
        for (;;) {
            size_t start = end;
            while (start > 0 && v[start - 1] != ',') start--;
            if (parse_entry(v + start, end - start, &family, addr) != 0) return;
            write_addr(family, addr, out, len);
            if (!trusted(p, family, addr)) return;
            if (start == 0) break;
            end = start - 1;
        }
    }
}
