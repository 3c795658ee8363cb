/*
 * fuzz_image: image intake.  The input is used three ways: as the string
 * value of images.icon in a pass body (pass_schema.c: https URL, data URL
 * or base64 PNG), as the base64 text the Apple signer decodes
 * (apple_image_decode), and as raw bytes for the PNG header check
 * (apple_png_check).  Decoded images must fit the limit and pass the PNG
 * check again.
 */
#include <stdio.h>

#include "apple_bundle.h"
#include "fuzz.h"
#include "pass_schema.h"

#define MAX_IMAGE 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fz_cstr(data, size);
    if (!s) return 0;
    char msg[256];
    unsigned w, h;
    (void)apple_png_check(data, size, MAX_IMAGE, &w, &h, msg, sizeof msg);

    unsigned char *png = NULL;
    size_t len = 0;
    msg[0] = '\0';
    if (apple_image_decode(s, MAX_IMAGE, &png, &len, msg, sizeof msg) == WP_OK) {
        if (!png || len > MAX_IMAGE || apple_png_check(png, len, MAX_IMAGE, &w, &h, msg, sizeof msg) != WP_OK) abort();
        free(png);
    } else if (!msg[0] || png) {
        abort();
    }

    json_object *body = json_object_new_object(), *images = json_object_new_object();
    json_object_object_add(images, "icon", json_object_new_string_len(s, (int)size));
    json_object_object_add(body, "images", images);
    wp_pass_limits lim = {.max_string = 4096, .max_image = MAX_IMAGE, .max_metadata = 16384};
    wp_err err;
    wp_err_clear(&err);
    if (wp_pass_validate(body, WP_PASS_TEMPLATE, &lim, &err) != WP_OK && strcmp(err.param, "images.icon") != 0) {
        fprintf(stderr, "an image refusal names \"%s\", not images.icon\n", err.param);
        abort();
    }
    json_object_put(body);
    free(s);
    return 0;
}
