/*
 * template_service.h - the template rules: create, read, list, update and
 * delete pass templates, and the background job that propagates a template
 * change to the passes made from it.  The API's handlers (http/templates.c)
 * call these; none of them needs an HTTP request.
 *
 * A template is {"name", "body"}: `body` is a unified pass body
 * (pass_schema.h, WP_PASS_TEMPLATE mode: nothing required, no
 * serial_number or template_id).  The pass service merges it under a
 * pass request key by key (it reads the `templates` table itself, and
 * refuses a template whose deleted_at is set).  Every query is scoped by
 * the account; another account's template id is WP_ENOTFOUND like one that
 * does not exist, and so is a deleted one (deleted_at set: kept for the
 * passes that reference it).
 *
 * An update with "propagate": true enqueues one job of kind WP_TEMPLATES_JOB
 * in the same transaction as the update.  Its payload is
 *   {"account_id", "template_id", "version", "keys": ["key", ...] | null}
 * (null: the whole template, used when the update itself changed nothing).
 * The job copies the template's *current* value of each key (or its
 * absence) into every active pass of the template that does not list the
 * key in its `overrides`, in transactions of WP_TEMPLATES_CHUNK passes.  A
 * pass whose body really changes gets version+1, updated_at = now() and a
 * `pass.updated` event in that transaction; a pass already up to date is
 * left alone, so a retried job changes nothing twice.  Reading the current
 * value (not the value at enqueue time) makes jobs of successive updates
 * converge whatever order they run in.
 *
 * Errors are the pass service's kind (pass_service.h): WP_EINVAL naming the
 * field (a body field as "body.<field>") with its API code, WP_ENOTFOUND
 * naming id, a pass.validate filter's refusal as the filter said it.
 * req: the HTTP request when there is one, handed on to the filters, else
 * NULL.  Every json_object handed out is transferred; inputs are borrowed.
 * Threads: calls run on HTTP workers, the job on job workers; nothing is
 * shared between calls but the domain (read-only after start-up).
 */
#ifndef WP_TEMPLATE_SERVICE_H
#define WP_TEMPLATE_SERVICE_H

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "domain.h"
#include "err.h"

#define WP_TEMPLATES_JOB "templates.propagate"
#define WP_TEMPLATES_CHUNK 500       /* passes per propagation transaction */
#define WP_TEMPLATES_NAME_MAX 200    /* bytes of a template name */

/* Creates a template from {"name", "body"} (`in`); null members of body are
 * left out.  *out: the template resource. */
wp_status wp_template_create(wp_domain *dom, PGconn *conn, const char *account_id, json_object *in, wp_req *req,
                             json_object **out, wp_err *err);

/* The template resource of the account's live template id. */
wp_status wp_template_get(PGconn *conn, const char *account_id, const char *id, json_object **out, wp_err *err);

/* One page of the account's live templates, newest first: *data an array of
 * resources after the template id `after` (NULL: the first page). */
wp_status wp_template_list(PGconn *conn, const char *account_id, const char *after, int limit, json_object **data,
                           bool *has_more, wp_err *err);

/*
 * Updates a template from {"name"?, "body"?: {key: value | null}, "propagate"?: bool}
 * (`in`) inside the caller's open transaction on conn (the caller commits).
 * Body keys merge into the stored body (arrays replace wholesale, null
 * unsets).  Order of checks (docs/api.md): the request alone (400), then
 * existence (404), then the merged body (400: a key may only be wrong next to
 * the others).  *out: the resource with "propagation": {"job_id", "status",
 * "keys"} when propagate, else null.
 */
wp_status wp_template_update(wp_domain *dom, PGconn *conn, const char *account_id, const char *id, json_object *in,
                             wp_req *req, json_object **out, wp_err *err);

/*
 * Soft delete: the row stays (passes reference it, and keep their body),
 * but the template is gone from the API and cannot make new passes.
 * Allowed while passes reference it: deleting a template never changes a pass.
 * *out: {"id", "object": "template", "deleted": true}.
 */
wp_status wp_template_delete(PGconn *conn, const char *account_id, const char *id, json_object **out, wp_err *err);

/*
 * The propagation itself (what the job runs), for tests and tools.
 * keys: an array of key names, or NULL for the whole template.
 * *updated (may be NULL) receives the number of passes that changed and
 * *skipped the number left alone because the result would not be a valid
 * pass (a template that unset a required field, say).  WP_ENOTFOUND when
 * the template does not exist; database errors as db.h reports them
 * (chunks committed before the error stay committed).
 */
wp_status wp_templates_propagate(wp_domain *dom, const char *account_id, const char *template_id,
                                 json_object *keys, int *updated, int *skipped, wp_err *err);

/* Registers the WP_TEMPLATES_JOB handler.  Start-up only: after wp_jobs_new,
 * before wp_jobs_start. */
wp_status wp_templates_register_job(wp_domain *dom, wp_err *err);

#endif
