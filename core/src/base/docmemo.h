/*
 * docmemo.h - the JSON documents this thread built last, by the bytes they
 * were built from.
 *
 * A cached download builds the same document from the same row again and
 * again (the pass, parsed from its stored JSON), and a platform's web service
 * may build it twice per request.  Each thread keeps its last few documents
 * with a copy of the bytes each was built from, and hands out deep copies
 * (memory copies, no parsing; what the document shares stays shared).  Documents never leave their thread (json-c
 * objects are not shared between threads); a thread's memo is freed when
 * the thread ends.  Not for secrets: nothing is wiped.
 */
#ifndef WP_DOCMEMO_H
#define WP_DOCMEMO_H

#include <json-c/json.h>
#include <stddef.h>

/* Larger keys (passes carrying images) are not kept: a thread holds at most
 * four keys of this size and their documents. */
#define WP_DOCMEMO_KEY_MAX 16384

/* A deep copy (the caller's) of the document built from exactly these bytes; NULL when absent. */
json_object *wp_docmemo_get(const void *key, size_t klen);

/* Keeps a deep copy of doc (borrowed) under key (copied), replacing the oldest;
 * nothing for a key longer than WP_DOCMEMO_KEY_MAX. */
void wp_docmemo_put(const void *key, size_t klen, const json_object *doc);

/*
 * A deep copy of doc (the caller's; NULL when memory ran out) in which a value
 * doc holds under two parents is again one value under both, as in doc.
 */
json_object *wp_docmemo_copy(json_object *doc);

#endif
