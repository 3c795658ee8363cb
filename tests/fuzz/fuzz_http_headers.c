/*
 * fuzz_http_headers: the header checks the core adds on top of CivetWeb:
 * the Content-Type check of JSON bodies (http.c) and the response-header
 * guard (wp_resp_header).  The framing checks (framing.c) read CivetWeb's
 * own parse buffer around each field, so they are exercised with raw bytes
 * by the framing integration suite instead.
 *
 * Input: the first line is the HTTP version ("1.1"), each further line a
 * header "Name: value" (as CivetWeb hands them over: split at the first
 * colon, value without leading spaces); the last header's value also goes
 * through the Content-Type check and, as a response header, the guard.
 */
#include <stdio.h>

#include "fuzz.h"
#include "http.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fz_cstr(data, size);
    if (!text) return 0;
    struct mg_request_info ri;
    memset(&ri, 0, sizeof ri);
    ri.request_method = "POST";
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    ri.http_version = line ? line : "1.1";
    const char *last_value = NULL, *last_name = "X-Test";
    while ((line = strtok_r(NULL, "\n", &save)) != NULL && ri.num_headers < MG_MAX_HEADERS) {
        char *colon = strchr(line, ':');
        if (!colon) continue;
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ') v++;
        ri.http_headers[ri.num_headers].name = line;
        ri.http_headers[ri.num_headers].value = v;
        ri.num_headers++;
        last_name = line;
        last_value = v;
    }
    wp_err err;
    wp_err_clear(&err);
    if (wp_http_check_json_type(last_value, &err) != WP_OK) {
        /* the message reaches the client inside a JSON error: it must stay UTF-8 */
        if (!wp_utf8_valid(err.msg, strlen(err.msg))) {
            fprintf(stderr, "Content-Type error message is not UTF-8\n");
            abort();
        }
    }

    wp_req *req = calloc(1, sizeof *req);
    if (req && last_value) {
        wp_resp_header(req, last_name, last_value);
        wp_resp_header(req, "Retry-After", "1");
        /* only whole header lines, each ending in CRLF, and never a bare CR or LF */
        for (size_t i = 0; i < req->extra_len; i++) {
            char c = req->extra_headers[i];
            if ((c == '\r' && req->extra_headers[i + 1] != '\n') || (c == '\n' && (i == 0 || req->extra_headers[i - 1] != '\r'))) {
                fprintf(stderr, "response header with a bare line break\n");
                abort();
            }
        }
        if (req->extra_len >= sizeof req->extra_headers || strlen(req->extra_headers) != req->extra_len) abort();
    }
    free(req);
    free(text);
    return 0;
}
