/*
 * apple_credcheck.h - checks an uploaded Apple credential (PUT
 * /api/v1/credentials/apple, the "apple" credential kind this plugin
 * registers) and turns it into the secret the gateway seals and the
 * metadata reads may show.  No gateway, no database, no HTTP: a body goes
 * in, two objects come out (the unit suite and the fuzz harness call it
 * directly).
 *
 * The body, refused with 400 naming the field:
 *   p12_base64            base64 (line breaks allowed) of a PKCS#12 file holding
 *                         the certificate and its private key; legacy encryptions
 *                         (RC2, as macOS Keychain exports) are opened too.
 *   p12_password          wrong password -> 400 p12_password.
 *   The certificate must be valid now (the dates are in the message) and be a
 *   Pass Type ID certificate.  Required: subject UID "pass.<reverse DNS>"
 *   and a subject OU (the team identifier).  Checked when present: the
 *   subject CN must read "Pass Type ID: <UID>" (or "Pass Type ID with NFC:
 *   <UID>") and the Pass Type ID extension 1.2.840.113635.100.6.1.16 must
 *   carry the UID.  The issuer is required to be Apple's WWDR only with
 *   opts->require_apple_wwdr (the plugin's config.require_apple_wwdr): the
 *   gateway cannot tell a test CA from a real one without Apple's
 *   certificates, which the operator provides.  Wallet itself refuses
 *   passes signed otherwise.  The key must match the certificate.
 *   pass_type_identifier  must equal the certificate's UID.
 *   team_identifier       10 characters A-Z/0-9, must equal the certificate's OU.
 *   wwdr_pem (optional)   a PEM certificate, valid now, that issued the pass
 *                         certificate (name and signature).  When absent, an
 *                         issuer found among the P12's extra certificates is used.
 *   With opts->require_apple_wwdr, the certificate must also chain, through
 *   that intermediate, to a certificate of opts->trusted_pem (Apple's WWDR
 *   intermediates, the operator's file config.wwdr_ca_file), valid now;
 *   otherwise 400 naming wwdr_pem.  Then a missing wwdr_pem is taken from
 *   that file when it holds the issuer.  This is what stops a tenant from
 *   uploading a self-made certificate that claims another tenant's pass
 *   type identifier.
 *
 * Secret (what vault_read(self, account, "apple") returns):
 *   {"pass_type_identifier", "team_identifier", "certificate_pem",
 *    "private_key_pem" (PKCS#8, unencrypted), "wwdr_pem" (or null)}
 * Metadata:
 *   {subject, issuer, pass_type_identifier, team_identifier, serial,
 *    not_before, not_after, expires_at, has_wwdr}
 *
 * Ownership: body is borrowed; *secret and *meta are new objects the caller
 * owns.  The secret holds private key material: seal it, never log it, and
 * release it with wpc_cred_wipe_put (wpc_cred.h).  Error messages never quote a
 * secret.  Thread-safe.
 */
#ifndef APPLE_CREDCHECK_H
#define APPLE_CREDCHECK_H

#include <json-c/json.h>
#include <stdbool.h>
#include <time.h>
#include <walletpass/plugin.h>

#include "wpc_cred.h"

/* Why a check failed (wpc_cred.h): status, API error code (static; NULL for
 * non-400s), the field at fault ("" when none) and a message a user can act on. */
typedef wpc_cred_err apple_credcheck_err;

/* What the plugin's configuration adds to the checks. */
typedef struct apple_credcheck_opts {
    bool require_apple_wwdr;    /* refuse a certificate that does not chain to trusted_pem */
    const char *trusted_pem;    /* PEM certificates (borrowed); required when require_apple_wwdr */
} apple_credcheck_opts;

/* now: the time validity is checked against (time(NULL) in the plugin).
 * opts may be NULL: no chain requirement. */
wp_status apple_credcheck(const json_object *body, time_t now, const apple_credcheck_opts *opts, json_object **secret,
                          json_object **meta, apple_credcheck_err *err);

/* Checks that pem holds at least one certificate and nothing else
 * unreadable (start-up check of config.wwdr_ca_file); `what` names it in
 * the message (and err->param); *count (may be NULL) receives the number
 * of certificates.  WP_ECONFIG when not. */
wp_status apple_credcheck_trust_pem(const char *pem, const char *what, int *count, apple_credcheck_err *err);

#endif
