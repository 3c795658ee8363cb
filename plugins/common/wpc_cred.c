/* wpc_cred.c - see wpc_cred.h. */
#include "wpc_cred.h"

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

wp_status wpc_cred_fail(wpc_cred_err *err, wp_status st, const char *code, const char *param, const char *fmt, ...)
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

wp_status wpc_cred_missing(wpc_cred_err *err, const char *param, const char *what)
{
    return wpc_cred_fail(err, WP_EINVAL, "parameter_missing", param, "%s is required: %s", param, what);
}

wp_status wpc_cred_invalid(wpc_cred_err *err, const char *param, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return wpc_cred_fail(err, WP_EINVAL, "parameter_invalid", param, "%s", msg);
}

wp_status wpc_cred_oom(wpc_cred_err *err) { return wpc_cred_fail(err, WP_ENOMEM, NULL, NULL, "out of memory"); }

wp_status wpc_cred_only_fields(json_object *body, const char *const *allowed, wpc_cred_err *err)
{
    if (!json_object_is_type(body, json_type_object))
        return wpc_cred_invalid(err, "body", "the body must be a JSON object");
    json_object_object_foreach(body, k, v) {
        (void)v;
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++) ok = strcmp(*a, k) == 0;
        if (!ok) return wpc_cred_fail(err, WP_EINVAL, "parameter_unknown", k, "unknown field \"%s\"", k);
    }
    return WP_OK;
}

wp_status wpc_cred_str_field(json_object *obj, const char *key, const char *param, bool required, size_t max,
                             const char *what, const char **out, wpc_cred_err *err)
{
    json_object *v = NULL;
    *out = NULL;
    if (!json_object_object_get_ex(obj, key, &v) || !v) return required ? wpc_cred_missing(err, param, what) : WP_OK;
    if (!json_object_is_type(v, json_type_string))
        return wpc_cred_invalid(err, param, "%s must be a string: %s", param, what);
    const char *s = json_object_get_string(v);
    if (required && !*s) return wpc_cred_missing(err, param, what);
    if (strlen(s) > max) return wpc_cred_invalid(err, param, "%s is longer than %zu characters", param, max);
    *out = s;
    return WP_OK;
}

char *wpc_cred_bio_str(BIO *b)
{
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char *s = malloc((size_t)n + 1);
    if (!s) return NULL;
    memcpy(s, p, (size_t)n);
    s[n] = '\0';
    return s;
}

char *wpc_cred_pem_key(EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *s = b && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) ? wpc_cred_bio_str(b) : NULL;
    BIO_free(b); /* a mem BIO clears its buffer when freed */
    return s;
}

int wpc_cred_no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

json_object *wpc_cred_str_wiped(char *s)
{
    json_object *o = s ? json_object_new_string(s) : NULL;
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
    return o;
}

void wpc_cred_wipe(json_object *o)
{
    if (json_object_is_type(o, json_type_string)) {
        OPENSSL_cleanse((char *)json_object_get_string(o), (size_t)json_object_get_string_len(o));
    } else if (json_object_is_type(o, json_type_object)) {
        json_object_object_foreach(o, k, v) {
            (void)k;
            if (v) wpc_cred_wipe(v);
        }
    } else if (json_object_is_type(o, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(o); i++) {
            json_object *v = json_object_array_get_idx(o, i);
            if (v) wpc_cred_wipe(v);
        }
    }
}

void wpc_cred_wipe_put(json_object *o)
{
    if (!o) return;
    wpc_cred_wipe(o);
    json_object_put(o);
}
