/* bb_input.c - reading a Bubble call's fields (see bb_input.h). */
#include "bb_input.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bb_flat.h"

int bb_refuse(bb_verr *e, const char *code, const char *param, const char *fmt, ...)
{
    e->status = 400;
    e->code = code;
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

/* Length of the UTF-8 sequence at s (n bytes left), 0 when it is not one (overlongs and surrogates too). */
static size_t seq_len(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80) return 1;
    size_t len = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || len > n) return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    if (len == 2 && s[0] < 0xC2) return 0;
    if (len == 3 && ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0))) return 0;
    if (len == 4 && ((s[0] == 0xF0 && s[1] < 0x90) || s[0] > 0xF4 || (s[0] == 0xF4 && s[1] >= 0x90))) return 0;
    return len;
}

static int utf8_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t l = seq_len((const unsigned char *)s + i, n - i);
        if (l == 0) return 0;
        i += l;
    }
    return 1;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decodes s[0..n) into out (n + 1 bytes); -1 for a bad escape. */
static long form_decode(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%') {
            if (i + 2 >= n) return -1;
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0) return -1;
            out[o++] = (char)(h * 16 + l);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return (long)o;
}

/* Adds one field, with the form's rules (UTF-8 without NUL, a name of 1..BB_KEY_MAX bytes, no name twice,
 * at most BB_FORM_MAX_FIELDS fields). */
static int add_field(json_object *o, const char *name, size_t nl, const char *val, size_t vl, bb_verr *e)
{
    char key[BB_KEY_MAX + 1];
    if (nl == 0 || nl > BB_KEY_MAX || !utf8_ok(name, nl) || memchr(name, '\0', nl))
        return bb_refuse(e, "parameter_invalid", "body", "the form has a field name that is %s",
                         nl == 0 ? "empty" : nl > BB_KEY_MAX ? "longer than 128 bytes" : "not UTF-8 text");
    memcpy(key, name, nl);
    key[nl] = '\0';
    if (json_object_object_length(o) >= BB_FORM_MAX_FIELDS)
        return bb_refuse(e, "parameter_invalid", "body", "the form has more than %d fields", BB_FORM_MAX_FIELDS);
    if (json_object_object_get_ex(o, key, NULL))
        return bb_refuse(e, "parameter_invalid", key, "%s is given more than once", key);
    if (!utf8_ok(val, vl) || memchr(val, '\0', vl))
        return bb_refuse(e, "parameter_invalid", key, "%s is not UTF-8 text (or holds a NUL)", key);
    json_object_object_add(o, key, json_object_new_string_len(val, (int)vl));
    return 0;
}

int bb_form_parse(const char *data, size_t len, json_object **out, bb_verr *e)
{
    *out = NULL;
    json_object *o = json_object_new_object();
    char *kbuf = malloc(len + 1), *vbuf = malloc(len + 1);
    int rc = 0;
    if (!o || !kbuf || !vbuf) {
        rc = bb_refuse(e, "parameter_invalid", "body", "out of memory reading the form");
        goto done;
    }
    for (size_t i = 0; i < len && rc == 0;) {
        size_t end = i;
        while (end < len && data[end] != '&') end++;
        if (end > i) {
            size_t eq = i;
            while (eq < end && data[eq] != '=') eq++;
            long kn = form_decode(data + i, eq - i, kbuf);
            long vn = eq < end ? form_decode(data + eq + 1, end - eq - 1, vbuf) : 0;
            if (eq >= end) vbuf[0] = '\0';
            if (kn < 0) {
                rc = bb_refuse(e, "parameter_invalid", "body", "the form has a field name that is not valid percent-encoding");
            } else if (vn < 0) {
                char key[BB_KEY_MAX + 1];
                int ok = kn > 0 && kn <= BB_KEY_MAX && utf8_ok(kbuf, (size_t)kn) && !memchr(kbuf, '\0', (size_t)kn);
                snprintf(key, sizeof key, "%s", ok ? kbuf : "body");
                rc = bb_refuse(e, "parameter_invalid", key, "%s is not valid percent-encoding", key);
            } else {
                rc = add_field(o, kbuf, (size_t)kn, vbuf, (size_t)vn, e);
            }
        }
        i = end + 1;
    }
done:
    free(kbuf);
    free(vbuf);
    if (rc != 0) {
        json_object_put(o);
        return -1;
    }
    *out = o;
    return 0;
}

int bb_multipart_boundary(const char *ct, char out[72])
{
    const char *b = NULL;
    for (const char *p = ct; p && *p && !b; p++)
        if ((p == ct || p[-1] == ';' || p[-1] == ' ' || p[-1] == '\t') && strncasecmp(p, "boundary=", 9) == 0) b = p + 9;
    if (!b) return -1;
    size_t n;
    if (*b == '"') {
        b++;
        const char *q = strchr(b, '"');
        if (!q) return -1;
        n = (size_t)(q - b);
    } else {
        n = strcspn(b, "; \t");
    }
    if (n == 0 || n > 70) return -1;
    memcpy(out, b, n);
    out[n] = '\0';
    return 0;
}

/* The start of needle (nl bytes) in hay[0..hl), or NULL. */
static const char *find(const char *hay, size_t hl, const char *needle, size_t nl)
{
    for (size_t i = 0; nl <= hl && i <= hl - nl; i++)
        if (memcmp(hay + i, needle, nl) == 0) return hay + i;
    return NULL;
}

int bb_multipart_parse(const char *data, size_t len, const char *boundary, json_object **out, bb_verr *e)
{
    char delim[80];
    int dl = snprintf(delim, sizeof delim, "--%s", boundary);
    *out = NULL;
    json_object *o = json_object_new_object();
    const char *end = data + len;
    const char *p = find(data, len, delim, (size_t)dl); /* a preamble before the first delimiter is ignored */
    if (!p) goto malformed;
    for (;;) {
        p += dl;
        if (end - p >= 2 && p[0] == '-' && p[1] == '-') break; /* the closing delimiter */
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n') goto malformed;
        p += 2;
        const char *hend = find(p, (size_t)(end - p), "\r\n\r\n", 4);
        if (!hend) goto malformed;
        /* the part's headers: Content-Disposition: form-data; name="..."[; filename="..."] */
        const char *name = NULL;
        size_t nl = 0;
        int file = 0;
        for (const char *h = p; h < hend;) {
            const char *eol = find(h, (size_t)(hend + 2 - h), "\r\n", 2);
            if (!eol) eol = hend;
            if ((size_t)(eol - h) > 20 && strncasecmp(h, "content-disposition:", 20) == 0) {
                for (const char *q = h + 20; q < eol; q++) {
                    int at_param = q[-1] == ';' || q[-1] == ' ';
                    if (at_param && eol - q > 6 && strncasecmp(q, "name=\"", 6) == 0) {
                        name = q + 6;
                        const char *close = memchr(name, '"', (size_t)(eol - name));
                        if (!close) goto malformed;
                        nl = (size_t)(close - name);
                    } else if (at_param && eol - q > 9 && strncasecmp(q, "filename=", 9) == 0) {
                        file = 1;
                    }
                }
            }
            h = eol + 2;
        }
        if (!name) goto malformed;
        const char *body = hend + 4;
        char nd[84];
        int ndl = snprintf(nd, sizeof nd, "\r\n%s", delim);
        const char *stop = find(body, (size_t)(end - body), nd, (size_t)ndl);
        if (!stop) goto malformed;
        if (file) {
            /* named in the refusal only when the name is one a field could have */
            char key[BB_KEY_MAX + 1];
            int ok = nl > 0 && nl <= BB_KEY_MAX && utf8_ok(name, nl) && !memchr(name, '\0', nl);
            snprintf(key, sizeof key, "%.*s", ok ? (int)nl : 4, ok ? name : "body");
            json_object_put(o);
            return bb_refuse(e, "parameter_invalid", key,
                             "%s: a file part; files are not taken, send an image's URL (image_<name>)", key);
        }
        if (add_field(o, name, nl, body, (size_t)(stop - body), e) != 0) {
            json_object_put(o);
            return -1;
        }
        p = stop + 2;
    }
    *out = o;
    return 0;
malformed:
    json_object_put(o);
    return bb_refuse(e, "parameter_invalid", "body", "the multipart/form-data body is malformed");
}

int bb_input_flat(const json_object *in, bb_verr *e)
{
    if (!json_object_is_type((json_object *)in, json_type_object))
        return bb_refuse(e, "parameter_invalid", "body", "the body must be a JSON object of flat fields");
    json_object_object_foreach((json_object *)in, k, v) {
        if (!*k) return bb_refuse(e, "parameter_unknown", "body", "the body has a field with an empty name");
        if (json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array))
            return bb_refuse(e, "parameter_invalid", k,
                             "%.128s must be a text, a number or a yes/no: this API takes flat fields (for a "
                             "template's field, send field_<key>)", k);
    }
    return 0;
}

static json_object *get(const json_object *in, const char *k)
{
    json_object *v = NULL;
    return in && json_object_object_get_ex((json_object *)in, k, &v) ? v : NULL;
}

int bb_in_text(const json_object *in, const char *k, const char **out, bb_verr *e)
{
    json_object *v = get(in, k);
    *out = NULL;
    if (!json_object_object_get_ex((json_object *)in, k, NULL)) return BB_IN_ABSENT;
    if (!v || json_object_is_type(v, json_type_null)) return BB_IN_NULL;
    if (json_object_is_type(v, json_type_boolean))
        return bb_refuse(e, "parameter_invalid", k, "%.128s must be a text, not a yes/no", k);
    if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
        *out = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
        return BB_IN_SET;
    }
    if (json_object_get_string_len(v) == 0) return BB_IN_ABSENT;
    *out = json_object_get_string(v);
    return BB_IN_SET;
}

int bb_in_bool(const json_object *in, const char *k, int *out, bb_verr *e)
{
    json_object *v = get(in, k);
    *out = 0;
    if (!json_object_object_get_ex((json_object *)in, k, NULL)) return BB_IN_ABSENT;
    if (!v || json_object_is_type(v, json_type_null)) return BB_IN_NULL;
    if (json_object_is_type(v, json_type_boolean)) {
        *out = json_object_get_boolean(v);
        return BB_IN_SET;
    }
    if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        if (!*s) return BB_IN_ABSENT;
        if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcmp(s, "1")) {
            *out = 1;
            return BB_IN_SET;
        }
        if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcmp(s, "0")) return BB_IN_SET;
    }
    return bb_refuse(e, "parameter_invalid", k, "%.128s must be yes or no (true/false)", k);
}

int bb_in_number(const json_object *in, const char *k, double *out, bb_verr *e)
{
    json_object *v = get(in, k);
    *out = 0;
    if (!json_object_object_get_ex((json_object *)in, k, NULL)) return BB_IN_ABSENT;
    if (!v || json_object_is_type(v, json_type_null)) return BB_IN_NULL;
    if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
        *out = json_object_get_double(v);
        return BB_IN_SET;
    }
    if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        if (!*s) return BB_IN_ABSENT;
        char *end;
        errno = 0;
        double d = strtod(s, &end);
        if (!errno && *end == '\0' && isfinite(d) && !isspace((unsigned char)*s)) {
            *out = d;
            return BB_IN_SET;
        }
    }
    return bb_refuse(e, "parameter_invalid", k, "%.128s must be a number", k);
}

int bb_in_date(const json_object *in, const char *k, char out[64], bb_verr *e)
{
    json_object *v = get(in, k);
    out[0] = '\0';
    if (!json_object_object_get_ex((json_object *)in, k, NULL)) return BB_IN_ABSENT;
    if (!v || json_object_is_type(v, json_type_null)) return BB_IN_NULL;
    int64_t n = -1;
    if (json_object_is_type(v, json_type_int)) {
        n = json_object_get_int64(v);
    } else if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        size_t len = strlen(s);
        if (len == 0) return BB_IN_ABSENT;
        int all = len <= 15;
        for (size_t i = 0; all && i < len; i++) all = isdigit((unsigned char)s[i]) != 0;
        if (!all) {
            if (len >= 64) return bb_refuse(e, "parameter_invalid", k, "%.128s is not a date", k);
            memcpy(out, s, len + 1); /* ISO 8601 text: the core checks it and names the field */
            return BB_IN_SET;
        }
        n = strtoll(s, NULL, 10);
    } else {
        return bb_refuse(e, "parameter_invalid", k,
                         "%.128s must be a date: ISO 8601 text (2025-06-01T19:30:00Z) or Unix seconds", k);
    }
    if (n < 0 || n > 253402300799000LL)
        return bb_refuse(e, "parameter_invalid", k, "%.128s is out of range for a date", k);
    if (n >= 100000000000LL) n /= 1000; /* 12 digits and more: milliseconds (Bubble's :extract UNIX) */
    char iso[64];
    bb_unix_to_iso(n, iso);
    snprintf(out, 64, "%s", iso);
    return BB_IN_SET;
}

int bb_url_check_shape(const char *url, int allow_http, const char *param, bb_verr *e)
{
    size_t n = strlen(url);
    if (n > 2048) return bb_refuse(e, "parameter_invalid", param, "%s is longer than 2048 characters", param);
    for (const char *c = url; *c; c++)
        if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f || *c == '"' || *c == '<' || *c == '>' ||
            *c == '\\')
            return bb_refuse(e, "parameter_invalid", param, "%s holds a character a URL cannot have", param);
    const char *p;
    if (strncasecmp(url, "https://", 8) == 0) p = url + 8;
    else if (strncasecmp(url, "http://", 7) == 0 && allow_http) p = url + 7;
    else
        return bb_refuse(e, "parameter_invalid", param, "%s must be an https:// URL%s", param,
                         strncasecmp(url, "http://", 7) == 0
                             ? " (http:// is allowed only when the bubble-bridge plugin is configured with allow_http)"
                             : "");
    const char *slash = strchr(p, '/');
    size_t hl = slash ? (size_t)(slash - p) : strlen(p);
    if (hl == 0) return bb_refuse(e, "parameter_invalid", param, "%s has no host", param);
    if (memchr(p, '@', hl)) return bb_refuse(e, "parameter_invalid", param, "%s must not carry a user name", param);
    if (strpbrk(url, "?#"))
        return bb_refuse(e, "parameter_invalid", param, "%s must not have a query or a fragment", param);
    const char *path = slash ? slash : "";
    /* optional /version-<name> (version-test, a branch), then /api/1.1/wf/<workflow> */
    if (strncmp(path, "/version-", 9) == 0) {
        const char *q = path + 9;
        size_t vl = strspn(q, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
        if (vl == 0 || q[vl] != '/') goto bad;
        path = q + vl;
    }
    if (strncmp(path, "/api/1.1/wf/", 12) != 0) goto bad;
    const char *name = path + 12;
    size_t nl = strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");
    if (nl == 0) goto bad;
    if (strcmp(name + nl, "/initialize") == 0 || strcmp(name + nl, "/initialize/") == 0)
        return bb_refuse(e, "parameter_invalid", param,
                         "%s ends with /initialize, the address Bubble shows while it detects data: give the "
                         "workflow's URL without it, and send a test event with initialize=true to detect the data",
                         param);
    if (name[nl] != '\0' && strcmp(name + nl, "/") != 0) goto bad;
    return 0;
bad:
    return bb_refuse(e, "parameter_invalid", param,
                     "%s must be a Bubble backend-workflow URL: https://<app>.bubbleapps.io/version-test/api/1.1/wf/"
                     "<workflow> (or your custom domain, without /version-test for the live app)", param);
}

int bb_image_url(const char *in, char *out, size_t cap)
{
    int n = strncmp(in, "//", 2) == 0 ? snprintf(out, cap, "https:%s", in) : snprintf(out, cap, "%s", in);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}
