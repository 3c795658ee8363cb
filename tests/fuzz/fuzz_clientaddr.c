/*
 * fuzz_clientaddr: X-Forwarded-For (clientaddr.c), a header any client can
 * send.  The input is lines: the first is a trusted-proxy block, the second
 * the TCP peer, the rest X-Forwarded-For values.  The answer must always be
 * the peer or a well-formed address, NUL-terminated within its buffer, and
 * the peer whenever the peer is not trusted.
 */
#include <arpa/inet.h>
#include <stdio.h>

#include "clientaddr.h"
#include "fuzz.h"

static int is_address(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fz_cstr(data, size);
    if (!text) return 0;
    const char *lines[18] = {0};
    size_t n = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && n < 18; l = strtok_r(NULL, "\n", &save)) lines[n++] = l;
    wp_netblock block;
    wp_proxies p = {0};
    if (n >= 1 && wp_netblock_parse(lines[0], &block) == 0) {
        p.blocks = &block;
        p.n = 1;
    }
    const char *peer = n >= 2 ? lines[1] : "127.0.0.1";
    char out[WP_CLIENTADDR_MAX];
    memset(out, 'x', sizeof out);
    wp_clientaddr(&p, peer, n > 2 ? lines + 2 : NULL, n > 2 ? n - 2 : 0, out, sizeof out);
    if (!memchr(out, '\0', sizeof out)) abort();
    if (strcmp(out, peer) != 0 && strncmp(out, peer, sizeof out - 1) != 0 && !is_address(out)) {
        fprintf(stderr, "clientaddr answered \"%s\", neither the peer nor an address\n", out);
        abort();
    }
    /* without a trusted block, the peer and nothing else */
    if (p.n == 0 && strncmp(out, peer, sizeof out - 1) != 0) abort();
    free(text);
    return 0;
}
