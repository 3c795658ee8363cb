/*
 * apikey.h - API keys: "sk_live_" or "sk_test_" + 43 base64url characters
 * (32 random bytes).  A test key acts on its account's test workspace
 * (tenancy.h); keys made before test mode existed are live.
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
#define WP_APIKEY_LEN 51 /* "sk_live_" or "sk_test_" + 43 */

typedef struct wp_apikey_auth {
    char account_id[WP_ID_MAX];
    char key_id[WP_ID_MAX];
    char prefix[WP_APIKEY_PREFIX_LEN + 1];
    int livemode; /* 1: sk_live_, 0: sk_test_ */
} wp_apikey_auth;

typedef struct wp_apikey_new {
    char id[WP_ID_MAX];
    char key[WP_APIKEY_LEN + 1];
    char prefix[WP_APIKEY_PREFIX_LEN + 1];
} wp_apikey_new;

/* WP_EAUTH (with a message safe to show) for malformed, unknown or revoked keys. */
wp_status wp_apikey_verify(PGconn *db, const char *token, wp_apikey_auth *out, wp_err *err);

/* Creates a live key for the account; name may be NULL. */
wp_status wp_apikey_create(PGconn *db, const char *account_id, const char *name, wp_apikey_new *out, wp_err *err);

/* The same, live (livemode 1) or test (0).  The account is a live account: a
 * test key's workspace is found when the key is used (tenancy.h). */
wp_status wp_apikey_create_mode(PGconn *db, const char *account_id, const char *name, int livemode,
                                wp_apikey_new *out, wp_err *err);

/* Creates an account; plan NULL takes the default.  trial_days 0: no trial end. */
wp_status wp_account_create(PGconn *db, const char *name, const char *email, const char *plan, int trial_days,
                            char id_out[WP_ID_MAX], wp_err *err);

#endif
