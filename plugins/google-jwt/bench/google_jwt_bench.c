/*
 * google_jwt_bench - save links generated per second, uncached: for every
 * link the pass is rendered to class + object, the claims are built, signed
 * RS256 and encoded (the plugin's request path without the cache and the
 * vault read; the key is parsed once, as the plugin's key cache does).
 * Driven by tests/bench/google_jwt.sh.
 *
 *   google_jwt_bench KEY.pem SECONDS [CLAIMS_OUT.json]
 *
 * Prints "links=<n> seconds=<s> links_per_s=<r> jwt_chars=<len>"; with
 * CLAIMS_OUT, writes the claims of one link there (for the jose comparison).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "google_jwt.h"
#include "google_render.h"

static const char *PASS =
    "{\"id\":\"pass_01j9abcdefghijklmnopqrstuv\",\"version\":3,\"status\":\"active\",\"pass_type\":\"loyalty\","
    "\"organization_name\":\"Solstice Coffee Co.\",\"logo_text\":\"Solstice\",\"background_color\":\"#1a1a2e\","
    "\"foreground_color\":\"#ffffff\",\"primary_fields\":[{\"key\":\"points\",\"label\":\"Points\",\"value\":\"2,450\"}],"
    "\"barcode_message\":\"MEMBER-00421\"}";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s KEY.pem SECONDS [CLAIMS_OUT.json]\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    char pem[8192];
    size_t n = fread(pem, 1, sizeof pem - 1, f);
    fclose(f);
    pem[n] = '\0';
    char err[256] = "";
    EVP_PKEY *key = NULL;
    if (gj_key_load(pem, &key, err, sizeof err) != WP_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    double secs = atof(argv[2]);
    json_object *pass = json_tokener_parse(PASS);
    json_object *origins = json_tokener_parse("[\"https://shop.example\"]");
    gr_render_opts o = {.issuer_id = "3388000000022122304", .account_id = "acct_01j9bench",
                        .default_logo_url = "https://wallet.example.com/google/images/default-logo.png"};
    long links = 0;
    size_t jwt_chars = 0;
    double t0 = now_s(), t = t0;
    while (t - t0 < secs) {
        for (int i = 0; i < 16; i++) {
            json_object *cls, *obj;
            if (gr_render(pass, &o, &cls, &obj, err, sizeof err) != WP_OK) {
                fprintf(stderr, "%s\n", err);
                return 1;
            }
            json_object *payload = json_object_new_object(), *ca = json_object_new_array(), *oa = json_object_new_array();
            json_object_array_add(ca, cls);
            json_object_array_add(oa, obj);
            json_object_object_add(payload, "loyaltyClasses", ca);
            json_object_object_add(payload, "loyaltyObjects", oa);
            json_object *claims = gj_save_claims("wallet@bench.iam.gserviceaccount.com", time(NULL), origins, payload);
            json_object_put(payload);
            char *jwt = NULL;
            if (gj_save_jwt(key, claims, &jwt, err, sizeof err) != WP_OK) {
                fprintf(stderr, "%s\n", err);
                return 1;
            }
            size_t len = strlen(jwt);
            char *url = malloc(strlen(GJ_SAVE_PREFIX) + len + 1);
            sprintf(url, "%s%s", GJ_SAVE_PREFIX, jwt);
            jwt_chars = len;
            if (links == 0 && argc > 3) {
                FILE *out = fopen(argv[3], "w");
                if (!out) {
                    perror(argv[3]);
                    return 1;
                }
                fputs(json_object_to_json_string_ext(claims, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), out);
                fclose(out);
            }
            free(url);
            free(jwt);
            json_object_put(claims);
            links++;
        }
        t = now_s();
    }
    printf("links=%ld seconds=%.3f links_per_s=%.0f jwt_chars=%zu\n", links, t - t0, (double)links / (t - t0), jwt_chars);
    json_object_put(pass);
    json_object_put(origins);
    EVP_PKEY_free(key);
    return 0;
}
