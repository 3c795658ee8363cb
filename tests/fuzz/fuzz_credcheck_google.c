/*
 * fuzz_credcheck_google: the Google credential upload (google-jwt's
 * google_credcheck.c): the
 * input is the request body ({"issuer_id", "service_account_json"}),
 * parsed strictly as the server does.  A refusal must not quote the
 * private key it was given.
 */
#include <stdio.h>

#include "google_credcheck.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_object *body = fz_parse(data, size);
    if (!body) return 0;
    json_object *secret = NULL, *meta = NULL;
    google_credcheck_err err;
    memset(&err, 0, sizeof err);
    if (google_credcheck(body, &secret, &meta, &err) == WP_OK) {
        if (!secret || !meta) abort();
    } else {
        if (!err.msg[0] || secret || meta) abort();
        json_object *sa = NULL, *pk = NULL;
        if (json_object_object_get_ex(body, "service_account_json", &sa) && json_object_object_get_ex(sa, "private_key", &pk) &&
            json_object_is_type(pk, json_type_string) && json_object_get_string_len(pk) >= 64) {
            char piece[33];
            memcpy(piece, json_object_get_string(pk) + 28, 32);
            piece[32] = '\0';
            if (strstr(err.msg, piece)) {
                fprintf(stderr, "the refusal quotes the private key: \"%s\"\n", err.msg);
                abort();
            }
        }
    }
    wpc_cred_wipe_put(secret);
    json_object_put(meta);
    json_object_put(body);
    return 0;
}
