/*
 * walletpass/plugin_config.h - a plugin's configuration, declared once and
 * checked by the SDK.
 *
 * A plugin lists the keys of its "config" object in a table: the key, its
 * type, where its value goes in a C struct, its default and its range.
 * wp_cfg_parse() writes every default into the struct, then the values of
 * init's config object, and refuses unknown keys, wrong types, values out of
 * range and missing required keys with one message that names the key path
 * ("config.port: must be an integer from 1 to 65535", "config.tls.ca_file:
 * ...", "config.origins[2]: ..."), ready for host->init_error():
 *
 *     #include <walletpass/plugin.h>
 *     #include <walletpass/plugin_config.h>
 *
 *     typedef struct { char host[256]; int port; bool verbose; char **origins; } my_conf;
 *     static const wp_cfg_key my_keys[] = {
 *         WP_CFG_STRING("host", my_conf, host, "api.example.com", WP_CFG_NONEMPTY),
 *         WP_CFG_INT("port", my_conf, port, 443, 1, 65535),
 *         WP_CFG_BOOL("verbose", my_conf, verbose, false),
 *         WP_CFG_STRINGS("origins", my_conf, origins, 100, WP_CFG_HTTP_URL),
 *         WP_CFG_END
 *     };
 *     static my_conf conf;
 *
 *     static wp_status my_init(const wp_host *h, wp_plugin *self, const json_object *config)
 *     {
 *         char why[300];
 *         if (wp_cfg_parse(my_keys, config, &conf, why, sizeof why) != WP_OK) {
 *             h->init_error(self, "%s", why);
 *             return WP_ECONFIG;
 *         }
 *         ...
 *     }
 *     ... and in shutdown: wp_cfg_free(my_keys, &conf);   (the WP_CFG_STRINGS arrays)
 *
 * Types and where their values go (the field named in the macro):
 *   WP_CFG_BOOL     true/false                     bool or int
 *   WP_CFG_INT      an integer in [min, max]       int, long, int64_t, size_t, uint32_t ...
 *   WP_CFG_NUMBER   a number in [min, max]         double (WP_CFG_ABOVE_MIN: min excluded)
 *   WP_CFG_STRING   a string shorter than the      char array (never truncated: a longer
 *                   array                          value is refused)
 *   WP_CFG_ENUM     one of a NULL-terminated list  char array
 *   WP_CFG_STRINGS  an array of at most n strings  char ** (NULL-terminated, allocated;
 *                                                  wp_cfg_free releases it)
 *   WP_CFG_OBJECT   a nested object with its own   a struct; its table's offsets are
 *                   table of keys                  relative to that struct
 * Flags: WP_CFG_REQUIRED (absent is an error), WP_CFG_NONEMPTY and
 * WP_CFG_HTTP_URL (strings: an http:// or https:// URL), WP_CFG_ABOVE_MIN.
 * A key whose value is null takes its default (unless required); keys
 * starting with "$comment" are ignored.  WP_CFG_STRING_CHECK adds a function
 * that returns NULL for a good value or what it must be ("a path like
 * \"/apple\"").
 *
 * Not part of the host ABI: this header has only static functions, needs
 * only json-c and walletpass/plugin.h, and works on every host.  Ownership:
 * the table and config are borrowed; what WP_CFG_STRINGS allocates belongs
 * to the struct until wp_cfg_free().  Call it from init, on the main thread.
 */
#ifndef WALLETPASS_PLUGIN_CONFIG_H
#define WALLETPASS_PLUGIN_CONFIG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <walletpass/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum wp_cfg_type {
    WP_CFG_T_END = 0,
    WP_CFG_T_BOOL,
    WP_CFG_T_INT,
    WP_CFG_T_NUMBER,
    WP_CFG_T_STRING,
    WP_CFG_T_ENUM,
    WP_CFG_T_STRINGS,
    WP_CFG_T_OBJECT
} wp_cfg_type;

#define WP_CFG_REQUIRED 0x1u  /* the key must be present */
#define WP_CFG_NONEMPTY 0x2u  /* strings: not "" */
#define WP_CFG_HTTP_URL 0x4u  /* strings: starts with http:// or https:// (implies NONEMPTY) */
#define WP_CFG_ABOVE_MIN 0x8u /* numbers: min itself is refused */

typedef struct wp_cfg_key wp_cfg_key;
struct wp_cfg_key {
    const char *key;            /* NULL ends the table */
    wp_cfg_type type;
    size_t offset;              /* of the field in the struct */
    size_t size;                /* of the field */
    unsigned flags;
    int64_t imin, imax, idef;   /* INT; BOOL's default in idef; STRINGS' most items in imax */
    double dmin, dmax, ddef;    /* NUMBER */
    const char *sdef;           /* STRING, ENUM: the default (NULL: "") */
    const char *const *choices; /* ENUM: the accepted values, NULL-terminated */
    const char *(*check)(const char *value); /* STRING: NULL when fine, else what it must be */
    const wp_cfg_key *sub;      /* OBJECT: its keys */
};

#define WP_CFG_FIELD_(type_, field_) offsetof(type_, field_), sizeof(((type_ *)0)->field_)
#define WP_CFG_BOOL(key_, type_, field_, def_) \
    {(key_), WP_CFG_T_BOOL, WP_CFG_FIELD_(type_, field_), 0, 0, 1, (def_) ? 1 : 0, 0, 0, 0, NULL, NULL, NULL, NULL}
#define WP_CFG_INT(key_, type_, field_, def_, min_, max_) \
    {(key_), WP_CFG_T_INT, WP_CFG_FIELD_(type_, field_), 0, (min_), (max_), (def_), 0, 0, 0, NULL, NULL, NULL, NULL}
#define WP_CFG_INT_F(key_, type_, field_, def_, min_, max_, flags_) \
    {(key_), WP_CFG_T_INT, WP_CFG_FIELD_(type_, field_), (flags_), (min_), (max_), (def_), 0, 0, 0, NULL, NULL, NULL, NULL}
#define WP_CFG_NUMBER(key_, type_, field_, def_, min_, max_, flags_) \
    {(key_), WP_CFG_T_NUMBER, WP_CFG_FIELD_(type_, field_), (flags_), 0, 0, 0, (min_), (max_), (def_), NULL, NULL, NULL, NULL}
#define WP_CFG_STRING(key_, type_, field_, def_, flags_) \
    {(key_), WP_CFG_T_STRING, WP_CFG_FIELD_(type_, field_), (flags_), 0, 0, 0, 0, 0, 0, (def_), NULL, NULL, NULL}
#define WP_CFG_STRING_CHECK(key_, type_, field_, def_, flags_, check_) \
    {(key_), WP_CFG_T_STRING, WP_CFG_FIELD_(type_, field_), (flags_), 0, 0, 0, 0, 0, 0, (def_), NULL, (check_), NULL}
#define WP_CFG_ENUM(key_, type_, field_, def_, choices_) \
    {(key_), WP_CFG_T_ENUM, WP_CFG_FIELD_(type_, field_), 0, 0, 0, 0, 0, 0, 0, (def_), (choices_), NULL, NULL}
#define WP_CFG_STRINGS(key_, type_, field_, max_items_, flags_) \
    {(key_), WP_CFG_T_STRINGS, WP_CFG_FIELD_(type_, field_), (flags_), 0, (max_items_), 0, 0, 0, 0, NULL, NULL, NULL, NULL}
#define WP_CFG_OBJECT(key_, type_, field_, keys_, flags_) \
    {(key_), WP_CFG_T_OBJECT, WP_CFG_FIELD_(type_, field_), (flags_), 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, (keys_)}
#define WP_CFG_END {NULL, WP_CFG_T_END, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL}

/* ---- implementation (static: each plugin has its own copy) ----------------- */

static inline wp_status wp_cfg_fail_(char *why, size_t len, const char *path, const char *fmt, ...)
    WP_PRINTF_(4, 5);
static inline wp_status wp_cfg_fail_(char *why, size_t len, const char *path, const char *fmt, ...)
{
    if (why && len) {
        int n = snprintf(why, len, "%s: ", path);
        if (n >= 0 && (size_t)n < len) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(why + n, len - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return WP_ECONFIG;
}

/* out = base + sep + key (sep "." or "[n]" built by the caller); false when it does not fit, which
 * the callers refuse: a key path is never cut. */
static inline bool wp_cfg_path_(char *out, size_t cap, const char *base, const char *key, size_t index, bool item)
{
    int w = item ? snprintf(out, cap, "%s[%zu]", base, index) : snprintf(out, cap, "%s.%s", base, key);
    return w >= 0 && (size_t)w < cap;
}

static inline void wp_cfg_store_int_(void *dst, size_t size, int64_t v)
{
    /* The low bytes of the value: right for signed and unsigned fields alike within the checked range. */
    if (size == 8) {
        memcpy(dst, &v, 8);
    } else if (size == 4) {
        uint32_t u = (uint32_t)v;
        memcpy(dst, &u, 4);
    } else if (size == 2) {
        uint16_t u = (uint16_t)v;
        memcpy(dst, &u, 2);
    } else if (size == 1) {
        uint8_t u = (uint8_t)v;
        memcpy(dst, &u, 1);
    }
}

static inline void wp_cfg_free_strings_(char ***slot)
{
    if (!*slot) return;
    for (char **s = *slot; *s; s++) free(*s);
    free(*slot);
    *slot = NULL;
}

/* Releases what wp_cfg_parse allocated in out (the WP_CFG_STRINGS arrays); out's other fields stay. */
static inline void wp_cfg_free(const wp_cfg_key *keys, void *out)
{
    for (const wp_cfg_key *k = keys; k && k->key; k++) {
        char *field = (char *)out + k->offset;
        if (k->type == WP_CFG_T_STRINGS) wp_cfg_free_strings_((char ***)(void *)field);
        else if (k->type == WP_CFG_T_OBJECT) wp_cfg_free(k->sub, field);
    }
}

/* Checks that the table can be used: WP_EINVAL names the entry that cannot. */
static inline wp_status wp_cfg_check_table_(const wp_cfg_key *keys, char *why, size_t len, const char *path)
{
    for (const wp_cfg_key *k = keys; k && k->key; k++) {
        const char *bad = NULL;
        switch (k->type) {
        case WP_CFG_T_BOOL:
            if (k->size != sizeof(bool) && k->size != sizeof(int)) bad = "a bool or int field";
            break;
        case WP_CFG_T_INT:
            if (k->size != 1 && k->size != 2 && k->size != 4 && k->size != 8) bad = "an integer field";
            else if (k->imin > k->imax || k->idef < k->imin || k->idef > k->imax) bad = "min <= default <= max";
            else if (k->size < 8 && (k->imax > (int64_t)UINT32_MAX || k->imin < INT32_MIN))
                bad = "a range that fits the field";
            break;
        case WP_CFG_T_NUMBER:
            if (k->size != sizeof(double)) bad = "a double field";
            else if (!(k->dmin <= k->ddef && k->ddef <= k->dmax)) bad = "min <= default <= max";
            break;
        case WP_CFG_T_STRING:
        case WP_CFG_T_ENUM:
            if (k->size < 2) bad = "a char array field";
            else if (k->sdef && strlen(k->sdef) >= k->size) bad = "a default that fits the field";
            else if (k->type == WP_CFG_T_ENUM && (!k->choices || !k->choices[0])) bad = "a list of choices";
            break;
        case WP_CFG_T_STRINGS:
            if (k->size != sizeof(char **) || k->imax < 1) bad = "a char ** field and a most number of items";
            break;
        case WP_CFG_T_OBJECT:
            if (!k->sub) bad = "a table of keys";
            break;
        default:
            bad = "a known type";
        }
        if (bad) {
            char at[256];
            if (!wp_cfg_path_(at, sizeof at, path, k->key, 0, false)) at[0] = '\0';
            wp_cfg_fail_(why, len, at, "the plugin's key table is wrong: it needs %s", bad);
            return WP_EINVAL;
        }
        if (k->type == WP_CFG_T_OBJECT) {
            char sub[256];
            if (!wp_cfg_path_(sub, sizeof sub, path, k->key, 0, false)) {
                wp_cfg_fail_(why, len, path, "the plugin's key table nests too deep");
                return WP_EINVAL;
            }
            wp_status st = wp_cfg_check_table_(k->sub, why, len, sub);
            if (st != WP_OK) return st;
        }
    }
    return WP_OK;
}

static inline void wp_cfg_defaults_(const wp_cfg_key *keys, void *out)
{
    for (const wp_cfg_key *k = keys; k && k->key; k++) {
        char *field = (char *)out + k->offset;
        switch (k->type) {
        case WP_CFG_T_BOOL:
            if (k->size == sizeof(bool)) *(bool *)(void *)field = k->idef != 0;
            else *(int *)(void *)field = k->idef != 0;
            break;
        case WP_CFG_T_INT: wp_cfg_store_int_(field, k->size, k->idef); break;
        case WP_CFG_T_NUMBER: memcpy(field, &k->ddef, sizeof(double)); break;
        case WP_CFG_T_STRING:
        case WP_CFG_T_ENUM: {
            /* wp_cfg_check_table_ made sure the default fits */
            size_t n = k->sdef ? strlen(k->sdef) : 0;
            if (n >= k->size) n = k->size - 1;
            if (n) memcpy(field, k->sdef, n);
            field[n] = '\0';
            break;
        }
        case WP_CFG_T_STRINGS: *(char ***)(void *)field = NULL; break;
        case WP_CFG_T_OBJECT: wp_cfg_defaults_(k->sub, field); break;
        default: break;
        }
    }
}

static inline wp_status wp_cfg_string_(const wp_cfg_key *k, json_object *v, const char *path, char *dst, size_t cap,
                                       char *why, size_t len)
{
    if (!json_object_is_type(v, json_type_string)) return wp_cfg_fail_(why, len, path, "must be a string");
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    if (strlen(s) != n) return wp_cfg_fail_(why, len, path, "must not contain a NUL character");
    bool url = (k->flags & WP_CFG_HTTP_URL) != 0;
    if ((url || (k->flags & WP_CFG_NONEMPTY)) && n == 0)
        return wp_cfg_fail_(why, len, path, "must not be empty");
    if (cap && n >= cap)
        return wp_cfg_fail_(why, len, path, "must be at most %zu characters (it has %zu)", cap - 1, n);
    if (url && strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
        return wp_cfg_fail_(why, len, path, "must be an http:// or https:// URL");
    if (k->type == WP_CFG_T_ENUM) {
        bool ok = false;
        for (const char *const *c = k->choices; *c && !ok; c++) ok = strcmp(*c, s) == 0;
        if (!ok) {
            char list[200] = "";
            size_t o = 0;
            for (const char *const *c = k->choices; *c && o + 1 < sizeof list; c++) {
                int w = snprintf(list + o, sizeof list - o, "%s\"%s\"", c == k->choices ? "" : ", ", *c);
                if (w < 0) break;
                o += (size_t)w;
            }
            return wp_cfg_fail_(why, len, path, "must be one of %s", list);
        }
    }
    const char *bad = k->check ? k->check(s) : NULL;
    if (bad) return wp_cfg_fail_(why, len, path, "must be %s", bad);
    if (dst) memcpy(dst, s, n + 1);
    return WP_OK;
}

static inline wp_status wp_cfg_parse_at_(const wp_cfg_key *keys, const json_object *config, void *out, char *why,
                                         size_t len, const char *at);

static inline wp_status wp_cfg_value_(const wp_cfg_key *k, json_object *v, void *out, const char *path, char *why,
                                      size_t len)
{
    char *field = (char *)out + k->offset;
    switch (k->type) {
    case WP_CFG_T_BOOL:
        if (!json_object_is_type(v, json_type_boolean)) return wp_cfg_fail_(why, len, path, "must be true or false");
        if (k->size == sizeof(bool)) *(bool *)(void *)field = json_object_get_boolean(v) != 0;
        else *(int *)(void *)field = json_object_get_boolean(v) != 0;
        return WP_OK;
    case WP_CFG_T_INT: {
        /* 2.0 is not an integer; json-c clamps what exceeds int64, so its text is checked too */
        int64_t n = json_object_get_int64(v);
        if (!json_object_is_type(v, json_type_int) || n < k->imin || n > k->imax ||
            n == INT64_MAX || n == INT64_MIN)
            return wp_cfg_fail_(why, len, path, "must be an integer from %lld to %lld", (long long)k->imin,
                                (long long)k->imax);
        wp_cfg_store_int_(field, k->size, n);
        return WP_OK;
    }
    case WP_CFG_T_NUMBER: {
        bool num = json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
        double d = num ? json_object_get_double(v) : 0;
        bool low = (k->flags & WP_CFG_ABOVE_MIN) ? !(d > k->dmin) : !(d >= k->dmin);
        if (!num || low || !(d <= k->dmax))
            return wp_cfg_fail_(why, len, path, "must be a number %s %g and at most %g",
                                (k->flags & WP_CFG_ABOVE_MIN) ? "above" : "from", k->dmin, k->dmax);
        memcpy(field, &d, sizeof d);
        return WP_OK;
    }
    case WP_CFG_T_STRING:
    case WP_CFG_T_ENUM: return wp_cfg_string_(k, v, path, field, k->size, why, len);
    case WP_CFG_T_STRINGS: {
        if (!json_object_is_type(v, json_type_array))
            return wp_cfg_fail_(why, len, path, "must be an array of strings");
        size_t n = json_object_array_length(v);
        if (n > (size_t)k->imax)
            return wp_cfg_fail_(why, len, path, "must have at most %lld items (it has %zu)", (long long)k->imax, n);
        char **list = (char **)calloc(n + 1, sizeof *list);
        if (!list) return wp_cfg_fail_(why, len, path, "out of memory");
        for (size_t i = 0; i < n; i++) {
            char at[340]; /* path and "[index]" */
            if (!wp_cfg_path_(at, sizeof at, path, NULL, i, true)) {
                wp_cfg_free_strings_(&list);
                return wp_cfg_fail_(why, len, path, "has a key path too long to name");
            }
            json_object *e = json_object_array_get_idx(v, i);
            wp_status st = wp_cfg_string_(k, e, at, NULL, 0, why, len);
            if (st == WP_OK) {
                size_t n1 = strlen(json_object_get_string(e)) + 1; /* strdup is not C11 */
                if ((list[i] = (char *)malloc(n1)) != NULL) memcpy(list[i], json_object_get_string(e), n1);
                else st = wp_cfg_fail_(why, len, at, "out of memory");
            }
            if (st != WP_OK) {
                wp_cfg_free_strings_(&list);
                return st;
            }
        }
        wp_cfg_free_strings_((char ***)(void *)field);
        *(char ***)(void *)field = list;
        return WP_OK;
    }
    case WP_CFG_T_OBJECT:
        if (!json_object_is_type(v, json_type_object)) return wp_cfg_fail_(why, len, path, "must be an object");
        return wp_cfg_parse_at_(k->sub, v, field, why, len, path);
    default: return wp_cfg_fail_(why, len, path, "has an unknown type in the plugin's key table");
    }
}

static inline wp_status wp_cfg_parse_at_(const wp_cfg_key *keys, const json_object *config, void *out, char *why,
                                         size_t len, const char *at)
{
    if (config && !json_object_is_type(config, json_type_object)) return wp_cfg_fail_(why, len, at, "must be an object");
    if (config) {
        json_object_object_foreach((json_object *)config, name, v) {
            char path[300];
            if (!wp_cfg_path_(path, sizeof path, at, name, 0, false))
                return wp_cfg_fail_(why, len, at, "has a key too long to name (%zu characters)", strlen(name));
            if (strncmp(name, "$comment", 8) == 0) continue;
            const wp_cfg_key *k = keys;
            while (k->key && strcmp(k->key, name) != 0) k++;
            if (!k->key) {
                char known[400] = "";
                size_t o = 0;
                for (const wp_cfg_key *q = keys; q->key && o + 1 < sizeof known; q++) {
                    int w = snprintf(known + o, sizeof known - o, "%s%s", q == keys ? "" : ", ", q->key);
                    if (w < 0) break;
                    o += (size_t)w;
                }
                return wp_cfg_fail_(why, len, path, "unknown key (known: %s)", keys->key ? known : "none");
            }
            if (json_object_is_type(v, json_type_null)) {
                if (k->flags & WP_CFG_REQUIRED) return wp_cfg_fail_(why, len, path, "is required (null given)");
                continue; /* the default stays */
            }
            wp_status st = wp_cfg_value_(k, v, out, path, why, len);
            if (st != WP_OK) return st;
        }
    }
    for (const wp_cfg_key *k = keys; k->key; k++) {
        if (!(k->flags & WP_CFG_REQUIRED)) continue;
        json_object *v = NULL;
        if (!config || !json_object_object_get_ex(config, k->key, &v)) {
            char path[300];
            if (!wp_cfg_path_(path, sizeof path, at, k->key, 0, false)) return wp_cfg_fail_(why, len, at, "lacks a key");
            return wp_cfg_fail_(why, len, path, "is required");
        }
    }
    return WP_OK;
}

/*
 * Fills out from config (init's "config" object; NULL: {}): every default
 * first, then the values present.  WP_OK, or WP_ECONFIG with why naming the
 * key path ("config.port: must be an integer from 1 to 65535"), or WP_EINVAL
 * when the table itself is wrong.  out's fields are overwritten (its
 * WP_CFG_STRINGS arrays too: wp_cfg_free them before parsing again); on
 * failure out holds the defaults and what was read before the bad key, so
 * call wp_cfg_free(keys, out) either way.
 */
static inline wp_status wp_cfg_parse(const wp_cfg_key *keys, const json_object *config, void *out, char *why,
                                     size_t len)
{
    if (why && len) why[0] = '\0';
    wp_status st = wp_cfg_check_table_(keys, why, len, "config");
    if (st != WP_OK) return st;
    wp_cfg_defaults_(keys, out);
    return wp_cfg_parse_at_(keys, config, out, why, len, "config");
}

#ifdef __cplusplus
}
#endif

#endif /* WALLETPASS_PLUGIN_CONFIG_H */
