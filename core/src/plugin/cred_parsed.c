/*
 * cred_parsed.c - the credentials this thread last took from the process's
 * cache, kept parsed (plugin_host.h: wp_cred_parsed).
 *
 * A download reads its account's credentials from the cache as JSON text,
 * several kilobytes of PEM that json-c's tokenizer walks a character at a
 * time: the largest single cost of a cached download, paid twice when a
 * platform's web service checks a device's token against the credentials and
 * then builds the bundle with them.  The same text comes back request after
 * request, so each thread keeps the last text it parsed with its tree and
 * hands out copies of the tree (json_object_deep_copy: memory copies, no
 * tokenizer).  The tree never leaves its thread (json-c objects are not
 * shared between threads); text and tree are wiped when replaced and when
 * the thread ends.  They hold nothing the cache does not hold already.
 */
#include "plugin_host.h"

#include <openssl/crypto.h>
#include <pthread.h>

#include "credentials.h"

typedef struct memo {
    char *val; /* the cache entry the tree was parsed from: its stamp, NUL, its text */
    size_t len;
    json_object *obj;
} memo;

static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int have_key;

static void memo_clear(memo *m)
{
    if (m->val) {
        OPENSSL_cleanse(m->val, m->len);
        free(m->val);
    }
    wp_credentials_wipe_put(m->obj);
    m->val = NULL;
    m->len = 0;
    m->obj = NULL;
}

static void memo_drop(void *p)
{
    if (!p) return;
    memo_clear(p);
    free(p);
}

static void make_key(void) { have_key = pthread_key_create(&key, memo_drop) == 0; }

json_object *wp_cred_parsed(const char *val, size_t len, const char *text)
{
    pthread_once(&once, make_key);
    memo *m = have_key ? pthread_getspecific(key) : NULL;
    if (m && m->obj && m->len == len && memcmp(m->val, val, len) == 0) {
        json_object *copy = NULL;
        if (json_object_deep_copy(m->obj, &copy, NULL) == 0) return copy;
        json_object_put(copy); /* out of memory midway: parse instead */
    }
    json_object *o = json_tokener_parse(text);
    if (!o || !json_object_is_type(o, json_type_object) || !have_key) return o;
    if (!m) {
        m = calloc(1, sizeof *m);
        if (!m || pthread_setspecific(key, m) != 0) {
            free(m);
            return o; /* not kept: parsed again next time */
        }
    }
    memo_clear(m);
    json_object *copy = NULL;
    m->val = malloc(len);
    if (m->val && json_object_deep_copy(o, &copy, NULL) == 0) {
        memcpy(m->val, val, len);
        m->len = len;
        m->obj = copy;
    } else {
        free(m->val);
        m->val = NULL;
        wp_credentials_wipe_put(copy);
    }
    return o;
}
