/*
 * host_api.c - the host table's api_call (ABI 1.8): a plugin calls a route of
 * the gateway's API in process, as the request it is serving (inproc.h does
 * the call; this file is the plugin's side of it: JSON in, JSON out).
 */
#include "plugin_host.h"

#include <strings.h>

#include "inproc.h"

/* "Name: value\r\n"... as {"Name": "value"}; a repeated name keeps its last value. */
static json_object *headers_object(const char *h)
{
    json_object *o = json_object_new_object();
    while (o && *h) {
        const char *eol = strstr(h, "\r\n");
        size_t n = eol ? (size_t)(eol - h) : strlen(h);
        const char *colon = memchr(h, ':', n);
        if (colon) {
            const char *v = colon + 1;
            while (v < h + n && *v == ' ') v++;
            char name[128];
            size_t nl = (size_t)(colon - h);
            if (nl > 0 && nl < sizeof name) {
                memcpy(name, h, nl);
                name[nl] = '\0';
                json_object_object_add(o, name, json_object_new_string_len(v, (int)(h + n - v)));
            }
        }
        h += n + (eol ? 2 : 0);
    }
    return o;
}

wp_status wp_host_api_call(wp_plugin *p, wp_req *req, const char *method, const char *path, const json_object *body,
                           int *status, json_object **out, json_object **headers)
{
    if (out) *out = NULL;
    if (headers) *headers = NULL;
    if (status) *status = 0;
    if (!p || !status) return wp_plugin_failf(WP_EINVAL, "api_call: self and status are required");
    if (body && !json_object_is_type((json_object *)body, json_type_object) &&
        !json_object_is_type((json_object *)body, json_type_array))
        return wp_plugin_failf(WP_EINVAL, "api_call: body must be a JSON object or array, or NULL");
    size_t blen = 0;
    const char *text = NULL;
    if (body)
        text = json_object_to_json_string_length((json_object *)body,
                                                 JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &blen);
    wp_err e;
    wp_err_clear(&e);
    wp_inproc_result res;
    wp_status st = wp_inproc_call(p->set->env.router, req, method, path, text, blen, &res, &e);
    if (st != WP_OK) return wp_plugin_fail(st, &e);
    *status = res.status;
    if (out && res.body_len && strncasecmp(res.content_type, "application/json", 16) == 0) {
        json_tokener *tok = json_tokener_new();
        if (tok) {
            *out = json_tokener_parse_ex(tok, res.body, (int)res.body_len);
            if (json_tokener_get_error(tok) != json_tokener_success) {
                json_object_put(*out);
                *out = NULL;
            }
            json_tokener_free(tok);
        }
    }
    if (headers) {
        *headers = headers_object(res.headers);
        if (*headers && res.content_type[0])
            json_object_object_add(*headers, "Content-Type", json_object_new_string(res.content_type));
    }
    wp_inproc_result_free(&res);
    return wp_plugin_ok();
}
