/*
 * passes.h - the pass resource's routes: /api/v1/passes (docs/api.md
 * "Passes").  The rules, and the helpers the platform plugins (through the
 * host table), batches and templates use, are the pass service's
 * (pass_service.h, included here for the handlers' callers).
 */
#ifndef WP_PASSES_H
#define WP_PASSES_H

#include "domain.h"
#include "err.h"
#include "pass_service.h"
#include "router.h"

/* Registers the /api/v1/passes routes (called from wp_server_init). */
wp_status wp_passes_routes(wp_router *rt, wp_domain *dom, wp_err *err);

#endif
