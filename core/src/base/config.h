/*
 * config.h - the gateway's configuration: a JSON file plus environment overrides.
 *
 * wp_config_load() reads WALLETPASS_CONFIG (or the given path), applies the
 * WALLETPASS_* environment variables on top, and validates every key.  An
 * unknown key or a wrong value is an error naming the key; a key that moved
 * into a plugin's configuration is an error naming its new place.  The strings in
 * wp_config are owned by the config and freed by wp_config_free().
 */
#ifndef WP_CONFIG_H
#define WP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#include "err.h"

typedef struct wp_plan {
    char *name;
    long operations_per_month; /* -1: unlimited */
} wp_plan;

typedef struct wp_config {
    /* server */
    char *listen_address;
    int port;
    int num_threads;
    bool keep_alive;
    int keep_alive_timeout_ms;
    int request_timeout_ms;     /* the whole body of a request must arrive within this */
    int header_timeout_seconds; /* the request line and headers; also any read or write that stalls */
    int listen_backlog;
    char *document_root;        /* static files (dashboard); NULL: none */
    char *public_url;           /* base of every link handed out, no trailing slash */
    /* server.tls: HTTPS on server.port (tls.h); both files NULL: plain HTTP */
    char *tls_certificate_file; /* PEM: the server's certificate, then its intermediates */
    char *tls_key_file;         /* PEM: its private key, unencrypted */
    int tls_redirect_port;      /* 0: none; else a plain-HTTP listener that answers 308 to public_url */
    int tls_hsts_max_age;       /* Strict-Transport-Security max-age on HTTPS answers; 0: none */
    json_object *trusted_proxies; /* server.trusted_proxies: addresses and CIDR blocks (clientaddr.h) (owned) */
    /* database */
    char *database_url;
    int db_pool_size;           /* 0: num_threads + 4 */
    int db_acquire_timeout_ms;
    int db_statement_timeout_ms;
    int db_connect_timeout_s;   /* libpq connect_timeout for each new connection */
    int db_startup_wait_s;      /* serve, migrate: wait this long for a database not answering yet */
    int db_prepared_statements; /* statements each pooled connection keeps prepared (db.h); 0: none */
    /* database.url leads to a transaction-pooling PgBouncer: no session state is relied on
     * (no startup options; the job queue polls unless listen_url is set) */
    bool db_transaction_pooling;
    char *db_listen_url;        /* direct connection for the job queue's LISTEN and workers; NULL: url */
    /* security */
    char *master_key;           /* base64 of 32 bytes; NULL until the vault needs it */
    /* limits for request bodies */
    size_t max_body_bytes;
    int max_json_depth;
    size_t max_string_bytes;
    size_t max_image_bytes;
    size_t max_metadata_bytes;
    /* rate limit per API key (token bucket) */
    double rate_limit_per_second;
    double rate_limit_burst;
    /* in-process caches (docs/caching.md) */
    int cache_api_keys;         /* API keys remembered per process; 0: none */
    int cache_api_key_ttl_ms;   /* a remembered key is read again after this long at the latest */
    int cache_credentials;      /* decrypted credentials kept per process; 0: none */
    int cache_passes;           /* pass rows kept per process; 0: none */
    int cache_passes_mb;        /* ... and their bound in MiB */
    int cache_lease_ms;         /* the fence's lease (store/fence.h): the longest a write waits for another process */
    /* access log */
    int access_log_flush_ms;
    int access_log_batch;
    int access_log_queue;
    char *migrations_dir;       /* core migrations; default: the source tree's migrations/ */
    /* plugins */
    char *plugin_dir;
    json_object *plugins;       /* the "plugins" array as given (owned) */
    /* metering.  Read by request threads concurrently, so after start-up only with
     * json_object_object_get_ex and json_object_get_int64 (pure reads): never get/put,
     * change or serialise it (json-c is not thread-safe).  Plugins get copies of their
     * own sections (plugins.c), never this document. */
    json_object *plans;         /* owned */
    char *default_plan;
    int trial_days;
    int deleted_retention_days; /* a deleted sub-account's rows are purged this many days later */
    int test_retention_days;    /* test-mode passes are deleted this many days after their creation */
    int sweep_interval_seconds; /* how often those two retentions are applied (sweep.h) */
    /* logging */
    int log_level;
    /* portal: the dashboard and its accounts (docs/dashboard.md) */
    bool portal_enabled;        /* the dashboard and /portal/ are served */
    char *portal_signup;        /* "open", "invite" or "off" */
    char *portal_dashboard_dir; /* the dashboard's static files */
    int portal_session_idle_minutes;
    int portal_session_max_hours;
    int portal_login_max_failures;    /* failed logins of one email within the window before it is locked */
    int portal_login_ip_max_failures; /* the same for one client address */
    int portal_login_window_minutes;
    int portal_login_lockout_minutes;
    int portal_signup_ip_max;         /* sign-ups from one client address within the window */
    int portal_password_min_length;
    int portal_password_log2_n;       /* scrypt N = 2^this (password.h) */
    int portal_invite_ttl_hours;
    /* the whole document after overrides, for sections read by other modules (owned) */
    json_object *root;
} wp_config;

/*
 * Loads the configuration.  `path` may be NULL: then WALLETPASS_CONFIG is used,
 * and with neither, built-in defaults.  On failure returns WP_ECONFIG with
 * err->msg naming the key ("server.port: must be an integer 1..65535").
 */
wp_status wp_config_load(const char *path, wp_config *cfg, wp_err *err);

/* Validates an already-parsed document (used by load and by the unit tests). */
wp_status wp_config_from_json(json_object *doc, wp_config *cfg, wp_err *err);

void wp_config_free(wp_config *cfg);

/*
 * Wallet apps call a pass's web service only over HTTPS.  When public_url
 * is http:// with a host other than localhost or a loopback address, writes
 * the warning for the log, `walletpass config check` and /readyz into buf and
 * returns 1; otherwise returns 0 (buf untouched).
 */
int wp_config_public_url_warning(const wp_config *cfg, char *buf, size_t len);

/* Where an effective value came from (walletpass config check). */
typedef enum { WP_CONFIG_FROM_DEFAULT, WP_CONFIG_FROM_FILE, WP_CONFIG_FROM_ENV } wp_config_source;

const char *wp_config_source_name(wp_config_source src); /* "default", "file", "environment" */

/*
 * Calls fn once for every key of the gateway's own schema, in schema order,
 * with its effective value as text and where it came from: the environment
 * (env names the variable), the file, or the built-in default.  Secrets are
 * never shown: master_key reads "(set, redacted)", the password in
 * database.url is replaced (wp_config_redact).  The text is borrowed for the
 * call.  Reads cfg->root and the process environment as wp_config_load saw
 * them; the sections other modules own (vault, jobs, ...) are not included.
 */
typedef void (*wp_config_visit)(void *ud, const char *key, const char *value, wp_config_source src, const char *env);
void wp_config_each(const wp_config *cfg, wp_config_visit fn, void *ud);

/*
 * Copies `value` into out (len bytes) with the secret parts replaced by
 * "REDACTED": a URL's password (scheme://user:PASSWORD@host) and the values
 * of password=... parameters (libpq keyword strings and query strings).
 * Returns false when out is too small (out then holds "(redacted)").
 */
bool wp_config_redact(const char *value, char *out, size_t len);

/*
 * Calls fn(ud, key) for every key whose effective value differs between a and
 * b: the keys of the schema ("server.port"; the plugins array excluded, the
 * plugin loader compares it) and the sections other modules own, named by the
 * section ("vault", "jobs", "outbound", "portal").  Only reads both.
 */
void wp_config_diff(const wp_config *a, const wp_config *b, void (*fn)(void *ud, const char *key), void *ud);

/*
 * A configuration equal to base except for the schema keys listed, whose
 * values (or absence) are next's; validated as a loaded one.  *out is
 * allocated: release it with wp_config_free() and free().  base and next are
 * only read (base may be in use by other threads).
 */
wp_status wp_config_merge(const wp_config *base, const wp_config *next, const char *const *keys, size_t nkeys,
                          wp_config **out, wp_err *err);

/* True when a key of a free-form section names a secret (a password, a
 * token, a private key, previous_keys ...): its value is never printed. */
bool wp_config_key_is_secret(const char *dotted);

#endif
