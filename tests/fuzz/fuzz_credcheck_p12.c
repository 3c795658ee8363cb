/*
 * fuzz_credcheck_p12: the Apple credential upload (apple-signer's
 * apple_credcheck.c) with the
 * input as the .p12 file: base64-encoded into p12_base64 next to a fixed
 * password, Pass Type ID and team.  Validity is checked against a fixed
 * time (2030-01-01), inside the seed certificates' hundred years.
 * Error messages reach the client and the log: they must never quote the
 * password.
 */
#include <stdio.h>

#include <openssl/evp.h>

#include "apple_credcheck.h"
#include "fuzz.h"

#define PASSWORD "fuzz-p12-password"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536) return 0;
    char *b64 = malloc(4 * ((size + 2) / 3) + 1);
    if (!b64) return 0;
    EVP_EncodeBlock((unsigned char *)b64, data, (int)size);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "p12_base64", json_object_new_string(b64));
    json_object_object_add(body, "p12_password", json_object_new_string(PASSWORD));
    json_object_object_add(body, "pass_type_identifier", json_object_new_string("pass.com.example.fuzz"));
    json_object_object_add(body, "team_identifier", json_object_new_string("ABCDE12345"));
    json_object *secret = NULL, *meta = NULL;
    apple_credcheck_err err;
    memset(&err, 0, sizeof err);
    if (apple_credcheck(body, (time_t)1893456000, NULL, &secret, &meta, &err) == WP_OK) {
        if (!secret || !meta) abort();
    } else if (!err.msg[0] || strstr(err.msg, PASSWORD) || secret || meta) {
        fprintf(stderr, "bad refusal: \"%s\"\n", err.msg);
        abort();
    }
    wpc_cred_wipe_put(secret);
    json_object_put(meta);
    json_object_put(body);
    free(b64);
    return 0;
}
