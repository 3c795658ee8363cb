/* framing.c - see framing.h. */
#include "framing.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http.h"

/* The header blocks whose every line end is checked (CivetWeb reads up to 16384 bytes). */
#define WP_FRAMING_CHECKED_BYTES 12288

static int is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || strchr("!#$%&'*+-.^_`|~", c);
}

/* Quotes s into buf when it is a short token, so a message can name it safely. */
static const char *token_or(const char *s, char *buf, size_t len, const char *fallback)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 32 || n + 3 > len) return fallback;
    for (size_t i = 0; i < n; i++)
        if (!is_tchar((unsigned char)s[i])) return fallback;
    snprintf(buf, len, "\"%s\"", s);
    return buf;
}

/*
 * The request line and header lines, read back from CivetWeb's parsed
 * buffer.  After parsing, a well-formed
 *     GET /p?q HTTP/1.1\r\nName: value\r\n\r\n
 * reads "GET\0/p\0q\0HTTP/1.1\0\0Name\0value\0\0\r\0": each field
 * starts a fixed distance after the end of the one before.  CivetWeb
 * accepts variants that move them: two spaces in the request line, a
 * space before a colon (an extra NUL), a bare LF (one NUL where CRLF
 * leaves two), a folded line (it stops reading headers there).
 *
 * Not visible here: whether the CRLF ending the request line was a CRLF
 * or two other whitespace bytes (they all become NUL), and a bare-LF end
 * of the whole block followed by a body that starts with "\r\0".
 */
static const char *header_block_problem(const struct mg_request_info *ri)
{
    static const char *const bare = "a line ends with a bare LF or CR; lines end with CRLF";
    static const char *const fold = "a header line starts with whitespace (obs-fold is not accepted)";
    const char *m = ri->request_method, *u = ri->request_uri, *v = ri->http_version;
    if (!m || !u || !v || ri->num_headers < 0) return NULL;
    const char *target_end = ri->query_string ? ri->query_string + strlen(ri->query_string) : u + strlen(u);
    if (u != m + strlen(m) + 1 || v - 5 != target_end + 1)
        return "the request line must be: method, one space, target, one space, HTTP version";
    const char *p = v + strlen(v); /* where the CR (or LF) was */
    int n = ri->num_headers;
    if (n == 0) return NULL; /* HTTP/1.0 without headers: nothing a proxy could read otherwise */
    const char *first = ri->http_headers[0].name;
    if (first == p + 1) return bare;
    if (first != p + 2) return fold;
    for (int i = 0; i < n; i++) {
        const char *name = ri->http_headers[i].name, *value = ri->http_headers[i].value;
        if (!name || !value) return NULL;
        /* between the colon and the value only spaces: a NUL there was a space before the colon */
        for (const char *q = name + strlen(name) + 1; q < value; q++)
            if (*q != ' ') return "whitespace between a header name and its colon";
        const char *end = value + strlen(value);
        if (i + 1 < n) {
            const char *next = ri->http_headers[i + 1].name;
            if (next == end + 2) continue;
            return next == end + 1 ? bare : "malformed header line";
        }
        if (end[1] != '\0') return bare;
        /* end[2] and end[3] lie past the block only when it ends in a bare LF; CivetWeb's
         * 16 KiB buffer then still holds them unless the block fills it to the last byte,
         * which a block this much shorter cannot (short of kilobytes of blank space before
         * the request line, which CivetWeb skips). */
        if (end + 4 - m > WP_FRAMING_CHECKED_BYTES) return "the request line and headers are larger than 12288 bytes";
        if (end[2] == '\r' && end[3] == '\0') return NULL;
        if (end[2] == ' ') return fold;
        if (n >= MG_MAX_HEADERS) return "more header lines than the 64 this server reads";
        return end[2] == '\0' ? bare : "malformed header line (a header without a colon?)";
    }
    return NULL;
}

const char *wp_framing_problem(const struct mg_request_info *ri, char *buf, size_t len, const char **param)
{
    int n_cl = 0, n_te = 0, n_host = 0;
    const char *cl = NULL;
    *param = NULL;
    const char *block = header_block_problem(ri);
    if (block) return block;
    for (int i = 0; i < ri->num_headers; i++) {
        const char *name = ri->http_headers[i].name;
        const char *value = ri->http_headers[i].value ? ri->http_headers[i].value : "";
        if (strcasecmp(name, "Content-Length") == 0) {
            *param = "Content-Length";
            if (n_cl++ && strcmp(cl, value) != 0) return "conflicting Content-Length headers";
            cl = value;
            if (!*value) return "empty Content-Length";
            size_t digits = 0;
            for (const char *p = value; *p; p++) {
                if (*p < '0' || *p > '9') return "Content-Length is not a number";
                if (digits || *p != '0') digits++;
            }
            /* CivetWeb would clamp it to the largest 64-bit number and go on */
            if (digits > 18) return "Content-Length is out of range (more than 18 digits)";
            *param = NULL;
        } else if (strcasecmp(name, "Transfer-Encoding") == 0) {
            n_te++;
            /* CivetWeb refuses codings other than chunked but reads "identity" as none at all */
            if (strcasecmp(value, "chunked") != 0) {
                *param = "Transfer-Encoding";
                char tok[48];
                snprintf(buf, len, "Transfer-Encoding %s is not supported: only chunked",
                         token_or(value, tok, sizeof tok, "with that value"));
                return buf;
            }
        } else if (strcasecmp(name, "Host") == 0) {
            n_host++;
        }
    }
    if (n_cl > 1) return "repeated Content-Length header";
    if (n_cl && n_te) return "both Content-Length and Transfer-Encoding";
    if (n_te > 1) return "repeated Transfer-Encoding header";
    if (ri->http_version && strcmp(ri->http_version, "1.1") == 0 && n_host != 1)
        return n_host ? "repeated Host header" : "HTTP/1.1 request without Host";
    return NULL;
}

/* The methods CivetWeb 1.15 parses; any other is refused while parsing. */
static int civetweb_knows(const char *m)
{
    static const char *const known[] = {"GET",      "POST",  "PUT",   "DELETE", "HEAD",      "OPTIONS", "CONNECT",
                                        "PATCH",    "PROPFIND", "MKCOL", "LOCK", "UNLOCK", "PROPPATCH", "REPORT", NULL};
    for (const char *const *k = known; *k; k++)
        if (strcmp(*k, m) == 0) return 1;
    return 0;
}

int wp_framing_reply(struct mg_connection *conn, int status, const char *civet_msg, const char *request_id,
                     int header_timeout_s)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const char *msg = "malformed request", *param = NULL, *te = ri ? mg_get_header(conn, "Transfer-Encoding") : NULL;
    char text[256], tok[48];
    civet_msg = civet_msg ? civet_msg : "";
    if (status == 413) {
        status = 431;
        msg = "the request line and headers are larger than 16384 bytes";
    } else if (status == 411) {
        status = 400;
        msg = "Content-Length is not a number";
        param = "Content-Length";
    } else if (status == 505) {
        msg = "HTTP version not supported: send HTTP/1.1 (or 1.0)";
    } else if (status == 400 && strcmp(civet_msg, "Malformed message") == 0) {
        /* CivetWeb says the same for a timeout, a block over its buffer and a bad byte */
        snprintf(text, sizeof text,
                 "the request line and headers did not arrive complete within %d s, are larger than 16384 bytes, "
                 "or hold a control character",
                 header_timeout_s);
        msg = text;
    } else if (status == 400 && strcmp(civet_msg, "Invalid URI") == 0) {
        msg = "malformed request target: expected a path starting with '/'";
    } else if (status == 400 && te && strcasecmp(te, "chunked") != 0 && strcasecmp(te, "identity") != 0) {
        snprintf(text, sizeof text, "Transfer-Encoding %s is not supported: only chunked",
                 token_or(te, tok, sizeof tok, "with that value"));
        msg = text;
        param = "Transfer-Encoding";
    } else if (status == 400 && ri && ri->num_headers < 0) {
        msg = "malformed header line: a header without a colon, or a CR not followed by LF";
    } else if (status == 400 && ri && ri->request_method && ri->http_version && !civetweb_knows(ri->request_method)) {
        snprintf(text, sizeof text, "unknown method %s", token_or(ri->request_method, tok, sizeof tok, "in the request line"));
        msg = text;
    } else if (status == 400) {
        msg = "malformed request line: expected method, target and HTTP version separated by single spaces";
    } else if (status >= 500) {
        msg = "the request could not be read";
    }
    json_object *e = json_object_new_object();
    json_object_object_add(e, "type", json_object_new_string(status >= 500 ? "api_error" : "invalid_request_error"));
    json_object_object_add(e, "code", json_object_new_string(status >= 500 && status != 505 ? "internal_error"
                                                                                            : "malformed_request"));
    json_object_object_add(e, "message", json_object_new_string(msg));
    json_object_object_add(e, "param", param ? json_object_new_string(param) : NULL);
    json_object_object_add(e, "request_id", json_object_new_string(request_id));
    json_object *root = json_object_new_object();
    json_object_object_add(root, "error", e);
    size_t blen;
    const char *body = json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN, &blen);
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    char out[2048];
    int hn = snprintf(out, sizeof out,
                      "HTTP/1.1 %d %s\r\nDate: %s\r\nRequest-Id: %s\r\nConnection: close\r\n"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                      status, wp_http_reason(status), date, request_id, blen);
    if (hn > 0 && (size_t)hn + blen <= sizeof out) {
        memcpy(out + hn, body, blen);
        mg_write(conn, out, (size_t)hn + blen);
    }
    json_object_put(root);
    return status;
}
