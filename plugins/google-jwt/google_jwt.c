/*
 * google_jwt.c - RS256 (RSASSA-PKCS1-v1_5 with SHA-256) compact JWS with OpenSSL.
 *
 * Serialisation is PLAIN | NOSLASHESCAPE: every byte counts against the
 * 1,800-character save-link budget, and json-c's default "\/" escapes and
 * spaces would waste it.
 */
#include "google_jwt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

char *gj_b64url(const unsigned char *data, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (!out) return NULL;
    int len = EVP_EncodeBlock((unsigned char *)out, data, (int)n);
    while (len > 0 && out[len - 1] == '=') len--;
    out[len] = '\0';
    for (char *c = out; *c; c++) {
        if (*c == '+') *c = '-';
        else if (*c == '/') *c = '_';
    }
    return out;
}

static void ossl_msg(char *errbuf, size_t errlen, const char *what)
{
    unsigned long e = ERR_get_error();
    char detail[256] = "";
    if (e) ERR_error_string_n(e, detail, sizeof detail);
    ERR_clear_error();
    snprintf(errbuf, errlen, "%s%s%s", what, *detail ? ": " : "", detail);
}

wp_status gj_key_load(const char *pem, EVP_PKEY **out, char *errbuf, size_t errlen)
{
    *out = NULL;
    if (!pem || !*pem) {
        snprintf(errbuf, errlen, "the service account has no private_key");
        return WP_ECRYPTO;
    }
    BIO *bio = BIO_new_mem_buf(pem, -1);
    if (!bio) return WP_ENOMEM;
    EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (!k) {
        ossl_msg(errbuf, errlen, "private_key is not a readable PEM private key");
        return WP_ECRYPTO;
    }
    if (EVP_PKEY_base_id(k) != EVP_PKEY_RSA) {
        EVP_PKEY_free(k);
        snprintf(errbuf, errlen, "private_key must be an RSA key (RS256)");
        return WP_ECRYPTO;
    }
    *out = k;
    return WP_OK;
}

static char *b64_json(const json_object *o)
{
    size_t n = 0;
    const char *s = json_object_to_json_string_length((json_object *)o, JSON_FLAGS, &n);
    return gj_b64url((const unsigned char *)s, n);
}

wp_status gj_encode(EVP_PKEY *key, const json_object *header, const json_object *claims, char **out, char *errbuf,
                    size_t errlen)
{
    *out = NULL;
    char *h = b64_json(header), *c = b64_json(claims);
    char *input = NULL, *sig64 = NULL;
    unsigned char *sig = NULL;
    wp_status st = WP_ENOMEM;
    EVP_MD_CTX *ctx = NULL;
    if (!h || !c) goto done;
    size_t hl = strlen(h), cl = strlen(c);
    input = malloc(hl + cl + 2);
    if (!input) goto done;
    memcpy(input, h, hl);
    input[hl] = '.';
    memcpy(input + hl + 1, c, cl + 1);

    ctx = EVP_MD_CTX_new();
    size_t siglen = 0;
    st = WP_ECRYPTO;
    /* RSA's default padding is PKCS#1 v1.5: with SHA-256 that is RS256. */
    if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)input, hl + cl + 1) != 1) {
        ossl_msg(errbuf, errlen, "RS256 signing failed");
        goto done;
    }
    sig = malloc(siglen);
    if (!sig) {
        st = WP_ENOMEM;
        goto done;
    }
    if (EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)input, hl + cl + 1) != 1) {
        ossl_msg(errbuf, errlen, "RS256 signing failed");
        goto done;
    }
    sig64 = gj_b64url(sig, siglen);
    if (!sig64) {
        st = WP_ENOMEM;
        goto done;
    }
    size_t sl = strlen(sig64);
    char *jwt = malloc(hl + cl + sl + 3);
    if (!jwt) {
        st = WP_ENOMEM;
        goto done;
    }
    memcpy(jwt, input, hl + cl + 1);
    jwt[hl + cl + 1] = '.';
    memcpy(jwt + hl + cl + 2, sig64, sl + 1);
    *out = jwt;
    st = WP_OK;
done:
    if (st == WP_ENOMEM) snprintf(errbuf, errlen, "out of memory");
    EVP_MD_CTX_free(ctx);
    free(h);
    free(c);
    free(input);
    free(sig);
    free(sig64);
    return st;
}

static json_object *rs256_header(void)
{
    json_object *h = json_object_new_object();
    json_object_object_add(h, "alg", json_object_new_string("RS256"));
    json_object_object_add(h, "typ", json_object_new_string("JWT"));
    return h;
}

json_object *gj_save_claims(const char *iss, time_t iat, json_object *origins, json_object *payload)
{
    json_object *c = json_object_new_object();
    json_object_object_add(c, "iss", json_object_new_string(iss ? iss : ""));
    json_object_object_add(c, "aud", json_object_new_string("google"));
    json_object_object_add(c, "typ", json_object_new_string("savetowallet"));
    json_object_object_add(c, "iat", json_object_new_int64((int64_t)iat));
    json_object_object_add(c, "origins", origins ? json_object_get(origins) : json_object_new_array());
    json_object_object_add(c, "payload", json_object_get(payload));
    return c;
}

wp_status gj_save_jwt(EVP_PKEY *key, const json_object *claims, char **jwt, char *errbuf, size_t errlen)
{
    json_object *h = rs256_header();
    wp_status st = gj_encode(key, h, claims, jwt, errbuf, errlen);
    json_object_put(h);
    return st;
}

wp_status gj_oauth_assertion(EVP_PKEY *key, const char *iss, const char *scope, const char *token_url, time_t iat,
                             char **jwt, char *errbuf, size_t errlen)
{
    json_object *h = rs256_header(), *c = json_object_new_object();
    json_object_object_add(c, "iss", json_object_new_string(iss));
    json_object_object_add(c, "scope", json_object_new_string(scope));
    json_object_object_add(c, "aud", json_object_new_string(token_url));
    json_object_object_add(c, "iat", json_object_new_int64((int64_t)iat));
    json_object_object_add(c, "exp", json_object_new_int64((int64_t)iat + 3600));
    wp_status st = gj_encode(key, h, c, jwt, errbuf, errlen);
    json_object_put(h);
    json_object_put(c);
    return st;
}
