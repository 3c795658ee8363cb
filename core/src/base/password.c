/* password.c - see password.h. */
#include "password.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SALT_LEN 16
#define KEY_LEN 32
#define SCRYPT_R 8
#define SCRYPT_P 3

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_busy;

static void gate_enter(void)
{
    pthread_mutex_lock(&gate_mu);
    while (gate_busy >= WP_PASSWORD_CONCURRENCY) pthread_cond_wait(&gate_cv, &gate_mu);
    gate_busy++;
    pthread_mutex_unlock(&gate_mu);
}

static void gate_leave(void)
{
    pthread_mutex_lock(&gate_mu);
    gate_busy--;
    pthread_cond_signal(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
}

static int derive(const char *password, const unsigned char *salt, size_t salt_len, int log2_n, int r, int p,
                  unsigned char *key, size_t key_len)
{
    uint64_t n = (uint64_t)1 << log2_n;
    /* OpenSSL refuses more than maxmem (32 MiB by default): room for the working set and a margin */
    uint64_t maxmem = 128u * (uint64_t)r * n * 2 + (1u << 20);
    gate_enter();
    int ok = EVP_PBE_scrypt(password, strlen(password), salt, salt_len, n, (uint64_t)r, (uint64_t)p, maxmem, key,
                            key_len) == 1;
    gate_leave();
    return ok;
}

static int b64(const unsigned char *in, size_t n, char *out, size_t outlen)
{
    if (outlen < 4 * ((n + 2) / 3) + 1) return 0;
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    /* PHC strings drop the padding */
    while (len > 0 && out[len - 1] == '=') out[--len] = '\0';
    return 1;
}

/* Decodes unpadded base64 into out; returns the byte count, or -1. */
static int unb64(const char *in, size_t n, unsigned char *out, size_t outlen)
{
    char buf[128];
    if (n == 0 || n + 3 >= sizeof buf) return -1;
    memcpy(buf, in, n);
    size_t pad = (4 - n % 4) % 4;
    if (pad == 3) return -1;
    for (size_t i = 0; i < pad; i++) buf[n + i] = '=';
    buf[n + pad] = '\0';
    unsigned char tmp[96];
    int len = EVP_DecodeBlock(tmp, (const unsigned char *)buf, (int)(n + pad));
    if (len < 0) return -1;
    len -= (int)pad;
    if (len <= 0 || (size_t)len > outlen) return -1;
    memcpy(out, tmp, (size_t)len);
    return len;
}

static wp_status check_input(const char *password, wp_password_cost cost, wp_err *err)
{
    if (!password) return wp_err_param(err, WP_EINVAL, "password", "password is required");
    if (strlen(password) > WP_PASSWORD_MAX_BYTES)
        return wp_err_param(err, WP_EINVAL, "password", "password must be at most %d bytes", WP_PASSWORD_MAX_BYTES);
    if (cost.log2_n < 10 || cost.log2_n > 20)
        return wp_err_set(err, WP_EINVAL, "scrypt cost 2^%d is outside 2^10..2^20", cost.log2_n);
    return WP_OK;
}

wp_status wp_password_hash(const char *password, wp_password_cost cost, char *out, size_t outlen, wp_err *err)
{
    wp_status st = check_input(password, cost, err);
    if (st != WP_OK) return st;
    unsigned char salt[SALT_LEN], key[KEY_LEN];
    if (RAND_bytes(salt, sizeof salt) != 1) return wp_err_set(err, WP_ECRYPTO, "random number generator failed");
    if (!derive(password, salt, sizeof salt, cost.log2_n, SCRYPT_R, SCRYPT_P, key, sizeof key))
        return wp_err_set(err, WP_ECRYPTO, "scrypt failed (out of memory?)");
    char s64[32], k64[48];
    b64(salt, sizeof salt, s64, sizeof s64);
    b64(key, sizeof key, k64, sizeof k64);
    OPENSSL_cleanse(key, sizeof key);
    int n = snprintf(out, outlen, "$scrypt$ln=%d,r=%d,p=%d$%s$%s", cost.log2_n, SCRYPT_R, SCRYPT_P, s64, k64);
    if (n < 0 || (size_t)n >= outlen) return wp_err_set(err, WP_EINTERNAL, "no room for the password hash");
    return WP_OK;
}

wp_status wp_password_verify(const char *password, const char *stored, wp_password_cost cost, int *match, int *weaker,
                             wp_err *err)
{
    *match = 0;
    if (weaker) *weaker = 0;
    wp_status st = check_input(password, cost, err);
    if (st != WP_OK) return st;
    int ln = 0, r = 0, p = 0, used = 0;
    if (!stored || sscanf(stored, "$scrypt$ln=%d,r=%d,p=%d$%n", &ln, &r, &p, &used) != 3 || used == 0 || ln < 10 ||
        ln > 20 || r < 1 || r > 32 || p < 1 || p > 16)
        return wp_err_set(err, WP_EINVAL, "the stored password hash is not an scrypt hash of this gateway");
    const char *salt64 = stored + used, *dollar = strchr(salt64, '$');
    if (!dollar) return wp_err_set(err, WP_EINVAL, "the stored password hash has no salt");
    unsigned char salt[64], want[64], got[64];
    int sn = unb64(salt64, (size_t)(dollar - salt64), salt, sizeof salt);
    int kn = unb64(dollar + 1, strlen(dollar + 1), want, sizeof want);
    if (sn < 4 || kn < 16) return wp_err_set(err, WP_EINVAL, "the stored password hash is malformed");
    if (!derive(password, salt, (size_t)sn, ln, r, p, got, (size_t)kn))
        return wp_err_set(err, WP_ECRYPTO, "scrypt failed (out of memory?)");
    *match = CRYPTO_memcmp(got, want, (size_t)kn) == 0;
    OPENSSL_cleanse(got, sizeof got);
    if (weaker) *weaker = ln < cost.log2_n || r != SCRYPT_R || p < SCRYPT_P;
    return WP_OK;
}

void wp_password_burn(const char *password, wp_password_cost cost)
{
    static const unsigned char salt[SALT_LEN] = "walletpass-burn";
    unsigned char key[KEY_LEN];
    if (!password || strlen(password) > WP_PASSWORD_MAX_BYTES || cost.log2_n < 10 || cost.log2_n > 20) return;
    (void)derive(password, salt, sizeof salt, cost.log2_n, SCRYPT_R, SCRYPT_P, key, sizeof key);
    OPENSSL_cleanse(key, sizeof key);
}
