/*
 * err.h - error values carried through the core.
 *
 * A function that can fail returns wp_status and, when given a wp_err,
 * fills it with a message a user can act on.  `param` names the request
 * field at fault (docs/api.md notation, "primary_fields[2].key") when there is one.
 * wp_err is caller-owned, usually on the stack; nothing in it is allocated.
 */
#ifndef WP_ERR_H
#define WP_ERR_H

#include <walletpass/plugin.h>

typedef struct wp_err {
    wp_status status;
    char msg[400];
    char param[160];
    const char *code;   /* static machine-readable code for the API error ("invalid_json"), or NULL */
} wp_err;

/* The fixed meaning of a status code.  Never NULL. */
const char *wp_status_str(wp_status s);

/* Fills err (when non-NULL) and returns s, so `return wp_err_set(...)` reads well. */
wp_status wp_err_set(wp_err *err, wp_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Same, naming the request field at fault. */
wp_status wp_err_param(wp_err *err, wp_status s, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

void wp_err_clear(wp_err *err);

/* Sets the API error code (a static string) and returns err->status. */
wp_status wp_err_code(wp_err *err, const char *code);

/* The HTTP status the API answers for s (400, 401, 404, 409, 413, 415, 429, 503,
 * else 500): a service that records an API error without a request (a batch
 * item's) answers as the handlers do. */
int wp_err_http_status(wp_status s);

#endif
