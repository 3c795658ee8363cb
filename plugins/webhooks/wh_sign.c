/* wh_sign.c - Standard Webhooks secrets and signatures (see wh_sign.h). */
#include "wh_sign.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define PREFIX "whsec_"

int wh_secret_new(char out[WH_SECRET_MAX])
{
    unsigned char raw[WH_SECRET_BYTES];
    if (RAND_bytes(raw, sizeof raw) != 1) return -1;
    memcpy(out, PREFIX, 6);
    EVP_EncodeBlock((unsigned char *)out + 6, raw, sizeof raw);
    OPENSSL_cleanse(raw, sizeof raw);
    return 0;
}

static int b64_char(char c, int pad_ok)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
           (c == '=' && pad_ok);
}

int wh_secret_key(const char *secret, unsigned char key[64])
{
    if (!secret || strncmp(secret, PREFIX, 6) != 0) return -1;
    const char *b = secret + 6;
    size_t n = strlen(b);
    if (n == 0 || n % 4 != 0 || n > 88) return -1;
    for (size_t i = 0; i < n; i++)
        if (!b64_char(b[i], i >= n - 2)) return -1;
    if (b[n - 2] == '=' && b[n - 1] != '=') return -1;
    unsigned char buf[72];
    int len = EVP_DecodeBlock(buf, (const unsigned char *)b, (int)n);
    if (len < 0) return -1;
    /* EVP_DecodeBlock counts padding as zero bytes: take them off. */
    if (b[n - 1] == '=') len--;
    if (b[n - 2] == '=') len--;
    if (len < 24 || len > 64) {
        OPENSSL_cleanse(buf, sizeof buf);
        return -1;
    }
    memcpy(key, buf, (size_t)len);
    OPENSSL_cleanse(buf, sizeof buf);
    return len;
}

int wh_sign_append(const char *secret, const char *msg_id, const char *timestamp, const char *body, size_t body_len,
                   char *out, size_t out_len)
{
    unsigned char key[64];
    int klen = wh_secret_key(secret, key);
    if (klen < 0) return -1;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mlen = 0;
    size_t il = strlen(msg_id), tl = strlen(timestamp);
    size_t total = il + 1 + tl + 1 + body_len;
    unsigned char *msg = malloc(total);
    int ok = 0;
    if (msg) {
        memcpy(msg, msg_id, il);
        msg[il] = '.';
        memcpy(msg + il + 1, timestamp, tl);
        msg[il + 1 + tl] = '.';
        if (body_len) memcpy(msg + il + tl + 2, body, body_len);
        ok = HMAC(EVP_sha256(), key, klen, msg, total, mac, &mlen) != NULL;
        free(msg);
    }
    OPENSSL_cleanse(key, sizeof key);
    if (!ok) return -1;
    size_t used = strlen(out);
    size_t need = used + (used ? 1 : 0) + WH_SIG_LEN + 1;
    if (need > out_len) return -1;
    char *p = out + used;
    if (used) *p++ = ' ';
    memcpy(p, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)p + 3, mac, (int)mlen);
    return 0;
}
