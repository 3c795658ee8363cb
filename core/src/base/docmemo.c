/*
 * docmemo.c - see docmemo.h.
 */
#include "docmemo.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 4

typedef struct slot {
    unsigned char *key;
    size_t klen;
    json_object *doc;
} slot;

typedef struct memo {
    slot s[SLOTS];
    unsigned next; /* the slot to replace */
} memo;

static pthread_key_t tkey;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int have_key;

static void memo_free(void *p)
{
    memo *m = p;
    if (!m) return;
    for (int i = 0; i < SLOTS; i++) {
        free(m->s[i].key);
        json_object_put(m->s[i].doc);
    }
    free(m);
}

/*
 * A deep copy that keeps what the document shares.  A pass's document holds
 * each field of its body twice, in "body" and beside the resource's own keys,
 * as one value with two parents; json_object_deep_copy copies such a value
 * once per parent and its copy shares nothing, so every copy of a pass did
 * the body's work twice.  Here a value met again is the copy made the first
 * time.  Values are found by address in a small open-addressing table.
 */
typedef struct seen {
    json_object **from, **to;
    size_t cap, n; /* cap: a power of two */
    int heap;      /* from and to were allocated (else the caller's arrays) */
} seen;

static size_t slot_of(const seen *t, const json_object *p)
{
    size_t h = ((uintptr_t)p >> 4) * (size_t)0x9E3779B97F4A7C15ull;
    size_t i = h & (t->cap - 1);
    while (t->from[i] && t->from[i] != p) i = (i + 1) & (t->cap - 1);
    return i;
}

static int seen_add(seen *t, json_object *from, json_object *to)
{
    if ((t->n + 1) * 2 > t->cap) {
        seen g = {calloc(t->cap * 2, sizeof *g.from), calloc(t->cap * 2, sizeof *g.to), t->cap * 2, 0, 1};
        if (!g.from || !g.to) {
            free(g.from);
            free(g.to);
            return 0;
        }
        for (size_t i = 0; i < t->cap; i++)
            if (t->from[i]) {
                size_t j = slot_of(&g, t->from[i]);
                g.from[j] = t->from[i];
                g.to[j] = t->to[i];
                g.n++;
            }
        if (t->heap) {
            free(t->from);
            free(t->to);
        }
        *t = g;
    }
    size_t i = slot_of(t, from);
    t->from[i] = from;
    t->to[i] = to;
    t->n++;
    return 1;
}

/* The copy of src (the caller's reference); *ok = 0 when memory ran out (then NULL). */
static json_object *copy_of(json_object *src, seen *t, int *ok)
{
    if (!src || !*ok) return NULL;
    size_t i = slot_of(t, src);
    if (t->from[i]) return json_object_get(t->to[i]);
    json_object *dst = NULL;
    switch (json_object_get_type(src)) {
    case json_type_object:
        if (!(dst = json_object_new_object())) break;
        json_object_object_foreach(src, k, v) {
            json_object *c = copy_of(v, t, ok);
            /* the keys of one object are distinct */
            if (!*ok || json_object_object_add_ex(dst, k, c, JSON_C_OBJECT_ADD_KEY_IS_NEW) != 0) {
                json_object_put(c);
                *ok = 0;
                break;
            }
        }
        break;
    case json_type_array: {
        size_t n = json_object_array_length(src);
        if (!(dst = json_object_new_array_ext((int)(n ? n : 1)))) break;
        for (size_t j = 0; j < n && *ok; j++) {
            json_object *c = copy_of(json_object_array_get_idx(src, j), t, ok);
            if (*ok && json_object_array_add(dst, c) != 0) {
                json_object_put(c);
                *ok = 0;
            }
        }
        break;
    }
    default: /* a scalar: json-c's own copy keeps a parsed number's text */
        if (json_object_deep_copy(src, &dst, NULL) != 0) {
            json_object_put(dst);
            dst = NULL;
        }
        break;
    }
    if (!dst || !*ok || !seen_add(t, src, dst)) {
        json_object_put(dst);
        *ok = 0;
        return NULL;
    }
    return dst;
}

json_object *wp_docmemo_copy(json_object *doc)
{
    json_object *from[64] = {0}, *to[64];
    seen t = {from, to, 64, 0, 0};
    int ok = 1;
    json_object *c = copy_of(doc, &t, &ok);
    if (t.heap) {
        free(t.from);
        free(t.to);
    }
    return ok ? c : NULL;
}

static void make_key(void) { have_key = pthread_key_create(&tkey, memo_free) == 0; }

static memo *mine(int create)
{
    pthread_once(&once, make_key);
    if (!have_key) return NULL;
    memo *m = pthread_getspecific(tkey);
    if (!m && create) {
        m = calloc(1, sizeof *m);
        if (m && pthread_setspecific(tkey, m) != 0) {
            free(m);
            m = NULL;
        }
    }
    return m;
}

json_object *wp_docmemo_get(const void *key, size_t klen)
{
    memo *m = mine(0);
    if (!m) return NULL;
    for (int i = 0; i < SLOTS; i++) {
        slot *s = &m->s[i];
        if (s->doc && s->klen == klen && memcmp(s->key, key, klen) == 0) {
            return wp_docmemo_copy(s->doc); /* NULL (out of memory): built again */
        }
    }
    return NULL;
}

void wp_docmemo_put(const void *key, size_t klen, const json_object *doc)
{
    if (!doc || klen == 0 || klen > WP_DOCMEMO_KEY_MAX) return;
    memo *m = mine(1);
    if (!m) return;
    slot *s = &m->s[m->next];
    m->next = (m->next + 1) % SLOTS;
    free(s->key);
    json_object_put(s->doc);
    s->key = NULL;
    s->klen = 0;
    s->doc = NULL;
    unsigned char *k = malloc(klen);
    json_object *copy = k ? wp_docmemo_copy((json_object *)doc) : NULL;
    if (!copy) {
        free(k);
        return; /* not kept: built again next time */
    }
    memcpy(k, key, klen);
    s->key = k;
    s->klen = klen;
    s->doc = copy;
}
