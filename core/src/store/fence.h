/*
 * fence.h - when a gateway process may answer from memory what another
 * process of the deployment can change.
 *
 * A cache of passes is only right if, once a write has answered, no process
 * serves what the write replaced.  A notification alone cannot promise that:
 * it reaches the other processes some time after the commit.  The fence adds
 * the two things that make it a promise (docs/caching.md, "Passes"):
 *
 *   - a lease: the fence's thread LISTENs on channel "wp_cache" and NOTIFYs
 *     itself every lease_ms / 4.  PostgreSQL delivers notifications in commit
 *     order, so once its own ping comes back every change committed before
 *     that ping was sent has been handed to fn.  wp_fence_leased() is 1 while
 *     that moment is at most lease_ms old; a process without a lease serves
 *     nothing from memory.
 *   - a sync: wp_fence_sync(), called after a write committed and before it is
 *     answered, sends a token on the channel; every other process acknowledges
 *     it once it has handed fn everything committed before it.  The sync
 *     returns when every process heard from in the last lease_ms has
 *     acknowledged, or at the latest lease_ms after it began: by then any
 *     process that had not seen the change has lost the lease it held before
 *     the change.  Only each process's own monotonic clock is used.
 *
 * Invalidations are the payloads "x <what>" that the database's triggers
 * send on the channel (migrations/0018_cache_notify.sql); fn(ud, what) gets
 * each, in order, and fn(ud, NULL) when notifications may have been lost
 * (a reconnection): forget everything.
 *
 * Thread-safe.  fn runs on the fence's thread: it must be quick.
 */
#ifndef WP_FENCE_H
#define WP_FENCE_H

#include "db.h"
#include "err.h"

typedef struct wp_fence wp_fence;

#define WP_FENCE_CHANNEL "wp_cache"

typedef void (*wp_fence_fn)(void *ud, const char *what);

typedef struct wp_fence_options {
    const char *direct_url; /* database.listen_url (copied), or NULL: connect like the pool */
    int lease_ms;           /* cache.lease_ms */
    int test_delay_ms;      /* tests only: hold each batch of notifications this long before handling it */
} wp_fence_options;

wp_status wp_fence_start(wp_db *db, const wp_fence_options *o, wp_fence_fn fn, void *ud, wp_fence **out, wp_err *err);

/* Stops the thread; a sync waiting on it returns.  NULL is fine. */
void wp_fence_stop(wp_fence *f);

/* 1 while this process may serve from memory (above).  NULL: 0. */
int wp_fence_leased(wp_fence *f);

/*
 * Returns when every process of the deployment has handled every change
 * committed before the call (above).  Cannot fail: without an answer it
 * waits out the lease.  Returns 1 when every process answered, 0 when the
 * lease was waited out.  NULL: returns 1 at once (no process caches).
 */
int wp_fence_sync(wp_fence *f);

typedef struct wp_fence_stats {
    int leased, listening, peers;
    unsigned long long syncs, syncs_waited_out;
} wp_fence_stats;

void wp_fence_stats_get(wp_fence *f, wp_fence_stats *out);

#endif
