/*
 * clientaddr.h - the client's address behind trusted reverse proxies
 * (server.trusted_proxies).
 *
 * The TCP peer is the client unless it is one of the trusted proxies.  Then
 * X-Forwarded-For is read from the right (the entry the nearest proxy added
 * first), skipping the entries that are trusted proxies too; the first other
 * address is the client.  Entries to the left of it were written by the
 * client itself and are never believed.  An entry that is not an address
 * ends the walk at the last trusted hop, so a forged or damaged header can
 * never name an address the proxies did not see.
 *
 * A wp_proxies owns its array (wp_proxies_free).
 */
#ifndef WP_CLIENTADDR_H
#define WP_CLIENTADDR_H

#include <stddef.h>
#include <json-c/json.h>

#include "err.h"

typedef struct wp_netblock {
    int family;              /* AF_INET or AF_INET6 */
    unsigned char addr[16];  /* network byte order; IPv4 in the first 4 */
    int bits;                /* prefix length */
} wp_netblock;

typedef struct wp_proxies {
    wp_netblock *blocks;
    size_t n;
} wp_proxies;

/* Longest text of an address ("ffff:...:255.255.255.255"), NUL included. */
#define WP_CLIENTADDR_MAX 48

/* Parses "192.0.2.7", "10.0.0.0/8", "::1", "fd00::/8".  Returns 0 on success, -1 otherwise. */
int wp_netblock_parse(const char *text, wp_netblock *out);

/* Reads the server.trusted_proxies array (NULL or empty: none).  An entry that
 * is not an address or block is WP_ECONFIG naming it ("server.trusted_proxies[2]"). */
wp_status wp_proxies_from_json(json_object *arr, wp_proxies *out, wp_err *err);

void wp_proxies_free(wp_proxies *p);

/*
 * Writes the client's address into out (len >= WP_CLIENTADDR_MAX): peer, or
 * when peer is a trusted proxy the address found in xff[0..nxff) (the values
 * of every X-Forwarded-For header, in the order received; may be empty).
 */
void wp_clientaddr(const wp_proxies *p, const char *peer, const char *const *xff, size_t nxff, char *out, size_t len);

#endif
