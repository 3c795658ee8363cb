/*
 * handler.h - what every API handler of the core does around its work.
 *
 * The router has authenticated the request (req->account_id is the caller's
 * account on WP_AUTH_API_KEY routes) before the handler runs.  A handler then
 *   1. starts: wp_handler_begin (or wp_handler_page for a list) refuses
 *      query parameters the route does not take, reads the JSON body and
 *      gets the request's connection;
 *   2. calls its service (domain/), usually inside wp_db_begin on that
 *      connection;
 *   3. ends: wp_handler_end commits and answers, or rolls back and answers
 *      the service's error (wp_handler_fail).
 * Each start function returns 1 to go on, or 0 when it has sent the error
 * response: the handler then returns at once (nothing is left to free).
 */
#ifndef WP_HANDLER_H
#define WP_HANDLER_H

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "err.h"
#include "http.h"
#include "ids.h"

/*
 * The start of a handler.  query: the NULL-terminated query parameters the
 * route takes (NULL: none; a parameter not listed, or given twice, is a 400
 * naming it).  body (may be NULL: no body is read): receives the body, which
 * must be a JSON object (400 "the body must be a JSON object" otherwise);
 * transferred.  db (may be NULL): receives the request's connection (503
 * when the pool has none).
 */
int wp_handler_begin(wp_req *req, const char *const *query, json_object **body, PGconn **db);

/* The same, for a body that may be any JSON value: its service checks its shape. */
int wp_handler_begin_json(wp_req *req, const char *const *query, json_object **body, PGconn **db);

/* A list page's parameters (docs/api.md "Lists"). */
typedef struct wp_page {
    int limit;                 /* ?limit=: 1..100, 20 when absent */
    char after[WP_ID_MAX + 8]; /* ?starting_after=: the last id of the previous page; "" when absent */
} wp_page;

/*
 * The start of a list handler: the query check (query must list "limit"
 * and "starting_after"), ?limit and ?starting_after, then, when after_prefix
 * is given, starting_after must be an id of that prefix ("tpl"): a 400
 * "starting_after must be <after_what>" otherwise.  db as wp_handler_begin's.
 */
int wp_handler_page(wp_req *req, const char *const *query, const char *after_prefix, const char *after_what,
                    wp_page *page, PGconn **db);

/* The SQL parameter of a page's LIMIT: limit + 1 (the extra row only says that there is more). */
void wp_handler_page_limit(const wp_page *page, char out[16]);

/* Sends {"object": "list", "data": data, "has_more": has_more}; data is transferred. */
void wp_handler_send_list(wp_req *req, json_object *data, bool has_more);

/* The same, built from the rows of r, which the query fetched with LIMIT
 * limit + 1 (wp_handler_page_limit); row() makes one element (transferred).
 * r stays the caller's (PQclear). */
void wp_handler_send_rows(wp_req *req, PGresult *r, int limit, json_object *(*row)(PGresult *r, int i));

/*
 * Answers a service's error: rolls back the request's open transaction, then
 * sends 402 for a plan limit (WP_ELIMIT "plan_limit_reached", param "plan" or
 * "allocation" as metering.h names it), the error with
 * its own API code when it has one (wp_resp_rejected: a filter's refusal, the
 * schema's codes, "serial_number_taken", "pass_voided"), else the status's
 * default (wp_resp_from_err).
 */
void wp_handler_fail(wp_req *req, const wp_err *err);

/*
 * The end of a handler that ran a service: st WP_OK commits the request's
 * open transaction (when there is one) and answers res (borrowed) with
 * status; a failed commit, or any other st, is answered by wp_handler_fail.
 */
void wp_handler_end(wp_req *req, wp_status st, const wp_err *err, int status, json_object *res);

#endif
