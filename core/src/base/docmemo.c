/*
 * docmemo.c - see docmemo.h.
 */
#include "docmemo.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 4
/* Larger rows (passes carrying images) are built every time: a thread keeps at most
 * SLOTS rows of KEY_MAX bytes and their documents. */
#define KEY_MAX 16384

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
            json_object *copy = NULL;
            if (json_object_deep_copy(s->doc, &copy, NULL) == 0) return copy;
            json_object_put(copy); /* out of memory midway: build it again */
            return NULL;
        }
    }
    return NULL;
}

void wp_docmemo_put(const void *key, size_t klen, const json_object *doc)
{
    if (!doc || klen == 0 || klen > KEY_MAX) return;
    memo *m = mine(1);
    if (!m) return;
    slot *s = &m->s[m->next];
    m->next = (m->next + 1) % SLOTS;
    free(s->key);
    json_object_put(s->doc);
    s->key = NULL;
    s->klen = 0;
    s->doc = NULL;
    json_object *copy = NULL;
    unsigned char *k = malloc(klen);
    if (!k || json_object_deep_copy((json_object *)doc, &copy, NULL) != 0) {
        free(k);
        json_object_put(copy);
        return; /* not kept: built again next time */
    }
    memcpy(k, key, klen);
    s->key = k;
    s->klen = klen;
    s->doc = copy;
}
