/*
 * wpc_cred.h - what the plugins' credential kinds share: the error of a
 * check (the API error a refusal becomes), readers of the uploaded body's
 * fields, OpenSSL's PEM output as a string, and wiping secrets before their
 * memory is freed.
 *
 * Messages never quote a secret.  Strings handed out are malloc()ed (the
 * caller frees them; a secret one with wpc_cred_str_wiped or OPENSSL_cleanse
 * first); json_objects are transferred; inputs are borrowed.
 */
#ifndef WPC_CRED_H
#define WPC_CRED_H

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <walletpass/plugin.h>

/* Why a check failed: status, API error code (static; NULL for non-400s),
 * the field at fault ("" when none) and a message a user can act on. */
typedef struct wpc_cred_err {
    wp_status status;
    const char *code;
    char param[160];
    char msg[400];
} wpc_cred_err;

/* Fills err (when non-NULL) and returns st. */
wp_status wpc_cred_fail(wpc_cred_err *err, wp_status st, const char *code, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* WP_EINVAL "parameter_missing": "<param> is required: <what>". */
wp_status wpc_cred_missing(wpc_cred_err *err, const char *param, const char *what);
/* WP_EINVAL "parameter_invalid" with the message. */
wp_status wpc_cred_invalid(wpc_cred_err *err, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* WP_ENOMEM "out of memory". */
wp_status wpc_cred_oom(wpc_cred_err *err);

/* A JSON object whose keys are all in allowed (NULL-terminated); else "parameter_unknown" naming the key. */
wp_status wpc_cred_only_fields(json_object *body, const char *const *allowed, wpc_cred_err *err);

/* A string field of at most max bytes: *out borrowed from obj, NULL when absent
 * (or null) and not required; what says what the field holds, for the message. */
wp_status wpc_cred_str_field(json_object *obj, const char *key, const char *param, bool required, size_t max,
                             const char *what, const char **out, wpc_cred_err *err);

/* A memory BIO's contents as a new string (NULL on out of memory). */
char *wpc_cred_bio_str(BIO *b);
/* A private key (PKCS#8 PEM) as a new string (NULL on failure). */
char *wpc_cred_pem_key(EVP_PKEY *k);
/* PEM passphrase callback: never prompt (a server has no terminal to ask on). */
int wpc_cred_no_password(char *buf, int size, int rwflag, void *u);

/* A json string of s, then s overwritten and freed (NULL for NULL). */
json_object *wpc_cred_str_wiped(char *s);
/* Overwrites every string inside o (objects and arrays, recursively): json-c
 * keeps the bytes in the object, so they are cleared before it frees them. */
void wpc_cred_wipe(json_object *o);
/* wpc_cred_wipe, then drops the reference.  NULL is fine. */
void wpc_cred_wipe_put(json_object *o);

#endif
