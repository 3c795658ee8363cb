/*
 * templates.h - pass templates: /api/v1/templates and the background job
 * that propagates a template change to the passes made from it.
 *
 * A template is {"name", "body"}: `body` is a unified pass body
 * (pass_schema.h, WP_PASS_TEMPLATE mode: nothing required, no
 * serial_number or template_id).  The passes module merges it under a
 * pass request key by key (it reads the `templates` table itself, and
 * refuses a template whose deleted_at is set).
 *
 * PUT with "propagate": true enqueues one job of kind WP_TEMPLATES_JOB in
 * the same transaction as the update.  Its payload is
 *   {"account_id", "template_id", "version", "keys": ["key", ...] | null}
 * (null: the whole template, used when the update itself changed nothing).
 * The handler copies the template's *current* value of each key (or its
 * absence) into every active pass of the template that does not list the
 * key in its `overrides`, in transactions of WP_TEMPLATES_CHUNK passes.  A
 * pass whose body really changes gets version+1, updated_at = now() and a
 * `pass.updated` event in that transaction; a pass already up to date is
 * left alone, so a retried job changes nothing twice.  Reading the current
 * value (not the value at enqueue time) makes jobs of successive updates
 * converge whatever order they run in.
 *
 * Threads: routes run on HTTP workers, the job on job workers; nothing is
 * shared between calls but the server (read-only after start-up).
 */
#ifndef WP_TEMPLATES_H
#define WP_TEMPLATES_H

#include <json-c/json.h>

#include "domain.h"
#include "err.h"
#include "router.h"

#define WP_TEMPLATES_JOB "templates.propagate"
#define WP_TEMPLATES_CHUNK 500       /* passes per propagation transaction */
#define WP_TEMPLATES_NAME_MAX 200    /* bytes of a template name */


/*
 * Registers the five routes (owner "core") and the WP_TEMPLATES_JOB
 * handler.  Start-up only: after wp_jobs_new, before wp_jobs_start.
 */
wp_status wp_templates_routes(wp_router *rt, wp_domain *dom, wp_err *err);

/*
 * The propagation itself (what the job runs), for tests and tools.
 * keys: a borrowed array of key names, or NULL for the whole template.
 * *updated (may be NULL) receives the number of passes that changed and
 * *skipped the number left alone because the result would not be a valid
 * pass (a template that unset a required field, say).  WP_ENOTFOUND when
 * the template does not exist; database errors as db.h reports them
 * (chunks committed before the error stay committed).
 */
wp_status wp_templates_propagate(wp_domain *dom, const char *account_id, const char *template_id,
                                 json_object *keys, int *updated, int *skipped, wp_err *err);

#endif
