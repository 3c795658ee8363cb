/*
 * google_credcheck.h - checks an uploaded Google credential (PUT
 * /api/v1/credentials/google, the "google" credential kind this plugin
 * registers) and turns it into the secret the gateway seals and the
 * metadata reads may show.  No gateway, no database, no HTTP (the unit
 * suite and the fuzz harness call it directly).
 *
 * The body, refused with 400 naming the field:
 *   issuer_id             a string of digits (the Pay & Wallet Console's issuer ID).
 *   service_account_json  the key file's object: type "service_account",
 *                         client_email, private_key (PEM, an RSA key),
 *                         private_key_id, token_uri optional (http/https URL,
 *                         default https://oauth2.googleapis.com/token); the
 *                         key file's other fields are accepted and ignored.
 *
 * Secret (what vault_read(self, account, "google") returns):
 *   {"issuer_id", "client_email", "private_key_pem", "private_key_id", "token_uri"}
 * Metadata:
 *   {issuer_id, client_email, private_key_id}
 *
 * Ownership: body is borrowed; *secret and *meta are new objects the caller
 * owns.  The secret holds the private key: seal it, never log it, release
 * it with wpc_cred_wipe_put (wpc_cred.h).  Messages never quote a secret.
 * Thread-safe.
 */
#ifndef GOOGLE_CREDCHECK_H
#define GOOGLE_CREDCHECK_H

#include <json-c/json.h>
#include <walletpass/plugin.h>

#include "wpc_cred.h"

/* Why a check failed (wpc_cred.h): status, API error code (static; NULL for
 * non-400s), the field at fault ("" when none) and a message a user can act on. */
typedef wpc_cred_err google_credcheck_err;

wp_status google_credcheck(const json_object *body, json_object **secret, json_object **meta,
                           google_credcheck_err *err);

#endif
