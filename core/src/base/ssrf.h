/*
 * ssrf.h - the outbound-request guard (server-side request forgery).
 *
 * Every outbound call the gateway or a plugin makes to a URL a user gave
 * (webhooks, images by URL) is checked here first: http/https only, the
 * host name resolved, and every address it resolves to must be public.
 * Refused: unspecified (0.0.0.0/8, ::), loopback (127/8, ::1), private
 * (10/8, 172.16/12, 192.168/16, fc00::/7), CGNAT (100.64/10), link-local
 * (169.254/16, fe80::/10), multicast (224/4, ff00::/8), reserved (240/4,
 * broadcast), benchmarking (198.18/15), and the IPv4 embedded in IPv4-mapped,
 * IPv4-compatible, NAT64 (64:ff9b::/96) and 6to4 addresses by the same rules.
 * allow_private (config outbound.allow_private_targets, for local testing)
 * lifts loopback, private, CGNAT and link-local, but never the cloud
 * metadata addresses (169.254.169.254, fd00:ec2::254), multicast or the
 * unspecified address.
 *
 * Checking then connecting by name again would let DNS answer differently
 * the second time (rebinding): callers pin the connection to the checked
 * address with the "host:port:address" string (CURLOPT_RESOLVE format).
 */
#ifndef WP_SSRF_H
#define WP_SSRF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "err.h"

/*
 * Checks one resolved address.  Returns NULL when allowed, else a static
 * reason ("loopback address").
 */
const char *wp_ssrf_addr_refused(const struct sockaddr *sa, bool allow_private);

/*
 * Checks a URL.  WP_OK: allowed, and pin (when non-NULL) receives
 * "host:port:address".  WP_EINVAL: not an http(s) URL with a host.
 * WP_EDENIED: the host resolves to a refused address (err names it and why).
 * WP_EUNAVAIL: the name does not resolve.
 */
wp_status wp_ssrf_check_url(const char *url, bool allow_private, char *pin, size_t pin_len, wp_err *err);

#endif
