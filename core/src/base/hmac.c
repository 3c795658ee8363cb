/*
 * hmac.c - see hmac.h.
 */
#include "hmac.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 8
#define KEY_MAX 64

typedef struct slot {
    unsigned char key[KEY_MAX];
    size_t klen;
    EVP_MAC_CTX *ctx; /* initialised with key; never finalised itself */
} slot;

/* A result kept by wp_hmac_sha256_kept: the key and data it was made of, and the MAC. */
#define KEPT 16
#define KEPT_DATA_MAX 96
typedef struct kept {
    unsigned char key[KEY_MAX], data[KEPT_DATA_MAX], mac[32];
    size_t klen, dlen; /* klen 0: empty */
} kept;

typedef struct prepared {
    slot s[SLOTS];
    unsigned next; /* the slot to replace */
    kept k[KEPT];
    unsigned knext;
} prepared;

static EVP_MAC *alg;
static pthread_key_t tkey;
static int have_key;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void slot_clear(slot *s)
{
    EVP_MAC_CTX_free(s->ctx);
    OPENSSL_cleanse(s->key, sizeof s->key);
    s->ctx = NULL;
    s->klen = 0;
}

static void prepared_free(void *p)
{
    prepared *t = p;
    if (!t) return;
    for (int i = 0; i < SLOTS; i++) slot_clear(&t->s[i]);
    OPENSSL_cleanse(t->k, sizeof t->k);
    free(t);
}

static void init(void)
{
    alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
    have_key = pthread_key_create(&tkey, prepared_free) == 0;
}

/* The thread's memos, made when missing; NULL when they cannot be. */
static prepared *mine(void)
{
    prepared *t = pthread_getspecific(tkey);
    if (!t) {
        t = calloc(1, sizeof *t);
        if (!t || pthread_setspecific(tkey, t) != 0) {
            free(t);
            return NULL;
        }
    }
    return t;
}

/* The thread's context prepared with key, made when missing; NULL when it cannot be. */
static EVP_MAC_CTX *template_for(const unsigned char *key, size_t klen)
{
    prepared *t = mine();
    if (!t) return NULL;
    for (int i = 0; i < SLOTS; i++)
        if (t->s[i].ctx && t->s[i].klen == klen && CRYPTO_memcmp(t->s[i].key, key, klen) == 0) return t->s[i].ctx;
    slot *s = &t->s[t->next];
    t->next = (t->next + 1) % SLOTS;
    slot_clear(s);
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(alg);
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
                           OSSL_PARAM_construct_end()};
    if (!ctx || EVP_MAC_init(ctx, key, klen, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        return NULL;
    }
    memcpy(s->key, key, klen);
    s->klen = klen;
    s->ctx = ctx;
    return ctx;
}

wp_status wp_hmac_sha256(const unsigned char *key, size_t klen, const void *data, size_t len, unsigned char out[32])
{
    if (!key || klen == 0 || klen > KEY_MAX) return WP_EINVAL;
    pthread_once(&once, init);
    EVP_MAC_CTX *tmpl = alg && have_key ? template_for(key, klen) : NULL;
    if (!tmpl) { /* the plain call, fetching as it goes */
        unsigned int ol = 0;
        return HMAC(EVP_sha256(), key, (int)klen, data, len, out, &ol) && ol == 32 ? WP_OK : WP_ECRYPTO;
    }
    EVP_MAC_CTX *c = EVP_MAC_CTX_dup(tmpl);
    size_t ol = 0;
    int ok = c && EVP_MAC_update(c, data, len) == 1 && EVP_MAC_final(c, out, &ol, 32) == 1 && ol == 32;
    EVP_MAC_CTX_free(c);
    return ok ? WP_OK : WP_ECRYPTO;
}

wp_status wp_hmac_sha256_kept(const unsigned char *key, size_t klen, const void *data, size_t len, unsigned char out[32])
{
    if (!key || klen == 0 || klen > KEY_MAX) return WP_EINVAL;
    pthread_once(&once, init);
    prepared *t = have_key && len <= KEPT_DATA_MAX ? mine() : NULL;
    if (t)
        for (int i = 0; i < KEPT; i++) {
            kept *k = &t->k[i];
            if (k->klen == klen && k->dlen == len && CRYPTO_memcmp(k->key, key, klen) == 0 &&
                memcmp(k->data, data, len) == 0) {
                memcpy(out, k->mac, 32);
                return WP_OK;
            }
        }
    wp_status st = wp_hmac_sha256(key, klen, data, len, out);
    if (st != WP_OK || !t) return st;
    kept *k = &t->k[t->knext];
    t->knext = (t->knext + 1) % KEPT;
    OPENSSL_cleanse(k, sizeof *k);
    memcpy(k->key, key, klen);
    memcpy(k->data, data, len);
    memcpy(k->mac, out, 32);
    k->klen = klen;
    k->dlen = len;
    return WP_OK;
}
