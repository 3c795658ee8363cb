/*
 * pass_secrets.h - per-pass secrets of plugins (migrations/0009, host
 * pass_secret_get / pass_secret_put / pass_secret_find).
 *
 * A platform may need a secret per pass: a token its devices send back to
 * prove they hold the pass.  The core mints none itself; a plugin asks for
 * one by name, and it is stored sealed by the vault, one row per
 * (account, pass, plugin, name), with the associated data
 * "<account_id>/pass/<pass_id>/secret/<plugin>/<name>", so a sealed value
 * copied to another row, pass, plugin or name does not open.  Rows moved
 * from the former passes.auth_token column are `legacy`: sealed with
 * "<account_id>/pass/<pass_id>/auth_token", and opened that way.
 *
 * Finding a pass by its secret (a device names the pass by serial number
 * and sends the secret): each row keeps `lookup`, the vault MAC (purpose
 * "pass-secret/<plugin>/<name>") of its value, so the candidates are the
 * passes with that serial whose MAC matches under any configured key
 * version, plus moved rows not matched yet (NULL lookup).  Every candidate
 * is opened and compared in constant time, all of them, whatever matched
 * first; a moved row that matches gets its lookup then.
 *
 * Names: plugin 1..64 of [a-z0-9_-] (a plugin name); name 1..64 of
 * [a-z0-9_.-].  Values: 1..WP_PASS_SECRET_MAX bytes without NUL.
 * conn may be NULL: then a pooled connection is used (autocommit); with a
 * conn the statements join whatever transaction it has open.
 * Ownership: *out values are malloc()ed, NUL-terminated, and the caller's
 * to wipe and free with wp_pass_secret_free.
 */
#ifndef WP_PASS_SECRETS_H
#define WP_PASS_SECRETS_H

#include <libpq-fe.h>
#include <stddef.h>

#include "domain.h"
#include "err.h"


#define WP_PASS_SECRET_MAX 1024
#define WP_PASS_SECRET_NAME_MAX 64

/* WP_EINVAL naming "plugin" or "name" when either breaks the rules above. */
wp_status wp_pass_secret_check_names(const char *plugin, const char *name, wp_err *err);

/*
 * The secret `name` of `plugin` for the account's pass.  With mint, a pass
 * that has none gets one first: 32 random bytes as 43 base64url
 * characters (two callers minting at once get the same one).
 * WP_ENOTFOUND when the account has no such pass, or (mint 0) the pass has
 * no such secret; WP_ECRYPTO when the value does not open (its master key
 * is no longer configured); WP_EDB/WP_EUNAVAIL from the database.
 */
wp_status wp_pass_secret_get(wp_domain *dom, PGconn *conn, const char *account_id, const char *pass_id,
                             const char *plugin, const char *name, int mint, char **out, size_t *out_len,
                             wp_err *err);

/* Stores (replaces) the secret.  WP_ENOTFOUND when the account has no such pass;
 * WP_EINVAL for a value that is empty, too long or holds a NUL. */
wp_status wp_pass_secret_put(wp_domain *dom, PGconn *conn, const char *account_id, const char *pass_id,
                             const char *plugin, const char *name, const char *value, size_t len, wp_err *err);

/*
 * The pass with this serial number, in any account, whose secret `name` of
 * `plugin` is `secret`: account_out and pass_out (>= 64 bytes each) receive
 * its account and id.  WP_EAUTH alike for an unknown serial, a pass without
 * that secret and a wrong secret (the same work is done for each);
 * WP_EDB/WP_EUNAVAIL from the database.  A candidate whose value does not
 * open counts as not matching, and is logged.
 */
wp_status wp_pass_secret_find(wp_domain *dom, PGconn *conn, const char *plugin, const char *name,
                              const char *serial_number, const char *secret, char *account_out, size_t account_len,
                              char *pass_out, size_t pass_len, wp_err *err);

void wp_pass_secret_free(char *value, size_t len);

#endif
