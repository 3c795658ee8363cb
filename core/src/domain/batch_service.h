/*
 * batch_service.h - batch creation of passes through the job queue
 * (docs/api.md "Batches").  The API's handlers (http/batches.c) call these;
 * none of them needs an HTTP request.
 *
 * A batch is 1..WP_BATCH_MAX_ITEMS pass bodies.  Creating one stores the
 * batch and its items (tables batches, batch_items, migration 0006) and
 * enqueues one job of kind WP_BATCH_JOB per WP_BATCH_CHUNK items, all in the
 * caller's transaction.  A job creates its items one by one with
 * wp_pass_create (pass_service.h), each in its own transaction together with
 * the item's result row: one bad item does not fail the others, and a chunk
 * run again after a crash skips the items already done, so no pass is
 * created twice.  The job that finds no pending item left marks the batch
 * completed and publishes `batch.completed` in the same transaction.
 *
 * Item results: {"index", "status": "succeeded", "pass_id"} or {"index",
 * "status": "failed", "error": {status, type, code, message, param}} where
 * the error is what POST /api/v1/passes would have answered for that body
 * (param relative to the item: "locations[0].latitude"); "pending" until
 * the item is processed.  Transient failures (database, vault: 5xx) retry
 * the chunk's job; on its last attempt the item fails with internal_error.
 *
 * Every json_object handed out is transferred; inputs are borrowed.
 */
#ifndef WP_BATCH_SERVICE_H
#define WP_BATCH_SERVICE_H

#include <json-c/json.h>
#include <libpq-fe.h>

#include "domain.h"
#include "err.h"

#define WP_BATCH_MAX_ITEMS 1000
#define WP_BATCH_CHUNK 100            /* items per job */
#define WP_BATCH_JOB "batches.chunk"

/*
 * The envelope of a batch request body: an object with "passes" (an array of
 * 1..WP_BATCH_MAX_ITEMS items; each item is checked later, as a pass body)
 * and an optional "template_id" (a string shaped like an id, or null).
 * WP_OK: *passes and *template_id (NULL when absent) point into `in`
 * (borrowed).  WP_EINVAL otherwise, err naming the field, with the API error
 * code (parameter_invalid, parameter_missing or parameter_unknown).  A pure
 * function of its input: tests/fuzz/fuzz_batch_envelope.c calls it.
 */
wp_status wp_batch_envelope(json_object *in, json_object **passes, const char **template_id, wp_err *err);

/*
 * Creates a batch of the account from a request body (`in`, checked with
 * wp_batch_envelope) inside the caller's open transaction on conn (the caller
 * commits): the template, when named, must be a live one of the account
 * (WP_ENOTFOUND naming template_id).  *out: the batch resource (status "queued").
 */
wp_status wp_batch_create(wp_domain *dom, PGconn *conn, const char *account_id, json_object *in, json_object **out,
                          wp_err *err);

/*
 * The batch resource with one page of its items ("items": a list of
 * {"index", "status", "pass_id", "error"}) after item index after_idx (-1:
 * from the first), at most limit of them.  WP_ENOTFOUND names id.
 */
wp_status wp_batch_get(PGconn *conn, const char *account_id, const char *id, long after_idx, int limit,
                       json_object **out, wp_err *err);

/* Registers the WP_BATCH_JOB handler.  Start-up only. */
wp_status wp_batches_register_job(wp_domain *dom, wp_err *err);

#endif
