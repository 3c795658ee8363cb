/*
 * credentials.h - the credential vault: /api/v1/credentials/<kind> for every
 * credential kind a plugin registers (wp_credential_kind in
 * walletpass/plugin.h), and the decrypted read plugins use (host vault_read).
 *
 * The core knows no platform.  A kind names itself and brings its validate
 * callback, which turns an upload into the secret to seal and the metadata
 * reads may show; everything else is here: one row per (account, kind) in
 * the `credentials` table, the secret serialised as JSON and sealed with
 * the server's vault under the associated data
 * "<account_id>/credentials/<kind>", so a sealed value copied to another
 * account's row does not open.  `meta` holds only what reads may show.
 * Responses carry Cache-Control: no-store; secrets are never logged, and
 * the upload's body and the secret are overwritten once used.
 *
 *   PUT    → 200 metadata (created or replaced)   400 naming the field
 *   GET    → 200 metadata                          404 when none
 *   DELETE → 200 {"deleted": true}                 404 when none
 *
 * A kind nobody registered has no routes: the router answers 404.
 */
#ifndef WP_CREDENTIALS_H
#define WP_CREDENTIALS_H

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "db.h"
#include "err.h"
#include "router.h"
#include "vault.h"

/* A registered kind: the host's copy of a plugin's wp_credential_kind. */
typedef struct wp_cred_kind {
    char name[33];
    char display[65];
    wp_credential_validate_fn validate;
    void *ud;
    char **long_fields;     /* NULL-terminated (owned), or NULL */
    wp_vault *vault;        /* borrowed: what the routes seal with (wp_credentials_kind_routes) */
} wp_cred_kind;

/* True for a valid kind name: 1..32 characters of [a-z0-9_-], starting
 * with a letter (the migration's CHECK on credentials.platform says the same). */
bool wp_credentials_name_ok(const char *name);

/* Copies a plugin's kind (read within kind->size only); *out owned by the
 * caller (wp_credentials_kind_free).  WP_EINVAL naming what is wrong. */
wp_status wp_credentials_kind_new(const wp_credential_kind *kind, wp_cred_kind **out, wp_err *err);
void wp_credentials_kind_free(wp_cred_kind *k);

/* Registers PUT/GET/DELETE /api/v1/credentials/<name> for k (borrowed: it
 * must outlive the router) under `owner`; the routes seal with vault
 * (borrowed; NULL answers 503).  WP_ECONFLICT when taken. */
wp_status wp_credentials_kind_routes(wp_router *router, wp_vault *vault, wp_cred_kind *k, const char *owner,
                                     wp_err *err);

/*
 * The decrypted credential of kind `name` of account_id, as the kind's
 * validate made it; *out transferred (release it with
 * wp_credentials_wipe_put).  WP_ENOTFOUND when the account has none or the
 * name is malformed, WP_ECRYPTO when the row does not open (tampered, or
 * sealed under a key the configuration no longer lists), WP_EDB/WP_EUNAVAIL
 * from the database.  db is borrowed (a request's or a pooled connection).
 */
wp_status wp_credentials_read(wp_vault *vault, PGconn *db, const char *account_id, const char *name,
                              json_object **out, wp_err *err);

/* Same, and the row's stamp (WP_CRED_STAMP_SQL, credmemo.h) into stamp (at least 512 bytes). */
wp_status wp_credentials_read_stamped(wp_vault *vault, PGconn *db, const char *account_id, const char *name,
                                      json_object **out, char *stamp, size_t stamp_len, wp_err *err);

/* Same, on a connection taken from pool for the call. */
wp_status wp_credentials_read_pool(wp_vault *vault, wp_db *pool, const char *account_id, const char *name,
                                   json_object **out, wp_err *err);

/* Overwrites every string inside obj, then drops the reference.  NULL is fine. */
void wp_credentials_wipe_put(json_object *obj);

#endif
