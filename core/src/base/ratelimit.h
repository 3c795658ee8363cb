/*
 * ratelimit.h - a token bucket per API key.
 *
 * Buckets live in this process's memory: with several gateways behind a
 * load balancer each enforces the limit on its own share of the traffic
 * (docs/operations.md).  Safe for concurrent use.
 */
#ifndef WP_RATELIMIT_H
#define WP_RATELIMIT_H

#include <stdbool.h>

#include "err.h"

typedef struct wp_ratelimit wp_ratelimit;

typedef struct wp_rate_decision {
    bool allowed;
    long limit;            /* bucket size (X-RateLimit-Limit) */
    long remaining;        /* whole tokens left (X-RateLimit-Remaining) */
    long reset_seconds;    /* seconds until the bucket is full again (X-RateLimit-Reset) */
    long retry_after;      /* when refused: seconds until one token is available */
} wp_rate_decision;

/* rate: tokens per second (0 disables limiting); burst: bucket size. */
wp_status wp_ratelimit_new(double rate, double burst, wp_ratelimit **out);
void wp_ratelimit_free(wp_ratelimit *rl);

/* Takes one token for `key` at time `now` (monotonic seconds). */
wp_rate_decision wp_ratelimit_take(wp_ratelimit *rl, const char *key, double now);

#endif
