/*
 * ratelimit.c - token buckets in a striped hash table.
 *
 * 64 stripes, each with its own mutex, so concurrent requests for
 * different keys rarely contend.  Buckets idle long enough to be full are
 * evicted when a stripe grows, which bounds memory by the number of keys
 * active within one refill period.
 */
#include "ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define STRIPES 64

typedef struct bucket {
    struct bucket *next;
    double tokens;
    double last;
    char key[]; /* whole key: a truncated copy would never compare equal */
} bucket;

typedef struct {
    pthread_mutex_t mu;
    bucket *head;
    size_t count;
} stripe;

struct wp_ratelimit {
    double rate, burst;
    stripe s[STRIPES];
};

wp_status wp_ratelimit_new(double rate, double burst, wp_ratelimit **out)
{
    wp_ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl) return WP_ENOMEM;
    rl->rate = rate;
    rl->burst = burst < 1 ? 1 : burst;
    for (int i = 0; i < STRIPES; i++) pthread_mutex_init(&rl->s[i].mu, NULL);
    *out = rl;
    return WP_OK;
}

void wp_ratelimit_free(wp_ratelimit *rl)
{
    if (!rl) return;
    for (int i = 0; i < STRIPES; i++) {
        for (bucket *b = rl->s[i].head, *n; b; b = n) {
            n = b->next;
            free(b);
        }
        pthread_mutex_destroy(&rl->s[i].mu);
    }
    free(rl);
}

static unsigned hash(const char *s)
{
    unsigned h = 2166136261u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Drops buckets that would be full by now: they carry no state worth keeping. */
static void evict_full(stripe *st, double rate, double burst, double now)
{
    bucket **pp = &st->head;
    while (*pp) {
        bucket *b = *pp;
        if (b->tokens + (now - b->last) * rate >= burst) {
            *pp = b->next;
            free(b);
            st->count--;
        } else {
            pp = &b->next;
        }
    }
}

wp_rate_decision wp_ratelimit_take(wp_ratelimit *rl, const char *key, double now)
{
    return wp_ratelimit_take_share(rl, key, now, 1);
}

wp_rate_decision wp_ratelimit_take_share(wp_ratelimit *rl, const char *key, double now, int processes)
{
    wp_rate_decision d = {.allowed = true, .limit = 0};
    if (rl->rate <= 0) return d;
    double n = processes > 1 ? processes : 1;
    double rate = rl->rate / n, burst = fmax(1.0, rl->burst / n);
    stripe *st = &rl->s[hash(key) % STRIPES];
    pthread_mutex_lock(&st->mu);
    bucket *b = st->head;
    while (b && strcmp(b->key, key) != 0) b = b->next;
    if (!b) {
        if (st->count > 256) evict_full(st, rate, burst, now);
        size_t klen = strlen(key);
        b = calloc(1, sizeof *b + klen + 1);
        if (!b) { /* out of memory: fail open rather than refuse every request */
            pthread_mutex_unlock(&st->mu);
            return d;
        }
        memcpy(b->key, key, klen + 1);
        b->tokens = burst;
        b->last = now;
        b->next = st->head;
        st->head = b;
        st->count++;
    }
    /* a clock step backwards refills nothing (and drains nothing) */
    if (now > b->last) {
        b->tokens += (now - b->last) * rate;
        b->last = now;
    }
    b->tokens = fmin(burst, b->tokens); /* also when the share shrank: another process joined */
    d.limit = (long)rl->burst;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        d.allowed = true;
        d.retry_after = 0;
    } else {
        d.allowed = false;
        d.retry_after = (long)ceil((1.0 - b->tokens) / rate);
        if (d.retry_after < 1) d.retry_after = 1;
    }
    /* The headers speak of the deployment's limit: this share, scaled by the process count. */
    d.remaining = (long)fmin(floor(rl->burst), floor(b->tokens * n));
    d.reset_seconds = (long)ceil((burst - b->tokens) / rate);
    pthread_mutex_unlock(&st->mu);
    return d;
}
