/*
 * fuzz_query: query strings (http.c): the allowed-parameter check, the
 * percent-decoding of values and list paging, on a request whose query
 * string is the input.  Every decoded value handed out must be UTF-8 and
 * as long as its reported length (no NUL inside); every refusal must name
 * the parameter in UTF-8 (it is echoed in the JSON error).
 */
#include <stdio.h>

#include "fuzz.h"
#include "http.h"
#include "utf8.h"

static void check_err(const wp_err *err)
{
    if (!err->msg[0] || !wp_utf8_valid(err->msg, strlen(err->msg)) || !wp_utf8_valid(err->param, strlen(err->param))) {
        fprintf(stderr, "query error without a message, or not UTF-8\n");
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *qs = fz_cstr(data, size);
    if (!qs) return 0;
    struct mg_request_info ri;
    memset(&ri, 0, sizeof ri);
    ri.request_method = "GET";
    ri.http_version = "1.1";
    ri.query_string = qs;
    wp_req *req = calloc(1, sizeof *req);
    if (!req) { free(qs); return 0; }
    req->ri = &ri;

    static const char *const allowed[] = {"limit", "starting_after", "type", "created[gte]", "near", NULL};
    wp_err err;
    wp_err_clear(&err);
    if (wp_req_query_check(req, allowed, &err) != WP_OK) check_err(&err);

    char buf[64];
    wp_err_clear(&err);
    int got = wp_req_query(req, "type", buf, sizeof buf, &err);
    if (got < 0) check_err(&err);
    if (got > 0 && !wp_utf8_valid(buf, strlen(buf))) abort();

    int limit;
    char after[48];
    wp_err_clear(&err);
    if (wp_req_page(req, &limit, after, sizeof after, &err) != WP_OK) check_err(&err);
    else if (limit < 1 || limit > 100 || !wp_utf8_valid(after, strlen(after))) abort();
    free(req);
    free(qs);
    return 0;
}
