/* vault.c - see vault.h.  OpenSSL EVP does all the cryptography. */
#include "vault.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmac.h"

#define MAX_KEYS 16
#define NONCE 12
#define TAG 16

typedef struct {
    int version;
    unsigned char key[32];
} vkey;

struct wp_vault {
    vkey keys[MAX_KEYS];
    int nkeys;
    int current;
};

wp_status wp_base64_decode(const char *in, unsigned char **out, size_t *len)
{
    size_t n = strlen(in);
    if (n % 4 != 0) return WP_EINVAL;
    unsigned char *buf = malloc(n / 4 * 3 + 1);
    if (!buf) return WP_ENOMEM;
    int got = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)n);
    if (got < 0) {
        free(buf);
        return WP_EINVAL;
    }
    /* EVP_DecodeBlock counts padding as zero bytes: take them off. */
    if (n >= 1 && in[n - 1] == '=') got--;
    if (n >= 2 && in[n - 2] == '=') got--;
    *out = buf;
    *len = (size_t)got;
    return WP_OK;
}

wp_status wp_base64_encode(const unsigned char *in, size_t len, char **out)
{
    char *buf = malloc((len + 2) / 3 * 4 + 1);
    if (!buf) return WP_ENOMEM;
    EVP_EncodeBlock((unsigned char *)buf, in, (int)len);
    *out = buf;
    return WP_OK;
}

static wp_status add_key(wp_vault *v, int version, const char *b64, const char *what, wp_err *err)
{
    unsigned char *raw;
    size_t n;
    if (!b64 || wp_base64_decode(b64, &raw, &n) != WP_OK)
        return wp_err_set(err, WP_ECONFIG, "%s: not valid base64 (generate one with: openssl rand -base64 32)", what);
    if (n != 32) {
        OPENSSL_cleanse(raw, n);
        free(raw);
        return wp_err_set(err, WP_ECONFIG, "%s: must decode to 32 bytes, got %zu (openssl rand -base64 32)", what, n);
    }
    if (v->nkeys == MAX_KEYS) {
        free(raw);
        return wp_err_set(err, WP_ECONFIG, "%s: at most %d vault keys", what, MAX_KEYS);
    }
    for (int i = 0; i < v->nkeys; i++)
        if (v->keys[i].version == version) {
            free(raw);
            return wp_err_set(err, WP_ECONFIG, "%s: key version %d is given twice", what, version);
        }
    v->keys[v->nkeys].version = version;
    memcpy(v->keys[v->nkeys].key, raw, 32);
    v->nkeys++;
    OPENSSL_cleanse(raw, 32);
    free(raw);
    return WP_OK;
}

wp_status wp_vault_new(const char *master_b64, int key_version, json_object *previous, wp_vault **out, wp_err *err)
{
    *out = NULL;
    if (!master_b64 || !*master_b64)
        return wp_err_set(err, WP_ECONFIG,
                          "master_key is not set: set WALLETPASS_MASTER_KEY to a base64 32-byte key (openssl rand -base64 32)");
    if (key_version < 1) return wp_err_set(err, WP_ECONFIG, "vault.key_version must be 1 or more");
    wp_vault *v = calloc(1, sizeof *v);
    if (!v) return wp_err_set(err, WP_ENOMEM, "out of memory");
    wp_status st = add_key(v, key_version, master_b64, "master_key (WALLETPASS_MASTER_KEY)", err);
    if (st == WP_OK && previous) {
        json_object_object_foreach(previous, ver, val) {
            char what[64], *end;
            snprintf(what, sizeof what, "vault.previous_keys.%s", ver);
            long n = strtol(ver, &end, 10);
            if (*end || n < 1 || n > 1000000) {
                st = wp_err_set(err, WP_ECONFIG, "%s: the key name must be its version number", what);
                break;
            }
            if (!json_object_is_type(val, json_type_string)) {
                st = wp_err_set(err, WP_ECONFIG, "%s: must be a base64 string", what);
                break;
            }
            if ((st = add_key(v, (int)n, json_object_get_string(val), what, err)) != WP_OK) break;
        }
    }
    if (st != WP_OK) {
        wp_vault_free(v);
        return st;
    }
    v->current = 0;
    *out = v;
    return WP_OK;
}

void wp_vault_free(wp_vault *v)
{
    if (!v) return;
    OPENSSL_cleanse(v, sizeof *v);
    free(v);
}

int wp_vault_key_version(const wp_vault *v) { return v->keys[v->current].version; }

wp_status wp_vault_seal(wp_vault *v, const char *aad, const void *plain, size_t len, char **out, wp_err *err)
{
    *out = NULL;
    if (len > (64u << 20)) return wp_err_set(err, WP_EINVAL, "vault: value too large");
    size_t blen = NONCE + len + TAG;
    unsigned char *blob = malloc(blen);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = blob && ctx && RAND_bytes(blob, NONCE) == 1 &&
             EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, v->keys[v->current].key, blob) == 1;
    int n = 0, m = 0;
    ok = ok && EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) == 1;
    ok = ok && EVP_EncryptUpdate(ctx, blob + NONCE, &n, plain, (int)len) == 1;
    ok = ok && EVP_EncryptFinal_ex(ctx, blob + NONCE + n, &m) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG, blob + NONCE + len) == 1;
    EVP_CIPHER_CTX_free(ctx);
    char *b64 = NULL;
    if (ok && wp_base64_encode(blob, blen, &b64) == WP_OK) {
        size_t outlen = strlen(b64) + 32;
        *out = malloc(outlen);
        if (*out) snprintf(*out, outlen, "wpv1:%d:%s", v->keys[v->current].version, b64);
    }
    free(b64);
    free(blob);
    if (!*out) return wp_err_set(err, WP_ECRYPTO, "vault: encryption failed");
    return WP_OK;
}

wp_status wp_vault_open(wp_vault *v, const char *aad, const char *sealed, unsigned char **plain, size_t *len,
                        wp_err *err)
{
    *plain = NULL;
    *len = 0;
    int version;
    int off = 0;
    if (sscanf(sealed, "wpv1:%d:%n", &version, &off) != 1 || off == 0)
        return wp_err_set(err, WP_ECRYPTO, "vault: not a sealed value");
    const vkey *k = NULL;
    for (int i = 0; i < v->nkeys; i++)
        if (v->keys[i].version == version) k = &v->keys[i];
    if (!k)
        return wp_err_set(err, WP_ECRYPTO,
                          "vault: the value was sealed with key version %d, which is not configured "
                          "(add it under vault.previous_keys)", version);
    unsigned char *blob = NULL;
    size_t blen = 0;
    if (wp_base64_decode(sealed + off, &blob, &blen) != WP_OK)
        return wp_err_set(err, WP_ECRYPTO, "vault: sealed value is corrupt");
    if (blen < NONCE + TAG) {
        free(blob);
        return wp_err_set(err, WP_ECRYPTO, "vault: sealed value is corrupt");
    }
    size_t clen = blen - NONCE - TAG;
    unsigned char *pt = malloc(clen + 1);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, m = 0;
    int ok = pt && ctx && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k->key, blob) == 1 &&
             EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
             EVP_DecryptUpdate(ctx, pt, &n, blob + NONCE, (int)clen) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG, blob + NONCE + clen) == 1 &&
             EVP_DecryptFinal_ex(ctx, pt + n, &m) == 1;
    EVP_CIPHER_CTX_free(ctx);
    free(blob);
    if (!ok) {
        if (pt) {
            OPENSSL_cleanse(pt, clen);
            free(pt);
        }
        return wp_err_set(err, WP_ECRYPTO, "vault: the value does not open (tampered, or sealed for another owner)");
    }
    pt[clen] = '\0';
    *plain = pt;
    *len = clen;
    return WP_OK;
}

void wp_vault_free_plain(unsigned char *plain, size_t len)
{
    if (!plain) return;
    OPENSSL_cleanse(plain, len);
    free(plain);
}

/* base64url of HMAC(derive(key, purpose), data), cut to WP_VAULT_MAC_LEN characters. */
static wp_status mac_with(const unsigned char key[32], const char *purpose, const char *data,
                          char out[WP_VAULT_MAC_LEN + 1])
{
    char label[160];
    int ln = snprintf(label, sizeof label, "walletpass-mac/%s", purpose);
    if (ln < 0 || (size_t)ln >= sizeof label) return WP_EINVAL;
    unsigned char sub[32], mac[32];
    if (wp_hmac_sha256_kept(key, 32, label, (size_t)ln, sub) != WP_OK || /* the same for every call of a purpose */
        wp_hmac_sha256(sub, sizeof sub, data, strlen(data), mac) != WP_OK) {
        OPENSSL_cleanse(sub, sizeof sub);
        return WP_ECRYPTO;
    }
    OPENSSL_cleanse(sub, sizeof sub);
    char b64[48];
    EVP_EncodeBlock((unsigned char *)b64, mac, 32); /* 44 characters with one '=' */
    for (int i = 0; i < WP_VAULT_MAC_LEN; i++) out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
    out[WP_VAULT_MAC_LEN] = '\0';
    return WP_OK;
}

wp_status wp_vault_mac(const wp_vault *v, const char *purpose, const char *data, char *out, size_t outlen)
{
    if (!out || outlen <= WP_VAULT_MAC_LEN || !purpose || !data) return WP_EINVAL;
    return mac_with(v->keys[v->current].key, purpose, data, out);
}

wp_status wp_vault_mac_verify(const wp_vault *v, const char *purpose, const char *data, const char *mac)
{
    if (!mac || !purpose || !data || strlen(mac) != WP_VAULT_MAC_LEN) return WP_ECRYPTO;
    int ok = 0;
    /* every version is tried, so the time taken does not say which one matched */
    for (int i = 0; i < v->nkeys; i++) {
        char want[WP_VAULT_MAC_LEN + 1];
        if (mac_with(v->keys[i].key, purpose, data, want) != WP_OK) continue;
        ok |= CRYPTO_memcmp(want, mac, WP_VAULT_MAC_LEN) == 0;
    }
    return ok ? WP_OK : WP_ECRYPTO;
}

int wp_vault_mac_all(const wp_vault *v, const char *purpose, const char *data, char out[][WP_VAULT_MAC_LEN + 1],
                     int max)
{
    if (!purpose || !data || max <= 0) return 0;
    int n = 0;
    for (int i = 0; i < v->nkeys && n < max; i++)
        if (mac_with(v->keys[i].key, purpose, data, out[n]) == WP_OK) n++;
    return n;
}
