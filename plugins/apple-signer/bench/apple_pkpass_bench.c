/*
 * apple_pkpass_bench - uncached .pkpass builds per second on one core: the
 * work the plugin does per pass version (render pass.json, hash the files,
 * sign the manifest with RSA-2048, zip), with a throwaway RSA-2048 identity
 * made at start.  Driven by tests/bench/apple_pkpass.sh, which prints the
 * figure next to `openssl speed rsa2048` sign/s from the same run.
 *
 *   apple_pkpass_bench SECONDS      prints "builds=<n> seconds=<s> per_second=<r>"
 *                                   (SECONDS of CPU time, like openssl speed's default)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "apple_bundle.h"
#include "apple_render.h"
#include "default_icons.h"

static X509 *cert_for(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *signer)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), issuer ? 2 : 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(x));
    X509_sign(x, signer, EVP_sha256());
    return x;
}

/* CPU time of this process: "per core" means the time the work itself took,
 * not the time neighbours held the CPU (openssl speed counts CPU time too). */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 3.0;
    if (seconds <= 0) seconds = 3.0;
    EVP_PKEY *ca_key = EVP_RSA_gen(2048), *key = EVP_RSA_gen(2048);
    if (!ca_key || !key) {
        fprintf(stderr, "apple_pkpass_bench: RSA key generation failed\n");
        return 1;
    }
    X509 *ca = cert_for(ca_key, "Bench WWDR", NULL, ca_key);
    X509 *cert = cert_for(key, "Pass Type ID: pass.com.example.bench", ca, ca_key);
    apple_identity id = {cert, key, sk_X509_new_null()};
    sk_X509_push(id.chain, ca);

    /* the documented loyalty example with every field group, as a stored pass. */
    json_object *pass = json_tokener_parse(
        "{\"id\":\"pass_bench\",\"serial_number\":\"SN-BENCH01\",\"pass_type\":\"loyalty\",\"status\":\"active\","
        "\"version\":1,\"authentication_token\":\"0123456789abcdef0123456789abcdef\",\"body\":{"
        "\"organization_name\":\"Solstice Coffee Co.\",\"logo_text\":\"Solstice\",\"background_color\":\"#1a1a2e\","
        "\"foreground_color\":\"#ffffff\",\"primary_fields\":[{\"key\":\"points\",\"label\":\"Points\",\"value\":\"2,450\"}],"
        "\"header_fields\":[{\"key\":\"tier\",\"label\":\"Tier\",\"value\":\"Gold\",\"change_message\":\"Now %@\"}],"
        "\"secondary_fields\":[{\"key\":\"name\",\"label\":\"Member\",\"value\":\"Ada Lovelace\"}],"
        "\"back_fields\":[{\"key\":\"terms\",\"label\":\"Terms\",\"value\":\"Points expire after a year.\"}],"
        "\"barcode_message\":\"MEMBER-00421\"}}");
    apple_ids ids = {"pass.com.example.bench", "ABCDE12345", "https://wallet.example.com/apple"};
    apple_file files[3] = {{"icon.png", apple_icon_1x, sizeof apple_icon_1x},
                           {"icon@2x.png", apple_icon_2x, sizeof apple_icon_2x},
                           {"icon@3x.png", apple_icon_3x, sizeof apple_icon_3x}};
    char msg[400];
    long n = 0;
    size_t bytes = 0;
    double t0 = now(), t;
    do {
        json_object *pj = NULL;
        if (apple_render(pass, &ids, &pj, msg, sizeof msg) != WP_OK) {
            fprintf(stderr, "apple_pkpass_bench: render: %s\n", msg);
            return 1;
        }
        size_t pl;
        const char *ps = json_object_to_json_string_length(pj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &pl);
        unsigned char *out;
        size_t len;
        if (apple_bundle_build(ps, pl, files, 3, &id, &out, &len, msg, sizeof msg) != WP_OK) {
            fprintf(stderr, "apple_pkpass_bench: build: %s\n", msg);
            return 1;
        }
        bytes = len;
        free(out);
        json_object_put(pj);
        n++;
        t = now() - t0;
    } while (t < seconds);
    printf("builds=%ld seconds=%.3f per_second=%.1f bundle_bytes=%zu\n", n, t, (double)n / t, bytes);
    json_object_put(pass);
    apple_identity_free(&id);
    EVP_PKEY_free(ca_key);
    return 0;
}
