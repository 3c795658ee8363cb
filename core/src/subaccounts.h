/*
 * subaccounts.h - an agency's sub-accounts (/api/v1/accounts, subaccounts.c).
 */
#ifndef WP_SUBACCOUNTS_H
#define WP_SUBACCOUNTS_H

#include <libpq-fe.h>

#include "err.h"
#include "http.h"

struct wp_server;

wp_status wp_subaccounts_routes(struct wp_server *srv, wp_err *err);

/* Creates a key of account_id (live or test) and answers 201 with it, the
 * only time its secret is shown (accounts.c). */
void wp_accounts_respond_new_key(wp_req *req, PGconn *db, const char *account_id, const char *name, int livemode);

#endif
