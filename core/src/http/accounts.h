/*
 * accounts.h - the core's own account routes: GET /api/v1/account and the
 * API keys (accounts.c), and GET /api/v1/logs (logs.c).  Registered by the
 * server at start-up; the handlers get the domain as their user data.
 */
#ifndef WP_ACCOUNTS_H
#define WP_ACCOUNTS_H

#include <libpq-fe.h>

#include "domain.h"
#include "err.h"
#include "http.h"
#include "router.h"

wp_status wp_accounts_routes(wp_router *rt, wp_domain *dom, wp_err *err);
wp_status wp_logs_routes(wp_router *rt, wp_err *err);

/* Creates a key of account_id (live or test) and answers 201 with it, the
 * only time its secret is shown; also used by subaccounts.c. */
void wp_accounts_respond_new_key(wp_req *req, PGconn *db, const char *account_id, const char *name, int livemode);

/* After a write that counted operations of account_id committed without the fence's wait
 * (a new pass): forgets its kept row, and its agency's, on this process at once, so the
 * next GET /api/v1/account here shows the count (docs/caching.md "Accounts"). */
void wp_accounts_forget(wp_domain *dom, const char *account_id);

#endif
