/*
 * hmac.h - HMAC-SHA256, with this thread's prepared context for each key it
 * used last.
 *
 * OpenSSL 3's HMAC() fetches the algorithm and the digest by name on every
 * call (EVP_Q_mac), through the library's locks.  Capabilities are two HMACs
 * each (a key derived for the purpose, then the data), made or checked for
 * every pass of a list and on every download by link: that fetching was a
 * sixth of a list's time.  Each thread keeps a context initialised with each
 * of its last few keys and copies it per call (EVP_MAC_CTX_dup), so only the
 * hashing is left.  Prepared contexts, and the copies of their keys, stay
 * with their thread and are wiped when replaced and when it ends.
 */
#ifndef WP_HMAC_H
#define WP_HMAC_H

#include <stddef.h>

#include "err.h"

/* key: 1..64 bytes.  WP_ECRYPTO when OpenSSL fails, WP_EINVAL for a bad key length. */
wp_status wp_hmac_sha256(const unsigned char *key, size_t klen, const void *data, size_t len, unsigned char out[32]);

/*
 * The same, for a MAC asked for again and again (a key derived for a purpose
 * from a master key): the thread keeps its last 16 results of data up to 96
 * bytes, wiped when replaced and when the thread ends.  Not for data that
 * differs per call: it would only push the kept results out.
 */
wp_status wp_hmac_sha256_kept(const unsigned char *key, size_t klen, const void *data, size_t len,
                              unsigned char out[32]);

#endif
