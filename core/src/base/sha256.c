/*
 * sha256.c - see sha256.h.
 */
#include "sha256.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

static EVP_MD *md;
static pthread_key_t tkey;
static int have_key;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void ctx_free(void *c) { EVP_MD_CTX_free(c); }

static void init(void)
{
    md = EVP_MD_fetch(NULL, "SHA256", NULL);
    have_key = pthread_key_create(&tkey, ctx_free) == 0;
}

wp_status wp_sha256(const void *data, size_t len, unsigned char out[32])
{
    pthread_once(&once, init);
    EVP_MD_CTX *c = have_key ? pthread_getspecific(tkey) : NULL;
    if (!c && have_key && (c = EVP_MD_CTX_new()) && pthread_setspecific(tkey, c) != 0) {
        EVP_MD_CTX_free(c);
        c = NULL;
    }
    unsigned int ol = 0;
    int ok = c && md ? EVP_DigestInit_ex2(c, md, NULL) == 1 && EVP_DigestUpdate(c, data, len) == 1 &&
                           EVP_DigestFinal_ex(c, out, &ol) == 1 && ol == 32
                     : EVP_Digest(data, len, out, &ol, EVP_sha256(), NULL) == 1 && ol == 32; /* fetching as it goes */
    if (!ok) memset(out, 0, 32);
    return ok ? WP_OK : WP_ECRYPTO;
}
