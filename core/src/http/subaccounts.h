/*
 * subaccounts.h - an agency's sub-accounts (/api/v1/accounts, subaccounts.c).
 */
#ifndef WP_SUBACCOUNTS_H
#define WP_SUBACCOUNTS_H

#include "domain.h"
#include "err.h"
#include "router.h"

/* The handlers get dom as their route's user data (borrowed, outlives the router). */
wp_status wp_subaccounts_routes(wp_router *rt, wp_domain *dom, wp_err *err);

#endif
