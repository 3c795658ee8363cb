/*
 * apikey.h - API keys: "sk_live_" + 43 base64url characters (32 random bytes).
 *
 * Only the SHA-256 of a key is stored, with its first 14 characters as a
 * visible prefix for lookup and display.  The full key exists only in the
 * response that creates it.  (A plain hash suffices: with 256 bits of
 * entropy a key cannot be brute-forced from its hash, unlike a password.)
 */
#ifndef WP_APIKEY_H
#define WP_APIKEY_H

#include <libpq-fe.h>

#include "err.h"
#include "ids.h"

#define WP_APIKEY_PREFIX_LEN 14
#define WP_APIKEY_LEN 51 /* "sk_live_" + 43 */

typedef struct wp_apikey_auth {
    char account_id[WP_ID_MAX];
    char key_id[WP_ID_MAX];
    char prefix[WP_APIKEY_PREFIX_LEN + 1];
} wp_apikey_auth;

typedef struct wp_apikey_new {
    char id[WP_ID_MAX];
    char key[WP_APIKEY_LEN + 1];
    char prefix[WP_APIKEY_PREFIX_LEN + 1];
} wp_apikey_new;

/* WP_EAUTH (with a message safe to show) for malformed, unknown or revoked keys. */
wp_status wp_apikey_verify(PGconn *db, const char *token, wp_apikey_auth *out, wp_err *err);

/* Creates a key for the account; name may be NULL. */
wp_status wp_apikey_create(PGconn *db, const char *account_id, const char *name, wp_apikey_new *out, wp_err *err);

/* Creates an account; plan NULL takes the default.  trial_days 0: no trial end. */
wp_status wp_account_create(PGconn *db, const char *name, const char *email, const char *plan, int trial_days,
                            char id_out[WP_ID_MAX], wp_err *err);

#endif
