/*
 * fuzz_apple_render: the Apple pass.json renderer (plugins/apple-signer)
 * on any document shaped like what host->pass_get returns.  The input is
 * parsed with the strict parser (bodies are stored only after it); the
 * rendered pass.json must print.
 */
#include <stdio.h>

#include "apple_render.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_object *pass = fz_parse(data, size);
    if (!pass) return 0;
    static const apple_ids ids = {"pass.com.example.test", "ABCDE12345", "https://gw.example.com/apple"};
    json_object *out = NULL;
    char msg[256] = "";
    wp_status st = apple_render(pass, &ids, &out, msg, sizeof msg);
    if (st == WP_OK) {
        if (!out) abort();
        (void)json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN);
        json_object_put(out);
    } else if (!msg[0]) {
        fprintf(stderr, "apple_render refused without a message\n");
        abort();
    }
    /* the small helpers, on whatever strings the document holds */
    json_object *body = NULL, *v = NULL;
    if (json_object_object_get_ex(pass, "body", &body)) {
        char buf[64];
        if (json_object_object_get_ex(body, "background_color", &v) && json_object_is_type(v, json_type_string))
            (void)apple_rgb(json_object_get_string(v), buf, sizeof buf);
        if (json_object_object_get_ex(body, "relevant_date", &v) && json_object_is_type(v, json_type_string))
            (void)apple_w3c_date(json_object_get_string(v), buf, sizeof buf);
    }
    json_object_put(pass);
    return 0;
}
