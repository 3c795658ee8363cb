/* apple_credcheck.c - see apple_credcheck.h.  OpenSSL parses and checks everything. */
#include "apple_credcheck.h"

#include <ctype.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>


#define PASS_TYPE_EXT_OID "1.2.840.113635.100.6.1.16"

/* ---------------------------------------------------------------- helpers */

typedef apple_credcheck_err cc_err;

static wp_status b64_decode(const char *in, unsigned char **out, size_t *len)
{
    size_t n = strlen(in);
    if (n % 4 != 0 || n > INT32_MAX) return WP_EINVAL;
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

/* ------------------------------------------------------------ certificates */

static char *name_text(const X509_NAME *n)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!b) return NULL;
    X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253);
    char *s = wpc_cred_bio_str(b);
    BIO_free(b);
    return s;
}

/* The first entry nid of a name as UTF-8 (new string), or NULL. */
static char *name_entry(const X509_NAME *n, int nid)
{
    int i = X509_NAME_get_index_by_NID(n, nid, -1);
    if (i < 0) return NULL;
    unsigned char *u = NULL;
    int len = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i)));
    if (len < 0) return NULL;
    char *s = strndup((const char *)u, (size_t)len);
    OPENSSL_free(u);
    return s;
}

static void time_text(const ASN1_TIME *t, char *buf, size_t len)
{
    struct tm tm;
    if (!t || !ASN1_TIME_to_tm(t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, len, "(unreadable)");
}

static char *serial_hex(const X509 *c)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(c), NULL);
    char *h = bn ? BN_bn2hex(bn) : NULL;
    BN_free(bn);
    char *s = h ? strdup(h) : NULL;
    OPENSSL_free(h);
    return s;
}

/* Checks notBefore <= now <= notAfter; the message carries both dates. */
static wp_status check_dates(const X509 *c, time_t now, const char *param, const char *what, cc_err *err)
{
    char nb[40], na[40];
    time_text(X509_get0_notBefore(c), nb, sizeof nb);
    time_text(X509_get0_notAfter(c), na, sizeof na);
    if (X509_cmp_time(X509_get0_notBefore(c), &now) > 0)
        return wpc_cred_invalid(err, param, "%s is not valid yet: valid from %s to %s", what, nb, na);
    if (X509_cmp_time(X509_get0_notAfter(c), &now) < 0)
        return wpc_cred_invalid(err, param, "%s expired on %s (valid from %s to %s); create a new one in the Apple Developer "
                       "portal and upload it", what, na, nb, na);
    return WP_OK;
}

/* The Pass Type ID extension's string value (new string), or NULL when absent; *present tells which. */
static char *pass_type_ext(X509 *c, bool *present)
{
    *present = false;
    ASN1_OBJECT *obj = OBJ_txt2obj(PASS_TYPE_EXT_OID, 1);
    if (!obj) return NULL;
    int idx = X509_get_ext_by_OBJ(c, obj, -1);
    ASN1_OBJECT_free(obj);
    if (idx < 0) return NULL;
    *present = true;
    ASN1_OCTET_STRING *d = X509_EXTENSION_get_data(X509_get_ext(c, idx));
    const unsigned char *p = ASN1_STRING_get0_data(d);
    long n = ASN1_STRING_length(d);
    const unsigned char *q = p;
    ASN1_TYPE *t = d2i_ASN1_TYPE(NULL, &q, n);
    char *s = NULL;
    if (t && (t->type == V_ASN1_UTF8STRING || t->type == V_ASN1_IA5STRING || t->type == V_ASN1_PRINTABLESTRING ||
              t->type == V_ASN1_OCTET_STRING))
        s = strndup((const char *)ASN1_STRING_get0_data(t->value.asn1_string),
                    (size_t)ASN1_STRING_length(t->value.asn1_string));
    else if (n > 2) /* not DER: the value after a 2-byte header, as some tools read it */
        s = strndup((const char *)p + 2, (size_t)(n - 2));
    ASN1_TYPE_free(t);
    return s;
}

/* True when issuer issued c: names (and key ids) match and the signature verifies. */
static bool issued_by(X509 *issuer, X509 *c)
{
    if (X509_check_issued(issuer, c) != X509_V_OK) return false;
    EVP_PKEY *k = X509_get0_pubkey(issuer);
    return k && X509_verify(c, k) == 1;
}

/* Every certificate of a PEM text, in order (NULL on out of memory); *bad
 * is set when a PEM block is there but is no readable certificate. */
static STACK_OF(X509) *pem_certs(const char *pem, bool *bad)
{
    *bad = false;
    STACK_OF(X509) *out = sk_X509_new_null();
    BIO *b = out ? BIO_new_mem_buf(pem, -1) : NULL;
    if (!b) {
        sk_X509_free(out);
        return NULL;
    }
    for (;;) {
        X509 *c = PEM_read_bio_X509(b, NULL, wpc_cred_no_password, NULL);
        if (!c) break;
        if (!sk_X509_push(out, c)) {
            X509_free(c);
            break;
        }
    }
    /* the loop ends at the end of the text (PEM_R_NO_START_LINE) or at a block it cannot read */
    unsigned long e = ERR_peek_last_error();
    if (e && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) *bad = true;
    ERR_clear_error();
    BIO_free(b);
    return out;
}

wp_status apple_credcheck_trust_pem(const char *pem, const char *what, int *count, cc_err *err)
{
    bool bad = false;
    STACK_OF(X509) *certs = pem ? pem_certs(pem, &bad) : NULL;
    if (!certs && pem) return wpc_cred_oom(err);
    int n = certs ? sk_X509_num(certs) : 0;
    sk_X509_pop_free(certs, X509_free);
    if (count) *count = n;
    if (bad) return wpc_cred_fail(err, WP_ECONFIG, NULL, what, "%s: a PEM block in it is not a readable certificate", what);
    if (n == 0)
        return wpc_cred_fail(err, WP_ECONFIG, NULL, what, "%s: holds no PEM certificate (-----BEGIN CERTIFICATE-----); put "
                    "Apple's WWDR intermediate certificates in it", what);
    return WP_OK;
}

/*
 * require_apple_wwdr: cert must chain to a certificate of trusted_pem
 * (an intermediate there is an anchor: partial chains are accepted), through
 * wwdr when one was given or found.  *issuer_out (may stay NULL) receives a
 * copy of the certificate that issued cert, for a credential without wwdr_pem.
 */
static wp_status require_chain(X509 *cert, X509 *wwdr, const char *trusted_pem, time_t now, X509 **issuer_out,
                               cc_err *err)
{
    *issuer_out = NULL;
    bool bad = false;
    STACK_OF(X509) *anchors = trusted_pem ? pem_certs(trusted_pem, &bad) : NULL;
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    wp_status st = WP_OK;
    if (!store || !ctx || !untrusted || (trusted_pem && !anchors)) {
        st = wpc_cred_oom(err);
        goto done;
    }
    for (int i = 0; anchors && i < sk_X509_num(anchors); i++) X509_STORE_add_cert(store, sk_X509_value(anchors, i));
    X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
    if (wwdr && !sk_X509_push(untrusted, wwdr)) {
        st = wpc_cred_oom(err);
        goto done;
    }
    if (X509_STORE_CTX_init(ctx, store, cert, untrusted) != 1) {
        st = wpc_cred_oom(err);
        goto done;
    }
    X509_STORE_CTX_set_time(ctx, 0, now);
    if (!anchors || sk_X509_num(anchors) == 0 || X509_verify_cert(ctx) != 1) {
        int code = anchors && sk_X509_num(anchors) ? X509_STORE_CTX_get_error(ctx) : X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT;
        st = wpc_cred_invalid(err, "wwdr_pem", "the pass certificate does not chain to Apple's WWDR intermediate (%s); this "
                     "gateway accepts only Pass Type ID certificates issued by Apple (require_apple_wwdr): upload "
                     "the certificate from the Apple Developer portal, with wwdr_pem the WWDR intermediate that issued "
                     "it", X509_verify_cert_error_string(code));
        goto done;
    }
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    if (chain && sk_X509_num(chain) >= 2) *issuer_out = X509_dup(sk_X509_value(chain, 1));
done:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    sk_X509_free(untrusted); /* wwdr stays the caller's */
    sk_X509_pop_free(anchors, X509_free);
    ERR_clear_error();
    return st;
}

/* OpenSSL 3 moved RC2 and friends (macOS Keychain's P12 encryption) to the
 * legacy provider: P12s are opened in a library context that has it. */
static OSSL_LIB_CTX *legacy_ctx;
static pthread_once_t legacy_once = PTHREAD_ONCE_INIT;

static void legacy_init(void)
{
    OSSL_LIB_CTX *c = OSSL_LIB_CTX_new();
    if (!c) return;
    if (!OSSL_PROVIDER_load(c, "default") || !OSSL_PROVIDER_load(c, "legacy")) {
        OSSL_LIB_CTX_free(c);
        ERR_clear_error();
        return;
    }
    legacy_ctx = c;
}

/* The P12 opened: cert, key and the extra certificates. */
typedef struct {
    X509 *cert;
    EVP_PKEY *key;
    STACK_OF(X509) *ca;
} p12_parts;

static wp_status open_p12(const char *b64, const char *password, p12_parts *out, cc_err *err)
{
    /* base64 tools wrap lines: drop whitespace before decoding */
    size_t n = strlen(b64);
    char *clean = malloc(n + 1);
    if (!clean) return wpc_cred_oom(err);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)b64[i])) clean[m++] = b64[i];
    clean[m] = '\0';
    unsigned char *der = NULL;
    size_t der_len = 0;
    wp_status st = m ? b64_decode(clean, &der, &der_len) : WP_EINVAL;
    OPENSSL_cleanse(clean, m);
    free(clean);
    if (st == WP_ENOMEM) return wpc_cred_oom(err);
    if (st != WP_OK || der_len == 0)
        return wpc_cred_invalid(err, "p12_base64", "p12_base64 is not valid base64; encode the .p12 file with: base64 -w0 "
                       "Certificates.p12");

    const unsigned char *p = der;
    PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)der_len);
    if (!p12) {
        st = wpc_cred_invalid(err, "p12_base64", "p12_base64 does not hold a PKCS#12 (.p12) file; export the Pass Type ID "
                     "certificate together with its private key from Keychain Access as .p12");
        goto done;
    }
    /* An empty password may mean "" or none at all, depending on the exporter. */
    const char *pw = password;
    if (PKCS12_mac_present(p12)) {
        if (!PKCS12_verify_mac(p12, pw, -1)) {
            if (!*password && PKCS12_verify_mac(p12, NULL, 0)) pw = NULL;
            else {
                st = wpc_cred_invalid(err, "p12_password", "p12_password is not the password of this P12 file (its integrity "
                             "check failed); use the password chosen when exporting it");
                goto done;
            }
        }
    }
    if (!PKCS12_parse(p12, pw, &out->key, &out->cert, &out->ca)) {
        st = wpc_cred_invalid(err, "p12_base64", "the P12 file could not be decrypted with this password, or uses an "
                     "encryption this server cannot read; re-export it (openssl pkcs12 -export) and upload it again");
        goto done;
    }
    if (!out->key) {
        st = wpc_cred_invalid(err, "p12_base64", "the P12 file holds no private key; export the certificate together with "
                     "its private key (in Keychain Access, select both)");
        goto done;
    }
    if (!out->cert) {
        st = wpc_cred_invalid(err, "p12_base64", "the P12 file holds no certificate matching its private key; export the "
                     "Pass Type ID certificate together with its own private key");
        goto done;
    }
    if (X509_check_private_key(out->cert, out->key) != 1) {
        st = wpc_cred_invalid(err, "p12_base64", "the private key in the P12 file does not belong to its certificate");
        goto done;
    }
    st = WP_OK;
done:
    PKCS12_free(p12);
    OPENSSL_cleanse(der, der_len);
    free(der);
    return st;
}

static bool pass_type_id_ok(const char *s)
{
    if (strncmp(s, "pass.", 5) != 0 || !s[5]) return false;
    for (const char *c = s; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-' && *c != '_') return false;
    return true;
}

static bool team_id_ok(const char *s)
{
    if (strlen(s) != 10) return false;
    for (const char *c = s; *c; c++)
        if (!isdigit((unsigned char)*c) && !isupper((unsigned char)*c)) return false;
    return true;
}

static char *pem_cert(X509 *c)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *s = b && PEM_write_bio_X509(b, c) ? wpc_cred_bio_str(b) : NULL;
    BIO_free(b);
    return s;
}

/* The checks after the fields are read; runs inside the legacy-capable library context. */
static wp_status apple_check(const char *p12_b64, const char *password, const char *ptid, const char *team,
                             const char *wwdr_pem, time_t now, const apple_credcheck_opts *opts,
                             json_object **secret, json_object **meta, cc_err *err)
{
    p12_parts pp = {0};
    X509 *wwdr = NULL;
    char *uid = NULL, *ou = NULL, *cn = NULL, *ext = NULL, *subject = NULL, *issuer = NULL, *serial = NULL;
    char *cert_pem = NULL, *key_pem = NULL, *wwdr_out = NULL;
    wp_status st = open_p12(p12_b64, password, &pp, err);
    if (st != WP_OK) goto done;

    st = check_dates(pp.cert, now, "p12_base64", "the certificate in the P12 file", err);
    if (st != WP_OK) goto done;

    const X509_NAME *subj = X509_get_subject_name(pp.cert);
    uid = name_entry(subj, NID_userId);
    ou = name_entry(subj, NID_organizationalUnitName);
    cn = name_entry(subj, NID_commonName);
    subject = name_text(subj);
    issuer = name_text(X509_get_issuer_name(pp.cert));
    if (!uid || strncmp(uid, "pass.", 5) != 0) {
        st = wpc_cred_invalid(err, "p12_base64", "the certificate in the P12 file is not a Pass Type ID certificate: its subject "
                     "(%s) has %s; create one under Certificates, Identifiers & Profiles > Pass Type IDs",
                     subject ? subject : "?", uid ? "a UID that does not start with \"pass.\"" : "no UID");
        goto done;
    }
    if (!ou || !*ou) {
        st = wpc_cred_invalid(err, "p12_base64", "the certificate in the P12 file is not a Pass Type ID certificate: its subject "
                     "(%s) has no OU (team identifier)", subject ? subject : "?");
        goto done;
    }
    if (cn) {
        char a[600], b[600];
        snprintf(a, sizeof a, "Pass Type ID: %s", uid);
        snprintf(b, sizeof b, "Pass Type ID with NFC: %s", uid);
        if (strcmp(cn, a) != 0 && strcmp(cn, b) != 0) {
            st = wpc_cred_invalid(err, "p12_base64", "the certificate in the P12 file is not a Pass Type ID certificate: its "
                         "CN is \"%s\", expected \"Pass Type ID: %s\"", cn, uid);
            goto done;
        }
    }
    bool has_ext;
    ext = pass_type_ext(pp.cert, &has_ext);
    if (has_ext && (!ext || strcmp(ext, uid) != 0)) {
        st = wpc_cred_invalid(err, "p12_base64", "the certificate's Pass Type ID extension (" PASS_TYPE_EXT_OID ") does not "
                     "name its UID %s", uid);
        goto done;
    }
    if (strcmp(ptid, uid) != 0) {
        st = wpc_cred_invalid(err, "pass_type_identifier", "pass_type_identifier \"%s\" does not match the certificate, which "
                     "is for \"%s\"", ptid, uid);
        goto done;
    }
    if (strcmp(team, ou) != 0) {
        st = wpc_cred_invalid(err, "team_identifier", "team_identifier \"%s\" does not match the certificate's team (OU) \"%s\"",
                     team, ou);
        goto done;
    }

    if (wwdr_pem) {
        BIO *b = BIO_new_mem_buf(wwdr_pem, -1);
        wwdr = b ? PEM_read_bio_X509(b, NULL, wpc_cred_no_password, NULL) : NULL;
        BIO_free(b);
        if (!wwdr) {
            st = wpc_cred_invalid(err, "wwdr_pem", "wwdr_pem is not a PEM certificate (-----BEGIN CERTIFICATE-----); download "
                         "the Apple WWDR intermediate (G4 for certificates issued since 2022) and send it as PEM");
            goto done;
        }
        if (!issued_by(wwdr, pp.cert)) {
            char *ws = name_text(X509_get_subject_name(wwdr));
            st = wpc_cred_invalid(err, "wwdr_pem", "wwdr_pem (%s) did not issue the pass certificate, whose issuer is %s; send "
                         "the intermediate that issued it (WWDR G4 for certificates issued since 2022)",
                         ws ? ws : "?", issuer ? issuer : "?");
            free(ws);
            goto done;
        }
        st = check_dates(wwdr, now, "wwdr_pem", "the wwdr_pem certificate", err);
        if (st != WP_OK) goto done;
    } else {
        /* The P12 may carry its issuer: use it when it did issue the certificate. */
        for (int i = 0; pp.ca && i < sk_X509_num(pp.ca); i++) {
            X509 *c = sk_X509_value(pp.ca, i);
            if (issued_by(c, pp.cert)) {
                wwdr = X509_dup(c);
                break;
            }
        }
    }

    if (opts && opts->require_apple_wwdr) {
        X509 *found = NULL;
        st = require_chain(pp.cert, wwdr, opts->trusted_pem, now, &found, err);
        if (st != WP_OK) goto done;
        if (!wwdr) wwdr = found; /* the trusted file held the issuer: the bundle embeds it */
        else X509_free(found);
    }

    serial = serial_hex(pp.cert);
    cert_pem = pem_cert(pp.cert);
    key_pem = wpc_cred_pem_key(pp.key);
    if (wwdr) wwdr_out = pem_cert(wwdr);
    if (!serial || !cert_pem || !key_pem || (wwdr && !wwdr_out)) {
        st = wpc_cred_oom(err);
        goto done;
    }
    char nb[40], na[40];
    time_text(X509_get0_notBefore(pp.cert), nb, sizeof nb);
    time_text(X509_get0_notAfter(pp.cert), na, sizeof na);

    json_object *s = json_object_new_object();
    json_object_object_add(s, "pass_type_identifier", json_object_new_string(uid));
    json_object_object_add(s, "team_identifier", json_object_new_string(ou));
    json_object_object_add(s, "certificate_pem", json_object_new_string(cert_pem));
    json_object_object_add(s, "private_key_pem", wpc_cred_str_wiped(key_pem));
    key_pem = NULL;
    json_object_object_add(s, "wwdr_pem", wwdr_out ? json_object_new_string(wwdr_out) : NULL);
    json_object *m = json_object_new_object();
    json_object_object_add(m, "subject", json_object_new_string(subject ? subject : ""));
    json_object_object_add(m, "issuer", json_object_new_string(issuer ? issuer : ""));
    json_object_object_add(m, "pass_type_identifier", json_object_new_string(uid));
    json_object_object_add(m, "team_identifier", json_object_new_string(ou));
    json_object_object_add(m, "serial", json_object_new_string(serial));
    json_object_object_add(m, "not_before", json_object_new_string(nb));
    json_object_object_add(m, "not_after", json_object_new_string(na));
    json_object_object_add(m, "expires_at", json_object_new_string(na));
    json_object_object_add(m, "has_wwdr", json_object_new_boolean(wwdr != NULL));
    *secret = s;
    *meta = m;
    st = WP_OK;
done:
    X509_free(pp.cert);
    EVP_PKEY_free(pp.key);
    sk_X509_pop_free(pp.ca, X509_free);
    X509_free(wwdr);
    free(uid), free(ou), free(cn), free(ext), free(subject), free(issuer), free(serial);
    free(cert_pem), free(wwdr_out);
    if (key_pem) {
        OPENSSL_cleanse(key_pem, strlen(key_pem));
        free(key_pem);
    }
    return st;
}

wp_status apple_credcheck(const json_object *cbody, time_t now, const apple_credcheck_opts *opts, json_object **secret,
                             json_object **meta, cc_err *err)
{
    static const char *const fields[] = {"p12_base64", "p12_password", "pass_type_identifier", "team_identifier",
                                         "wwdr_pem", NULL};
    json_object *body = (json_object *)cbody; /* read only: json-c's getters take no const */
    *secret = *meta = NULL;
    const char *p12, *pw, *ptid, *team, *wwdr;
    wp_status st;
    if ((st = wpc_cred_only_fields(body, fields, err)) != WP_OK) return st;
    if ((st = wpc_cred_str_field(body, "p12_base64", "p12_base64", true, 1u << 22, "the .p12 file, base64-encoded", &p12, err)))
        return st;
    /* the password may be empty, so presence is checked apart from emptiness */
    json_object *pwv;
    if (!json_object_object_get_ex(body, "p12_password", &pwv) || !pwv)
        return wpc_cred_missing(err, "p12_password", "the password the .p12 file was exported with (\"\" for none)");
    if ((st = wpc_cred_str_field(body, "p12_password", "p12_password", false, 1024, "the .p12 password", &pw, err))) return st;
    if ((st = wpc_cred_str_field(body, "pass_type_identifier", "pass_type_identifier", true, 255,
                        "the Pass Type ID, e.g. \"pass.com.example.loyalty\"", &ptid, err)))
        return st;
    if (!pass_type_id_ok(ptid))
        return wpc_cred_invalid(err, "pass_type_identifier", "pass_type_identifier must look like \"pass.com.example.loyalty\" "
                       "(\"pass.\" then letters, digits, '.', '-')");
    if ((st = wpc_cred_str_field(body, "team_identifier", "team_identifier", true, 64,
                        "the 10-character Apple team ID, e.g. \"ABCDE12345\"", &team, err)))
        return st;
    if (!team_id_ok(team))
        return wpc_cred_invalid(err, "team_identifier", "team_identifier must be the 10-character Apple team ID (A-Z, 0-9), "
                       "e.g. \"ABCDE12345\"");
    if ((st = wpc_cred_str_field(body, "wwdr_pem", "wwdr_pem", false, 1u << 16, "the WWDR certificate as PEM", &wwdr, err)))
        return st;
    if (wwdr && !*wwdr) wwdr = NULL;

    pthread_once(&legacy_once, legacy_init);
    /* The thread's default context only: other threads are not affected. */
    OSSL_LIB_CTX *prev = legacy_ctx ? OSSL_LIB_CTX_set0_default(legacy_ctx) : NULL;
    st = apple_check(p12, pw, ptid, team, wwdr, now, opts, secret, meta, err);
    if (legacy_ctx) OSSL_LIB_CTX_set0_default(prev);
    ERR_clear_error();
    return st;
}

