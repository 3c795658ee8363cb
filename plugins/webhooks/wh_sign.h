/*
 * wh_sign.h - Standard Webhooks secrets and signatures (pure functions).
 *
 * A secret is "whsec_" + base64 of WH_SECRET_BYTES random bytes; the HMAC
 * key is the decoded part.  A signature is "v1," + base64(HMAC-SHA256(key,
 * "<webhook-id>.<webhook-timestamp>.<body>")).  Several secrets (during a
 * rotation) give several signatures separated by one space.
 *
 * Ownership: every output goes into a caller buffer; nothing is allocated.
 */
#ifndef WH_SIGN_H
#define WH_SIGN_H

#include <stddef.h>

#define WH_SECRET_BYTES 32
#define WH_SECRET_MAX 128 /* "whsec_" + base64 of up to 64 bytes, NUL */
#define WH_SIG_LEN 47     /* "v1," + 44 base64 characters */

/* A fresh secret from OpenSSL's CSPRNG.  0 on success, -1 on failure. */
int wh_secret_new(char out[WH_SECRET_MAX]);

/* Decodes "whsec_<base64>" into key (at least 64 bytes): the key length, or -1 when malformed
 * (no prefix, bad base64, fewer than 24 or more than 64 bytes). */
int wh_secret_key(const char *secret, unsigned char key[64]);

/* Appends " v1,<sig>" (no leading space when out is empty) for one secret.
 * 0 on success, -1 when the secret is malformed or out is too small. */
int wh_sign_append(const char *secret, const char *msg_id, const char *timestamp, const char *body, size_t body_len,
                   char *out, size_t out_len);

#endif
