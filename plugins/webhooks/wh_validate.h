/*
 * wh_validate.h - the checks of a webhook endpoint body (POST and PUT
 * /api/v1/webhooks), as a pure function: no request, no host, no network,
 * so tests/fuzz/fuzz_wh_validate.c can call it on any input.
 *
 * It checks the shape: known fields only, url and event_types present on a
 * create, their types, lengths and values, the URL's scheme.  What needs the
 * host (the URL's address against the private-target rules, host->url_check)
 * is the caller's next step (wh_routes.c).
 *
 * Ownership: the fields point into `body` (borrowed, valid as long as it is);
 * the error's message and param live in the wh_verr.
 */
#ifndef WH_VALIDATE_H
#define WH_VALIDATE_H

#include <json-c/json.h>

#define WH_URL_MAX 2048
#define WH_DESCRIPTION_MAX 500
#define WH_TYPES_MAX 16

/* The recognised fields of a body; NULL when absent. */
typedef struct wh_fields {
    json_object *url, *types, *description, *enabled;
} wh_fields;

/* Why a body was refused: the API error's code and param, and a message naming the field. */
typedef struct wh_verr {
    const char *code;   /* "parameter_invalid" or "parameter_unknown" (static) */
    char param[256];    /* the field at fault ("url", "event_types[2]", an unknown key) */
    char msg[512];
} wh_verr;

/*
 * Validates a create (create = 1: url and event_types required) or update
 * body.  allow_http: the plugin's allow_http (http:// URLs accepted).
 * 0 when valid (f filled); -1 with e filled on the first fault, checked in the
 * order the API documents: unknown fields, required fields, description,
 * enabled, event_types, url.
 */
int wh_validate_body(json_object *body, int create, int allow_http, wh_fields *f, wh_verr *e);

/* The event types an endpoint may subscribe to ("*" last), NULL-terminated. */
extern const char *const wh_valid_types[];

#endif
