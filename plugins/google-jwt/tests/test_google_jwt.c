/* unit_google_jwt: RS256 save-link JWTs and OAuth assertions, verified with OpenSSL; the link cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "google_cache.h"
#include "google_jwt.h"

static EVP_PKEY *key;

static int setup(void **state)
{
    (void)state;
    key = EVP_RSA_gen(2048);
    return key ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(key);
    return 0;
}

/* base64url (no padding) -> bytes; *n their count; malloc'd. */
static unsigned char *unb64url(const char *s, size_t len, size_t *n)
{
    char *t = malloc(len + 4);
    memcpy(t, s, len);
    size_t m = len;
    for (size_t i = 0; i < m; i++) {
        assert_true(t[i] != '+' && t[i] != '/' && t[i] != '=');
        if (t[i] == '-') t[i] = '+';
        else if (t[i] == '_') t[i] = '/';
    }
    while (m % 4) t[m++] = '=';
    t[m] = '\0';
    unsigned char *out = malloc(m);
    int r = EVP_DecodeBlock(out, (unsigned char *)t, (int)m);
    assert_true(r >= 0);
    size_t pad = 0;
    for (size_t i = m; i > 0 && t[i - 1] == '='; i--) pad++;
    *n = (size_t)r - pad;
    free(t);
    return out;
}

static char *part(const char *jwt, int idx, size_t *n)
{
    const char *p = jwt;
    for (int i = 0; i < idx; i++) p = strchr(p, '.') + 1;
    const char *e = strchr(p, '.');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    unsigned char *raw = unb64url(p, len, n);
    char *s = malloc(*n + 1);
    memcpy(s, raw, *n);
    s[*n] = '\0';
    free(raw);
    return s;
}

static int verify(const char *jwt, EVP_PKEY *k)
{
    const char *last = strrchr(jwt, '.');
    size_t siglen;
    unsigned char *sig = unb64url(last + 1, strlen(last + 1), &siglen);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k) == 1 &&
             EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)jwt, (size_t)(last - jwt)) == 1;
    EVP_MD_CTX_free(ctx);
    free(sig);
    return ok;
}

static void b64url_vectors(void **state)
{
    (void)state;
    static const struct { const char *in; size_t n; const char *out; } v[] = {
        {"", 0, ""}, {"f", 1, "Zg"}, {"fo", 2, "Zm8"}, {"foo", 3, "Zm9v"}, {"\xfb\xff", 2, "-_8"}, {"\xff\xfe\xfd", 3, "__79"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char *s = gj_b64url((const unsigned char *)v[i].in, v[i].n);
        assert_string_equal(s, v[i].out);
        free(s);
    }
}

static void save_jwt_verifies(void **state)
{
    (void)state;
    json_object *payload = json_tokener_parse("{\"loyaltyClasses\":[{\"id\":\"1.c\"}],\"loyaltyObjects\":[{\"id\":\"1.o\","
                                              "\"classId\":\"1.c\",\"logo\":\"https://x.example/a/b.png\"}]}");
    json_object *origins = json_tokener_parse("[\"https://shop.example\"]");
    json_object *claims = gj_save_claims("sa@proj.iam.gserviceaccount.com", 1760000000, origins, payload);
    char *jwt = NULL, err[256] = "";
    assert_int_equal(gj_save_jwt(key, claims, &jwt, err, sizeof err), WP_OK);
    assert_true(verify(jwt, key));
    size_t n;
    char *h = part(jwt, 0, &n);
    assert_string_equal(h, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}");
    char *c = part(jwt, 1, &n);
    assert_null(strstr(c, "\\/"));  /* no slash escapes: they cost bytes of the 1,800 */
    assert_null(strstr(c, ": "));
    json_object *cj = json_tokener_parse(c);
    assert_string_equal(json_object_get_string(json_object_object_get(cj, "iss")), "sa@proj.iam.gserviceaccount.com");
    assert_string_equal(json_object_get_string(json_object_object_get(cj, "aud")), "google");
    assert_string_equal(json_object_get_string(json_object_object_get(cj, "typ")), "savetowallet");
    assert_int_equal(json_object_get_int64(json_object_object_get(cj, "iat")), 1760000000);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(json_object_object_get(cj, "origins"), 0)),
                        "https://shop.example");
    assert_true(json_object_equal(json_object_object_get(cj, "payload"), payload));
    assert_int_equal(json_object_object_length(cj), 6);
    /* a changed byte breaks the signature */
    char *mid = strchr(jwt, '.') + 5, orig = *mid;
    *mid = orig == 'A' ? 'B' : 'A';
    assert_false(verify(jwt, key));
    /* another key does not verify it */
    *mid = orig;
    EVP_PKEY *other = EVP_RSA_gen(2048);
    assert_false(verify(jwt, other));
    assert_true(verify(jwt, key));
    EVP_PKEY_free(other);
    json_object_put(cj);
    free(h);
    free(c);
    free(jwt);
    json_object_put(claims);
    json_object_put(origins);
    json_object_put(payload);
}

static void oauth_assertion(void **state)
{
    (void)state;
    char *jwt = NULL, err[256] = "";
    assert_int_equal(gj_oauth_assertion(key, "sa@x", "https://www.googleapis.com/auth/wallet_object.issuer",
                                        "http://127.0.0.1:9/token", 1000, &jwt, err, sizeof err), WP_OK);
    assert_true(verify(jwt, key));
    size_t n;
    char *c = part(jwt, 1, &n);
    json_object *cj = json_tokener_parse(c);
    assert_string_equal(json_object_get_string(json_object_object_get(cj, "aud")), "http://127.0.0.1:9/token");
    assert_string_equal(json_object_get_string(json_object_object_get(cj, "scope")),
                        "https://www.googleapis.com/auth/wallet_object.issuer");
    assert_int_equal(json_object_get_int64(json_object_object_get(cj, "exp")), 4600);
    json_object_put(cj);
    free(c);
    free(jwt);
}

static void key_loading(void **state)
{
    (void)state;
    EVP_PKEY *k = NULL;
    char err[256] = "";
    assert_int_equal(gj_key_load("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n", &k, err, sizeof err), WP_ECRYPTO);
    assert_null(k);
    assert_non_null(strstr(err, "private_key"));
    assert_int_equal(gj_key_load("", &k, err, sizeof err), WP_ECRYPTO);
    /* a PKCS#8 PEM as Google's key files hold loads and signs like the original */
    BIO *b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL), 1);
    char *pem;
    long len = BIO_get_mem_data(b, &pem);
    char *copy = strndup(pem, (size_t)len);
    BIO_free(b);
    assert_non_null(strstr(copy, "BEGIN PRIVATE KEY"));
    assert_int_equal(gj_key_load(copy, &k, err, sizeof err), WP_OK);
    json_object *claims = gj_save_claims("a", 1, NULL, json_object_new_object());
    char *jwt = NULL;
    assert_int_equal(gj_save_jwt(k, claims, &jwt, err, sizeof err), WP_OK);
    assert_true(verify(jwt, key));
    free(jwt);
    json_object_put(json_object_object_get(claims, "payload")); /* the reference gj_save_claims took */
    json_object_put(claims);
    EVP_PKEY_free(k);
    free(copy);
    /* an EC key is not RS256 material */
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, ec, NULL, NULL, 0, NULL, NULL);
    len = BIO_get_mem_data(b, &pem);
    copy = strndup(pem, (size_t)len);
    BIO_free(b);
    assert_int_equal(gj_key_load(copy, &k, err, sizeof err), WP_ECRYPTO);
    assert_non_null(strstr(err, "RSA"));
    free(copy);
    EVP_PKEY_free(ec);
}

static void link_cache(void **state)
{
    (void)state;
    gcache *c = gc_new(1); /* one slot: every put replaces */
    assert_null(gc_get(c, "a"));
    gc_put(c, "a", "1");
    char *v = gc_get(c, "a");
    assert_string_equal(v, "1");
    free(v);
    gc_put(c, "b", "2");
    assert_null(gc_get(c, "a"));
    v = gc_get(c, "b");
    assert_string_equal(v, "2");
    free(v);
    unsigned long hits, misses;
    gc_stats(c, &hits, &misses);
    assert_int_equal(hits, 2);
    assert_int_equal(misses, 2);
    gc_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(b64url_vectors), cmocka_unit_test(save_jwt_verifies), cmocka_unit_test(oauth_assertion),
        cmocka_unit_test(key_loading),    cmocka_unit_test(link_cache),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
