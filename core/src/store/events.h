/*
 * events.h - durable events: the transactional outbox (table `events`)
 * and fan-out to subscribers through the job queue.
 *
 * wp_events_publish() inserts the event row AND one delivery job per
 * matching subscription in the caller's transaction: the event exists and
 * is delivered iff that transaction commits.  Delivery is at-least-once
 * (a subscriber may see an event twice after a crash or a lease expiry),
 * so subscribers deduplicate on the event id.  Each subscription is the
 * job kind "event:<subscriber>:<type>" with its own retry schedule;
 * WP_OK / WP_RETRY / WP_FAIL mean what they mean for jobs (jobs.h).
 *
 * Order: the deliveries to one subscriber of the events about one pass
 * (data.pass.id) share the serial key "event:<subscriber>:<account>:<pass>",
 * so they run one at a time, in publish order (jobs.h); the writes that
 * publish them lock the pass row, so publish order is commit order.
 *
 * Subscriptions are matched when the event is published, by the
 * publishing process: every gateway process sharing a database must load
 * the same subscribers (the same plugins), which is how the gateway is
 * deployed.  Delivery jobs of a subscriber no process handles stay queued.
 *
 * The event document (GET /api/v1/events, wp_events_get) is
 *   {"id": "evt_…", "object": "event", "type": "...", "account_id": "acct_…",
 *    "created_at": "2025-06-01T12:00:00.000Z", "schema": 1, "data": {...}}
 * `schema` versions this document independently of the C ABI.
 *
 * Threads: subscribe before wp_jobs_start (start-up, main thread);
 * publish from any thread; handlers run on job worker threads,
 * concurrently.  Ownership: strings are copied; `data` is borrowed both
 * ways (valid in a handler until it returns).
 */
#ifndef WP_EVENTS_H
#define WP_EVENTS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <libpq-fe.h>

#include "err.h"
#include "fence.h"
#include "jobs.h"

#define WP_EVENT_SCHEMA 1   /* the version of the event document this host emits */

typedef struct wp_events wp_events;

/* One delivery of an event to one subscriber; everything borrowed for the call. */
typedef struct wp_event_delivery {
    const char *type;
    const char *event_id;       /* "evt_…": stable across attempts, for deduplication */
    const char *account_id;     /* NULL for system events */
    const char *created_at;     /* when the event was published (RFC 3339, UTC) */
    json_object *data;
    int attempt;                /* 1 on the first delivery */
} wp_event_delivery;

typedef wp_status (*wp_event_fn)(const wp_event_delivery *d, void *ud, wp_err *err);

/* The bus borrows q, which must outlive it. */
wp_status wp_events_new(wp_jobs *q, wp_events **out, wp_err *err);
void wp_events_free(wp_events *ev);

/* Each delivery first waits for wp_fence_sync(fence) (fence.h); NULL (the default): no wait.
 * Set before deliveries run, cleared before the fence stops. */
void wp_events_set_fence(wp_events *ev, wp_fence *fence);

/*
 * Subscribes `fn` to events of `type` (exact, or "*" for all).  A
 * subscription is named by (subscriber, type): the same subscriber (e.g. a
 * plugin's name) may subscribe to several types; the same pair twice is
 * WP_ECONFLICT.  subscriber and type: 1..48 characters of letters, digits
 * and ._-  (type may be "*").  retry_delays_s/nretries as for
 * wp_jobs_register.  WP_ELATE once the job workers are started.
 */
wp_status wp_events_subscribe(wp_events *ev, const char *type, const char *subscriber, wp_event_fn fn, void *ud,
                              const int *retry_delays_s, int nretries, wp_err *err);

/*
 * Publishes an event of the account (required) in the caller's transaction
 * (conn non-NULL; the transactional outbox) or, with conn NULL, in a
 * transaction of its own on a pooled connection.  data is borrowed (NULL:
 * {}).  id_out (may be NULL) receives "evt_…".  One statement: the event
 * row, the delivery jobs and the NOTIFY.
 */
wp_status wp_events_publish(wp_events *ev, PGconn *conn, const char *account_id, const char *type,
                            json_object *data, char id_out[48], wp_err *err);

/*
 * Reads one event of the account as its full document (the shape above),
 * for subscribers that need more than the handler's arguments (created_at
 * for webhook bodies).  *out is transferred (json_object_put it).
 * conn may be NULL (a pooled connection).  WP_ENOTFOUND when absent.
 */
wp_status wp_events_get(wp_events *ev, PGconn *conn, const char *account_id, const char *event_id,
                        json_object **out, wp_err *err);

/* True for a well-formed event type ("pass.created"). */
bool wp_events_type_valid(const char *type);

/*
 * One page of the account's events, newest first (GET /api/v1/events):
 * type, pass_id (its events: the resource or the id they carry) and after
 * ("" or NULL: any) filter, limit rows at most; *data is a
 * new array of event documents (transferred), *has_more says whether older
 * ones follow.
 */
wp_status wp_events_page(PGconn *conn, const char *account_id, const char *type, const char *pass_id, const char *after,
                         int limit, json_object **data, bool *has_more, wp_err *err);

#endif
