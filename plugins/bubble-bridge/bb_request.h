/*
 * bb_request.h - what the routes share: a Bubble call's input and its
 * refusals, and the calls of the core's API made as the request
 * (host->api_call).
 *
 * Ownership: objects returned through pointers are transferred
 * (json_object_put them); bb_pass_on takes out and headers.
 */
#ifndef BB_REQUEST_H
#define BB_REQUEST_H

#include "bb.h"
#include "bb_input.h"

/*
 * The call's flat input: JSON (application/json) or form fields
 * (application/x-www-form-urlencoded); an empty body is no field.  NULL when
 * refused: the 4xx (413, 415, 400 naming the field) has been sent.
 */
json_object *bb_read_input(wp_req *req);

/* Sends the refusal e describes in the API's error shape. */
void bb_send_verr(wp_req *req, const bb_verr *e);

/* Appends s percent-encoded (all but RFC 3986's unreserved characters), or s as it is, to out at *used;
 * -1 when it does not fit. */
int bb_path_pct(char *out, size_t cap, size_t *used, const char *s);
int bb_path_lit(char *out, size_t cap, size_t *used, const char *s);
/* "/api/v1/<what>/<id percent-encoded><tail>" into out; -1 when it does not fit. */
int bb_object_path(char *out, size_t cap, const char *what, const char *id, const char *tail);

/*
 * One call of the core's API as this request (host->api_call).  0: the
 * route answered (*status, *out its JSON body or NULL, *headers).  -1: the
 * call could not be made; the 500/503 has been sent.
 */
int bb_call(wp_req *req, const char *method, const char *path, const json_object *body, int *status,
            json_object **out, json_object **headers);

/*
 * Sends the core's refusal on: its status, its error body and Retry-After,
 * with a param naming what the Bubble call sent (primary_fields[0].value ->
 * field_<key> by sent, the body the core got, or NULL; images.logo ->
 * image_logo).  Takes out and headers.
 */
void bb_pass_on(wp_req *req, int status, json_object *out, json_object *headers, const json_object *sent);

/* Reads template id as this request: 0 with *tpl (transferred); -1 when the answer was sent (404 names
 * param). */
int bb_load_template(wp_req *req, const char *id, const char *param, json_object **tpl);

#endif
