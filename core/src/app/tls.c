/*
 * tls.c - the listener's certificate, key and TLS policy (see tls.h).
 */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define CERT_KEY "server.tls.certificate_file"
#define KEY_KEY "server.tls.key_file"

typedef struct cred {
    X509 *leaf;
    STACK_OF(X509) *chain; /* the intermediates, in file order */
    EVP_PKEY *key;
} cred;

struct wp_tls {
    char *cert_file, *key_file;
    pthread_mutex_t mu; /* guards cur: taken by every handshake and by a reload's swap */
    cred cur;
};

static void cred_clear(cred *c)
{
    X509_free(c->leaf);
    sk_X509_pop_free(c->chain, X509_free);
    EVP_PKEY_free(c->key);
    memset(c, 0, sizeof *c);
}

/* A key with a passphrase cannot be used: nobody is there to type it. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf; (void)size; (void)rwflag; (void)u;
    return -1;
}

static const char *ssl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : "unknown error";
}

/* PEM readers stop at the end with "no start line": the normal end of a file, not an error. */
static int pem_clean_end(void)
{
    unsigned long e = ERR_peek_last_error();
    if (e == 0 || (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
        ERR_clear_error();
        return 1;
    }
    return 0;
}

/* Reads a whole PEM file (at most 1 MiB: certificates and keys are a few KiB). */
static wp_status slurp(const char *key, const char *file, char **out, size_t *len, wp_err *err)
{
    *out = NULL;
    FILE *f = fopen(file, "rb");
    if (!f) return wp_err_param(err, WP_ECONFIG, key, "%s: cannot read %s: %s", key, file, strerror(errno));
    size_t cap = 1 << 20;
    char *buf = malloc(cap + 1);
    if (!buf) {
        fclose(f);
        return wp_err_set(err, WP_ENOMEM, "out of memory reading %s", file);
    }
    size_t n = fread(buf, 1, cap + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n > cap) {
        free(buf);
        return wp_err_param(err, WP_ECONFIG, key, "%s: %s: %s", key, file,
                            bad ? "read error" : "larger than 1 MiB, not a PEM certificate or key");
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return WP_OK;
}

static wp_status read_chain(const char *file, cred *c, wp_err *err)
{
    char *pem;
    size_t len;
    wp_status st = slurp(CERT_KEY, file, &pem, &len, err);
    if (st != WP_OK) return st;
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    if (!b) {
        free(pem);
        return wp_err_set(err, WP_ENOMEM, "out of memory reading %s", file);
    }
    ERR_clear_error();
    X509 *x;
    while (st == WP_OK && (x = PEM_read_bio_X509(b, NULL, no_passphrase, NULL))) {
        if (!c->leaf) {
            c->leaf = x;
        } else if ((!c->chain && !(c->chain = sk_X509_new_null())) || !sk_X509_push(c->chain, x)) {
            X509_free(x);
            st = wp_err_set(err, WP_ENOMEM, "out of memory reading %s", file);
        }
    }
    BIO_free(b);
    free(pem);
    if (st != WP_OK) return st;
    if (!pem_clean_end())
        return wp_err_param(err, WP_ECONFIG, CERT_KEY, "%s: %s holds a damaged PEM certificate (%s)", CERT_KEY, file,
                            ssl_reason());
    if (!c->leaf)
        return wp_err_param(err, WP_ECONFIG, CERT_KEY,
                            "%s: %s holds no PEM certificate (-----BEGIN CERTIFICATE-----): give the full chain, "
                            "the server's certificate first",
                            CERT_KEY, file);
    return WP_OK;
}

static wp_status read_key(const char *file, cred *c, wp_err *err)
{
    char *pem;
    size_t len;
    wp_status st = slurp(KEY_KEY, file, &pem, &len, err);
    if (st != WP_OK) return st;
    /* the two mistakes worth a precise answer, told apart before OpenSSL's decoders say "unsupported" */
    int encrypted = strstr(pem, "ENCRYPTED") != NULL;
    int has_key = strstr(pem, "PRIVATE KEY-----") != NULL;
    ERR_clear_error();
    BIO *b = has_key && !encrypted ? BIO_new_mem_buf(pem, (int)len) : NULL;
    if (b) {
        c->key = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
        BIO_free(b);
    }
    OPENSSL_cleanse(pem, len);
    free(pem);
    if (c->key) return WP_OK;
    if (encrypted)
        st = wp_err_param(err, WP_ECONFIG, KEY_KEY,
                          "%s: the key in %s is encrypted; the gateway cannot ask for a passphrase: store it "
                          "unencrypted (openssl pkey -in KEY -out KEY.plain), readable only by the gateway's user",
                          KEY_KEY, file);
    else if (!has_key)
        st = wp_err_param(err, WP_ECONFIG, KEY_KEY, "%s: %s holds no PEM private key (-----BEGIN PRIVATE KEY-----)",
                          KEY_KEY, file);
    else
        st = wp_err_param(err, WP_ECONFIG, KEY_KEY, "%s: %s holds a damaged PEM private key (%s)", KEY_KEY, file,
                          ssl_reason());
    ERR_clear_error();
    return st;
}

static wp_status read_cred(const char *cert_file, const char *key_file, cred *c, wp_err *err)
{
    memset(c, 0, sizeof *c);
    wp_status st = read_chain(cert_file, c, err);
    if (st == WP_OK) st = read_key(key_file, c, err);
    if (st == WP_OK && X509_check_private_key(c->leaf, c->key) != 1)
        st = wp_err_param(err, WP_ECONFIG, KEY_KEY, "%s: the key in %s does not belong to the certificate in %s",
                          KEY_KEY, key_file, cert_file);
    ERR_clear_error();
    if (st != WP_OK) cred_clear(c);
    return st;
}

static void asn1_time_text(const ASN1_TIME *t, char *out, size_t len)
{
    struct tm tm;
    if (t && ASN1_TIME_to_tm(t, &tm) == 1) strftime(out, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
    else snprintf(out, len, "unknown");
}

/* Appends "name" to a comma-separated list; a list that fills up ends in "...". */
static void add_name(char *buf, size_t len, const char *name)
{
    size_t n = strlen(buf);
    if (n + 2 + strlen(name) + 4 >= len) {
        if (n + 4 < len && (n < 3 || strcmp(buf + n - 3, "...") != 0)) snprintf(buf + n, len - n, "...");
        return;
    }
    snprintf(buf + n, len - n, "%s%s", n ? ", " : "", name);
}

static void fill_info(const cred *c, wp_tls_info *info)
{
    memset(info, 0, sizeof *info);
    X509_NAME_oneline(X509_get_subject_name(c->leaf), info->subject, (int)sizeof info->subject);
    GENERAL_NAMES *sans = X509_get_ext_d2i(c->leaf, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
        if (g->type == GEN_DNS) {
            char name[256];
            int n = ASN1_STRING_length(g->d.dNSName);
            snprintf(name, sizeof name, "%.*s", n < 255 ? n : 255, (const char *)ASN1_STRING_get0_data(g->d.dNSName));
            add_name(info->names, sizeof info->names, name);
        } else if (g->type == GEN_IPADD) {
            const unsigned char *a = ASN1_STRING_get0_data(g->d.iPAddress);
            int n = ASN1_STRING_length(g->d.iPAddress);
            char text[INET6_ADDRSTRLEN] = "";
            if ((n == 4 || n == 16) && inet_ntop(n == 4 ? AF_INET : AF_INET6, a, text, sizeof text))
                add_name(info->names, sizeof info->names, text);
        }
    }
    GENERAL_NAMES_free(sans);
    const ASN1_TIME *na = X509_get0_notAfter(c->leaf);
    asn1_time_text(na, info->not_after, sizeof info->not_after);
    int days = 0, secs = 0;
    if (ASN1_TIME_diff(&days, &secs, NULL, na) == 1) info->days_left = days;
    info->not_yet_valid = X509_cmp_current_time(X509_get0_notBefore(c->leaf)) > 0;
    info->chain_len = c->chain ? sk_X509_num(c->chain) : 0;
}

wp_log_level wp_tls_describe(const wp_tls_info *info, char *buf, size_t len)
{
    const char *state = info->not_yet_valid ? "NOT VALID YET, clients refuse it; "
                        : info->days_left < 0 ? "EXPIRED, clients refuse it; "
                        : info->days_left < 14 ? "expires soon: renew it; " : "";
    snprintf(buf, len, "%s%s%s%s, %svalid until %s (%ld days), %d intermediate certificate%s", info->subject,
             info->names[0] ? " (" : "", info->names, info->names[0] ? ")" : "", state, info->not_after,
             info->days_left, info->chain_len, info->chain_len == 1 ? "" : "s");
    return info->not_yet_valid || info->days_left < 14 ? WP_LOG_WARN : WP_LOG_INFO;
}

wp_status wp_tls_load(const char *cert_file, const char *key_file, wp_tls **out, wp_tls_info *info, wp_err *err)
{
    *out = NULL;
    wp_tls *t = calloc(1, sizeof *t);
    if (!t) return wp_err_set(err, WP_ENOMEM, "out of memory");
    pthread_mutex_init(&t->mu, NULL);
    if (!(t->cert_file = strdup(cert_file)) || !(t->key_file = strdup(key_file))) {
        wp_tls_free(t);
        return wp_err_set(err, WP_ENOMEM, "out of memory");
    }
    wp_status st = read_cred(cert_file, key_file, &t->cur, err);
    if (st != WP_OK) {
        wp_tls_free(t);
        return st;
    }
    if (info) fill_info(&t->cur, info);
    *out = t;
    return WP_OK;
}

wp_status wp_tls_reload(wp_tls *t, wp_tls_info *info, wp_err *err)
{
    cred fresh, old;
    wp_status st = read_cred(t->cert_file, t->key_file, &fresh, err);
    if (st != WP_OK) return st;
    if (info) fill_info(&fresh, info);
    pthread_mutex_lock(&t->mu);
    old = t->cur;
    t->cur = fresh;
    pthread_mutex_unlock(&t->mu);
    /* Connections that took the old set hold their own references. */
    cred_clear(&old);
    return WP_OK;
}

/* During each handshake, before the certificate is chosen: the set loaded last. */
static int cert_cb(SSL *ssl, void *arg)
{
    wp_tls *t = arg;
    pthread_mutex_lock(&t->mu);
    int ok = SSL_use_cert_and_key(ssl, t->cur.leaf, t->cur.key, t->cur.chain, 1);
    pthread_mutex_unlock(&t->mu);
    return ok == 1;
}

wp_status wp_tls_setup_ctx(wp_tls *t, void *ssl_ctx, wp_err *err)
{
    SSL_CTX *ctx = ssl_ctx;
    static const unsigned char sid_ctx[] = "walletpass";
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 || SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(ctx, WP_TLS12_CIPHERS) != 1 || SSL_CTX_set_ciphersuites(ctx, WP_TLS13_SUITES) != 1 ||
        SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1) != 1) {
        wp_status st = wp_err_set(err, WP_ECRYPTO, "TLS set-up: this OpenSSL refuses the policy (%s)", ssl_reason());
        ERR_clear_error();
        return st;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_cert_cb(ctx, cert_cb, t);
    return WP_OK;
}

void wp_tls_free(wp_tls *t)
{
    if (!t) return;
    pthread_mutex_destroy(&t->mu);
    cred_clear(&t->cur);
    free(t->cert_file);
    free(t->key_file);
    free(t);
}
