/* ssrf.c - see ssrf.h. */
#include "ssrf.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct {
    uint32_t net, mask;
    const char *why;
    bool always;    /* refused even with allow_private */
} v4_rule;

#define V4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))
#define MASK(bits) ((bits) == 0 ? 0u : (uint32_t)(0xFFFFFFFFu << (32 - (bits))))

/* Most specific first: the metadata address sits inside link-local. */
static const v4_rule v4_rules[] = {
    {V4(169, 254, 169, 254), MASK(32), "cloud metadata address", true},
    {V4(0, 0, 0, 0), MASK(8), "unspecified (\"this network\") address", true},
    {V4(127, 0, 0, 0), MASK(8), "loopback address", false},
    {V4(10, 0, 0, 0), MASK(8), "private address (10/8)", false},
    {V4(172, 16, 0, 0), MASK(12), "private address (172.16/12)", false},
    {V4(192, 168, 0, 0), MASK(16), "private address (192.168/16)", false},
    {V4(100, 64, 0, 0), MASK(10), "shared (CGNAT) address", false},
    {V4(169, 254, 0, 0), MASK(16), "link-local address", false},
    {V4(192, 0, 0, 0), MASK(24), "IETF protocol assignment address", false},
    {V4(198, 18, 0, 0), MASK(15), "benchmarking address", false},
    {V4(224, 0, 0, 0), MASK(4), "multicast address", true},
    {V4(240, 0, 0, 0), MASK(4), "reserved address", true},
};

static const char *v4_refused(uint32_t a, bool allow_private)
{
    for (size_t i = 0; i < sizeof v4_rules / sizeof v4_rules[0]; i++) {
        const v4_rule *r = &v4_rules[i];
        if ((a & r->mask) == r->net) return (r->always || !allow_private) ? r->why : NULL;
    }
    return NULL;
}

static const char *v6_refused(const uint8_t b[16], bool allow_private)
{
    static const uint8_t zero[16] = {0};
    static const uint8_t metadata[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54};
    if (memcmp(b, zero, 16) == 0) return "unspecified address";
    if (memcmp(b, metadata, 16) == 0) return "cloud metadata address";
    if (memcmp(b, zero, 15) == 0 && b[15] == 1) return allow_private ? NULL : "loopback address";
    /* IPv4 inside IPv6: judged as the IPv4 address it reaches. */
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    if (memcmp(b, mapped, 12) == 0 || memcmp(b, zero, 12) == 0 || memcmp(b, nat64, 12) == 0)
        return v4_refused(V4(b[12], b[13], b[14], b[15]), allow_private);
    if (b[0] == 0x20 && b[1] == 0x02) /* 6to4: 2002:AABB:CCDD::/48 */
        return v4_refused(V4(b[2], b[3], b[4], b[5]), allow_private);
    if (b[0] == 0xff) return "multicast address";
    if ((b[0] & 0xfe) == 0xfc) return allow_private ? NULL : "unique local (private) address";
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return allow_private ? NULL : "link-local address";
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return allow_private ? NULL : "site-local address";
    return NULL;
}

const char *wp_ssrf_addr_refused(const struct sockaddr *sa, bool allow_private)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return v4_refused(ntohl(in->sin_addr.s_addr), allow_private);
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        return v6_refused(in6->sin6_addr.s6_addr, allow_private);
    }
    return "not an IP address";
}

static void addr_text(const struct sockaddr *sa, char *out, size_t len)
{
    const void *a = sa->sa_family == AF_INET ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
                                             : (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (!inet_ntop(sa->sa_family, a, out, (socklen_t)len)) snprintf(out, len, "?");
}

wp_status wp_ssrf_check_url(const char *url, bool allow_private, char *pin, size_t pin_len, wp_err *err)
{
    if (!url || !*url) return wp_err_set(err, WP_EINVAL, "URL is empty");
    CURLU *u = curl_url();
    if (!u) return wp_err_set(err, WP_ENOMEM, "out of memory");
    char *scheme = NULL, *host = NULL, *port = NULL;
    wp_status st = WP_OK;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host) {
        st = wp_err_set(err, WP_EINVAL, "\"%.200s\" is not an absolute http(s) URL with a host", url);
        goto out;
    }
    if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
        st = wp_err_set(err, WP_EINVAL, "URL scheme \"%s\" is not allowed: use http or https", scheme);
        goto out;
    }
    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
    /* curl keeps IPv6 literals in brackets; getaddrinfo wants them bare. */
    char name[256];
    size_t hl = strlen(host);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') snprintf(name, sizeof name, "%.*s", (int)(hl - 2), host + 1);
    else snprintf(name, sizeof name, "%s", host);
    char *pct = strchr(name, '%'); /* zone id: the address alone is judged */
    if (pct) *pct = '\0';

    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(name, port ? port : "80", &hints, &res);
    if (gai != 0) {
        st = wp_err_set(err, WP_EUNAVAIL, "cannot resolve host \"%s\": %s", name, gai_strerror(gai));
        goto out;
    }
    /* Every address must pass: a client may connect to any of them. */
    const struct addrinfo *first = NULL;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        const char *why = wp_ssrf_addr_refused(ai->ai_addr, allow_private);
        if (why) {
            char txt[INET6_ADDRSTRLEN];
            addr_text(ai->ai_addr, txt, sizeof txt);
            st = wp_err_set(err, WP_EDENIED, "outbound URL refused: host \"%s\" resolves to %s, a %s", name, txt, why);
            break;
        }
        if (!first) first = ai;
    }
    if (st == WP_OK && !first) st = wp_err_set(err, WP_EUNAVAIL, "host \"%s\" has no usable address", name);
    if (st == WP_OK && pin && pin_len) {
        char txt[INET6_ADDRSTRLEN];
        addr_text(first->ai_addr, txt, sizeof txt);
        if (first->ai_family == AF_INET6) snprintf(pin, pin_len, "%s:%s:[%s]", name, port ? port : "80", txt);
        else snprintf(pin, pin_len, "%s:%s:%s", name, port ? port : "80", txt);
    }
    freeaddrinfo(res);
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return st;
}
