/*
 * tenancy.h - which account a request acts on: live or test, own or a sub-account.
 *
 * After the API key is checked (server.c), wp_tenancy_resolve() fills:
 *   req->live_account_id    the key's account, or the sub-account named by the
 *                           WalletPass-Account header (only an agency's own,
 *                           live, not deleted sub-account; anything else 404);
 *   req->agency_account_id  the key's account when it acts on a sub-account;
 *   req->livemode           the key's mode;
 *   req->account_id         the scope of every object query: live_account_id
 *                           for a live key, that account's test workspace for
 *                           a test key (created on first use).
 * A test workspace is an accounts row of its own (livemode false,
 * live_account_id its account), so live and test objects stay apart the same
 * way two accounts do.
 */
#ifndef WP_TENANCY_H
#define WP_TENANCY_H

#include <libpq-fe.h>

#include "err.h"
#include "http.h"
#include "ids.h"

#define WP_TENANCY_HEADER "WalletPass-Account"

/* Returns 1 when the request may go on; 0 when a response (400/401/404/503) was sent.
 * The request's connection is taken only when a query is needed (a sub-account
 * header, a test key), so a live key of a remembered account costs none here. */
int wp_tenancy_resolve(wp_req *req, int livemode);

/* The test workspace of a live account, created when missing; out >= WP_ID_MAX. */
wp_status wp_tenancy_test_workspace(PGconn *db, const char *live_account_id, char *out, size_t len, wp_err *err);

#endif
