/*
 * bb_input.h - what a Bubble call sends, read the same way whether it came
 * as flat JSON or as form fields (application/x-www-form-urlencoded, or
 * multipart/form-data).
 *
 * The input is one flat object: every member a string, a number, a boolean
 * or null (form fields are strings).  An empty string counts as not given
 * (a Bubble parameter left blank sends ""); JSON null asks to clear a field.
 * Errors name the field (param) in the API's error shape.
 *
 * Pure functions (no host, no request): unit_bubble_bridge_flat checks them.
 * Ownership: inputs borrowed; *out objects are new (transferred).
 */
#ifndef BB_INPUT_H
#define BB_INPUT_H

#include <stddef.h>

#include <json-c/json.h>

#define BB_FORM_MAX_FIELDS 200
#define BB_KEY_MAX 128

typedef struct bb_verr {
    int status;          /* 400 */
    const char *code;    /* "parameter_invalid", "parameter_unknown", "parameter_missing" */
    char param[BB_KEY_MAX + 16];
    char msg[512];
} bb_verr;

/* Fills e (status 400) and returns -1. */
int bb_refuse(bb_verr *e, const char *code, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Parses an application/x-www-form-urlencoded body into an object of
 * strings ('+' is a space, %XX a byte).  Refused, naming the field: a bad
 * escape, a name or value that is not UTF-8 or holds a NUL, a name over
 * BB_KEY_MAX bytes or empty, a name given twice, more than
 * BB_FORM_MAX_FIELDS fields.
 */
int bb_form_parse(const char *data, size_t len, json_object **out, bb_verr *e);

/*
 * The same from a multipart/form-data body (what some HTTP clients send for
 * "form-data"): text parts only, with the same rules; a file part is
 * refused naming it.  boundary: the Content-Type's boundary parameter.
 */
int bb_multipart_parse(const char *data, size_t len, const char *boundary, json_object **out, bb_verr *e);
/* The boundary parameter of a multipart Content-Type (quotes removed) into out; -1 when absent or invalid
 * (RFC 2046: 1..70 characters). */
int bb_multipart_boundary(const char *content_type, char out[72]);

/* Every member of in is a string, a number, a boolean or null; else -1 naming the first that is not. */
int bb_input_flat(const json_object *in, bb_verr *e);

/* Results of the readers below. */
enum { BB_IN_ABSENT = 0, BB_IN_SET = 1, BB_IN_NULL = 2 };

/* Text of member k (a number in JSON counts as its text): BB_IN_SET with *out, BB_IN_ABSENT for
 * absent or "", BB_IN_NULL for null; -1 for a boolean (e filled). */
int bb_in_text(const json_object *in, const char *k, const char **out, bb_verr *e);
/* true/false, or the text "true", "false", "yes", "no", "1", "0" (any case). */
int bb_in_bool(const json_object *in, const char *k, int *out, bb_verr *e);
/* A JSON number or its text. */
int bb_in_number(const json_object *in, const char *k, double *out, bb_verr *e);
/* A date: ISO 8601 text (passed on as is: the core checks it), or Unix seconds or milliseconds (a
 * number or digits; 12 digits and more are milliseconds) as ISO 8601 UTC.  out: 64 bytes. */
int bb_in_date(const json_object *in, const char *k, char out[64], bb_verr *e);

/*
 * A Bubble backend-workflow URL:
 * https://<app>.bubbleapps.io[/version-<name>]/api/1.1/wf/<workflow> or the
 * same on a custom domain; http:// only with allow_http.  No user info, no
 * query, no fragment; not the ".../initialize" address Bubble shows while it
 * detects data.  param names the field in errors.
 */
int bb_url_check_shape(const char *url, int allow_http, const char *param, bb_verr *e);

/* An image URL as Bubble stores it ("//s3.amazonaws.com/..."): given https:, copied into out (cap bytes).
 * -1 when it does not fit. */
int bb_image_url(const char *in, char *out, size_t cap);

#endif
