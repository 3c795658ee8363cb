/*
 * passcache.h - the pass rows that requests read, kept in memory by each
 * gateway process.
 *
 * A download (by its capability link, by a platform's own web service) and
 * GET /api/v1/passes/:id read one row: the pass, its account's mode and
 * deletion, and the stamps of the credentials it is signed with
 * (credmemo.h).  That row is kept under (account, pass), bounded by
 * cache.passes entries and cache.passes_mb, and served only while the
 * process holds the fence's lease (fence.h): every change committed to the
 * pass, its account or its credentials has then been forgotten here, and a
 * write that answered waited for every process to forget (docs/caching.md,
 * "Passes").  A generation (lru.h) keeps a read that raced an invalidation
 * from storing what it read before it.
 *
 * Thread-safe.  The rows handed out are the caller's (PQclear).
 */
#ifndef WP_PASSCACHE_H
#define WP_PASSCACHE_H

#include <libpq-fe.h>
#include <stdint.h>

#include "domain.h"

/* 1 and *out a one-row result (the caller's) when the row is held and may be served. */
int wp_passcache_get(wp_domain *dom, const char *account_id, const char *pass_id, PGresult **out);

/* The generation to read before the database (wp_passcache_put's gen). */
uint64_t wp_passcache_generation(wp_domain *dom);

/* Keeps row 0 of r (left the caller's) unless an invalidation came after gen. */
void wp_passcache_put(wp_domain *dom, const char *account_id, const char *pass_id, const PGresult *r, uint64_t gen);

/*
 * Plugins' memos (the host's pass_memo_* slots): bytes a plugin keeps about
 * one pass beside its row, in the same cache, forgotten with the row (and
 * when the plugin's own tables call wp_cache_forget()).  slot: one per
 * plugin, 0 .. WP_PASSCACHE_MEMO_SLOTS - 1.
 *
 * get: 1 when held and servable; *len its length, copied into out only when
 * it fits (len <= cap).  0 otherwise.
 */
#define WP_PASSCACHE_MEMO_SLOTS 32
int wp_passcache_memo_get(wp_domain *dom, int slot, const char *account_id, const char *pass_id, void *out, size_t cap,
                          size_t *len);
void wp_passcache_memo_put(wp_domain *dom, int slot, const char *account_id, const char *pass_id, const void *val,
                           size_t len, uint64_t gen);

/*
 * An account's own row (GET /api/v1/account, accounts.c) is kept under this
 * pass id, which no pass has; a change to the account or to its usage sends
 * "x <account>/account" (migrations/0020_account_notify.sql).
 */
#define WP_PASSCACHE_ACCOUNT "account"

/* Forgets the row kept under (account, pass), and its memos, on this process at once. */
void wp_passcache_forget(wp_domain *dom, const char *account_id, const char *pass_id);

/*
 * Pages of GET /api/v1/passes: the answer's bytes for (account, query),
 * kept at most WP_PASSCACHE_PAGE_MAX_AGE_S and forgotten with any change the
 * process hears of to one of the account's passes, to its row or its usage
 * (a new pass counts an operation), and with everything (credentials, a
 * lost connection).  An account's pages hang under a token of its own that
 * any such notification drops, so one removal forgets them all; a create
 * drops it at once on its own process (wp_passcache_forget of
 * WP_PASSCACHE_ACCOUNT).  query: the list's parameters, canonical.
 *
 * get: 1 and *out (malloc'd, the caller's) when a page may be served.
 * put: keeps page unless a notification came after gen.
 */
#define WP_PASSCACHE_PAGE_MAX_AGE_S 1.0
int wp_passcache_page_get(wp_domain *dom, const char *account_id, const char *query, char **out, size_t *len);
void wp_passcache_page_put(wp_domain *dom, const char *account_id, const char *query, const char *page, size_t len,
                           uint64_t gen);

/* The fence's invalidation handler (fence.h): ud is the cache (wp_lru). */
void wp_passcache_on_notify(void *ud, const char *what);

#endif
