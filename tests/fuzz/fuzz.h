/*
 * fuzz.h - what the libFuzzer harnesses in tests/fuzz share.
 *
 * Each harness is one fuzz_<name>.c defining LLVMFuzzerTestOneInput; it is
 * built only with -DWP_FUZZ=ON (clang, ASan+UBSan, tests/fuzz/CMakeLists.txt).
 * A harness must not leak, keep state between inputs or touch the network:
 * every input starts from scratch, so a crash replays from its file alone.
 */
#ifndef WP_FUZZ_H
#define WP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_strict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy of the input (the caller frees); NULL on out of memory. */
static inline char *fz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) return NULL;
    if (size) memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* The limits the server applies to request bodies with the default configuration. */
static inline wp_json_limits fz_body_limits(void)
{
    static const char *const long_prefixes[] = {"images", "p12_base64", "wwdr_pem", "service_account_json", NULL};
    wp_json_limits lim = {.max_depth = 32, .max_string = 4096, .max_long_string = 1048576 * 4 / 3 + 4,
                          .long_prefixes = long_prefixes};
    return lim;
}

/* Parses the input as a request body would be; NULL when the strict parser refuses it. */
static inline json_object *fz_parse(const uint8_t *data, size_t size)
{
    wp_json_limits lim = fz_body_limits();
    json_object *o = NULL;
    wp_err err;
    wp_err_clear(&err);
    if (wp_json_parse_strict((const char *)data, size, &lim, &o, &err) != WP_OK) return NULL;
    return o;
}

#endif
