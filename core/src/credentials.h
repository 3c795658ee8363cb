/*
 * credentials.h - the credential vault: /api/v1/credentials/{apple,google}
 * and the decrypted read the platform plugins use (host vault_read).
 *
 * One row per (account, platform) in the `credentials` table.  What is
 * uploaded is checked by credcheck.c; what is stored is the decoded
 * secret (PEM certificate, PEM private key, ...; not the P12 and its
 * password, so a read needs no PKCS#12 parsing), serialised as JSON and
 * sealed with the server's vault under the associated data
 * "<account_id>/credentials/<platform>", so a sealed value copied to another
 * account's row does not open.  `meta` holds only what reads may show.
 * Responses carry Cache-Control: no-store; secrets are never logged.
 *
 *   PUT    → 200 metadata (created or replaced)   400 naming the field
 *   GET    → 200 metadata                          404 when none
 *   DELETE → 200 {"deleted": true}                 404 when none
 */
#ifndef WP_CREDENTIALS_H
#define WP_CREDENTIALS_H

#include <json-c/json.h>
#include <libpq-fe.h>

#include "db.h"
#include "err.h"
#include "vault.h"

struct wp_server;

/* Registers the six routes (called from wp_server_init) and reads the
 * trusted WWDR certificates of apple.wwdr_ca_file (WP_ECONFIG naming it when
 * the file is unreadable or holds no certificate). */
wp_status wp_credentials_routes(struct wp_server *srv, wp_err *err);

/*
 * The decrypted credential `platform` ("apple" or "google") of account_id;
 * *out transferred (release it with wp_credcheck_wipe_put, credcheck.h):
 *   apple  {"pass_type_identifier", "team_identifier", "certificate_pem",
 *           "private_key_pem", "wwdr_pem" (string or null)}
 *   google {"issuer_id", "client_email", "private_key_pem", "private_key_id", "token_uri"}
 * WP_ENOTFOUND when the account has none (or platform is another name),
 * WP_ECRYPTO when the row does not open (tampered, or sealed under a key
 * the configuration no longer lists), WP_EDB/WP_EUNAVAIL from the database.
 * db is borrowed (a request's or a pooled connection).
 */
wp_status wp_credentials_read(wp_vault *vault, PGconn *db, const char *account_id, const char *platform,
                              json_object **out, wp_err *err);

/* Same, on a connection taken from pool for the call. */
wp_status wp_credentials_read_pool(wp_vault *vault, wp_db *pool, const char *account_id, const char *platform,
                                   json_object **out, wp_err *err);

#endif
