/*
 * batches.h - POST /api/v1/passes/batch and GET /api/v1/batches/:id
 * (docs/api.md "Batches").  The rules and the chunk job are the batch
 * service's (batch_service.h, included here for the routes' callers).
 */
#ifndef WP_BATCHES_H
#define WP_BATCHES_H

#include "batch_service.h"
#include "domain.h"
#include "err.h"
#include "router.h"

/* Registers the two routes (owner "core") and the WP_BATCH_JOB handler. */
wp_status wp_batches_routes(wp_router *rt, wp_domain *dom, wp_err *err);

#endif
