/* wh_validate.c - webhook endpoint body checks (see wh_validate.h). */
#include "wh_validate.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *const wh_valid_types[] = {"pass.created",   "pass.updated",    "pass.voided", "pass.installed",
                                      "pass.removed",   "batch.completed", "account.created", "account.deleted",
                                      "*",              NULL};

/* Length of the UTF-8 sequence at s (n bytes left), 0 when it is not one. */
static size_t seq_len(const unsigned char *s, size_t n)
{
    size_t len = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || len > n) return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    return len;
}

/* Copies at most max bytes of s into out (cap bytes), never cutting a character in two;
 * "…" marks a cut, so a quoted name is never silently shortened. */
static void quote_cut(char *out, size_t cap, const char *s, size_t max)
{
    size_t n = strlen(s), used = 0, o = 0;
    if (max + 4 > cap) max = cap - 4;
    while (used < n) {
        size_t l = seq_len((const unsigned char *)s + used, n - used);
        if (l == 0) l = 1; /* not UTF-8: the host's error answer scrubs it */
        if (used + l > max) break;
        memcpy(out + o, s + used, l);
        o += l;
        used += l;
    }
    if (used < n) {
        memcpy(out + o, "\xE2\x80\xA6", 3);
        o += 3;
    }
    out[o] = '\0';
}

static int refuse(wh_verr *e, const char *code, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int refuse(wh_verr *e, const char *code, const char *param, const char *fmt, ...)
{
    e->code = code;
    quote_cut(e->param, sizeof e->param, param, sizeof e->param - 4);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static int check_types(json_object *v, wh_verr *e)
{
    size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
    if (n == 0 || n > WH_TYPES_MAX)
        return refuse(e, "parameter_invalid", "event_types",
                      "event_types must be a non-empty array of at most %d event types (or [\"*\"])", WH_TYPES_MAX);
    for (size_t i = 0; i < n; i++) {
        json_object *t = json_object_array_get_idx(v, i);
        int ok = 0;
        if (json_object_is_type(t, json_type_string))
            for (int k = 0; wh_valid_types[k]; k++) ok |= strcmp(wh_valid_types[k], json_object_get_string(t)) == 0;
        char param[48];
        snprintf(param, sizeof param, "event_types[%zu]", i);
        if (!ok)
            return refuse(e, "parameter_invalid", param,
                          "%s must be one of pass.created, pass.updated, pass.voided, pass.installed, "
                          "pass.removed, batch.completed, account.created, account.deleted or \"*\"",
                          param);
        for (size_t j = 0; j < i; j++)
            if (strcmp(json_object_get_string(json_object_array_get_idx(v, j)), json_object_get_string(t)) == 0)
                return refuse(e, "parameter_invalid", param, "%s repeats an event type", param);
    }
    return 0;
}

static int check_url(json_object *v, int allow_http, wh_verr *e)
{
    if (!json_object_is_type(v, json_type_string)) return refuse(e, "parameter_invalid", "url", "url must be a string");
    const char *url = json_object_get_string(v);
    if ((size_t)json_object_get_string_len(v) != strlen(url))
        return refuse(e, "parameter_invalid", "url", "url must not contain a NUL character");
    if (strlen(url) > WH_URL_MAX)
        return refuse(e, "parameter_invalid", "url", "url is longer than %d characters", WH_URL_MAX);
    int https = strncmp(url, "https://", 8) == 0, http = strncmp(url, "http://", 7) == 0;
    if (!https && !(http && allow_http))
        return refuse(e, "parameter_invalid", "url", "url must be an https:// URL%s",
                      http ? " (http:// is allowed only when the webhooks plugin is configured with allow_http)" : "");
    return 0;
}

int wh_validate_body(json_object *body, int create, int allow_http, wh_fields *f, wh_verr *e)
{
    memset(f, 0, sizeof *f);
    memset(e, 0, sizeof *e);
    if (!json_object_is_type(body, json_type_object))
        return refuse(e, "parameter_invalid", "body", "the body must be a JSON object");
    json_object_object_foreach(body, k, v) {
        if (strcmp(k, "url") == 0) f->url = v;
        else if (strcmp(k, "event_types") == 0) f->types = v;
        else if (strcmp(k, "description") == 0) f->description = v;
        else if (strcmp(k, "enabled") == 0) f->enabled = v;
        else if (!*k) {
            /* no name to put in param: the body is at fault */
            return refuse(e, "parameter_unknown", "body", "the body has a field with an empty name; an endpoint takes "
                          "url, event_types, description and enabled");
        } else {
            char name[80];
            quote_cut(name, sizeof name, k, 64);
            return refuse(e, "parameter_unknown", k, "unknown field %s", name);
        }
    }
    if (create && !f->url) return refuse(e, "parameter_invalid", "url", "url is required");
    if (create && !f->types) return refuse(e, "parameter_invalid", "event_types", "event_types is required");
    if (f->description && (!json_object_is_type(f->description, json_type_string) ||
                           json_object_get_string_len(f->description) > WH_DESCRIPTION_MAX))
        return refuse(e, "parameter_invalid", "description", "description must be a string of at most %d bytes",
                      WH_DESCRIPTION_MAX);
    if (f->enabled && !json_object_is_type(f->enabled, json_type_boolean))
        return refuse(e, "parameter_invalid", "enabled", "enabled must be true or false");
    if (f->types && check_types(f->types, e) != 0) return -1;
    if (f->url && check_url(f->url, allow_http, e) != 0) return -1;
    return 0;
}
