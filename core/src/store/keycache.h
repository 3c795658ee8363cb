/*
 * keycache.h - API key -> account, remembered by each gateway process.
 *
 * Every request with an API key would otherwise wait on the database for an
 * answer that almost never changes.  A verified key's result (apikey.h) is
 * kept under the SHA-256 of the key (never the key itself), bounded by
 * cache.api_keys entries.  Unknown and revoked keys are never remembered:
 * a key created on one process works at once on every other.
 *
 * How a revocation reaches a cached key (docs/caching.md):
 *   - on the process that revoked it: at once (wp_keycache_forget_all after
 *     the revoking statement committed);
 *   - on every other process: when the NOTIFY on channel "wp_auth" arrives
 *     (migrations/0014: a trigger on api_keys sends it when a change commits),
 *     normally within milliseconds;
 *   - at the latest cache.api_key_ttl_ms after the key was last read from the
 *     database, whatever happened to the notification (listener reconnecting,
 *     a pooler that drops LISTEN): an entry older than that is read again.
 * A generation (lru.h) keeps a lookup that raced an invalidation from storing
 * what it read before it.
 *
 * Thread-safe.  Ownership: the cache owns its copies; results are copied out.
 */
#ifndef WP_KEYCACHE_H
#define WP_KEYCACHE_H

#include <libpq-fe.h>

#include "apikey.h"
#include "err.h"

typedef struct wp_keycache wp_keycache;

/* The channel the api_keys trigger notifies on (migrations/0014_auth_notify.sql). */
#define WP_KEYCACHE_CHANNEL "wp_auth"

/* max_entries 0: nothing is cached (every request reads the database). */
wp_status wp_keycache_new(size_t max_entries, int ttl_ms, wp_keycache **out);
void wp_keycache_free(wp_keycache *kc);

/* Gives the connection a lookup needs on a miss (NULL with err filled when there is none). */
typedef PGconn *(*wp_keycache_conn_fn)(void *ud, wp_err *err);

/*
 * wp_apikey_verify through the cache: a remembered key costs no query; on a
 * miss conn(ud) is asked for a connection and the result is remembered.
 * Same results and errors as wp_apikey_verify.
 */
wp_status wp_keycache_verify(wp_keycache *kc, const char *token, wp_keycache_conn_fn conn, void *ud,
                             wp_apikey_auth *out, wp_err *err);

/* Forgets every key: a key was revoked, or notifications may have been missed. */
void wp_keycache_forget_all(wp_keycache *kc);

/* For the listener (listener.h): any notification on WP_KEYCACHE_CHANNEL forgets everything. */
void wp_keycache_on_notify(void *kc, const char *payload);

/* Counters for /metrics. */
void wp_keycache_stats(wp_keycache *kc, unsigned long long *hits, unsigned long long *misses, size_t *entries);

#endif
