/* wpc_json.c - see wpc_json.h. */
#include "wpc_json.h"

json_object *wpc_json_get(const json_object *o, const char *k)
{
    json_object *v = NULL;
    if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, k, &v) ||
        json_object_is_type(v, json_type_null))
        return NULL;
    return v;
}

const char *wpc_json_str(const json_object *o, const char *k)
{
    json_object *v = wpc_json_get(o, k);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

const char *wpc_json_text(const json_object *o, const char *k)
{
    json_object *v = wpc_json_get(o, k);
    return v ? json_object_get_string(v) : NULL;
}

int64_t wpc_json_int64(const json_object *o, const char *k, int64_t dflt)
{
    json_object *v = wpc_json_get(o, k);
    return v ? json_object_get_int64(v) : dflt;
}

json_object *wpc_pass_field(const json_object *pass, const char *name)
{
    json_object *v = wpc_json_get(pass, name);
    if (v) return v;
    json_object *body = wpc_json_get(pass, "body");
    return body && json_object_is_type(body, json_type_object) ? wpc_json_get(body, name) : NULL;
}

const char *wpc_pass_str(const json_object *pass, const char *name)
{
    json_object *v = wpc_pass_field(pass, name);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}
