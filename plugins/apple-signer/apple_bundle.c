/* apple_bundle.c - see apple_bundle.h. */
#include "apple_bundle.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/sha.h>
#include <zip.h>
#include "wpc_hex.h"

static wp_status fail(wp_status st, char *msg, size_t len, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    if (e) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        snprintf(msg, len, "%s (%s)", what, buf);
    } else {
        snprintf(msg, len, "%s", what);
    }
    ERR_clear_error();
    return st;
}

/* ---- images --------------------------------------------------------------- */

static unsigned be32(const unsigned char *p)
{
    return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
}

wp_status apple_png_check(const unsigned char *d, size_t n, size_t max, unsigned *w, unsigned *h, char *msg,
                          size_t msglen)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n > max) {
        snprintf(msg, msglen, "the image is %zu bytes; at most %zu are allowed", n, max);
        return WP_ETOOLARGE;
    }
    /* signature, then the IHDR chunk: length 13, type, width, height, depth, colour type ... */
    if (n < 8 + 8 + 13 + 4 || memcmp(d, sig, 8) != 0) {
        snprintf(msg, msglen, "the image is not a PNG file (bad signature)");
        return WP_EINVAL;
    }
    if (be32(d + 8) != 13 || memcmp(d + 12, "IHDR", 4) != 0) {
        snprintf(msg, msglen, "the image is not a valid PNG file (no IHDR chunk first)");
        return WP_EINVAL;
    }
    unsigned width = be32(d + 16), height = be32(d + 20);
    if (width == 0 || height == 0 || width > 4096 || height > 4096) {
        snprintf(msg, msglen, "the PNG image is %ux%u pixels; each side must be 1..4096", width, height);
        return WP_EINVAL;
    }
    if (w) *w = width;
    if (h) *h = height;
    return WP_OK;
}

wp_status apple_image_decode(const char *b64, size_t max, unsigned char **png, size_t *len, char *msg, size_t msglen)
{
    *png = NULL;
    *len = 0;
    if (strncmp(b64, "data:", 5) == 0) {
        const char *comma = strchr(b64, ',');
        if (!comma) {
            snprintf(msg, msglen, "the data URL has no data");
            return WP_EINVAL;
        }
        b64 = comma + 1;
    }
    size_t n = strlen(b64);
    if (n == 0 || n % 4 != 0 || n / 4 * 3 > max + 3) {
        if (n / 4 * 3 > max + 3) {
            snprintf(msg, msglen, "the image is larger than %zu bytes", max);
            return WP_ETOOLARGE;
        }
        snprintf(msg, msglen, "the image is not valid base64");
        return WP_EINVAL;
    }
    unsigned char *out = malloc(n / 4 * 3 + 1);
    if (!out) {
        snprintf(msg, msglen, "out of memory");
        return WP_ENOMEM;
    }
    int r = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n);
    if (r < 0) {
        free(out);
        snprintf(msg, msglen, "the image is not valid base64");
        return WP_EINVAL;
    }
    size_t dl = (size_t)r;
    /* EVP_DecodeBlock keeps the padding's zero bytes: drop them. */
    if (n >= 1 && b64[n - 1] == '=') dl--;
    if (n >= 2 && b64[n - 2] == '=') dl--;
    wp_status st = apple_png_check(out, dl, max, NULL, NULL, msg, msglen);
    if (st != WP_OK) {
        free(out);
        return st;
    }
    *png = out;
    *len = dl;
    return WP_OK;
}

/* ---- identity ------------------------------------------------------------- */

wp_status apple_identity_parse(const char *cert_pem, const char *key_pem, const char *wwdr_pem, apple_identity *out,
                               char *msg, size_t msglen)
{
    memset(out, 0, sizeof *out);
    if (!cert_pem || !key_pem) {
        snprintf(msg, msglen, "the Apple credentials lack the certificate or the private key");
        return WP_EINVAL;
    }
    BIO *b = BIO_new_mem_buf(cert_pem, -1);
    out->cert = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!out->cert) return fail(WP_EINVAL, msg, msglen, "the Pass Type ID certificate is not a PEM certificate");
    b = BIO_new_mem_buf(key_pem, -1);
    out->key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!out->key) {
        apple_identity_free(out);
        return fail(WP_EINVAL, msg, msglen, "the private key is not an unencrypted PEM key");
    }
    if (X509_check_private_key(out->cert, out->key) != 1) {
        apple_identity_free(out);
        return fail(WP_EINVAL, msg, msglen, "the private key does not match the Pass Type ID certificate");
    }
    out->chain = sk_X509_new_null();
    if (!out->chain) {
        apple_identity_free(out);
        return fail(WP_ENOMEM, msg, msglen, "out of memory");
    }
    if (wwdr_pem && *wwdr_pem) {
        b = BIO_new_mem_buf(wwdr_pem, -1);
        X509 *x;
        while (b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) sk_X509_push(out->chain, x);
        BIO_free(b);
        ERR_clear_error(); /* the loop ends on "no start line" */
        if (sk_X509_num(out->chain) == 0) {
            apple_identity_free(out);
            snprintf(msg, msglen, "the WWDR intermediate is not a PEM certificate");
            return WP_EINVAL;
        }
    }
    return WP_OK;
}

void apple_identity_free(apple_identity *id)
{
    if (!id) return;
    X509_free(id->cert);
    EVP_PKEY_free(id->key);
    if (id->chain) sk_X509_pop_free(id->chain, X509_free);
    memset(id, 0, sizeof *id);
}

/* ---- manifest, signature, zip -------------------------------------------- */

/* Digests fetched once: OpenSSL 3 looks an implicit algorithm (SHA1(),
 * EVP_sha256()) up in its provider store on every use, which shows in a
 * loop that signs thousands of manifests a second. */
static EVP_MD *md_sha1, *md_sha256;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static void md_fetch(void)
{
    md_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

const EVP_MD *apple_md_sha256(void)
{
    pthread_once(&md_once, md_fetch);
    return md_sha256 ? md_sha256 : EVP_sha256();
}

static void sha1_hex(const void *d, size_t n, char out[41])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int ml = 0;
    if (!md_sha1 || EVP_Digest(d, n, md, &ml, md_sha1, NULL) != 1 || ml != SHA_DIGEST_LENGTH) {
        SHA1(d, n, md);
        ml = SHA_DIGEST_LENGTH;
    }
    wpc_hex(md, ml, out);
}

static wp_status sign_manifest(const char *manifest, size_t len, const apple_identity *id, unsigned char **der,
                               int *der_len, char *msg, size_t msglen)
{
    BIO *in = BIO_new_mem_buf(manifest, (int)len);
    if (!in) return fail(WP_ENOMEM, msg, msglen, "out of memory");
    /* Detached, binary (no CRLF canonicalisation); OpenSSL adds the signing
     * time Wallet requires (never PKCS7_NOATTR).  The chain is embedded.
     * This is PKCS7_sign(cert, key, chain, in, flags) spelled out, so that the
     * digest (SHA-256, the key's default) is the one fetched once. */
    /* PKCS7_NOSMIMECAP: the S/MIME capabilities attribute means nothing to
     * Wallet, and building it looks up a list of ciphers on every signature. */
    const int flags = PKCS7_DETACHED | PKCS7_BINARY | PKCS7_NOSMIMECAP;
    PKCS7 *p7 = PKCS7_sign(NULL, NULL, id->chain, NULL, flags | PKCS7_PARTIAL);
    if (!p7 || !PKCS7_sign_add_signer(p7, id->cert, id->key, md_sha256, flags) || !PKCS7_final(p7, in, flags)) {
        PKCS7_free(p7);
        BIO_free(in);
        return fail(WP_ECRYPTO, msg, msglen, "signing the manifest failed");
    }
    BIO_free(in);
    *der = NULL;
    *der_len = i2d_PKCS7(p7, der);
    PKCS7_free(p7);
    if (*der_len <= 0) return fail(WP_ECRYPTO, msg, msglen, "encoding the signature failed");
    return WP_OK;
}

static wp_status zip_fail(zip_t *za, zip_source_t *src, char *msg, size_t msglen, const char *what, zip_error_t *ze)
{
    snprintf(msg, msglen, "%s: %s", what, ze ? zip_error_strerror(ze) : za ? zip_strerror(za) : "?");
    if (za) zip_discard(za);
    if (src) zip_source_free(src);
    return WP_EIO;
}

wp_status apple_bundle_build(const char *pass_json, size_t pass_json_len, const apple_file *files, size_t nfiles,
                             const apple_identity *id, unsigned char **out, size_t *out_len, char *msg, size_t msglen)
{
    *out = NULL;
    *out_len = 0;
    pthread_once(&md_once, md_fetch);
    /* manifest.json: every file but itself and the signature, lowercase hex SHA-1. */
    json_object *man = json_object_new_object();
    if (!man) return fail(WP_ENOMEM, msg, msglen, "out of memory");
    char hex[41];
    sha1_hex(pass_json, pass_json_len, hex);
    json_object_object_add(man, "pass.json", json_object_new_string(hex));
    for (size_t i = 0; i < nfiles; i++) {
        sha1_hex(files[i].data, files[i].len, hex);
        json_object_object_add(man, files[i].name, json_object_new_string(hex));
    }
    size_t mlen = 0;
    const char *ms = json_object_to_json_string_length(man, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &mlen);
    char *manifest = ms ? strndup(ms, mlen) : NULL;
    json_object_put(man);
    if (!manifest) return fail(WP_ENOMEM, msg, msglen, "out of memory");

    unsigned char *sig = NULL;
    int sig_len = 0;
    wp_status st = sign_manifest(manifest, mlen, id, &sig, &sig_len, msg, msglen);
    if (st != WP_OK) {
        free(manifest);
        return st;
    }

    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &ze);
    zip_t *za = src ? zip_open_from_source(src, ZIP_TRUNCATE, &ze) : NULL;
    if (!za) {
        st = zip_fail(NULL, src, msg, msglen, "creating the archive failed", &ze);
        goto done;
    }
    zip_source_keep(src); /* zip_close must leave the buffer to us */
    struct {
        const char *name;
        const void *data;
        size_t len;
    } ent[64];
    size_t ne = 0;
    ent[ne].name = "pass.json", ent[ne].data = pass_json, ent[ne++].len = pass_json_len;
    for (size_t i = 0; i < nfiles && ne < 62; i++)
        ent[ne].name = files[i].name, ent[ne].data = files[i].data, ent[ne++].len = files[i].len;
    ent[ne].name = "manifest.json", ent[ne].data = manifest, ent[ne++].len = mlen;
    ent[ne].name = "signature", ent[ne].data = sig, ent[ne++].len = (size_t)sig_len;
    for (size_t i = 0; i < ne; i++) {
        zip_source_t *fs = zip_source_buffer(za, ent[i].data, ent[i].len, 0);
        zip_int64_t idx = fs ? zip_file_add(za, ent[i].name, fs, ZIP_FL_ENC_UTF_8) : -1;
        if (idx < 0) {
            if (fs) zip_source_free(fs);
            st = zip_fail(za, src, msg, msglen, "adding a file to the archive failed", NULL);
            goto done;
        }
        /* Stored, not deflated: PNG data is compressed already, and for the
         * few hundred bytes of JSON zlib's set-up costs more than the signature
         * (the bundle stays a few KB either way). */
        zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0);
    }
    if (zip_close(za) != 0) {
        st = zip_fail(za, src, msg, msglen, "writing the archive failed", NULL);
        goto done;
    }
    if (zip_source_open(src) != 0) {
        st = zip_fail(NULL, src, msg, msglen, "reading the archive failed", zip_source_error(src));
        goto done;
    }
    zip_source_seek(src, 0, SEEK_END);
    zip_int64_t zl = zip_source_tell(src);
    zip_source_seek(src, 0, SEEK_SET);
    unsigned char *buf = zl > 0 ? malloc((size_t)zl) : NULL;
    if (!buf || zip_source_read(src, buf, (zip_uint64_t)zl) != zl) {
        free(buf);
        zip_source_close(src);
        zip_source_free(src);
        snprintf(msg, msglen, "reading the archive failed");
        st = WP_EIO;
        goto done;
    }
    zip_source_close(src);
    zip_source_free(src);
    *out = buf;
    *out_len = (size_t)zl;
    st = WP_OK;
done:
    OPENSSL_free(sig);
    free(manifest);
    zip_error_fini(&ze);
    return st;
}
