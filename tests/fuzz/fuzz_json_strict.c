/*
 * fuzz_json_strict: the strict JSON parser every request body goes through.
 * Beyond "no crash": whatever it accepts, json-c prints back as text the
 * parser accepts again (a body the gateway stores must read back).
 */
#include <stdio.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wp_json_limits lim = fz_body_limits();
    json_object *o = NULL;
    wp_err err;
    wp_err_clear(&err);
    if (wp_json_parse_strict((const char *)data, size, &lim, &o, &err) != WP_OK) {
        if (err.status == WP_OK || err.msg[0] == '\0') abort(); /* a refusal always says why */
        return 0;
    }
    size_t n;
    const char *text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &n);
    json_object *again = NULL;
    wp_err err2;
    wp_err_clear(&err2);
    /* depth and lengths are unchanged by printing; no limit may refuse it now */
    if (wp_json_parse_strict(text, n, &lim, &again, &err2) != WP_OK) {
        fprintf(stderr, "accepted input prints as text the parser refuses: %s\n", err2.msg);
        abort();
    }
    json_object_put(again);
    json_object_put(o);
    return 0;
}
