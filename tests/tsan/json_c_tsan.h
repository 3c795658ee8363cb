/*
 * json_c_tsan.h - makes json-c's hidden writes visible to ThreadSanitizer.
 *
 * Force-included (-include) into every translation unit of a
 * -DWP_SANITIZE=thread build; never part of a release or ASan build.
 *
 * Why: json-c is a system library built without -fsanitize=thread, so TSan
 * sees none of its memory accesses.  Yet json-c writes into objects that
 * look read-only to the caller: json_object_get/put change a plain (not
 * atomic) reference count, and json_object_to_json_string* (and
 * json_object_get_string of a non-string) print into the object's own
 * buffer.  Two threads doing that to one object lose counts and free it
 * early: a crash much later, far from the cause.  Each wrapper below tells
 * TSan, before calling the real function, which part of the object the call
 * writes or reads, so an object used by two threads without a lock or a
 * hand-over between them is reported as a data race naming both stacks.
 *
 * The annotated addresses are words of struct json_object (json-c 0.13 to
 * 0.18, json_object_private.h): the reference count at offset 4, the print
 * buffer pointer at offset 16.  The word at offset 8 (the serializer
 * pointer, which json-c never changes after creation) stands for the
 * object's content: container and value changes write it, reads read it.
 * Only our annotations touch these shadow words, so the choice of proxy
 * cannot cause a report of its own.
 *
 * json-c's internal calls (a container's put releasing its children, say)
 * stay invisible; the calls our code makes are enough to show every
 * sharing bug found so far.  Function-like macros only: taking the address
 * of json_object_put (WP_PLUGIN_DEFINE, the loader's copy check) still
 * yields the library's function.
 */
#ifndef WP_JSON_C_TSAN_H
#define WP_JSON_C_TSAN_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#if JSON_C_MAJOR_VERSION != 0 || JSON_C_MINOR_VERSION < 13 || JSON_C_MINOR_VERSION > 18
#error "json_c_tsan.h knows the struct json_object layout of json-c 0.13 to 0.18 only: check it and extend the range"
#endif

/* Entry points of the ThreadSanitizer runtime (what the compiler emits for a plain access). */
void __tsan_read4(void *addr);
void __tsan_write4(void *addr);
void __tsan_read8(void *addr);
void __tsan_write8(void *addr);

#define WP_TSAN_AT_(o, off) ((void *)((char *)(uintptr_t)(const void *)(o) + (off)))
#define WP_TSAN_REF_W(o) __tsan_write4(WP_TSAN_AT_(o, 4))
#define WP_TSAN_BODY_R(o) __tsan_read8(WP_TSAN_AT_(o, 8))
#define WP_TSAN_BODY_W(o) __tsan_write8(WP_TSAN_AT_(o, 8))
#define WP_TSAN_PB_W(o) __tsan_write8(WP_TSAN_AT_(o, 16))

/* ---- reference count ---------------------------------------------------- */

static inline struct json_object *wp_tsan_json_object_get(struct json_object *o)
{
    if (o) WP_TSAN_REF_W(o);
    return (json_object_get)(o);
}
static inline int wp_tsan_json_object_put(struct json_object *o)
{
    if (o) WP_TSAN_REF_W(o);
    return (json_object_put)(o);
}

/* ---- serialisation: prints into the object's own buffer ------------------ */

static inline const char *wp_tsan_json_object_to_json_string(struct json_object *o)
{
    if (o) { WP_TSAN_BODY_R(o); WP_TSAN_PB_W(o); }
    return (json_object_to_json_string)(o);
}
static inline const char *wp_tsan_json_object_to_json_string_ext(struct json_object *o, int flags)
{
    if (o) { WP_TSAN_BODY_R(o); WP_TSAN_PB_W(o); }
    return (json_object_to_json_string_ext)(o, flags);
}
static inline const char *wp_tsan_json_object_to_json_string_length(struct json_object *o, int flags, size_t *len)
{
    if (o) { WP_TSAN_BODY_R(o); WP_TSAN_PB_W(o); }
    return (json_object_to_json_string_length)(o, flags, len);
}
static inline const char *wp_tsan_json_object_get_string(struct json_object *o)
{
    if (o) {
        WP_TSAN_BODY_R(o);
        if (!(json_object_is_type)(o, json_type_string)) WP_TSAN_PB_W(o); /* printed on demand */
    }
    return (json_object_get_string)(o);
}

/* ---- content: changes ---------------------------------------------------- */

static inline int wp_tsan_json_object_object_add(struct json_object *o, const char *k, struct json_object *v)
{
    if (o) WP_TSAN_BODY_W(o);
    return (json_object_object_add)(o, k, v);
}
static inline int wp_tsan_json_object_object_add_ex(struct json_object *o, const char *k, struct json_object *v,
                                                    const unsigned opts)
{
    if (o) WP_TSAN_BODY_W(o);
    return (json_object_object_add_ex)(o, k, v, opts);
}
static inline void wp_tsan_json_object_object_del(struct json_object *o, const char *k)
{
    if (o) WP_TSAN_BODY_W(o);
    (json_object_object_del)(o, k);
}
static inline int wp_tsan_json_object_array_add(struct json_object *o, struct json_object *v)
{
    if (o) WP_TSAN_BODY_W(o);
    return (json_object_array_add)(o, v);
}
static inline int wp_tsan_json_object_array_put_idx(struct json_object *o, size_t i, struct json_object *v)
{
    if (o) WP_TSAN_BODY_W(o);
    return (json_object_array_put_idx)(o, i, v);
}
static inline int wp_tsan_json_object_array_del_idx(struct json_object *o, size_t i, size_t n)
{
    if (o) WP_TSAN_BODY_W(o);
    return (json_object_array_del_idx)(o, i, n);
}

/* ---- content: reads ------------------------------------------------------ */

static inline json_bool wp_tsan_json_object_object_get_ex(const struct json_object *o, const char *k,
                                                          struct json_object **v)
{
    if (o) WP_TSAN_BODY_R(o);
    return (json_object_object_get_ex)(o, k, v);
}
static inline struct json_object *wp_tsan_json_object_object_get(const struct json_object *o, const char *k)
{
    if (o) WP_TSAN_BODY_R(o);
    return (json_object_object_get)(o, k);
}
static inline struct lh_table *wp_tsan_json_object_get_object(const struct json_object *o)
{
    if (o) WP_TSAN_BODY_R(o);
    return (json_object_get_object)(o);
}
static inline int wp_tsan_json_object_object_length(const struct json_object *o)
{
    if (o) WP_TSAN_BODY_R(o);
    return (json_object_object_length)(o);
}
static inline struct json_object *wp_tsan_json_object_array_get_idx(const struct json_object *o, size_t i)
{
    if (o) WP_TSAN_BODY_R(o);
    return (json_object_array_get_idx)(o, i);
}
static inline size_t wp_tsan_json_object_array_length(const struct json_object *o)
{
    if (o) WP_TSAN_BODY_R(o);
    return (json_object_array_length)(o);
}
static inline int64_t wp_tsan_json_object_get_int64(const struct json_object *o)
{
    if (o) WP_TSAN_BODY_R(o);
    return (json_object_get_int64)(o);
}
static inline int32_t wp_tsan_json_object_get_int(const struct json_object *o)
{
    if (o) WP_TSAN_BODY_R(o);
    return (json_object_get_int)(o);
}
static inline double wp_tsan_json_object_get_double(const struct json_object *o)
{
    if (o) WP_TSAN_BODY_R(o);
    return (json_object_get_double)(o);
}
static inline json_bool wp_tsan_json_object_get_boolean(const struct json_object *o)
{
    if (o) WP_TSAN_BODY_R(o);
    return (json_object_get_boolean)(o);
}
static inline int wp_tsan_json_object_get_string_len(const struct json_object *o)
{
    if (o) WP_TSAN_BODY_R(o);
    return (json_object_get_string_len)(o);
}
static inline int wp_tsan_json_object_equal(struct json_object *a, struct json_object *b)
{
    if (a) WP_TSAN_BODY_R(a);
    if (b) WP_TSAN_BODY_R(b);
    return (json_object_equal)(a, b);
}
static inline int wp_tsan_json_object_deep_copy(struct json_object *src, struct json_object **dst,
                                                json_c_shallow_copy_fn *shallow_copy)
{
    if (src) WP_TSAN_BODY_R(src);
    return (json_object_deep_copy)(src, dst, shallow_copy);
}

#define json_object_get(o) wp_tsan_json_object_get(o)
#define json_object_put(o) wp_tsan_json_object_put(o)
#define json_object_to_json_string(o) wp_tsan_json_object_to_json_string(o)
#define json_object_to_json_string_ext(o, f) wp_tsan_json_object_to_json_string_ext(o, f)
#define json_object_to_json_string_length(o, f, l) wp_tsan_json_object_to_json_string_length(o, f, l)
#define json_object_get_string(o) wp_tsan_json_object_get_string(o)
#define json_object_object_add(o, k, v) wp_tsan_json_object_object_add(o, k, v)
#define json_object_object_add_ex(o, k, v, f) wp_tsan_json_object_object_add_ex(o, k, v, f)
#define json_object_object_del(o, k) wp_tsan_json_object_object_del(o, k)
#define json_object_array_add(o, v) wp_tsan_json_object_array_add(o, v)
#define json_object_array_put_idx(o, i, v) wp_tsan_json_object_array_put_idx(o, i, v)
#define json_object_array_del_idx(o, i, n) wp_tsan_json_object_array_del_idx(o, i, n)
#define json_object_object_get_ex(o, k, v) wp_tsan_json_object_object_get_ex(o, k, v)
#define json_object_object_get(o, k) wp_tsan_json_object_object_get(o, k)
#define json_object_get_object(o) wp_tsan_json_object_get_object(o)
#define json_object_object_length(o) wp_tsan_json_object_object_length(o)
#define json_object_array_get_idx(o, i) wp_tsan_json_object_array_get_idx(o, i)
#define json_object_array_length(o) wp_tsan_json_object_array_length(o)
#define json_object_get_int64(o) wp_tsan_json_object_get_int64(o)
#define json_object_get_int(o) wp_tsan_json_object_get_int(o)
#define json_object_get_double(o) wp_tsan_json_object_get_double(o)
#define json_object_get_boolean(o) wp_tsan_json_object_get_boolean(o)
#define json_object_get_string_len(o) wp_tsan_json_object_get_string_len(o)
#define json_object_equal(a, b) wp_tsan_json_object_equal(a, b)
#define json_object_deep_copy(s, d, c) wp_tsan_json_object_deep_copy(s, d, c)

#endif
