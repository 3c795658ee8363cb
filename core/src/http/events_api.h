/*
 * events_api.h - GET /api/v1/events: the caller's events, newest first;
 * ?type=, ?limit=, ?starting_after= (the event outbox itself is store/events.h).
 */
#ifndef WP_EVENTS_API_H
#define WP_EVENTS_API_H

#include "err.h"
#include "router.h"

wp_status wp_events_routes(wp_router *rt, wp_err *err);

#endif
