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

static wp_status fail(cc_err *err, wp_status st, const char *code, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static wp_status fail(cc_err *err, wp_status st, const char *code, const char *param, const char *fmt, ...)
{
    if (!err) return st;
    err->status = st;
    err->code = code;
    snprintf(err->param, sizeof err->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return st;
}

static wp_status missing(cc_err *err, const char *param, const char *what)
{
    return fail(err, WP_EINVAL, "parameter_missing", param, "%s is required: %s", param, what);
}

static wp_status invalid(cc_err *err, const char *param, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static wp_status invalid(cc_err *err, const char *param, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fail(err, WP_EINVAL, "parameter_invalid", param, "%s", msg);
}

/* Refuses keys of body not in allowed (NULL-terminated). */
static wp_status only_fields(json_object *body, const char *const *allowed, cc_err *err)
{
    if (!json_object_is_type(body, json_type_object))
        return invalid(err, "body", "the body must be a JSON object");
    json_object_object_foreach(body, k, v) {
        (void)v;
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++) ok = strcmp(*a, k) == 0;
        if (!ok) return fail(err, WP_EINVAL, "parameter_unknown", k, "unknown field \"%s\"", k);
    }
    return WP_OK;
}

/* A string field: *out borrowed from obj, NULL when absent (or null) and optional. */
static wp_status str_field(json_object *obj, const char *key, const char *param, bool required, size_t max,
                           const char *what, const char **out, cc_err *err)
{
    json_object *v = NULL;
    *out = NULL;
    if (!json_object_object_get_ex(obj, key, &v) || !v) return required ? missing(err, param, what) : WP_OK;
    if (!json_object_is_type(v, json_type_string)) return invalid(err, param, "%s must be a string: %s", param, what);
    const char *s = json_object_get_string(v);
    if (required && !*s) return missing(err, param, what);
    if (strlen(s) > max) return invalid(err, param, "%s is longer than %zu characters", param, max);
    *out = s;
    return WP_OK;
}

/* A BIO's contents as a new string (NULL on out of memory). */
static char *bio_str(BIO *b)
{
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char *s = malloc((size_t)n + 1);
    if (!s) return NULL;
    memcpy(s, p, (size_t)n);
    s[n] = '\0';
    return s;
}

/* PEM passphrase callback: never prompt (a server has no terminal to ask on). */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

static char *pem_key(EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *s = b && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) ? bio_str(b) : NULL;
    BIO_free(b); /* a mem BIO clears its buffer when freed */
    return s;
}

static json_object *new_str_wiped(char *s)
{
    json_object *o = s ? json_object_new_string(s) : NULL;
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
    return o;
}

static void wipe(json_object *obj)
{
    if (json_object_is_type(obj, json_type_string)) {
        /* json-c keeps the bytes in the object: overwrite them before it frees them */
        OPENSSL_cleanse((char *)json_object_get_string(obj), (size_t)json_object_get_string_len(obj));
    } else if (json_object_is_type(obj, json_type_object)) {
        json_object_object_foreach(obj, k, v) {
            (void)k;
            if (v) wipe(v);
        }
    }
}

void google_credcheck_wipe_put(json_object *obj)
{
    if (!obj) return;
    wipe(obj);
    json_object_put(obj);
}

wp_status google_credcheck(const json_object *cbody, json_object **secret, json_object **meta, cc_err *err)
{
    json_object *body = (json_object *)cbody; /* read only: json-c's getters take no const */
    static const char *const fields[] = {"issuer_id", "service_account_json", NULL};
    *secret = *meta = NULL;
    wp_status st;
    if ((st = only_fields(body, fields, err)) != WP_OK) return st;

    json_object *iv;
    if (!json_object_object_get_ex(body, "issuer_id", &iv) || !iv)
        return missing(err, "issuer_id", "the issuer ID from the Google Pay & Wallet Console, as a string of digits");
    if (!json_object_is_type(iv, json_type_string))
        return invalid(err, "issuer_id", "issuer_id must be a string of digits (\"3388000000012345678\"): a JSON "
                       "number would lose digits");
    const char *issuer = json_object_get_string(iv);
    size_t il = strlen(issuer);
    bool digits = il > 0 && il <= 30;
    for (size_t i = 0; digits && i < il; i++) digits = isdigit((unsigned char)issuer[i]);
    if (!digits)
        return invalid(err, "issuer_id", "issuer_id must be 1 to 30 digits, the issuer ID shown in the Google Pay & "
                       "Wallet Console");

    json_object *sa;
    if (!json_object_object_get_ex(body, "service_account_json", &sa) || !sa)
        return missing(err, "service_account_json", "the service account's JSON key file, as an object");
    if (!json_object_is_type(sa, json_type_object))
        return invalid(err, "service_account_json", "service_account_json must be the key file's JSON object itself "
                       "(not a string or a path)");
    const char *type, *email, *pkey, *kid, *token_uri;
    if ((st = str_field(sa, "type", "service_account_json.type", true, 64, "\"service_account\"", &type, err)))
        return st;
    if (strcmp(type, "service_account") != 0)
        return invalid(err, "service_account_json.type", "service_account_json.type must be \"service_account\": "
                       "create a JSON key for a service account in the Google Cloud console");
    if ((st = str_field(sa, "client_email", "service_account_json.client_email", true, 320,
                        "the service account's email", &email, err)))
        return st;
    const char *at = strchr(email, '@');
    if (!at || at == email || !at[1] || strchr(email, ' '))
        return invalid(err, "service_account_json.client_email", "service_account_json.client_email must be the "
                       "service account's email address (name@project.iam.gserviceaccount.com)");
    if ((st = str_field(sa, "private_key_id", "service_account_json.private_key_id", true, 200,
                        "the key's id from the key file", &kid, err)))
        return st;
    for (const char *c = kid; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_')
            return invalid(err, "service_account_json.private_key_id", "service_account_json.private_key_id must be "
                           "the key id from the key file (letters and digits)");
    if ((st = str_field(sa, "token_uri", "service_account_json.token_uri", false, 2048, "an https URL", &token_uri,
                        err)))
        return st;
    if (token_uri && strncmp(token_uri, "https://", 8) != 0 && strncmp(token_uri, "http://", 7) != 0)
        return invalid(err, "service_account_json.token_uri", "service_account_json.token_uri must be an https URL "
                       "(https://oauth2.googleapis.com/token)");
    if (!token_uri) token_uri = "https://oauth2.googleapis.com/token";
    if ((st = str_field(sa, "private_key", "service_account_json.private_key", true, 1u << 16,
                        "the PEM private key from the key file", &pkey, err)))
        return st;

    BIO *b = BIO_new_mem_buf(pkey, -1);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, no_password, NULL) : NULL;
    BIO_free(b);
    ERR_clear_error();
    if (!k)
        return invalid(err, "service_account_json.private_key", "service_account_json.private_key is not a PEM "
                       "private key (-----BEGIN PRIVATE KEY-----); copy the key file's private_key unchanged");
    if (EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
        EVP_PKEY_free(k);
        return invalid(err, "service_account_json.private_key", "service_account_json.private_key must be an RSA key "
                       "(Google Wallet JWTs are signed with RS256)");
    }
    char *pem = pem_key(k);
    EVP_PKEY_free(k);
    if (!pem) return fail(err, WP_ENOMEM, NULL, NULL, "out of memory");

    json_object *s = json_object_new_object();
    json_object_object_add(s, "issuer_id", json_object_new_string(issuer));
    json_object_object_add(s, "client_email", json_object_new_string(email));
    json_object_object_add(s, "private_key_pem", new_str_wiped(pem));
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
