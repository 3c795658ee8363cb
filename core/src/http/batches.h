/*
 * batches.h - POST /api/v1/passes/batch and GET /api/v1/batches/:id
 * (docs/api.md "Batches").
 *
 * A batch is 1..WP_BATCH_MAX_ITEMS pass bodies.  The request stores the batch
 * and its items (tables batches, batch_items, migration 0006) and enqueues
 * one job of kind WP_BATCH_JOB per WP_BATCH_CHUNK items, all in one
 * transaction, and answers 202.  A job creates its items one by one with
 * wp_pass_create (passes.h), each in its own transaction together with the
 * item's result row: one bad item does not fail the others, and a chunk run
 * again after a crash skips the items already done, so no pass is created
 * twice.  The job that finds no pending item left marks the batch completed
 * and publishes `batch.completed` in the same transaction.
 */
#ifndef WP_BATCHES_H
#define WP_BATCHES_H

#include <json-c/json.h>

#include "domain.h"
#include "err.h"
#include "router.h"


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

/* Registers the two routes (owner "core") and the WP_BATCH_JOB handler. */
wp_status wp_batches_routes(wp_router *rt, wp_domain *dom, wp_err *err);

#endif
