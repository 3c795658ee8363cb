/*
 * ratelimit.h - a token bucket per API key.
 *
 * Buckets live in this process's memory.  With several gateways behind a
 * load balancer, the configured rate and burst are the deployment's: each
 * process enforces its share, rate/n and burst/n for n live processes
 * (wp_ratelimit_take_share), so the sum over the processes holds the
 * configured total without a database round trip per request
 * (docs/operations.md, "Several gateways").  Safe for concurrent use.
 */
#ifndef WP_RATELIMIT_H
#define WP_RATELIMIT_H

#include <stdbool.h>

#include "err.h"

typedef struct wp_ratelimit wp_ratelimit;

typedef struct wp_rate_decision {
    bool allowed;
    long limit;            /* bucket size, the deployment's (X-RateLimit-Limit) */
    long remaining;        /* whole tokens left, scaled to the deployment (X-RateLimit-Remaining) */
    long reset_seconds;    /* seconds until the bucket is full again (X-RateLimit-Reset) */
    long retry_after;      /* when refused: seconds until one token is available */
} wp_rate_decision;

/* rate: tokens per second (0 disables limiting); burst: bucket size. */
wp_status wp_ratelimit_new(double rate, double burst, wp_ratelimit **out);
void wp_ratelimit_free(wp_ratelimit *rl);

/* Takes one token for `key` at time `now` (monotonic seconds): the whole limit. */
wp_rate_decision wp_ratelimit_take(wp_ratelimit *rl, const char *key, double now);

/*
 * The same against this process's share of the limit when `processes`
 * gateways (>= 1; less counts as 1) share it: rate/processes tokens per
 * second into a bucket of burst/processes (at least one token, so a burst
 * smaller than the process count lets each process through once).  A
 * bucket filled under a larger share is cut down to the smaller one.
 */
wp_rate_decision wp_ratelimit_take_share(wp_ratelimit *rl, const char *key, double now, int processes);

#endif
