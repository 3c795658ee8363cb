/*
 * fuzz_bb_input: what the bubble-bridge plugin reads from a Bubble call
 * (plugins/bubble-bridge/bb_input.c), before any of it reaches the core: the
 * form body (application/x-www-form-urlencoded), the multipart/form-data body
 * with its boundary, and the backend-workflow URL of a destination.  The
 * first byte picks the reader (and allow_http); for multipart the input up
 * to the first newline is the Content-Type, the rest the body.
 *
 * Properties: an accepted form holds at most BB_FORM_MAX_FIELDS fields, each
 * name 1..BB_KEY_MAX bytes, every name and value UTF-8 without NUL (they
 * become JSON strings); a refusal has its code, names the field (or "body",
 * "url") and says why, in UTF-8; an accepted URL is https:// (http:// only
 * with allow_http), has a host and the Bubble workflow path, no query,
 * fragment or user name.
 */
#include <stdio.h>
#include <strings.h>

#include "bb_input.h"
#include "fuzz.h"
#include "utf8.h"

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "%s: %s\n", what, detail);
    abort();
}

static void check_refusal(const bb_verr *e)
{
    if (!e->code || (strcmp(e->code, "parameter_invalid") && strcmp(e->code, "parameter_unknown")))
        fail("refused with an unexpected code", e->code ? e->code : "(null)");
    if (!e->param[0] || !e->msg[0]) fail("refused without naming the field or saying why", e->msg);
    if (!wp_utf8_valid(e->msg, strlen(e->msg)) || !wp_utf8_valid(e->param, strlen(e->param)))
        fail("the refusal is not UTF-8", e->msg);
}

static void check_form(json_object *o)
{
    if (json_object_object_length(o) > BB_FORM_MAX_FIELDS) fail("too many fields accepted", "");
    json_object_object_foreach(o, k, v) {
        size_t kl = strlen(k);
        if (kl == 0 || kl > BB_KEY_MAX || !wp_utf8_valid(k, kl)) fail("a field name accepted", k);
        if (!json_object_is_type(v, json_type_string)) fail("a value that is no string", k);
        size_t vl = (size_t)json_object_get_string_len(v);
        if (memchr(json_object_get_string(v), '\0', vl) || !wp_utf8_valid(json_object_get_string(v), vl))
            fail("a value accepted that is not UTF-8 text", k);
    }
}

static void check_url(const char *url, int allow_http)
{
    const char *host = !strncasecmp(url, "https://", 8) ? url + 8 : !strncasecmp(url, "http://", 7) ? url + 7 : NULL;
    if (!host || (host == url + 7 && !allow_http)) fail("a scheme accepted", url);
    if (*host == '/' || !*host) fail("a URL without a host accepted", url);
    const char *slash = strchr(host, '/');
    if (!slash || memchr(host, '@', (size_t)(slash - host))) fail("a host accepted", url);
    if (strpbrk(url, "?# \t\r\n\"<>\\")) fail("a query, fragment or space accepted", url);
    const char *wf = strstr(slash, "/api/1.1/wf/");
    if (!wf || !wf[12] || wf[12] == '/') fail("a path that is not a workflow's accepted", url);
    /* after the workflow's name: nothing, or one slash (never the /initialize address) */
    const char *rest = strchr(wf + 12, '/');
    if (rest && strcmp(rest, "/") != 0) fail("more than a workflow's path accepted", url);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int mode = data[0] % 3, allow_http = (data[0] >> 2) & 1;
    char *s = fz_cstr(data + 1, size - 1);
    if (!s) return 0;
    bb_verr e;
    memset(&e, 0, sizeof e);
    json_object *o = NULL;
    if (mode == 0) {
        if (bb_form_parse(s, size - 1, &o, &e) == 0) check_form(o);
        else check_refusal(&e);
    } else if (mode == 1) {
        char *nl = memchr(s, '\n', size - 1);
        char boundary[72];
        if (nl) {
            *nl = '\0';
            if (bb_multipart_boundary(s, boundary) == 0) {
                size_t bl = strlen(boundary);
                if (bl == 0 || bl > 70) fail("a boundary accepted", boundary);
                const char *body = nl + 1;
                size_t blen = size - 1 - (size_t)(body - s);
                if (bb_multipart_parse(body, blen, boundary, &o, &e) == 0) check_form(o);
                else check_refusal(&e);
            }
        }
    } else {
        if (bb_url_check_shape(s, allow_http, "url", &e) == 0) check_url(s, allow_http);
        else check_refusal(&e);
    }
    json_object_put(o);
    free(s);
    return 0;
}
