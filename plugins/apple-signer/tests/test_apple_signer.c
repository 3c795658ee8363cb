/*
 * unit_apple_signer: pass.json rendering for every pass type
 * (Apple's Wallet developer documentation), PNG checks, the signed bundle (manifest
 * hashes, detached PKCS#7 with signingTime, zip layout) and the bundle
 * cache (one build under concurrency, bounded bytes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <zip.h>

#include "apple_bundle.h"
#include "apple_cache.h"
#include "apple_render.h"
#include "default_icons.h"

static const apple_ids IDS = {"pass.com.example.test", "ABCDE12345", "https://gw.example.com/apple"};
#define TOKEN "0123456789abcdef0123456789abcdef"

static json_object *render_ok(const char *json)
{
    json_object *p = json_tokener_parse(json);
    assert_non_null(p);
    json_object *pj = NULL;
    char msg[256] = "";
    assert_int_equal(apple_render(p, &IDS, &pj, msg, sizeof msg), WP_OK);
    json_object_put(p);
    return pj;
}

static json_object *at(json_object *o, const char *k)
{
    json_object *v = NULL;
    json_object_object_get_ex(o, k, &v);
    return v;
}
static const char *s_at(json_object *o, const char *k) { return json_object_get_string(at(o, k)); }

/* The field with `key` in group g of the style, or NULL. */
static json_object *field(json_object *pj, const char *style, const char *g, const char *key)
{
    json_object *arr = at(at(pj, style), g);
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        json_object *f = json_object_array_get_idx(arr, i);
        if (strcmp(s_at(f, "key"), key) == 0) return f;
    }
    return NULL;
}

static void test_colours_and_dates(void **st)
{
    (void)st;
    char b[64];
    assert_true(apple_rgb("#1a1a2e", b, sizeof b));
    assert_string_equal(b, "rgb(26, 26, 46)");
    assert_true(apple_rgb("#FFFFFF", b, sizeof b));
    assert_string_equal(b, "rgb(255, 255, 255)");
    assert_false(apple_rgb("#fff", b, sizeof b));
    assert_false(apple_rgb("1a1a2e0", b, sizeof b));
    assert_false(apple_rgb("#gg0000", b, sizeof b));
    assert_true(apple_w3c_date("2026-05-01T19:30:00Z", b, sizeof b));
    assert_string_equal(b, "2026-05-01T19:30:00Z");
    assert_true(apple_w3c_date("2026-05-01T19:30Z", b, sizeof b));
    assert_string_equal(b, "2026-05-01T19:30:00Z");
    assert_true(apple_w3c_date("2026-05-01t19:30:00.123z", b, sizeof b));
    assert_string_equal(b, "2026-05-01T19:30:00Z");
    assert_true(apple_w3c_date("2026-05-01T19:30:00.5+02:00", b, sizeof b));
    assert_string_equal(b, "2026-05-01T19:30:00+02:00");
    assert_true(apple_w3c_date("2024-03-06T08:05:52+0000", b, sizeof b));
    assert_string_equal(b, "2024-03-06T08:05:52+00:00");
    assert_false(apple_w3c_date("2017-04-05T20:00:00", b, sizeof b));
    assert_false(apple_w3c_date("2022-01-21T00:00:00ZZ", b, sizeof b));
    assert_false(apple_w3c_date("2022-03-05T13:30:00 11:00", b, sizeof b));
    assert_false(apple_w3c_date("2022-03-05", b, sizeof b));
}

/* the documented own example, as a stored pass. */
static void test_loyalty_example(void **st)
{
    (void)st;
    json_object *pj = render_ok(
        "{\"id\":\"pass_1\",\"serial_number\":\"SN-1\",\"pass_type\":\"loyalty\",\"status\":\"active\","
        "\"authentication_token\":\"" TOKEN "\",\"body\":{\"pass_type\":\"loyalty\","
        "\"organization_name\":\"Solstice Coffee Co.\",\"logo_text\":\"Solstice\",\"background_color\":\"#1a1a2e\","
        "\"foreground_color\":\"#ffffff\",\"primary_fields\":[{\"key\":\"points\",\"label\":\"Points\",\"value\":\"2,450\"}],"
        "\"barcode_message\":\"MEMBER-00421\",\"points\":99,\"account_name\":\"Ada\"}}");
    assert_true(json_object_is_type(at(pj, "formatVersion"), json_type_int));
    assert_int_equal(json_object_get_int(at(pj, "formatVersion")), 1);
    assert_string_equal(s_at(pj, "passTypeIdentifier"), "pass.com.example.test");
    assert_string_equal(s_at(pj, "teamIdentifier"), "ABCDE12345");
    assert_string_equal(s_at(pj, "serialNumber"), "SN-1");
    assert_string_equal(s_at(pj, "organizationName"), "Solstice Coffee Co.");
    assert_string_equal(s_at(pj, "description"), "Solstice Coffee Co. loyalty");
    assert_string_equal(s_at(pj, "logoText"), "Solstice");
    assert_string_equal(s_at(pj, "backgroundColor"), "rgb(26, 26, 46)");
    assert_string_equal(s_at(pj, "foregroundColor"), "rgb(255, 255, 255)");
    assert_null(at(pj, "labelColor"));
    assert_non_null(at(pj, "storeCard"));
    assert_null(at(pj, "generic"));
    /* the user's "points" field wins over the mapped one (same key, nothing clobbered) */
    json_object *pts = field(pj, "storeCard", "primaryFields", "points");
    assert_non_null(pts);
    assert_string_equal(s_at(pts, "value"), "2,450");
    assert_null(field(pj, "storeCard", "headerFields", "points"));
    assert_non_null(field(pj, "storeCard", "secondaryFields", "account_name"));
    json_object *bc = at(pj, "barcodes");
    assert_int_equal(json_object_array_length(bc), 1);
    json_object *b0 = json_object_array_get_idx(bc, 0);
    assert_string_equal(s_at(b0, "format"), "PKBarcodeFormatQR");
    assert_string_equal(s_at(b0, "message"), "MEMBER-00421");
    assert_string_equal(s_at(b0, "messageEncoding"), "iso-8859-1");
    assert_null(at(pj, "barcode"));
    assert_string_equal(s_at(pj, "webServiceURL"), "https://gw.example.com/apple");
    assert_string_equal(s_at(pj, "authenticationToken"), TOKEN);
    assert_null(at(pj, "voided"));
    assert_null(at(pj, "relevantDate")); /* not on storeCard */
    json_object_put(pj);
}

static void test_event_every_group(void **st)
{
    (void)st;
    json_object *pj = render_ok(
        "{\"id\":\"pass_2\",\"serial_number\":\"EV-1\",\"pass_type\":\"event\",\"status\":\"voided\","
        "\"authentication_token\":\"" TOKEN "\",\"body\":{\"organization_name\":\"Hall\",\"description\":\"Concert\","
        "\"label_color\":\"#00ff00\",\"event_name\":\"Night\",\"venue_name\":\"Big Hall\",\"venue_address\":\"1 Road\","
        "\"event_start\":\"2026-05-01T19:30:00.000+02:00\",\"event_end\":\"2026-05-01T23:00:00Z\","
        "\"seat_section\":\"A\",\"seat_row\":\"3\",\"seat_number\":\"12\",\"relevant_date\":\"2026-05-01T18:00:00Z\","
        "\"expiration_date\":\"2026-05-02T00:00:00Z\","
        "\"header_fields\":[{\"key\":\"gate\",\"label\":\"Gate\",\"value\":\"B\",\"change_message\":\"Gate now %@\"}],"
        "\"secondary_fields\":[{\"key\":\"seat_row\",\"label\":\"Mine\",\"value\":\"R\"}],"
        "\"auxiliary_fields\":[{\"key\":\"door\",\"label\":\"Door\",\"value\":7}],"
        "\"back_fields\":[{\"key\":\"terms\",\"label\":\"Terms\",\"value\":\"None\"}],"
        "\"barcode_message\":\"T-1\",\"barcode_format\":\"code128\",\"barcode_alt_text\":\"T 1\"}}");
    assert_non_null(at(pj, "eventTicket"));
    assert_string_equal(s_at(pj, "description"), "Concert");
    assert_string_equal(s_at(pj, "labelColor"), "rgb(0, 255, 0)");
    json_object *gate = field(pj, "eventTicket", "headerFields", "gate");
    assert_non_null(gate);
    assert_string_equal(s_at(gate, "changeMessage"), "Gate now %@");
    assert_null(at(gate, "change_message"));
    assert_string_equal(s_at(field(pj, "eventTicket", "primaryFields", "event_name"), "value"), "Night");
    json_object *start = field(pj, "eventTicket", "secondaryFields", "event_start");
    assert_string_equal(s_at(start, "value"), "2026-05-01T19:30:00+02:00");
    assert_string_equal(s_at(start, "dateStyle"), "PKDateStyleMedium");
    assert_non_null(field(pj, "eventTicket", "secondaryFields", "venue_name"));
    /* the user's seat_row stays; the mapped one is not added anywhere */
    assert_string_equal(s_at(field(pj, "eventTicket", "secondaryFields", "seat_row"), "value"), "R");
    assert_null(field(pj, "eventTicket", "auxiliaryFields", "seat_row"));
    assert_non_null(field(pj, "eventTicket", "auxiliaryFields", "seat_section"));
    assert_int_equal(json_object_get_int(at(field(pj, "eventTicket", "auxiliaryFields", "door"), "value")), 7);
    assert_non_null(field(pj, "eventTicket", "backFields", "terms"));
    assert_non_null(field(pj, "eventTicket", "backFields", "venue_address"));
    assert_non_null(field(pj, "eventTicket", "backFields", "event_end"));
    /* Code128 alone gets a QR after it (watchOS) */
    json_object *bc = at(pj, "barcodes");
    assert_int_equal(json_object_array_length(bc), 2);
    assert_string_equal(s_at(json_object_array_get_idx(bc, 0), "format"), "PKBarcodeFormatCode128");
    assert_string_equal(s_at(json_object_array_get_idx(bc, 1), "format"), "PKBarcodeFormatQR");
    assert_string_equal(s_at(json_object_array_get_idx(bc, 1), "message"), "T-1");
    assert_string_equal(s_at(json_object_array_get_idx(bc, 1), "altText"), "T 1");
    assert_string_equal(s_at(pj, "relevantDate"), "2026-05-01T18:00:00Z");
    assert_string_equal(s_at(pj, "expirationDate"), "2026-05-02T00:00:00Z");
    assert_true(json_object_get_boolean(at(pj, "voided")));
    json_object_put(pj);
}

static void test_coupon_and_generic(void **st)
{
    (void)st;
    json_object *pj = render_ok(
        "{\"id\":\"pass_3\",\"serial_number\":\"C-1\",\"pass_type\":\"coupon\",\"status\":\"active\","
        "\"authentication_token\":\"short\",\"body\":{\"organization_name\":\"Shop\",\"offer_title\":\"10% off\","
        "\"offer_details\":\"On shoes\",\"valid_until\":\"2026-12-31T23:59:00Z\",\"redemption_channel\":\"both\","
        "\"relevant_date\":\"2026-06-01T10:00:00Z\",\"barcode_message\":\"C1\",\"barcode_format\":\"pdf417\"}}");
    assert_non_null(at(pj, "coupon"));
    assert_string_equal(s_at(field(pj, "coupon", "primaryFields", "offer_title"), "value"), "10% off");
    assert_non_null(field(pj, "coupon", "secondaryFields", "valid_until"));
    assert_string_equal(s_at(field(pj, "coupon", "backFields", "redemption_channel"), "value"), "Online and in store");
    assert_string_equal(s_at(pj, "expirationDate"), "2026-12-31T23:59:00Z");
    assert_null(at(pj, "relevantDate"));
    assert_string_equal(s_at(json_object_array_get_idx(at(pj, "barcodes"), 0), "format"), "PKBarcodeFormatPDF417");
    /* a token under 16 characters: neither web-service key (both or neither) */
    assert_null(at(pj, "webServiceURL"));
    assert_null(at(pj, "authenticationToken"));
    json_object_put(pj);

    pj = render_ok("{\"id\":\"pass_4\",\"serial_number\":\"G-1\",\"pass_type\":\"generic\","
                   "\"authentication_token\":\"" TOKEN "\",\"body\":{\"organization_name\":\"Org\","
                   "\"relevant_date\":\"2026-06-01T10:00:00Z\",\"barcode_message\":\"A\",\"barcode_format\":\"aztec\"}}");
    assert_non_null(at(pj, "generic"));
    assert_string_equal(s_at(pj, "description"), "Org generic");
    assert_string_equal(s_at(pj, "relevantDate"), "2026-06-01T10:00:00Z");
    assert_string_equal(s_at(json_object_array_get_idx(at(pj, "barcodes"), 0), "format"), "PKBarcodeFormatAztec");
    json_object_put(pj);

    json_object *p = json_tokener_parse("{\"serial_number\":\"X\",\"pass_type\":\"boat\",\"body\":{\"organization_name\":\"O\"}}");
    json_object *out = NULL;
    char msg[128];
    assert_int_equal(apple_render(p, &IDS, &out, msg, sizeof msg), WP_EINVAL);
    assert_null(out);
    json_object_put(p);
}

static void test_png_checks(void **st)
{
    (void)st;
    unsigned w, h;
    char msg[200];
    assert_int_equal(apple_png_check(apple_icon_1x, sizeof apple_icon_1x, 1 << 20, &w, &h, msg, sizeof msg), WP_OK);
    assert_int_equal(w, 29);
    assert_int_equal(h, 29);
    assert_int_equal(apple_png_check(apple_icon_2x, sizeof apple_icon_2x, 1 << 20, &w, &h, msg, sizeof msg), WP_OK);
    assert_int_equal(w, 58);
    assert_int_equal(apple_png_check(apple_icon_3x, sizeof apple_icon_3x, 1 << 20, &w, &h, msg, sizeof msg), WP_OK);
    assert_int_equal(w, 87);
    assert_int_equal(apple_png_check(apple_icon_1x, sizeof apple_icon_1x, 50, &w, &h, msg, sizeof msg), WP_ETOOLARGE);
    unsigned char bad[sizeof apple_icon_1x];
    memcpy(bad, apple_icon_1x, sizeof bad);
    bad[12] = 'X'; /* IHDR -> XHDR */
    assert_int_equal(apple_png_check(bad, sizeof bad, 1 << 20, &w, &h, msg, sizeof msg), WP_EINVAL);
    unsigned char *png;
    size_t len;
    /* the PNG signature and then garbage: passes a prefix check, not this one */
    assert_int_equal(apple_image_decode("iVBORw0KGgoAAAAAAAAAAAAAAAAAAAAA", 1 << 20, &png, &len, msg, sizeof msg),
                     WP_EINVAL);
    assert_int_equal(apple_image_decode("not base64!", 1 << 20, &png, &len, msg, sizeof msg), WP_EINVAL);
    char b64[400];
    EVP_EncodeBlock((unsigned char *)b64, apple_icon_1x, (int)sizeof apple_icon_1x);
    assert_int_equal(apple_image_decode(b64, 1 << 20, &png, &len, msg, sizeof msg), WP_OK);
    assert_int_equal(len, sizeof apple_icon_1x);
    assert_memory_equal(png, apple_icon_1x, len);
    free(png);
    char data_url[500];
    snprintf(data_url, sizeof data_url, "data:image/png;base64,%s", b64);
    assert_int_equal(apple_image_decode(data_url, 1 << 20, &png, &len, msg, sizeof msg), WP_OK);
    free(png);
}

/* ---- a throwaway CA and pass certificate ---------------------------------- */

static char *pem_of_cert(X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char *s = strndup(p, (size_t)n);
    BIO_free(b);
    return s;
}

static char *pem_of_key(EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char *s = strndup(p, (size_t)n);
    BIO_free(b);
    return s;
}

static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, int ca)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), ca ? 1 : 2);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256());
    return x;
}

typedef struct {
    EVP_PKEY *ca_key, *key, *other_key;
    X509 *ca, *cert;
    char *ca_pem, *cert_pem, *key_pem, *other_key_pem;
} pki;

static pki P;

static int pki_setup(void **st)
{
    (void)st;
    P.ca_key = EVP_RSA_gen(2048);
    P.key = EVP_RSA_gen(2048);
    P.other_key = EVP_RSA_gen(2048);
    P.ca = make_cert(P.ca_key, "Test WWDR", NULL, NULL, 1);
    P.cert = make_cert(P.key, "Pass Type ID: pass.com.example.test", P.ca, P.ca_key, 0);
    P.ca_pem = pem_of_cert(P.ca);
    P.cert_pem = pem_of_cert(P.cert);
    P.key_pem = pem_of_key(P.key);
    P.other_key_pem = pem_of_key(P.other_key);
    return 0;
}

static int pki_teardown(void **st)
{
    (void)st;
    EVP_PKEY_free(P.ca_key);
    EVP_PKEY_free(P.key);
    EVP_PKEY_free(P.other_key);
    X509_free(P.ca);
    X509_free(P.cert);
    free(P.ca_pem);
    free(P.cert_pem);
    free(P.key_pem);
    free(P.other_key_pem);
    return 0;
}

static void test_identity(void **st)
{
    (void)st;
    apple_identity id;
    char msg[300];
    assert_int_equal(apple_identity_parse(P.cert_pem, P.key_pem, P.ca_pem, &id, msg, sizeof msg), WP_OK);
    assert_int_equal(sk_X509_num(id.chain), 1);
    apple_identity_free(&id);
    assert_int_equal(apple_identity_parse(P.cert_pem, P.other_key_pem, P.ca_pem, &id, msg, sizeof msg), WP_EINVAL);
    assert_non_null(strstr(msg, "does not match"));
    assert_int_equal(apple_identity_parse("garbage", P.key_pem, NULL, &id, msg, sizeof msg), WP_EINVAL);
    assert_int_equal(apple_identity_parse(P.cert_pem, P.key_pem, "not pem", &id, msg, sizeof msg), WP_EINVAL);
}

/* Reads one entry of a zip held in memory. */
static unsigned char *zip_entry(zip_t *za, const char *name, size_t *len)
{
    zip_stat_t zs;
    if (zip_stat(za, name, 0, &zs) != 0) return NULL;
    zip_file_t *f = zip_fopen(za, name, 0);
    assert_non_null(f);
    unsigned char *buf = malloc(zs.size + 1);
    assert_int_equal(zip_fread(f, buf, zs.size), (zip_int64_t)zs.size);
    zip_fclose(f);
    buf[zs.size] = 0;
    *len = zs.size;
    return buf;
}

static void test_bundle(void **st)
{
    (void)st;
    apple_identity id;
    char msg[300];
    assert_int_equal(apple_identity_parse(P.cert_pem, P.key_pem, P.ca_pem, &id, msg, sizeof msg), WP_OK);
    const char *pj = "{\"formatVersion\":1}";
    apple_file files[3] = {{"icon.png", apple_icon_1x, sizeof apple_icon_1x},
                           {"icon@2x.png", apple_icon_2x, sizeof apple_icon_2x},
                           {"icon@3x.png", apple_icon_3x, sizeof apple_icon_3x}};
    unsigned char *out;
    size_t len;
    assert_int_equal(apple_bundle_build(pj, strlen(pj), files, 3, &id, &out, &len, msg, sizeof msg), WP_OK);
    assert_memory_equal(out, "PK\x03\x04", 4);

    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(out, len, 0, &ze);
    zip_t *za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
    assert_non_null(za);
    assert_int_equal(zip_get_num_entries(za, 0), 6); /* pass.json, 3 icons, manifest.json, signature */
    for (zip_int64_t i = 0; i < 6; i++) assert_null(strchr(zip_get_name(za, (zip_uint64_t)i, 0), '/'));
    size_t ml, sl, fl;
    unsigned char *man = zip_entry(za, "manifest.json", &ml);
    unsigned char *sig = zip_entry(za, "signature", &sl);
    json_object *m = json_tokener_parse((char *)man);
    assert_non_null(m);
    assert_int_equal(json_object_object_length(m), 4);
    const char *names[4] = {"pass.json", "icon.png", "icon@2x.png", "icon@3x.png"};
    for (int i = 0; i < 4; i++) {
        unsigned char *d = zip_entry(za, names[i], &fl);
        unsigned char md[20];
        SHA1(d, fl, md);
        char hex[41];
        for (int j = 0; j < 20; j++) snprintf(hex + 2 * j, 3, "%02x", md[j]);
        assert_string_equal(json_object_get_string(at(m, names[i])), hex);
        free(d);
    }
    json_object_put(m);

    /* detached PKCS#7 over the manifest bytes, chain to the test CA, signingTime present */
    const unsigned char *p = sig;
    PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)sl);
    assert_non_null(p7);
    assert_true(PKCS7_get_detached(p7));
    X509_STORE *store = X509_STORE_new();
    X509_STORE_add_cert(store, P.ca);
    BIO *content = BIO_new_mem_buf(man, (int)ml);
    assert_int_equal(PKCS7_verify(p7, NULL, store, content, NULL, PKCS7_BINARY | PKCS7_NOCRL), 1);
    BIO_free(content);
    STACK_OF(PKCS7_SIGNER_INFO) *sis = PKCS7_get_signer_info(p7);
    assert_int_equal(sk_PKCS7_SIGNER_INFO_num(sis), 1);
    assert_non_null(PKCS7_get_signed_attribute(sk_PKCS7_SIGNER_INFO_value(sis, 0), NID_pkcs9_signingTime));
    assert_int_equal(sk_X509_num(p7->d.sign->cert), 2); /* the signer and the WWDR */
    /* a changed manifest does not verify */
    man[3] ^= 1;
    content = BIO_new_mem_buf(man, (int)ml);
    assert_int_not_equal(PKCS7_verify(p7, NULL, store, content, NULL, PKCS7_BINARY | PKCS7_NOCRL), 1);
    BIO_free(content);
    ERR_clear_error();
    X509_STORE_free(store);
    PKCS7_free(p7);
    free(man);
    free(sig);
    zip_close(za);
    free(out);
    apple_identity_free(&id);
}

/* ---- the bundle cache --------------------------------------------------------- */

static int builds;
static pthread_mutex_t bmu = PTHREAD_MUTEX_INITIALIZER;

static wp_status slow_build(void *ud, unsigned char **data, size_t *len, int *hs, char *code, size_t cl, char *msg,
                            size_t ml)
{
    (void)hs, (void)code, (void)cl, (void)msg, (void)ml;
    pthread_mutex_lock(&bmu);
    builds++;
    pthread_mutex_unlock(&bmu);
    usleep(100000);
    size_t n = (size_t)(uintptr_t)ud;
    *data = malloc(n);
    memset(*data, 'x', n);
    *len = n;
    return WP_OK;
}

static wp_status failing_build(void *ud, unsigned char **data, size_t *len, int *hs, char *code, size_t cl, char *msg,
                               size_t ml)
{
    (void)ud, (void)data, (void)len;
    *hs = 400;
    snprintf(code, cl, "image_invalid");
    snprintf(msg, ml, "images.logo: broken");
    return WP_EINVAL;
}

static void *getter(void *arg)
{
    (void)arg;
    apple_bundle_ref *ref;
    const unsigned char *d;
    size_t l;
    int hs;
    char code[48], msg[300];
    wp_status st = apple_bundle_get("acct|pass_x|1|h", "pass_x", slow_build, (void *)(uintptr_t)1000, &ref, &d, &l, &hs,
                                    code, sizeof code, msg, sizeof msg);
    if (st == WP_OK && l == 1000 && d[999] == 'x') {
        apple_bundle_release(ref);
        return (void *)1;
    }
    return NULL;
}

static void test_cache_one_build(void **st)
{
    (void)st;
    apple_cache_init(4096, 4);
    pthread_t t[8];
    for (int i = 0; i < 8; i++) pthread_create(&t[i], NULL, getter, NULL);
    for (int i = 0; i < 8; i++) {
        void *ok;
        pthread_join(t[i], &ok);
        assert_non_null(ok);
    }
    assert_int_equal(builds, 1);
    apple_cache_stats s;
    apple_cache_stats_get(&s);
    assert_int_equal(s.builds, 1);
    assert_int_equal(s.hits, 7);
    assert_true(s.waits >= 1);

    /* bounded: 3 more 1000-byte bundles in 4096 bytes evict the oldest */
    const char *keys[3] = {"a|p1|1|h", "a|p2|1|h", "a|p3|1|h"};
    const char *ids[3] = {"p1", "p2", "p3"};
    for (int i = 0; i < 3; i++) {
        apple_bundle_ref *ref;
        const unsigned char *d;
        size_t l;
        int hs;
        char code[48], msg[300];
        assert_int_equal(apple_bundle_get(keys[i], ids[i], slow_build, (void *)(uintptr_t)1000, &ref, &d, &l, &hs, code,
                                          sizeof code, msg, sizeof msg), WP_OK);
        apple_bundle_release(ref);
    }
    apple_cache_stats_get(&s);
    assert_true(s.bytes <= 4096);
    assert_int_equal(s.entries, 4);
    /* a newer version of a pass replaces the older one */
    apple_bundle_ref *ref;
    const unsigned char *d;
    size_t l;
    int hs;
    char code[48], msg[300];
    assert_int_equal(apple_bundle_get("a|p1|2|h", "p1", slow_build, (void *)(uintptr_t)1000, &ref, &d, &l, &hs, code,
                                      sizeof code, msg, sizeof msg), WP_OK);
    apple_bundle_release(ref);
    apple_cache_stats_get(&s);
    assert_int_equal(s.entries, 4);
    assert_true(s.bytes <= 4096);
    /* a failed build is reported, not cached */
    assert_int_equal(apple_bundle_get("a|p9|1|h", "p9", failing_build, NULL, &ref, &d, &l, &hs, code, sizeof code, msg,
                                      sizeof msg), WP_EINVAL);
    assert_int_equal(hs, 400);
    assert_string_equal(code, "image_invalid");
    int before = builds;
    assert_int_equal(apple_bundle_get("a|p9|1|h", "p9", slow_build, (void *)(uintptr_t)10, &ref, &d, &l, &hs, code,
                                      sizeof code, msg, sizeof msg), WP_OK);
    apple_bundle_release(ref);
    assert_int_equal(builds, before + 1);
    /* least recently used goes first: a hit makes the oldest bundle the newest, so the next
     * eviction takes the one after it (p2), and the one just used is still there */
#define GET(k, id) apple_bundle_get(k, id, slow_build, (void *)(uintptr_t)1000, &ref, &d, &l, &hs, code, sizeof code, \
                                    msg, sizeof msg)
    before = builds;
    assert_int_equal(GET("acct|pass_x|1|h", "pass_x"), WP_OK);
    apple_bundle_release(ref);
    assert_int_equal(GET("a|p4|1|h", "p4"), WP_OK);
    apple_bundle_release(ref);
    assert_int_equal(builds, before + 1);
    assert_int_equal(GET("acct|pass_x|1|h", "pass_x"), WP_OK);
    apple_bundle_release(ref);
    assert_int_equal(builds, before + 1);
    assert_int_equal(GET("a|p2|1|h", "p2"), WP_OK);
    apple_bundle_release(ref);
    assert_int_equal(builds, before + 2);
#undef GET
    apple_cache_stats_get(&s);
    assert_true(s.bytes <= 4096);
    apple_cache_shutdown();
}

static void test_cred_cache(void **st)
{
    (void)st;
    apple_cache_init(1 << 20, 2);
    apple_cred *a, *b, *c;
    char msg[300];
    assert_int_equal(apple_cred_acquire("acct_1", "h1", P.cert_pem, P.key_pem, P.ca_pem, &a, msg, sizeof msg), WP_OK);
    assert_int_equal(apple_cred_acquire("acct_1", "h1", "ignored", "ignored", NULL, &b, msg, sizeof msg), WP_OK);
    assert_ptr_equal(a, b); /* cached: the PEMs were not parsed again */
    /* new credentials (another hash) replace the entry; the old one lives until released */
    assert_int_equal(apple_cred_acquire("acct_1", "h2", P.cert_pem, P.key_pem, NULL, &c, msg, sizeof msg), WP_OK);
    assert_ptr_not_equal(a, c);
    assert_int_equal(sk_X509_num(c->id.chain), 0);
    assert_non_null(a->id.cert);
    apple_cred_release(a);
    apple_cred_release(b);
    apple_cred_release(c);
    assert_int_equal(apple_cred_acquire("acct_2", "h3", P.cert_pem, P.other_key_pem, NULL, &a, msg, sizeof msg),
                     WP_EINVAL);
    apple_cache_shutdown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_colours_and_dates),
        cmocka_unit_test(test_loyalty_example),
        cmocka_unit_test(test_event_every_group),
        cmocka_unit_test(test_coupon_and_generic),
        cmocka_unit_test(test_png_checks),
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_bundle),
        cmocka_unit_test(test_cache_one_build),
        cmocka_unit_test(test_cred_cache),
    };
    return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
