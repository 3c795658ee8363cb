/*
 * credcheck.h - checks uploaded platform credentials and turns them into
 * the secret to seal and the metadata reads may show (credentials.c stores
 * them).  No database, no HTTP: a body goes in, two objects come out.
 *
 * Apple (PUT /api/v1/credentials/apple), refused with 400 naming the field:
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
 *   apple.require_apple_wwdr (below): the gateway cannot tell a test CA from
 *   a real one without Apple's certificates, which the operator provides.
 *   Wallet itself refuses passes signed otherwise.  The key must match the
 *   certificate.
 *   pass_type_identifier  must equal the certificate's UID.
 *   team_identifier       10 characters A-Z/0-9, must equal the certificate's OU.
 *   wwdr_pem (optional)   a PEM certificate, valid now, that issued the pass
 *                         certificate (name and signature).  When absent, an
 *                         issuer found among the P12's extra certificates is used.
 *   With opts->require_apple_wwdr (configuration apple.require_apple_wwdr), the
 *   certificate must also chain, through that intermediate, to a certificate
 *   of opts->trusted_pem (Apple's WWDR intermediates, the operator's file
 *   apple.wwdr_ca_file), valid now; otherwise 400 naming wwdr_pem.  Then a
 *   missing wwdr_pem is taken from that file when it holds the issuer.  This
 *   is what stops a tenant from uploading a self-made certificate that claims
 *   another tenant's pass type identifier.
 *
 * Google (PUT /api/v1/credentials/google):
 *   issuer_id             a string of digits (the Pay & Wallet Console's issuer ID).
 *   service_account_json  the key file's object: type "service_account",
 *                         client_email, private_key (PEM, an RSA key),
 *                         private_key_id, token_uri optional (http/https URL,
 *                         default https://oauth2.googleapis.com/token); the
 *                         key file's other fields are accepted and ignored.
 *
 * Secrets (shape handed to plugins by wp_credentials_read):
 *   apple  {"pass_type_identifier", "team_identifier", "certificate_pem",
 *           "private_key_pem" (PKCS#8, unencrypted), "wwdr_pem" (or null)}
 *   google {"issuer_id", "client_email", "private_key_pem", "private_key_id", "token_uri"}
 * Metadata:
 *   apple  {subject, issuer, pass_type_identifier, team_identifier, serial,
 *           not_before, not_after, expires_at, has_wwdr}
 *   google {issuer_id, client_email, private_key_id}
 *
 * Ownership: body is borrowed; *secret and *meta are new objects the caller
 * owns.  The secret holds private key material: seal it, never log it, and
 * release it with wp_credcheck_wipe_put.  Error messages never quote a secret.
 */
#ifndef WP_CREDCHECK_H
#define WP_CREDCHECK_H

#include <json-c/json.h>
#include <stdbool.h>
#include <time.h>

#include "err.h"

/* What the gateway's configuration adds to the Apple checks. */
typedef struct wp_credcheck_apple_opts {
    bool require_apple_wwdr;    /* refuse a certificate that does not chain to trusted_pem */
    const char *trusted_pem;    /* PEM certificates (borrowed); required when require_apple_wwdr */
} wp_credcheck_apple_opts;

/* now: the time validity is checked against (time(NULL) in the server).
 * opts may be NULL: no chain requirement. */
wp_status wp_credcheck_apple(json_object *body, time_t now, const wp_credcheck_apple_opts *opts, json_object **secret,
                             json_object **meta, wp_err *err);

/* Checks that pem holds at least one certificate and nothing else
 * unreadable (start-up check of apple.wwdr_ca_file); `what` names it in the
 * message; *count (may be NULL) receives the number of certificates. */
wp_status wp_credcheck_trust_pem(const char *pem, const char *what, int *count, wp_err *err);
wp_status wp_credcheck_google(json_object *body, json_object **secret, json_object **meta, wp_err *err);

/* Overwrites every string inside obj, then drops the reference.  NULL is fine. */
void wp_credcheck_wipe_put(json_object *obj);

#endif
