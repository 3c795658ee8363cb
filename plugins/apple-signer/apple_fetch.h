/*
 * apple_fetch.h - images given as https URLs: fetched once, checked as PNG,
 * cached per URL.
 *
 * The caller checks the URL with host->url_check first and passes the pin
 * ("host:port:address") it got, so the connection goes to the address that
 * was checked (CURLOPT_RESOLVE); redirects are not followed (a redirect
 * could lead past the check).  Only https, at most max_bytes, within
 * timeout_ms and before the deadline: a request that builds a bundle waits
 * for its images on a server worker, so all its fetches share one bound.  The cache holds at most max_entries images and max_total
 * bytes (least recently used evicted); it is safe to lose.
 *
 * Thread-safe.  Ownership: *data from apple_fetch_get is a malloc()ed copy
 * the caller frees.
 */
#ifndef APPLE_FETCH_H
#define APPLE_FETCH_H

#include <stddef.h>

#include <walletpass/plugin.h>

typedef struct apple_fetch_opts {
    size_t max_bytes;       /* per image */
    long timeout_ms;        /* whole transfer */
    const char *ca_file;    /* NULL: the system's CA store */
    double deadline;        /* CLOCK_MONOTONIC seconds the transfer must end by, shared by the
                             * fetches of one bundle (apple_fetch_deadline); 0: timeout_ms alone */
} apple_fetch_opts;

/* The deadline for fetches that together may take budget_ms from now. */
double apple_fetch_deadline(long budget_ms);

void apple_fetch_init(size_t max_entries, size_t max_total);
void apple_fetch_shutdown(void);

/* WP_OK with a PNG; WP_EIO (unreachable, timeout, HTTP status), WP_ETOOLARGE,
 * WP_EINVAL (not a PNG) with msg. */
wp_status apple_fetch_get(const char *url, const char *pin, const apple_fetch_opts *o, unsigned char **data,
                          size_t *len, char *msg, size_t msglen);

#endif
