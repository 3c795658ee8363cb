/* google_credcheck.c - see google_credcheck.h.  OpenSSL reads the key. */
#include "google_credcheck.h"

#include <ctype.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef google_credcheck_err cc_err;

wp_status google_credcheck(const json_object *cbody, json_object **secret, json_object **meta, cc_err *err)
{
    json_object *body = (json_object *)cbody; /* read only: json-c's getters take no const */
    static const char *const fields[] = {"issuer_id", "service_account_json", NULL};
    *secret = *meta = NULL;
    wp_status st;
    if ((st = wpc_cred_only_fields(body, fields, err)) != WP_OK) return st;

    json_object *iv;
    if (!json_object_object_get_ex(body, "issuer_id", &iv) || !iv)
        return wpc_cred_missing(err, "issuer_id", "the issuer ID from the Google Pay & Wallet Console, as a string of digits");
    if (!json_object_is_type(iv, json_type_string))
        return wpc_cred_invalid(err, "issuer_id", "issuer_id must be a string of digits (\"3388000000012345678\"): a JSON "
                       "number would lose digits");
    const char *issuer = json_object_get_string(iv);
    size_t il = strlen(issuer);
    bool digits = il > 0 && il <= 30;
    for (size_t i = 0; digits && i < il; i++) digits = isdigit((unsigned char)issuer[i]);
    if (!digits)
        return wpc_cred_invalid(err, "issuer_id", "issuer_id must be 1 to 30 digits, the issuer ID shown in the Google Pay & "
                       "Wallet Console");

    json_object *sa;
    if (!json_object_object_get_ex(body, "service_account_json", &sa) || !sa)
        return wpc_cred_missing(err, "service_account_json", "the service account's JSON key file, as an object");
    if (!json_object_is_type(sa, json_type_object))
        return wpc_cred_invalid(err, "service_account_json", "service_account_json must be the key file's JSON object itself "
                       "(not a string or a path)");
    const char *type, *email, *pkey, *kid, *token_uri;
    if ((st = wpc_cred_str_field(sa, "type", "service_account_json.type", true, 64, "\"service_account\"", &type, err)))
        return st;
    if (strcmp(type, "service_account") != 0)
        return wpc_cred_invalid(err, "service_account_json.type", "service_account_json.type must be \"service_account\": "
                       "create a JSON key for a service account in the Google Cloud console");
    if ((st = wpc_cred_str_field(sa, "client_email", "service_account_json.client_email", true, 320,
                        "the service account's email", &email, err)))
        return st;
    const char *at = strchr(email, '@');
    if (!at || at == email || !at[1] || strchr(email, ' '))
        return wpc_cred_invalid(err, "service_account_json.client_email", "service_account_json.client_email must be the "
                       "service account's email address (name@project.iam.gserviceaccount.com)");
    if ((st = wpc_cred_str_field(sa, "private_key_id", "service_account_json.private_key_id", true, 200,
                        "the key's id from the key file", &kid, err)))
        return st;
    for (const char *c = kid; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_')
            return wpc_cred_invalid(err, "service_account_json.private_key_id", "service_account_json.private_key_id must be "
                           "the key id from the key file (letters and digits)");
    if ((st = wpc_cred_str_field(sa, "token_uri", "service_account_json.token_uri", false, 2048, "an https URL", &token_uri,
                        err)))
        return st;
    if (token_uri && strncmp(token_uri, "https://", 8) != 0 && strncmp(token_uri, "http://", 7) != 0)
        return wpc_cred_invalid(err, "service_account_json.token_uri", "service_account_json.token_uri must be an https URL "
                       "(https://oauth2.googleapis.com/token)");
    if (!token_uri) token_uri = "https://oauth2.googleapis.com/token";
    if ((st = wpc_cred_str_field(sa, "private_key", "service_account_json.private_key", true, 1u << 16,
                        "the PEM private key from the key file", &pkey, err)))
        return st;

    BIO *b = BIO_new_mem_buf(pkey, -1);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, wpc_cred_no_password, NULL) : NULL;
    BIO_free(b);
    ERR_clear_error();
    if (!k)
        return wpc_cred_invalid(err, "service_account_json.private_key", "service_account_json.private_key is not a PEM "
                       "private key (-----BEGIN PRIVATE KEY-----); copy the key file's private_key unchanged");
    if (EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
        EVP_PKEY_free(k);
        return wpc_cred_invalid(err, "service_account_json.private_key", "service_account_json.private_key must be an RSA key "
                       "(Google Wallet JWTs are signed with RS256)");
    }
    char *pem = wpc_cred_pem_key(k);
    EVP_PKEY_free(k);
    if (!pem) return wpc_cred_fail(err, WP_ENOMEM, NULL, NULL, "out of memory");

    json_object *s = json_object_new_object();
    json_object_object_add(s, "issuer_id", json_object_new_string(issuer));
    json_object_object_add(s, "client_email", json_object_new_string(email));
    json_object_object_add(s, "private_key_pem", wpc_cred_str_wiped(pem));
    json_object_object_add(s, "private_key_id", json_object_new_string(kid));
    json_object_object_add(s, "token_uri", json_object_new_string(token_uri));
    json_object *m = json_object_new_object();
    json_object_object_add(m, "issuer_id", json_object_new_string(issuer));
    json_object_object_add(m, "client_email", json_object_new_string(email));
    json_object_object_add(m, "private_key_id", json_object_new_string(kid));
    *secret = s;
    *meta = m;
    return WP_OK;
}
