/*
 * accounts.h - the core's own account routes: GET /api/v1/account and the
 * API keys (accounts.c), and GET /api/v1/logs (logs.c).  Registered by the
 * server at start-up; the handlers get the domain as their user data.
 */
#ifndef WP_ACCOUNTS_H
#define WP_ACCOUNTS_H

#include "domain.h"
#include "err.h"
#include "router.h"

wp_status wp_accounts_routes(wp_router *rt, wp_domain *dom, wp_err *err);
wp_status wp_logs_routes(wp_router *rt, wp_err *err);

#endif
