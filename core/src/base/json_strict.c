/*
 * json_strict.c - a validating scanner for RFC 8259 JSON.
 *
 * Recursive descent bounded by max_depth, so the C stack is bounded too.
 * The current field path is kept as text ("a.b[2].c") for error messages.
 */
#include "json_strict.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const unsigned char *p, *start, *end;
    const wp_json_limits *lim;
    int depth;
    char path[256];
    size_t path_len;
    wp_err *err;
} scanner;

typedef struct {
    char *s;
    size_t n;
} keybuf;

static wp_status fail(scanner *sc, const char *what)
{
    size_t off = (size_t)(sc->p - sc->start);
    if (sc->path_len)
        wp_err_param(sc->err, WP_EINVAL, sc->path, "invalid JSON at byte %zu (in %s): %s", off, sc->path, what);
    else
        wp_err_param(sc->err, WP_EINVAL, "body", "invalid JSON at byte %zu: %s", off, what);
    return wp_err_code(sc->err, "invalid_json");
}

static void skip_ws(scanner *sc)
{
    while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' || *sc->p == '\r'))
        sc->p++;
}

/* Length of a valid UTF-8 sequence at p (1..4), or 0 when invalid
 * (overlong forms, surrogates and code points past U+10FFFF are invalid). */
static int utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    if (c < 0x80) return 1;
    size_t avail = (size_t)(end - p);
    if (c >= 0xC2 && c <= 0xDF)
        return (avail >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && p[1] < 0xA0) return 0;     /* overlong */
        if (c == 0xED && p[1] >= 0xA0) return 0;    /* surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (avail < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && p[1] < 0x90) return 0;     /* overlong */
        if (c == 0xF4 && p[1] >= 0x90) return 0;    /* > U+10FFFF */
        return 4;
    }
    return 0;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool read_u16(scanner *sc, unsigned *out)
{
    if (sc->end - sc->p < 4) return false;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(sc->p[i]);
        if (h < 0) return false;
        v = v * 16 + (unsigned)h;
    }
    sc->p += 4;
    *out = v;
    return true;
}

static bool under_long_prefix(const scanner *sc)
{
    if (!sc->lim->long_prefixes) return false;
    for (const char *const *pp = sc->lim->long_prefixes; *pp; pp++) {
        size_t n = strlen(*pp);
        if (sc->path_len >= n && memcmp(sc->path, *pp, n) == 0 &&
            (sc->path[n] == '\0' || sc->path[n] == '.' || sc->path[n] == '['))
            return true;
    }
    return false;
}

/* Scans a string at sc->p (which is at the opening quote).  When key is
 * non-NULL the decoded bytes are stored there (caller frees key->s). */
static wp_status scan_string(scanner *sc, keybuf *key)
{
    sc->p++; /* opening quote */
    size_t decoded = 0, cap = 0;
    char *buf = NULL;
    size_t limit = key ? 1024 : (under_long_prefix(sc) ? sc->lim->max_long_string : sc->lim->max_string);
    for (;;) {
        if (sc->p >= sc->end) { free(buf); return fail(sc, "unterminated string"); }
        unsigned char c = *sc->p;
        unsigned char tmp[4];
        size_t tn = 0;
        if (c == '"') { sc->p++; break; }
        if (c < 0x20) { free(buf); return fail(sc, "control character in string (must be escaped)"); }
        if (c == '\\') {
            sc->p++;
            if (sc->p >= sc->end) { free(buf); return fail(sc, "unterminated escape"); }
            unsigned char e = *sc->p++;
            switch (e) {
            case '"': case '\\': case '/': tmp[0] = e; tn = 1; break;
            case 'b': tmp[0] = '\b'; tn = 1; break;
            case 'f': tmp[0] = '\f'; tn = 1; break;
            case 'n': tmp[0] = '\n'; tn = 1; break;
            case 'r': tmp[0] = '\r'; tn = 1; break;
            case 't': tmp[0] = '\t'; tn = 1; break;
            case 'u': {
                unsigned cp;
                if (!read_u16(sc, &cp)) { free(buf); return fail(sc, "bad \\u escape"); }
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    unsigned lo;
                    if (sc->end - sc->p < 2 || sc->p[0] != '\\' || sc->p[1] != 'u') {
                        free(buf); return fail(sc, "unpaired surrogate in \\u escape");
                    }
                    sc->p += 2;
                    if (!read_u16(sc, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
                        free(buf); return fail(sc, "unpaired surrogate in \\u escape");
                    }
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    free(buf); return fail(sc, "unpaired surrogate in \\u escape");
                }
                if (cp == 0) { free(buf); return fail(sc, "NUL character in string"); }
                if (cp < 0x80) { tmp[0] = (unsigned char)cp; tn = 1; }
                else if (cp < 0x800) { tmp[0] = (unsigned char)(0xC0 | (cp >> 6)); tmp[1] = (unsigned char)(0x80 | (cp & 0x3F)); tn = 2; }
                else if (cp < 0x10000) { tmp[0] = (unsigned char)(0xE0 | (cp >> 12)); tmp[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F)); tmp[2] = (unsigned char)(0x80 | (cp & 0x3F)); tn = 3; }
                else { tmp[0] = (unsigned char)(0xF0 | (cp >> 18)); tmp[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F)); tmp[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F)); tmp[3] = (unsigned char)(0x80 | (cp & 0x3F)); tn = 4; }
                break;
            }
            default: free(buf); return fail(sc, "unknown escape in string");
            }
        } else {
            int n = utf8_len(sc->p, sc->end);
            if (!n) { free(buf); return fail(sc, "invalid UTF-8 in string"); }
            memcpy(tmp, sc->p, (size_t)n);
            tn = (size_t)n;
            sc->p += n;
        }
        decoded += tn;
        if (decoded > limit) {
            free(buf);
            if (key) return fail(sc, "object key longer than 1024 bytes");
            return wp_err_param(sc->err, WP_EINVAL, sc->path_len ? sc->path : "body",
                                "%s is longer than %zu bytes", sc->path_len ? sc->path : "string", limit);
        }
        if (key) {
            if (decoded + 1 > cap) {
                cap = cap ? cap * 2 : 32;
                while (cap < decoded + 1) cap *= 2;
                char *nb = realloc(buf, cap);
                if (!nb) { free(buf); return wp_err_set(sc->err, WP_ENOMEM, "out of memory parsing JSON"); }
                buf = nb;
            }
            memcpy(buf + decoded - tn, tmp, tn);
        }
    }
    if (key) {
        if (!buf) { buf = malloc(1); if (!buf) return wp_err_set(sc->err, WP_ENOMEM, "out of memory"); }
        buf[decoded] = '\0';
        key->s = buf;
        key->n = decoded;
    }
    return WP_OK;
}

static wp_status scan_number(scanner *sc)
{
    const unsigned char *p = sc->p;
    if (p < sc->end && *p == '-') p++;
    if (p >= sc->end) return fail(sc, "bad number");
    if (*p == '0') p++;
    else if (*p >= '1' && *p <= '9') while (p < sc->end && *p >= '0' && *p <= '9') p++;
    else return fail(sc, "unexpected character (expected a value)");
    if (p < sc->end && *p == '.') {
        p++;
        if (p >= sc->end || *p < '0' || *p > '9') return fail(sc, "bad number: digit expected after '.'");
        while (p < sc->end && *p >= '0' && *p <= '9') p++;
    }
    if (p < sc->end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < sc->end && (*p == '+' || *p == '-')) p++;
        if (p >= sc->end || *p < '0' || *p > '9') return fail(sc, "bad number: digit expected in exponent");
        while (p < sc->end && *p >= '0' && *p <= '9') p++;
    }
    /* json-c turns 1e400 into inf and clamps integers past 64 bits silently;
     * a value that cannot be represented is refused instead. */
    size_t n = (size_t)(p - sc->p);
    char small[64], *tok = n < sizeof small ? small : malloc(n + 1);
    if (!tok) return wp_err_set(sc->err, WP_ENOMEM, "out of memory parsing JSON");
    memcpy(tok, sc->p, n);
    tok[n] = '\0';
    bool integer = !memchr(tok, '.', n) && !memchr(tok, 'e', n) && !memchr(tok, 'E', n);
    errno = 0;
    bool range_ok;
    if (integer) {
        (void)strtoll(tok, NULL, 10);
        range_ok = errno != ERANGE;
    } else {
        range_ok = isfinite(strtod(tok, NULL));
    }
    if (tok != small) free(tok);
    if (!range_ok) return fail(sc, integer ? "integer out of the 64-bit range" : "number out of range");
    sc->p = p;
    return WP_OK;
}

static bool literal(scanner *sc, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(sc->end - sc->p) >= n && memcmp(sc->p, word, n) == 0) {
        sc->p += n;
        return true;
    }
    return false;
}

static size_t path_push_key(scanner *sc, const keybuf *k)
{
    size_t old = sc->path_len;
    int n = snprintf(sc->path + old, sizeof sc->path - old, "%s%.*s", old ? "." : "", (int)k->n, k->s);
    sc->path_len = n < 0 ? old : (old + (size_t)n >= sizeof sc->path ? sizeof sc->path - 1 : old + (size_t)n);
    return old;
}

static size_t path_push_index(scanner *sc, size_t i)
{
    size_t old = sc->path_len;
    int n = snprintf(sc->path + old, sizeof sc->path - old, "[%zu]", i);
    sc->path_len = n < 0 ? old : (old + (size_t)n >= sizeof sc->path ? sizeof sc->path - 1 : old + (size_t)n);
    return old;
}

static void path_pop(scanner *sc, size_t old)
{
    sc->path_len = old;
    sc->path[old] = '\0';
}

/* Key comparisons made by this thread (wp_json_strict_key_compares). */
static _Thread_local unsigned long long key_compares;

unsigned long long wp_json_strict_key_compares(void) { return key_compares; }

static int keycmp(const void *a, const void *b)
{
    key_compares++;
    const keybuf *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->s, y->s, n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

static wp_status scan_value(scanner *sc);

static wp_status scan_object(scanner *sc)
{
    keybuf *keys = NULL;
    size_t nkeys = 0, cap = 0;
    wp_status st = WP_OK;
    sc->p++; /* { */
    skip_ws(sc);
    if (sc->p < sc->end && *sc->p == '}') { sc->p++; return WP_OK; }
    for (;;) {
        skip_ws(sc);
        if (sc->p >= sc->end || *sc->p != '"') { st = fail(sc, "object key (a string) expected"); goto out; }
        if (nkeys == cap) {
            cap = cap ? cap * 2 : 8;
            keybuf *nk = realloc(keys, cap * sizeof *keys);
            if (!nk) { st = wp_err_set(sc->err, WP_ENOMEM, "out of memory"); goto out; }
            keys = nk;
        }
        if ((st = scan_string(sc, &keys[nkeys])) != WP_OK) goto out;
        nkeys++;
        skip_ws(sc);
        if (sc->p >= sc->end || *sc->p != ':') { st = fail(sc, "':' expected after object key"); goto out; }
        sc->p++;
        size_t old = path_push_key(sc, &keys[nkeys - 1]);
        st = scan_value(sc);
        if (st != WP_OK) goto out;
        path_pop(sc, old);
        skip_ws(sc);
        if (sc->p < sc->end && *sc->p == ',') { sc->p++; continue; }
        if (sc->p < sc->end && *sc->p == '}') { sc->p++; break; }
        st = fail(sc, "',' or '}' expected in object");
        goto out;
    }
    /* Duplicate keys: sort a copy of the key list, compare neighbours. */
    if (nkeys > 1) {
        qsort(keys, nkeys, sizeof *keys, keycmp);
        for (size_t i = 1; i < nkeys; i++) {
            if (keycmp(&keys[i - 1], &keys[i]) == 0) {
                size_t old = path_push_key(sc, &keys[i]);
                st = wp_err_param(sc->err, WP_EINVAL, sc->path, "duplicate key \"%.*s\" in object",
                                  (int)(keys[i].n > 100 ? 100 : keys[i].n), keys[i].s);
                path_pop(sc, old);
                goto out;
            }
        }
    }
out:
    for (size_t i = 0; i < nkeys; i++) free(keys[i].s);
    free(keys);
    return st;
}

static wp_status scan_array(scanner *sc)
{
    sc->p++; /* [ */
    skip_ws(sc);
    if (sc->p < sc->end && *sc->p == ']') { sc->p++; return WP_OK; }
    for (size_t i = 0;; i++) {
        size_t old = path_push_index(sc, i);
        wp_status st = scan_value(sc);
        if (st != WP_OK) return st;
        path_pop(sc, old);
        skip_ws(sc);
        if (sc->p < sc->end && *sc->p == ',') { sc->p++; continue; }
        if (sc->p < sc->end && *sc->p == ']') { sc->p++; return WP_OK; }
        return fail(sc, "',' or ']' expected in array");
    }
}

static wp_status scan_value(scanner *sc)
{
    skip_ws(sc);
    if (sc->p >= sc->end) return fail(sc, "value expected, found end of input");
    switch (*sc->p) {
    case '{':
    case '[': {
        if (++sc->depth > sc->lim->max_depth) {
            return wp_err_param(sc->err, WP_EINVAL, sc->path_len ? sc->path : "body",
                                "JSON nested deeper than %d levels", sc->lim->max_depth);
        }
        wp_status st = *sc->p == '{' ? scan_object(sc) : scan_array(sc);
        sc->depth--;
        return st;
    }
    case '"': return scan_string(sc, NULL);
    case 't': return literal(sc, "true") ? WP_OK : fail(sc, "unexpected token");
    case 'f': return literal(sc, "false") ? WP_OK : fail(sc, "unexpected token");
    case 'n': return literal(sc, "null") ? WP_OK : fail(sc, "unexpected token");
    default: return scan_number(sc);
    }
}

wp_status wp_json_parse_strict(const char *text, size_t len, const wp_json_limits *lim,
                               json_object **out, wp_err *err)
{
    *out = NULL;
    scanner sc = {.p = (const unsigned char *)text, .start = (const unsigned char *)text,
                  .end = (const unsigned char *)text + len, .lim = lim, .err = err};
    sc.path[0] = '\0';
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        return fail(&sc, "byte order mark not allowed");
    wp_status st = scan_value(&sc);
    if (st != WP_OK) return st;
    skip_ws(&sc);
    if (sc.p != sc.end) return fail(&sc, "trailing data after the JSON value");

    json_tokener *tok = json_tokener_new_ex(lim->max_depth + 1);
    if (!tok) return wp_err_set(err, WP_ENOMEM, "out of memory parsing JSON");
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    json_tokener_free(tok);
    /* A bare scalar may leave the tokener waiting for more input; the scan
     * above already proved the text complete, so "continue" is acceptable. */
    if (jerr != json_tokener_success && !(jerr == json_tokener_continue && obj)) {
        json_object_put(obj);
        if (jerr == json_tokener_continue) {
            /* e.g. a lone number: parse it with a terminator appended */
            char *tmp = malloc(len + 2);
            if (!tmp) return wp_err_set(err, WP_ENOMEM, "out of memory parsing JSON");
            memcpy(tmp, text, len);
            tmp[len] = ' ';
            tmp[len + 1] = '\0';
            obj = json_tokener_parse(tmp);
            free(tmp);
            if (!obj && !(len == 4 && memcmp(text, "null", 4) == 0))
                return wp_err_param(err, WP_EINVAL, "body", "invalid JSON");
            *out = obj;
            return WP_OK;
        }
        return wp_err_param(err, WP_EINVAL, "body", "invalid JSON: %s", json_tokener_error_desc(jerr));
    }
    *out = obj;
    return WP_OK;
}
