/* apikey.c - see apikey.h. */
#include "apikey.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "db.h"

static int well_formed(const char *t)
{
    if ((strncmp(t, "sk_live_", 8) != 0 && strncmp(t, "sk_test_", 8) != 0) || strlen(t) != WP_APIKEY_LEN) return 0;
    for (const char *p = t + 8; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              *p == '_'))
            return 0;
    return 1;
}

wp_status wp_apikey_verify(PGconn *db, const char *token, wp_apikey_auth *out, wp_err *err)
{
    if (!well_formed(token)) return wp_err_set(err, WP_EAUTH, "malformed API key: expected sk_live_ or sk_test_ and 43 characters");
    char prefix[WP_APIKEY_PREFIX_LEN + 1];
    memcpy(prefix, token, WP_APIKEY_PREFIX_LEN);
    prefix[WP_APIKEY_PREFIX_LEN] = '\0';
    char hash[65];
    wp_sha256_hex(token, strlen(token), hash);
    const char *params[] = {prefix};
    PGresult *r;
    wp_status st = wp_db_query(db,
                               "SELECT account_id, id, secret_hash, livemode FROM api_keys"
                               " WHERE prefix = $1 AND revoked_at IS NULL",
                               1, params, &r, err);
    if (st != WP_OK) return st;
    int found = -1;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *h = PQgetvalue(r, i, 2);
        /* Constant-time: timing says nothing about how much of the hash matched. */
        if (strlen(h) == 64 && CRYPTO_memcmp(h, hash, 64) == 0) found = i;
    }
    /* The key's text says its mode; the row must agree (a key is never both). */
    if (found >= 0 && (strcmp(PQgetvalue(r, found, 3), "t") == 0) != (strncmp(token, "sk_live_", 8) == 0)) {
        found = -1;
    }
    if (found < 0) {
        PQclear(r);
        return wp_err_set(err, WP_EAUTH, "invalid API key (unknown or revoked)");
    }
    snprintf(out->account_id, sizeof out->account_id, "%s", PQgetvalue(r, found, 0));
    snprintf(out->key_id, sizeof out->key_id, "%s", PQgetvalue(r, found, 1));
    snprintf(out->prefix, sizeof out->prefix, "%s", prefix);
    out->livemode = strncmp(token, "sk_live_", 8) == 0;
    PQclear(r);
    return WP_OK;
}

wp_status wp_apikey_create(PGconn *db, const char *account_id, const char *name, wp_apikey_new *out, wp_err *err)
{
    return wp_apikey_create_mode(db, account_id, name, 1, out, err);
}

wp_status wp_apikey_create_mode(PGconn *db, const char *account_id, const char *name, int livemode,
                                wp_apikey_new *out, wp_err *err)
{
    char secret[44]; /* 43 characters + NUL */
    if (wp_random_token(32, secret, sizeof secret) != WP_OK || wp_id_new("key", out->id) != WP_OK)
        return wp_err_set(err, WP_ECRYPTO, "random number generator failed");
    snprintf(out->key, sizeof out->key, "%s%s", livemode ? "sk_live_" : "sk_test_", secret);
    memcpy(out->prefix, out->key, WP_APIKEY_PREFIX_LEN);
    out->prefix[WP_APIKEY_PREFIX_LEN] = '\0';
    char hash[65];
    wp_sha256_hex(out->key, strlen(out->key), hash);
    const char *params[] = {account_id, out->id, name, out->prefix, hash, livemode ? "t" : "f"};
    return wp_db_query(db,
                       "INSERT INTO api_keys (account_id, id, name, prefix, secret_hash, livemode)"
                       " VALUES ($1, $2, $3, $4, $5, $6::boolean)",
                       6, params, NULL, err);
}

wp_status wp_account_create(PGconn *db, const char *name, const char *email, const char *plan, int trial_days,
                            char id_out[WP_ID_MAX], wp_err *err)
{
    if (wp_id_new("acct", id_out) != WP_OK) return wp_err_set(err, WP_ECRYPTO, "random number generator failed");
    char days[16];
    snprintf(days, sizeof days, "%d", trial_days);
    const char *params[] = {id_out, name, email, plan, days};
    wp_status st = wp_db_query(db,
                               "INSERT INTO accounts (id, name, email, plan, trial_ends_at) VALUES ($1, $2, $3, $4,"
                               " CASE WHEN $5::int > 0 THEN now() + make_interval(days => $5::int) END)",
                               5, params, NULL, err);
    if (st == WP_ECONFLICT) return wp_err_param(err, WP_ECONFLICT, "email", "an account with email %s already exists", email);
    return st;
}
