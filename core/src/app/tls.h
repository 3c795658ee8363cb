/*
 * tls.h - HTTPS on the gateway's own listener (server.tls): the certificate
 * chain and private key (PEM files), the protocol and cipher policy, and
 * re-reading the files while serving (SIGHUP after a renewal).
 *
 * Each handshake takes the certificate from the set loaded last (OpenSSL's
 * certificate callback), so a reload touches neither the listener nor a
 * connection already open: handshakes after it present the new certificate,
 * connections from before keep theirs.  A reload that fails (a file missing,
 * a key that does not match) keeps the set in use.
 *
 * Ownership: wp_tls_load() returns a wp_tls owned by the caller (wp_server),
 * freed with wp_tls_free() only after the CivetWeb context whose SSL_CTX it
 * configured has stopped.
 */
#ifndef WP_TLS_H
#define WP_TLS_H

#include <stddef.h>

#include "err.h"

typedef struct wp_tls wp_tls;

/* What was loaded, for the log and `walletpass config check`. */
typedef struct wp_tls_info {
    char subject[256];   /* the leaf's subject, one line */
    char names[256];     /* its DNS and IP subjectAltNames, comma-separated ("" when none) */
    char not_after[32];  /* "2026-03-01 12:00:00 UTC" */
    long days_left;      /* until not_after; negative once expired */
    int not_yet_valid;   /* 1: notBefore is in the future */
    int chain_len;       /* certificates after the leaf */
} wp_tls_info;

/* The policy, also written in docs/configuration.md. */
#define WP_TLS_PROTOCOLS "TLS 1.2, TLS 1.3"
#define WP_TLS12_CIPHERS                                                                                 \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"          \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define WP_TLS13_SUITES "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

/*
 * Reads the certificate chain (leaf first, then its intermediates) and the
 * unencrypted private key, and checks that they belong together.  Errors are
 * WP_ECONFIG naming the configuration key and the file.  info may be NULL.
 */
wp_status wp_tls_load(const char *cert_file, const char *key_file, wp_tls **out, wp_tls_info *info, wp_err *err);

/* Reads the same two files again; on success later handshakes use them, on
 * failure nothing changes.  Safe while connections are being served. */
wp_status wp_tls_reload(wp_tls *tls, wp_tls_info *info, wp_err *err);

/* Applies the policy (TLS 1.2 and 1.3 only, the cipher lists above, no
 * renegotiation or compression) and the certificate callback to an SSL_CTX
 * (CivetWeb's init_ssl callback hands it over as void *). */
wp_status wp_tls_setup_ctx(wp_tls *tls, void *ssl_ctx, wp_err *err);

/* One line for the log: subject, names, expiry, chain length.  Returns the
 * level to log it at: WP_LOG_WARN when the certificate expired, is not valid
 * yet or expires within 14 days, else WP_LOG_INFO. */
wp_log_level wp_tls_describe(const wp_tls_info *info, char *buf, size_t len);

void wp_tls_free(wp_tls *tls);

#endif
