/*
 * apple_cache.h - the two caches of the apple-signer, both safe to lose.
 *
 * Identities: the parsed certificate, key and WWDR chain of an account,
 * keyed by the account and the SHA-256 of its credential PEMs, so new
 * credentials make a new entry and the old one is dropped (freed when its
 * last user releases it).
 *
 * Bundles: signed .pkpass bytes keyed by (account, pass id, version,
 * credential hash), bounded by total bytes (least recently used evicted).
 * The first request for a key builds it; concurrent requests for the same
 * key wait on a condition variable for that build instead of signing again.
 *
 * Thread-safe (one mutex, never held while parsing or signing).  Ownership:
 * what acquire hands out is released with the matching release; the cache
 * owns the bytes.
 */
#ifndef APPLE_CACHE_H
#define APPLE_CACHE_H

#include <stddef.h>

#include "apple_bundle.h"

typedef struct apple_cred apple_cred;
struct apple_cred {
    apple_identity id;
    char hash_hex[65];      /* SHA-256 of the credential, hex */
};

void apple_cache_init(size_t max_bundle_bytes, size_t max_accounts);
void apple_cache_shutdown(void);

/* The identity for account_id with credential hash hash_hex, parsed from
 * the PEMs when not cached.  WP_EINVAL with msg when they do not parse. */
wp_status apple_cred_acquire(const char *account_id, const char *hash_hex, const char *cert_pem, const char *key_pem,
                             const char *wwdr_pem, apple_cred **out, char *msg, size_t msglen);
void apple_cred_release(apple_cred *c);

/* Builds one bundle (called by at most one thread per key at a time). */
typedef wp_status (*apple_build_fn)(void *ud, unsigned char **data, size_t *len, int *http_status, char *code,
                                    size_t codelen, char *msg, size_t msglen);

typedef struct apple_bundle_ref apple_bundle_ref;

/* Returns the cached bundle for key, or builds it with fn.  On success
 * data and len are valid until apple_bundle_release(*ref).  On failure the
 * builder's status, HTTP status, code and message are handed to every waiter. */
wp_status apple_bundle_get(const char *key, const char *pass_id, apple_build_fn fn, void *ud, apple_bundle_ref **ref,
                           const unsigned char **data, size_t *len, int *http_status, char *code, size_t codelen,
                           char *msg, size_t msglen);
void apple_bundle_release(apple_bundle_ref *ref);

/* The cached bundle for key when there is one (a build under way is waited
 * for), without building: WP_OK with data and len valid until
 * apple_bundle_release(*ref), WP_ENOTFOUND otherwise. */
wp_status apple_bundle_peek(const char *key, apple_bundle_ref **ref, const unsigned char **data, size_t *len);

/* Counters for tests and metrics. */
typedef struct apple_cache_stats {
    unsigned long builds, hits, waits, evictions, bytes, entries;
} apple_cache_stats;
void apple_cache_stats_get(apple_cache_stats *out);

#endif
