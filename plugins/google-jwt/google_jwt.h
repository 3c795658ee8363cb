/*
 * google_jwt.h - compact RS256 JWTs: the "Add to Google Wallet" save link and
 * the OAuth2 service-account assertion (Google Wallet API reference).
 *
 * Pure crypto and JSON, no I/O.  Keys are OpenSSL EVP_PKEYs: the caller owns
 * them (EVP_PKEY_free).  Strings returned through char ** are malloc'd and
 * transferred to the caller (free).  Thread-safe: no shared state.
 */
#ifndef GOOGLE_JWT_H
#define GOOGLE_JWT_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <walletpass/plugin.h>

#define GJ_SAVE_PREFIX "https://pay.google.com/gp/v/save/"
#define GJ_MAX_JWT 1800 /* longest token handed out in a save link */

/* base64url without padding of n bytes; malloc'd (NULL when out of memory). */
char *gj_b64url(const unsigned char *data, size_t n);

/* Parses a PEM private key (PKCS#8 or PKCS#1 RSA); *out transferred.  WP_ECRYPTO with errbuf set. */
wp_status gj_key_load(const char *pem, EVP_PKEY **out, char *errbuf, size_t errlen);

/* header and claims serialised compactly (no spaces, no "\/"), signed RS256: "h.c.s"; *out transferred. */
wp_status gj_encode(EVP_PKEY *key, const json_object *header, const json_object *claims, char **out, char *errbuf,
                    size_t errlen);

/*
 * The save-link claims: {"iss","aud":"google","typ":"savetowallet","iat","origins","payload"}.
 * origins and payload are borrowed (a reference is taken); returns a new object (transferred).
 */
json_object *gj_save_claims(const char *iss, time_t iat, json_object *origins, json_object *payload);

/* Signs the save-link claims with header {"alg":"RS256","typ":"JWT"}; *jwt transferred. */
wp_status gj_save_jwt(EVP_PKEY *key, const json_object *claims, char **jwt, char *errbuf, size_t errlen);

/* The OAuth2 JWT-bearer assertion for scope at token_url, valid one hour from iat; *jwt transferred. */
wp_status gj_oauth_assertion(EVP_PKEY *key, const char *iss, const char *scope, const char *token_url, time_t iat,
                             char **jwt, char *errbuf, size_t errlen);

#endif
