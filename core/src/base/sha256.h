/*
 * sha256.h - SHA-256 with the algorithm fetched once per process.
 *
 * OpenSSL 3 looks an implicit algorithm (SHA256(), EVP_sha256()) up by name
 * in its provider store on every call, under the store's locks.  Every
 * authenticated request hashes its API key and every device call of a
 * platform's web service its token, so the lookup showed in their profiles.  The
 * algorithm is fetched once; each thread keeps one digest context, freed
 * when the thread ends.
 */
#ifndef WP_SHA256_H
#define WP_SHA256_H

#include <stddef.h>

#include "err.h"

/* WP_ECRYPTO when OpenSSL fails (out is then all zero). */
wp_status wp_sha256(const void *data, size_t len, unsigned char out[32]);

#endif
