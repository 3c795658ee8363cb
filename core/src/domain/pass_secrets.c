/* pass_secrets.c - see pass_secrets.h. */
#include "pass_secrets.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "ids.h"
#include "log.h"
#include "domain.h"
#include "vault.h"

static int name_ok(const char *s, const char *extra)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > WP_PASS_SECRET_NAME_MAX) return 0;
    for (const char *c = s; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' || strchr(extra, *c)))
            return 0;
    return 1;
}

wp_status wp_pass_secret_check_names(const char *plugin, const char *name, wp_err *err)
{
    if (!name_ok(plugin, ""))
        return wp_err_param(err, WP_EINVAL, "plugin", "a pass secret's plugin must be 1..64 characters of [a-z0-9_-]");
    if (!name_ok(name, "."))
        return wp_err_param(err, WP_EINVAL, "name", "a pass secret's name must be 1..64 characters of [a-z0-9_.-]");
    return WP_OK;
}

static void aad_for(char *out, size_t len, const char *account_id, const char *pass_id, const char *plugin,
                    const char *name, int legacy)
{
    if (legacy) snprintf(out, len, "%s/pass/%s/auth_token", account_id, pass_id);
    else snprintf(out, len, "%s/pass/%s/secret/%s/%s", account_id, pass_id, plugin, name);
}

static void purpose_for(char *out, size_t len, const char *plugin, const char *name)
{
    snprintf(out, len, "pass-secret/%s/%s", plugin, name);
}

void wp_pass_secret_free(char *value, size_t len)
{
    if (!value) return;
    OPENSSL_cleanse(value, len);
    free(value);
}

static PGconn *conn_for(wp_domain *dom, PGconn *conn, int *pooled, wp_err *err)
{
    *pooled = 0;
    if (conn) return conn;
    if (!dom->db) {
        wp_err_set(err, WP_EUNAVAIL, "pass secrets: no database in this process");
        return NULL;
    }
    *pooled = 1;
    return wp_db_acquire(dom->db, err);
}

/* Checks the account and pass ids the statements bind (they come from plugins). */
static wp_status ids_ok(const char *account_id, const char *pass_id, wp_err *err)
{
    if (!account_id || !*account_id || strlen(account_id) >= 64)
        return wp_err_param(err, WP_EINVAL, "account_id", "account_id is required (at most 63 characters)");
    if (!pass_id || !*pass_id || strlen(pass_id) >= 64)
        return wp_err_param(err, WP_ENOTFOUND, "pass_id", "no such pass");
    return WP_OK;
}

static wp_status value_ok(const char *value, size_t len, wp_err *err)
{
    if (!value || len == 0 || len > WP_PASS_SECRET_MAX || memchr(value, '\0', len))
        return wp_err_param(err, WP_EINVAL, "value", "a pass secret is 1..%d bytes without NUL", WP_PASS_SECRET_MAX);
    return WP_OK;
}

/* Opens row i's value (columns: sealed, legacy) into a NUL-terminated copy. */
static wp_status open_value(wp_domain *dom, const char *account_id, const char *pass_id, const char *plugin,
                            const char *name, const char *sealed, int legacy, char **out, size_t *out_len, wp_err *err)
{
    char aad[400];
    aad_for(aad, sizeof aad, account_id, pass_id, plugin, name, legacy);
    unsigned char *plain = NULL;
    size_t n = 0;
    wp_status st = wp_vault_open(dom->vault, aad, sealed, &plain, &n, err);
    if (st != WP_OK) return st;
    char *v = malloc(n + 1);
    if (!v) {
        wp_vault_free_plain(plain, n);
        return wp_err_set(err, WP_ENOMEM, "out of memory");
    }
    memcpy(v, plain, n);
    v[n] = '\0';
    wp_vault_free_plain(plain, n);
    *out = v;
    if (out_len) *out_len = n;
    return WP_OK;
}

/* Seals value for the row and computes its look-up MAC (current key). */
static wp_status seal_value(wp_domain *dom, const char *account_id, const char *pass_id, const char *plugin,
                            const char *name, const char *value, size_t len, char **sealed,
                            char lookup[WP_VAULT_MAC_LEN + 1], wp_err *err)
{
    char aad[400], purpose[160];
    aad_for(aad, sizeof aad, account_id, pass_id, plugin, name, 0);
    purpose_for(purpose, sizeof purpose, plugin, name);
    wp_status st = wp_vault_seal(dom->vault, aad, value, len, sealed, err);
    if (st != WP_OK) return st;
    if (wp_vault_mac(dom->vault, purpose, value, lookup, WP_VAULT_MAC_LEN + 1) != WP_OK) {
        free(*sealed);
        *sealed = NULL;
        return wp_err_set(err, WP_ECRYPTO, "pass secrets: the look-up MAC failed");
    }
    return WP_OK;
}

/* SELECT of one row; *r has 0 or 1 rows (sealed, legacy). */
static wp_status select_row(PGconn *db, const char *account_id, const char *pass_id, const char *plugin,
                            const char *name, PGresult **r, wp_err *err)
{
    const char *params[] = {account_id, pass_id, plugin, name};
    return wp_db_query(db,
                       "SELECT sealed, legacy FROM pass_secrets WHERE account_id = $1 AND pass_id = $2 AND plugin = $3"
                       " AND name = $4",
                       4, params, r, err);
}

wp_status wp_pass_secret_get(wp_domain *dom, PGconn *conn, const char *account_id, const char *pass_id,
                             const char *plugin, const char *name, int mint, char **out, size_t *out_len, wp_err *err)
{
    *out = NULL;
    if (out_len) *out_len = 0;
    wp_status st;
    if ((st = wp_pass_secret_check_names(plugin, name, err)) != WP_OK || (st = ids_ok(account_id, pass_id, err)) != WP_OK)
        return st;
    if (!dom->vault) return wp_err_set(err, WP_EUNAVAIL, "pass secrets: no vault in this process");
    int pooled;
    PGconn *db = conn_for(dom, conn, &pooled, err);
    if (!db) return err ? err->status : WP_EUNAVAIL;
    PGresult *r = NULL;
    char *sealed = NULL;
    if ((st = select_row(db, account_id, pass_id, plugin, name, &r, err)) != WP_OK) goto done;
    if (PQntuples(r) == 0 && mint) {
        PQclear(r);
        r = NULL;
        char token[64], lookup[WP_VAULT_MAC_LEN + 1];
        if (wp_random_token(32, token, sizeof token) != WP_OK) {
            st = wp_err_set(err, WP_ECRYPTO, "no randomness for a pass secret");
            goto done;
        }
        st = seal_value(dom, account_id, pass_id, plugin, name, token, strlen(token), &sealed, lookup, err);
        OPENSSL_cleanse(token, sizeof token);
        if (st != WP_OK) goto done;
        /* From the pass row: nothing is inserted (and no error aborts the caller's
         * transaction) when the account has no such pass.  One statement answers with
         * ours, or with the one another caller minted before it began. */
        const char *params[] = {account_id, pass_id, plugin, name, sealed, lookup};
        if ((st = wp_db_query(db,
                              "WITH ins AS (INSERT INTO pass_secrets (account_id, pass_id, plugin, name, sealed, lookup)"
                              " SELECT account_id, id, $3, $4, $5, $6 FROM passes WHERE account_id = $1 AND id = $2"
                              " ON CONFLICT (account_id, pass_id, plugin, name) DO NOTHING RETURNING sealed, legacy)"
                              " SELECT sealed, legacy FROM ins UNION ALL SELECT sealed, legacy FROM pass_secrets"
                              " WHERE account_id = $1 AND pass_id = $2 AND plugin = $3 AND name = $4",
                              6, params, &r, err)) != WP_OK)
            goto done;
        /* one minted by a caller that committed while this statement ran is not in its snapshot */
        if (PQntuples(r) == 0) {
            PQclear(r);
            r = NULL;
            if ((st = select_row(db, account_id, pass_id, plugin, name, &r, err)) != WP_OK) goto done;
        }
    }
    if (PQntuples(r) == 0) {
        st = wp_err_param(err, WP_ENOTFOUND, "pass_id", mint ? "no pass %s" : "pass %s has no such secret", pass_id);
        goto done;
    }
    st = open_value(dom, account_id, pass_id, plugin, name, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1)[0] == 't', out,
                    out_len, err);
done:
    if (r) PQclear(r);
    free(sealed);
    if (pooled) wp_db_release(dom->db, db);
    return st;
}

wp_status wp_pass_secret_put(wp_domain *dom, PGconn *conn, const char *account_id, const char *pass_id,
                             const char *plugin, const char *name, const char *value, size_t len, wp_err *err)
{
    wp_status st;
    if ((st = wp_pass_secret_check_names(plugin, name, err)) != WP_OK || (st = ids_ok(account_id, pass_id, err)) != WP_OK ||
        (st = value_ok(value, len, err)) != WP_OK)
        return st;
    if (!dom->vault) return wp_err_set(err, WP_EUNAVAIL, "pass secrets: no vault in this process");
    /* the look-up MAC reads a C string: value_ok refused NULs, so a copy with one ends it */
    char *copy = malloc(len + 1);
    if (!copy) return wp_err_set(err, WP_ENOMEM, "out of memory");
    memcpy(copy, value, len);
    copy[len] = '\0';
    char *sealed = NULL, lookup[WP_VAULT_MAC_LEN + 1];
    st = seal_value(dom, account_id, pass_id, plugin, name, copy, len, &sealed, lookup, err);
    wp_pass_secret_free(copy, len);
    if (st != WP_OK) return st;
    int pooled;
    PGconn *db = conn_for(dom, conn, &pooled, err);
    if (!db) {
        free(sealed);
        return err ? err->status : WP_EUNAVAIL;
    }
    const char *params[] = {account_id, pass_id, plugin, name, sealed, lookup};
    PGresult *r = NULL;
    st = wp_db_query(db,
                     "INSERT INTO pass_secrets (account_id, pass_id, plugin, name, sealed, lookup)"
                     " SELECT account_id, id, $3, $4, $5, $6 FROM passes WHERE account_id = $1 AND id = $2"
                     " ON CONFLICT (account_id, pass_id, plugin, name) DO UPDATE"
                     " SET sealed = EXCLUDED.sealed, lookup = EXCLUDED.lookup, legacy = false RETURNING 1",
                     6, params, &r, err);
    if (st == WP_OK && PQntuples(r) == 0) st = wp_err_param(err, WP_ENOTFOUND, "pass_id", "no pass %s", pass_id);
    if (r) PQclear(r);
    free(sealed);
    if (pooled) wp_db_release(dom->db, db);
    return st;
}

wp_status wp_pass_secret_find(wp_domain *dom, PGconn *conn, const char *plugin, const char *name,
                              const char *serial_number, const char *secret, char *account_out, size_t account_len,
                              char *pass_out, size_t pass_len, wp_err *err)
{
    if (account_out && account_len) account_out[0] = '\0';
    if (pass_out && pass_len) pass_out[0] = '\0';
    wp_status st;
    if ((st = wp_pass_secret_check_names(plugin, name, err)) != WP_OK) return st;
    if (!dom->vault) return wp_err_set(err, WP_EUNAVAIL, "pass secrets: no vault in this process");
    size_t tl = secret ? strlen(secret) : 0;
    if (!serial_number || !*serial_number || strlen(serial_number) > 255 || tl == 0 || tl > WP_PASS_SECRET_MAX)
        return wp_err_set(err, WP_EAUTH, "no such pass, or not its secret");

    /* The MACs of the given secret under every key version, as a text[] literal
     * (base64url characters need no quoting in one). */
    char purpose[160], macs[WP_VAULT_MAX_KEYS][WP_VAULT_MAC_LEN + 1];
    purpose_for(purpose, sizeof purpose, plugin, name);
    int nm = wp_vault_mac_all(dom->vault, purpose, secret, macs, WP_VAULT_MAX_KEYS);
    char arr[WP_VAULT_MAX_KEYS * (WP_VAULT_MAC_LEN + 1) + 3];
    size_t o = 0;
    arr[o++] = '{';
    for (int i = 0; i < nm; i++) {
        if (i) arr[o++] = ',';
        memcpy(arr + o, macs[i], WP_VAULT_MAC_LEN);
        o += WP_VAULT_MAC_LEN;
    }
    arr[o++] = '}';
    arr[o] = '\0';

    int pooled;
    PGconn *db = conn_for(dom, conn, &pooled, err);
    if (!db) return err ? err->status : WP_EUNAVAIL;
    /* At most 64 candidates: the passes with this serial whose MAC matches
     * (MACs first), then moved rows not matched yet. */
    const char *params[] = {serial_number, plugin, name, arr};
    PGresult *r = NULL;
    st = wp_db_query(db,
                     "SELECT s.account_id, s.pass_id, s.sealed, s.legacy, s.lookup IS NULL"
                     " FROM pass_secrets s JOIN passes p ON p.account_id = s.account_id AND p.id = s.pass_id"
                     " WHERE p.serial_number = $1 AND s.plugin = $2 AND s.name = $3"
                     " AND (s.lookup = ANY($4::text[]) OR s.lookup IS NULL)"
                     " ORDER BY s.lookup IS NULL, p.created_at, p.id LIMIT 64",
                     4, params, &r, err);
    if (st != WP_OK) {
        if (pooled) wp_db_release(dom->db, db);
        return st;
    }
    /* The given secret, padded, so every comparison reads the same number of bytes. */
    static const size_t W = WP_PASS_SECRET_MAX;
    unsigned char *given = calloc(1, W), *have = calloc(1, W);
    if (!given || !have) {
        free(given);
        free(have);
        PQclear(r);
        if (pooled) wp_db_release(dom->db, db);
        return wp_err_set(err, WP_ENOMEM, "out of memory");
    }
    memcpy(given, secret, tl);
    int match = -1, n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        char *plain = NULL;
        size_t plen = 0;
        wp_err e;
        wp_err_clear(&e);
        if (open_value(dom, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), plugin, name, PQgetvalue(r, i, 2),
                       PQgetvalue(r, i, 3)[0] == 't', &plain, &plen, &e) != WP_OK) {
            wp_log_warn("pass %s: its secret %s/%s does not open: %s", PQgetvalue(r, i, 1), plugin, name, e.msg);
            continue;
        }
        memset(have, 0, W);
        int fits = plen <= W;
        if (fits) memcpy(have, plain, plen);
        wp_pass_secret_free(plain, plen);
        /* No early exit: every candidate is opened and compared whatever matched before. */
        int same = (CRYPTO_memcmp(have, given, W) == 0) & fits & (plen == tl);
        if (same && match < 0) match = i;
    }
    if (n == 0) {
        /* Same comparison work when nothing has this serial. */
        memset(have, 0, W);
        (void)CRYPTO_memcmp(have, given, W);
    }
    OPENSSL_cleanse(given, W);
    OPENSSL_cleanse(have, W);
    free(given);
    free(have);
    if (match < 0) {
        st = wp_err_set(err, WP_EAUTH, "no such pass, or not its secret");
    } else {
        snprintf(account_out, account_len, "%s", PQgetvalue(r, match, 0));
        snprintf(pass_out, pass_len, "%s", PQgetvalue(r, match, 1));
        if (pooled && PQgetvalue(r, match, 4)[0] == 't' && nm > 0) {
            /* a moved value, matched for the first time: index it (best effort, autocommit only) */
            const char *up[] = {PQgetvalue(r, match, 0), PQgetvalue(r, match, 1), plugin, name, macs[0]};
            wp_err e;
            wp_err_clear(&e);
            if (wp_db_query(db,
                            "UPDATE pass_secrets SET lookup = $5 WHERE account_id = $1 AND pass_id = $2 AND plugin = $3"
                            " AND name = $4 AND lookup IS NULL",
                            5, up, NULL, &e) != WP_OK)
                wp_log_warn("pass %s: its secret's look-up was not stored: %s", PQgetvalue(r, match, 1), e.msg);
        }
    }
    OPENSSL_cleanse(macs, sizeof macs);
    PQclear(r);
    if (pooled) wp_db_release(dom->db, db);
    return st;
}
