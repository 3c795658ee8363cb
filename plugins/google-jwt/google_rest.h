/*
 * google_rest.h - the Google Wallet REST client (libcurl): OAuth2 service-account
 * tokens, per-issuer rate limiting, class/object insert/get/patch, addMessage.
 *
 * One client per plugin, shared by every thread: its token cache and rate
 * limiter are guarded by its own mutex.  A token is fetched by one caller at
 * a time per service account; the others wait for that result (single
 * flight), and it is refreshed 5 minutes before it expires.  The cache key is
 * the account, the client email, the key id and a SHA-256 of the private key
 * itself, so no token ever serves another tenant or another key.
 *
 * Base URLs come from the plugin configuration (operator-controlled, not user
 * input), so tests point them at a local stand-in.
 *
 * Ownership: configuration strings are copied by grest_new; credentials are
 * borrowed for the call; response JSON (*resp) is transferred (may be NULL).
 */
#ifndef GOOGLE_REST_H
#define GOOGLE_REST_H

#include <stddef.h>

#include <walletpass/plugin.h>

#define GREST_SCOPE "https://www.googleapis.com/auth/wallet_object.issuer"
#define GREST_DEFAULT_API "https://walletobjects.googleapis.com/walletobjects/v1"
#define GREST_DEFAULT_TOKEN "https://oauth2.googleapis.com/token"

typedef struct grest grest;

typedef struct grest_cfg {
    const char *api_base;   /* NULL: GREST_DEFAULT_API */
    const char *token_url;  /* NULL: GREST_DEFAULT_TOKEN.  A service account's own
                               token_uri is never used: it is the tenant's text,
                               and the OAuth POST would go wherever it points. */
    long timeout_s;         /* per request; 0: 10 */
    int rate_per_s;         /* most requests per second per issuer, over every gateway process; 0: 20 */
} grest_cfg;

typedef struct grest_creds {
    const char *account_id;     /* the tenant: tokens are cached per account */
    const char *issuer_id;
    const char *client_email;
    const char *private_key_pem;
    const char *private_key_id; /* may be NULL */
} grest_creds;

wp_status grest_new(const grest_cfg *cfg, grest **out, char *errbuf, size_t errlen);
void grest_free(grest *c);

/* Tokens fetched from the token endpoint since grest_new (for metrics and tests). */
long grest_token_fetches(grest *c);

/*
 * One API call: method ("GET", "POST", "PATCH"), path relative to the API
 * base ("/loyaltyObject/123.pass_x"), body (borrowed, may be NULL).  WP_OK
 * when an HTTP answer came back, whatever its status (*status; *resp its JSON
 * body or NULL); WP_EUNAVAIL on a transport failure or timeout, WP_EAUTH when
 * no token could be had.  A 401 drops the cached token and retries once.
 */
wp_status grest_call(grest *c, const grest_creds *cr, const char *method, const char *path, const json_object *body,
                     long *status, json_object **resp, char *errbuf, size_t errlen);

/*
 * Creates or updates `res` (its "id" names it) of `resource` ("loyaltyClass",
 * "genericObject", ...): insert; on 409 get, then patch.
 * *status is the final HTTP status.  Transport failures as grest_call.
 */
wp_status grest_upsert(grest *c, const grest_creds *cr, const char *resource, const json_object *res, long *status,
                       char *errbuf, size_t errlen);

/*
 * A time budget for the calls this thread makes until grest_budget_end():
 * each exchange gets at most what is left of budget_ms (connect included),
 * a rate-limit wait that would outlast it fails at once, and a call started
 * with nothing left fails with WP_EUNAVAIL.  For calls made while a request
 * waits on a server worker; jobs run without one (timeout_s per exchange).
 * A wait for a token another thread is fetching is bounded by that fetch.
 */
void grest_budget_begin(long budget_ms);
void grest_budget_end(void);

/*
 * The number of gateway processes sharing rate_per_s (>= 1; less counts as 1): each
 * spaces its calls to one issuer processes/rate_per_s seconds apart, so together they
 * make at most rate_per_s a second (plus one call each at the start of a window).
 */
void grest_set_processes(grest *c, int processes);

/* Whether an HTTP status is worth retrying later (429 and 5xx). */
int grest_retryable(long status);

/* The longest Retry-After (seconds) honoured: a longer one counts as this long. */
#define GREST_RETRY_AFTER_MAX 3600

/*
 * Per-issuer gate for background jobs, so one issuer that hangs or answers
 * slowly holds at most `cap` job workers.  A 429 or 503 with Retry-After
 * pauses the issuer: until then its calls fail at once (WP_EUNAVAIL, "asked
 * this issuer to wait") instead of waiting in a worker, and the gate stays
 * closed.  enter: 1 when admitted (then call leave once); 0 when not, with
 * *wait_ms the pause left (0: all `cap` places are taken, try again soon).
 */
int grest_issuer_enter(grest *c, const char *issuer, int cap, long *wait_ms);
void grest_issuer_leave(grest *c, const char *issuer);
/* Milliseconds left of the issuer's Retry-After pause; 0 when none. */
long grest_issuer_paused_ms(grest *c, const char *issuer);

#endif
