/*
 * apple_bundle.h - the .pkpass archive: images, manifest.json, the detached
 * PKCS#7 signature, zipped with libzip (Apple's Wallet developer documentation).
 * No host calls: the unit suite links this file alone.
 *
 * Ownership: every input is borrowed; *out (apple_bundle_build) and *png
 * (apple_image_decode) are malloc()ed and freed by the caller.
 */
#ifndef APPLE_BUNDLE_H
#define APPLE_BUNDLE_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <walletpass/plugin.h>

/* One file of the bundle besides pass.json, manifest.json and signature. */
typedef struct apple_file {
    const char *name;           /* "icon.png", "icon@2x.png" ... */
    const unsigned char *data;
    size_t len;
} apple_file;

/* The parsed signing identity of an account. */
typedef struct apple_identity {
    X509 *cert;                 /* the Pass Type ID certificate */
    EVP_PKEY *key;              /* its private key */
    STACK_OF(X509) *chain;      /* the WWDR intermediate(s); may be empty */
} apple_identity;

/* Checks PNG bytes: the signature, an IHDR first, a sane size (<= 4096 px a
 * side), at most max bytes.  WP_EINVAL / WP_ETOOLARGE with msg. */
wp_status apple_png_check(const unsigned char *d, size_t n, size_t max, unsigned *w, unsigned *h, char *msg,
                          size_t msglen);

/* Decodes a base64 image (optionally a "data:image/png;base64," URL) and checks it as PNG. */
wp_status apple_image_decode(const char *b64, size_t max, unsigned char **png, size_t *len, char *msg, size_t msglen);

/* Parses PEM credentials; WP_EINVAL (msg) when they do not parse or the key
 * does not match the certificate.  apple_identity_free releases it. */
wp_status apple_identity_parse(const char *cert_pem, const char *key_pem, const char *wwdr_pem, apple_identity *out,
                               char *msg, size_t msglen);
void apple_identity_free(apple_identity *id);

/* Builds the signed, zipped bundle.  The manifest lists pass.json and every file. */
/* SHA-256, fetched once (never NULL; the implicit EVP_sha256() if the fetch failed). */
const EVP_MD *apple_md_sha256(void);

wp_status apple_bundle_build(const char *pass_json, size_t pass_json_len, const apple_file *files, size_t nfiles,
                             const apple_identity *id, unsigned char **out, size_t *out_len, char *msg, size_t msglen);

#endif
