/*
 * json_strict.h - RFC 8259 JSON with limits, for every body the gateway reads.
 *
 * json-c's tokener is lenient (comments, NaN, trailing commas, duplicate
 * keys resolved silently), so the text is first checked here: grammar, number range
 * (no inf, no silent 64-bit clamping), UTF-8, nesting depth, string
 * lengths, duplicate keys, trailing data.
 * Only text that passes is handed to json-c.
 */
#ifndef WP_JSON_STRICT_H
#define WP_JSON_STRICT_H

#include <stddef.h>
#include <json-c/json.h>

#include "err.h"

typedef struct wp_json_limits {
    int max_depth;              /* deepest nesting of arrays/objects */
    size_t max_string;          /* longest string value, in bytes after unescaping */
    size_t max_long_string;     /* longest string under one of long_prefixes */
    /* NULL-terminated list of paths ("images") whose string values (at any
     * depth below) may reach max_long_string: base64 images, for instance. */
    const char *const *long_prefixes;
} wp_json_limits;

/*
 * Checks `len` bytes at `text` and parses them.  On success *out is a new
 * json-c object the caller owns (json_object_put).  On failure returns
 * WP_EINVAL with err->msg saying what and where, and err->param naming the
 * field when the fault is inside one.
 */
wp_status wp_json_parse_strict(const char *text, size_t len, const wp_json_limits *lim,
                               json_object **out, wp_err *err);

/*
 * How many object-key comparisons the duplicate-key check made in this thread so far: a
 * machine-independent measure of its cost (tests hold it to n log n, not n squared).
 */
unsigned long long wp_json_strict_key_compares(void);

#endif
