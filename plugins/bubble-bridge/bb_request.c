/* bb_request.c - a Bubble call's input and its refusals (see bb_request.h). */
#include "bb_request.h"

#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <strings.h>

static const char *const field_groups[] = {"header_fields", "primary_fields", "secondary_fields", "auxiliary_fields",
                                           "back_fields", NULL};

static json_object *member(const json_object *o, const char *k)
{
    json_object *v = NULL;
    if (!o || !json_object_is_type((json_object *)o, json_type_object)) return NULL;
    return json_object_object_get_ex((json_object *)o, k, &v) ? v : NULL;
}

static const char *str_of(const json_object *o, const char *k)
{
    json_object *v = member(o, k);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* ---- paths and calls of the core's API ------------------------------------------------------------ */

/* Appends s percent-encoded (everything but RFC 3986's unreserved characters) to out; -1 when it does not fit. */
int bb_path_pct(char *out, size_t cap, size_t *used, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        int plain = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' ||
                    *c == '_' || *c == '.' || *c == '~';
        if (*used + (plain ? 1 : 3) >= cap) return -1;
        if (plain) {
            out[(*used)++] = (char)*c;
        } else {
            out[(*used)++] = '%';
            out[(*used)++] = hex[*c >> 4];
            out[(*used)++] = hex[*c & 15];
        }
    }
    out[*used] = '\0';
    return 0;
}

int bb_path_lit(char *out, size_t cap, size_t *used, const char *s)
{
    size_t n = strlen(s);
    if (*used + n >= cap) return -1;
    memcpy(out + *used, s, n + 1);
    *used += n;
    return 0;
}

/* "/api/v1/<what>/<id percent-encoded><tail>" into out; -1 when it does not fit (an id that long is none). */
int bb_object_path(char *out, size_t cap, const char *what, const char *id, const char *tail)
{
    size_t u = 0;
    return bb_path_lit(out, cap, &u, "/api/v1/") || bb_path_lit(out, cap, &u, what) || bb_path_lit(out, cap, &u, "/") ||
                   bb_path_pct(out, cap, &u, id) || bb_path_lit(out, cap, &u, tail)
               ? -1
               : 0;
}

/*
 * One call of the core's API as this request.  0: the route answered
 * (*status, *out: its JSON body or NULL, *headers).  -1: the call could not
 * be made; the 500/503 has been sent.
 */
int bb_call(wp_req *req, const char *method, const char *path, const json_object *body, int *status,
                json_object **out, json_object **headers)
{
    wp_status st = bb_host->api_call(bb_self, req, method, path, body, status, out, headers);
    if (st == WP_OK) return 0;
    bb_host->log(bb_self, WP_LOG_WARN, "%s: api_call %s %s: %s", bb_host->req_id(req), method, path,
                 bb_host->last_error());
    if (st == WP_EUNAVAIL) {
        bb_host->resp_header(req, "Retry-After", "1");
        bb_host->resp_error(req, 503, "service_unavailable", NULL, "the database is unavailable; try again");
    } else {
        bb_host->resp_error(req, 500, "internal_error", NULL, "the call could not be made; quote the request id");
    }
    return -1;
}

/*
 * The core's refusal, passed on: its status and error body, its Retry-After,
 * and a param that names what the Bubble call sent: a field of a group
 * (primary_fields[0].value) becomes field_<key>, an image (images.logo)
 * image_<name>.  sent: the body the core got (NULL: none).
 */
void bb_pass_on(wp_req *req, int status, json_object *out, json_object *headers, const json_object *sent)
{
    const char *ra = str_of(headers, "Retry-After");
    if (ra) bb_host->resp_header(req, "Retry-After", ra);
    json_object *err = member(out, "error");
    const char *param = str_of(err, "param");
    if (param) {
        char renamed[160] = "";
        for (const char *const *g = field_groups; *g && sent; g++) {
            size_t gl = strlen(*g);
            if (strncmp(param, *g, gl) != 0 || param[gl] != '[') continue;
            long i = strtol(param + gl + 1, NULL, 10);
            json_object *arr = member(sent, *g);
            json_object *f = arr && json_object_is_type(arr, json_type_array) && i >= 0 &&
                                     (size_t)i < json_object_array_length(arr)
                                 ? json_object_array_get_idx(arr, (size_t)i)
                                 : NULL;
            const char *k = str_of(f, "key");
            if (k) snprintf(renamed, sizeof renamed, "field_%.64s", k);
        }
        if (strncmp(param, "images.", 7) == 0) snprintf(renamed, sizeof renamed, "image_%.64s", param + 7);
        if (renamed[0]) json_object_object_add(err, "param", json_object_new_string(renamed));
    }
    if (out) {
        bb_host->resp_json(req, status, out);
    } else {
        bb_host->resp_error(req, status >= 400 ? status : 502, "internal_error", NULL,
                            "the gateway answered %d without a JSON body", status);
    }
    json_object_put(out);
    json_object_put(headers);
}

/* Reads a template as this request: 0 with *tpl; -1 when the answer was sent (404 names param). */
int bb_load_template(wp_req *req, const char *id, const char *param, json_object **tpl)
{
    char path[512];
    int status = 0;
    json_object *out = NULL, *headers = NULL;
    *tpl = NULL;
    if (bb_object_path(path, sizeof path, "templates", id, "") != 0) {
        bb_host->resp_error(req, 404, "resource_missing", param, "no template %.64s", id);
        return -1;
    }
    if (bb_call(req, "GET", path, NULL, &status, &out, &headers) != 0) return -1;
    if (status == 200 && out) {
        json_object_put(headers);
        *tpl = out;
        return 0;
    }
    if (status == 404) {
        json_object_put(out);
        json_object_put(headers);
        bb_host->resp_error(req, 404, "resource_missing", param, "no template %.64s in this account", id);
        return -1;
    }
    bb_pass_on(req, status, out, headers, NULL);
    return -1;
}

/* ---- the input ---------------------------------------------------------------------------------- */

void bb_send_verr(wp_req *req, const bb_verr *e)
{
    bb_host->resp_error(req, e->status ? e->status : 400, e->code ? e->code : "parameter_invalid",
                        e->param[0] ? e->param : NULL, "%s", e->msg);
}

/* The media type of Content-Type, lower-cased, without parameters; charset checked: 0, or -1 (415 sent). */
static int media_type(wp_req *req, char out[96])
{
    const char *ct = bb_host->req_header(req, "Content-Type");
    out[0] = '\0';
    if (!ct) return 0;
    size_t n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t')) n--;
    if (n >= 96) n = 95;
    for (size_t i = 0; i < n; i++) out[i] = (char)(ct[i] >= 'A' && ct[i] <= 'Z' ? ct[i] + 32 : ct[i]);
    out[n] = '\0';
    const char *cs = NULL;
    for (const char *p = ct; *p && !cs; p++)
        if (strncasecmp(p, "charset=", 8) == 0) cs = p;
    if (cs) {
        cs += 8;
        if (*cs == '"') cs++;
        if (strncasecmp(cs, "utf-8", 5) != 0 || (cs[5] && cs[5] != '"' && cs[5] != ';' && cs[5] != ' ')) {
            bb_host->resp_error(req, 415, "unsupported_media_type", "Content-Type",
                                "only UTF-8 is accepted: send charset=utf-8 or no charset");
            return -1;
        }
    }
    return 0;
}

json_object *bb_read_input(wp_req *req)
{
    const char *data = NULL;
    size_t len = 0;
    wp_status st = bb_host->req_body(req, &data, &len);
    if (st != WP_OK) {
        int status = st == WP_ETOOLARGE ? 413 : st == WP_EMEDIATYPE ? 415 : 400;
        bb_host->resp_error(req, status, status == 413 ? "body_too_large" : status == 415 ? "unsupported_media_type"
                                                                                          : "parameter_invalid",
                            status == 415 ? "Content-Encoding" : "body", "%s", bb_host->last_error());
        return NULL;
    }
    if (len == 0) return json_object_new_object(); /* an action without fields (void, a blank form) */
    char mt[96];
    if (media_type(req, mt) != 0) return NULL;
    json_object *in = NULL;
    bb_verr e = {0};
    if (strcmp(mt, "application/json") == 0) {
        wp_err *err = bb_host->err_new(req);
        if (bb_host->req_json(req, &in, err) != WP_OK) {
            bb_host->resp_from_err(req, err);
            return NULL;
        }
        if (bb_input_flat(in, &e) != 0) {
            json_object_put(in);
            bb_send_verr(req, &e);
            return NULL;
        }
        return in;
    }
    if (strcmp(mt, "application/x-www-form-urlencoded") == 0) {
        if (bb_form_parse(data, len, &in, &e) != 0) {
            bb_send_verr(req, &e);
            return NULL;
        }
        return in;
    }
    if (strcmp(mt, "multipart/form-data") == 0) {
        char boundary[72];
        if (bb_multipart_boundary(bb_host->req_header(req, "Content-Type"), boundary) != 0) {
            bb_host->resp_error(req, 400, "parameter_invalid", "Content-Type",
                                "multipart/form-data needs a boundary parameter of 1 to 70 characters");
            return NULL;
        }
        if (bb_multipart_parse(data, len, boundary, &in, &e) != 0) {
            bb_send_verr(req, &e);
            return NULL;
        }
        return in;
    }
    bb_host->resp_error(req, 415, "unsupported_media_type", "Content-Type",
                        "send the fields as JSON (Content-Type: application/json) or as a form "
                        "(application/x-www-form-urlencoded or multipart/form-data)");
    return NULL;
}

