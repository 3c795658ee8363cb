/*
 * fuzz_pass_schema: the unified pass body checks (pass_schema.c) as the
 * create, update and template endpoints and each item of a batch apply them.
 * The first byte picks the mode; the rest is the body, parsed strictly as
 * the server does.  A refusal must say why (the message the client reads).
 */
#include <stdio.h>

#include "fuzz.h"
#include "pass_schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    static const wp_pass_mode modes[] = {WP_PASS_CREATE, WP_PASS_UPDATE, WP_PASS_TEMPLATE};
    wp_pass_mode mode = modes[data[0] % 3];
    json_object *body = fz_parse(data + 1, size - 1);
    if (!body) return 0;
    /* the defaults of limits.max_string_bytes, max_image_bytes, max_metadata_bytes */
    wp_pass_limits lim = {.max_string = 4096, .max_image = 1048576, .max_metadata = 16384};
    wp_err err;
    wp_err_clear(&err);
    wp_status st = wp_pass_validate(body, mode, &lim, &err);
    if (st != WP_OK && err.msg[0] == '\0') {
        fprintf(stderr, "refusal without a message (param \"%s\")\n", err.param);
        abort();
    }
    json_object *t = NULL;
    if (json_object_object_get_ex(body, "pass_type", &t) && json_object_is_type(t, json_type_string)) {
        /* an accepted create names a known type */
        if (st == WP_OK && mode == WP_PASS_CREATE && !wp_pass_type_known(json_object_get_string(t))) {
            fprintf(stderr, "accepted a pass of unknown type \"%s\"\n", json_object_get_string(t));
            abort();
        }
    }
    json_object_put(body);
    return 0;
}
