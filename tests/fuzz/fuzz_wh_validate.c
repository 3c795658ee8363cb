/*
 * fuzz_wh_validate: the webhook endpoint body checks of the webhooks plugin
 * (plugins/webhooks/wh_validate.c), which POST and PUT /api/v1/webhooks run
 * before the URL's target check.  The first byte picks create or update and
 * the plugin's allow_http; the rest is the request body, parsed strictly as
 * the server does.
 *
 * Properties: an accepted body holds only the four fields, each of the
 * documented type and size (a create has url and event_types); a refusal
 * has its code, names a field of the body (or "body") and says why, in
 * UTF-8; a body an update accepts is refused by a create only for a
 * missing required field.
 */
#include <stdio.h>

#include "fuzz.h"
#include "utf8.h"
#include "wh_validate.h"

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "%s: %s\n", what, detail);
    abort();
}

static void check_accepted(json_object *body, int create, int allow_http, const wh_fields *f)
{
    json_object_object_foreach(body, k, v) {
        (void)v;
        if (strcmp(k, "url") && strcmp(k, "event_types") && strcmp(k, "description") && strcmp(k, "enabled"))
            fail("accepted an unknown field", k);
    }
    if (create && (!f->url || !f->types)) fail("a create accepted without url or event_types", "");
    if (f->url) {
        const char *u = json_object_get_string(f->url);
        if (!json_object_is_type(f->url, json_type_string) || strlen(u) > WH_URL_MAX) fail("url accepted", u);
        if (strncmp(u, "https://", 8) != 0 && !(allow_http && strncmp(u, "http://", 7) == 0)) fail("scheme accepted", u);
    }
    if (f->types) {
        size_t n = json_object_array_length(f->types);
        if (!json_object_is_type(f->types, json_type_array) || n < 1 || n > WH_TYPES_MAX) fail("event_types accepted", "");
        for (size_t i = 0; i < n; i++) {
            json_object *t = json_object_array_get_idx(f->types, i);
            int ok = 0;
            for (int j = 0; json_object_is_type(t, json_type_string) && wh_valid_types[j]; j++)
                ok |= strcmp(json_object_get_string(t), wh_valid_types[j]) == 0;
            if (!ok) fail("an unknown event type accepted", json_object_get_string(t));
            for (size_t j = 0; j < i; j++)
                if (strcmp(json_object_get_string(json_object_array_get_idx(f->types, j)), json_object_get_string(t)) == 0)
                    fail("a repeated event type accepted", json_object_get_string(t));
        }
    }
    if (f->description && (!json_object_is_type(f->description, json_type_string) ||
                           json_object_get_string_len(f->description) > WH_DESCRIPTION_MAX))
        fail("description accepted", "");
    if (f->enabled && !json_object_is_type(f->enabled, json_type_boolean)) fail("enabled accepted", "");
}

static void check_refused(json_object *body, const wh_verr *e)
{
    if (!e->code || (strcmp(e->code, "parameter_invalid") && strcmp(e->code, "parameter_unknown")))
        fail("refused with an unexpected code", e->code ? e->code : "(null)");
    if (!e->param[0] || !e->msg[0]) fail("refused without naming the field or saying why", e->msg);
    if (!wp_utf8_valid(e->msg, strlen(e->msg)) || !wp_utf8_valid(e->param, strlen(e->param)))
        fail("the refusal is not UTF-8", e->msg);
    /* the param is the field at fault: a known one, one of event_types' items, or a key of the body */
    static const char *const known[] = {"body", "url", "event_types", "description", "enabled", NULL};
    int named = strncmp(e->param, "event_types[", 12) == 0;
    for (int i = 0; known[i]; i++) named |= strcmp(e->param, known[i]) == 0;
    if (!named && json_object_is_type(body, json_type_object)) {
        size_t pl = strlen(e->param);
        int cut = pl >= 3 && strcmp(e->param + pl - 3, "\xE2\x80\xA6") == 0;
        json_object_object_foreach(body, k, v) {
            (void)v;
            named |= cut ? strncmp(k, e->param, pl - 3) == 0 : strcmp(k, e->param) == 0;
        }
    }
    if (!named) fail("the refusal names no field of the body", e->param);
    if (strcmp(e->code, "parameter_unknown") == 0 && !strstr(e->msg, "unknown field") && !strstr(e->msg, "empty name"))
        fail("an unknown field refused without saying so", e->msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int create = data[0] & 1, allow_http = (data[0] >> 1) & 1;
    json_object *body = fz_parse(data + 1, size - 1);
    if (!body) return 0;
    wh_fields f;
    wh_verr e;
    int rc = wh_validate_body(body, create, allow_http, &f, &e);
    if (rc == 0) {
        check_accepted(body, create, allow_http, &f);
    } else {
        if (rc != -1) fail("an unexpected return value", "");
        check_refused(body, &e);
    }
    /* An update's acceptance: a create differs only by requiring url and event_types. */
    wh_fields f2;
    wh_verr e2;
    int upd = wh_validate_body(body, 0, allow_http, &f2, &e2);
    if (upd == 0 && create && rc != 0 && !strstr(e.msg, "is required"))
        fail("a create refused what an update accepts, for another reason than a missing field", e.msg);
    if (upd != 0 && rc == 0) fail("a create accepted what an update refuses", e2.msg);
    json_object_put(body);
    return 0;
}
