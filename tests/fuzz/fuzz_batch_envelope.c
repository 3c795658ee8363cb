/*
 * fuzz_batch_envelope: the envelope of POST /api/v1/passes/batch
 * (wp_batch_envelope, core/src/domain/batch_service.c): the input is the request body,
 * parsed strictly as the server does.  The items themselves go through the
 * pass body validation later (fuzz_pass_schema covers it).
 *
 * Properties: an accepted body has only "passes" (an array of 1 to 1000
 * items) and an optional "template_id" (null, or a non-empty string shorter
 * than an id buffer), and the outputs point at them; a refusal is
 * WP_EINVAL with its API code, names the field at fault and says why, in
 * UTF-8.
 */
#include <stdio.h>

#include "batch_service.h"
#include "fuzz.h"
#include "ids.h"
#include "utf8.h"

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "%s: %s\n", what, detail);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_object *body = fz_parse(data, size);
    if (!body) return 0;
    json_object *passes = (json_object *)1;
    const char *tid = (const char *)1;
    wp_err err;
    wp_err_clear(&err);
    wp_status st = wp_batch_envelope(body, &passes, &tid, &err);
    if (st == WP_OK) {
        json_object *p = NULL, *t = NULL;
        json_object_object_foreach(body, k, v) {
            if (strcmp(k, "passes") == 0) p = v;
            else if (strcmp(k, "template_id") == 0) t = v;
            else fail("accepted an unknown field", k);
        }
        if (!p || passes != p || !json_object_is_type(p, json_type_array)) fail("passes", "not the body's array");
        size_t n = json_object_array_length(p);
        if (n < 1 || n > WP_BATCH_MAX_ITEMS) fail("passes", "accepted with a count out of 1..1000");
        if (t && !json_object_is_type(t, json_type_null)) {
            if (!tid || tid != json_object_get_string(t)) fail("template_id", "not the body's string");
            if (!*tid || strlen(tid) >= WP_ID_MAX) fail("template_id", "accepted empty or too long");
        } else if (tid) {
            fail("template_id", "set without one in the body");
        }
    } else {
        if (st != WP_EINVAL) fail("refused with a status other than WP_EINVAL", wp_status_str(st));
        if (passes || tid) fail("refused, but the outputs were set", err.msg);
        if (!err.code || (strcmp(err.code, "parameter_invalid") && strcmp(err.code, "parameter_missing") &&
                          strcmp(err.code, "parameter_unknown")))
            fail("refused with an unexpected code", err.code ? err.code : "(null)");
        if (!err.msg[0] || !err.param[0]) fail("refused without naming the field or saying why", err.msg);
        if (!wp_utf8_valid(err.msg, strlen(err.msg)) || !wp_utf8_valid(err.param, strlen(err.param)))
            fail("the refusal is not UTF-8", err.msg);
        int named = !strcmp(err.param, "body") || !strcmp(err.param, "passes") || !strcmp(err.param, "template_id");
        if (!named && strcmp(err.code, "parameter_unknown") == 0 && json_object_is_type(body, json_type_object)) {
            size_t pl = strlen(err.param);
            /* a long name is cut on a character boundary and ends in an ellipsis */
            int cut = pl >= 3 && strcmp(err.param + pl - 3, "\xE2\x80\xA6") == 0;
            json_object_object_foreach(body, k, v) {
                (void)v;
                named |= cut ? strncmp(k, err.param, pl - 3) == 0 : strcmp(k, err.param) == 0;
            }
        }
        if (!named) fail("the refusal names no field of the body", err.param);
    }
    json_object_put(body);
    return 0;
}
