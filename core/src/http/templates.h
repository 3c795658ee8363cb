/*
 * templates.h - the template resource's routes: /api/v1/templates
 * (docs/api.md "Templates").  The rules and the propagation job are the
 * template service's (template_service.h, included here for the routes'
 * callers).
 */
#ifndef WP_TEMPLATES_H
#define WP_TEMPLATES_H

#include "domain.h"
#include "err.h"
#include "router.h"
#include "template_service.h"

/*
 * Registers the five routes (owner "core") and the WP_TEMPLATES_JOB
 * handler.  Start-up only: after wp_jobs_new, before wp_jobs_start.
 */
wp_status wp_templates_routes(wp_router *rt, wp_domain *dom, wp_err *err);

#endif
