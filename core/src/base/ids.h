/*
 * ids.h - identifiers and random tokens.
 *
 * Object ids are "<prefix>_" + 26 lowercase Crockford base32 characters:
 * 48 bits of millisecond time (so ids sort by creation, which cursor
 * pagination relies on) and 80 random bits (so ids cannot be guessed).
 * All randomness comes from OpenSSL's CSPRNG.
 */
#ifndef WP_IDS_H
#define WP_IDS_H

#include <stddef.h>

#include "err.h"

#define WP_ID_MAX 48

/* out must hold WP_ID_MAX bytes; prefix is at most 16 characters. */
wp_status wp_id_new(const char *prefix, char out[WP_ID_MAX]);

/* n random bytes encoded base64url without padding into out (size >= 4n/3 + 2). */
wp_status wp_random_token(size_t nbytes, char *out, size_t outlen);

/* 15 random bytes as 20 base64url characters (a request's id: unique, not secret). */
wp_status wp_request_token(char out[21]);

/* Lowercase hex of n bytes into out (2n + 1 bytes, NUL-terminated). */
void wp_hex(const unsigned char *in, size_t n, char *out);

/* Lowercase hex SHA-256 of data into out[65] (sha256.h; all zeros when OpenSSL fails). */
void wp_sha256_hex(const void *data, size_t len, char out[65]);

/* True when s is "<prefix>_" followed by 26 Crockford base32 characters. */
int wp_id_valid(const char *s, const char *prefix);

#endif
