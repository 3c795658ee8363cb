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

typedef struct prepared {
    slot s[SLOTS];
    unsigned next; /* the slot to replace */
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
    free(t);
}

static void init(void)
{
    alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
    have_key = pthread_key_create(&tkey, prepared_free) == 0;
}

/* The thread's context prepared with key, made when missing; NULL when it cannot be. */
static EVP_MAC_CTX *template_for(const unsigned char *key, size_t klen)
{
    prepared *t = pthread_getspecific(tkey);
    if (!t) {
        t = calloc(1, sizeof *t);
        if (!t || pthread_setspecific(tkey, t) != 0) {
            free(t);
            return NULL;
        }
    }
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
