/*
 * walletpass/plugin.h - the WalletPass gateway plugin ABI.
 *
 * This header is the whole contract between the gateway (the "host") and a
 * plugin.  It is self-contained: it needs only the C standard library and
 * json-c, which is part of the ABI (plugins must link json-c dynamically:
 * the loader refuses a plugin that carries its own copy).
 *
 * ---------------------------------------------------------------------------
 * Writing a plugin (the whole of it; docs/plugins.md is the long version)
 *
 *     #include <walletpass/plugin.h>
 *
 *     static const wp_host *host;
 *
 *     static wp_status hello_init(const wp_host *h, wp_plugin *self, const json_object *config)
 *     {
 *         host = h;
 *         return host->route_add(self, "GET", "/api/v1/hello/:name", WP_AUTH_API_KEY, say_hello, NULL);
 *     }
 *     static void hello_shutdown(wp_plugin *self) { (void)self; }
 *
 *     WP_PLUGIN_DEFINE("hello", "1.0.0", "Says hello", hello_init, hello_shutdown)
 *
 * Build with -fvisibility=hidden: the only symbol a plugin exports is the
 * definition function WP_PLUGIN_DEFINE makes (WP_PLUGIN_SYMBOL).
 *
 * ---------------------------------------------------------------------------
 * Lifecycle
 *
 *   1. The loader dlopen()s every configured file (RTLD_NOW | RTLD_LOCAL),
 *      calls its definition function and checks, in this order, reporting
 *      only the first mismatch: magic, struct size, abi_major (must equal
 *      the host's), abi_minor (the minor the plugin requires: must be <= the
 *      host's), the name (unique, and equal to the name in the
 *      configuration), json-c (same version, same copy).
 *   2. What the plugins need (needs_plugins: every one configured; no
 *      cycle) is checked before any plugin starts.  Plugins start in the
 *      configured order, except that a needed plugin starts before the
 *      plugins that need it.
 *   3. The plugin's migrations are applied (see docs/plugins.md).
 *   4. init(host, self, config) runs once, on the main thread.  Only during
 *      init may a plugin register routes, filters, event subscribers, job
 *      handlers and credential kinds; afterwards those functions return WP_ELATE.  A non-WP_OK
 *      return stops start-up (unless the configuration marks the plugin
 *      optional); call host->init_error() first to say why.  Once every
 *      plugin has started, each hook in needs_hooks must have a filter.
 *   5. The gateway serves.  Callbacks run as stated below.
 *   6. At exit, shutdown(self) runs once on the main thread, in reverse load
 *      order, after every request, filter, event and job has finished.
 *      Plugins are never unloaded while the process runs.
 *
 * ---------------------------------------------------------------------------
 * Threads
 *
 *   init, shutdown ............ main thread, once, nothing else runs.
 *   route handlers ............ HTTP worker threads, concurrently (one per
 *                               request; many at once).
 *   filters ................... the thread that runs the hook (an HTTP worker
 *                               or a job worker), concurrently.
 *   event and job handlers .... job worker threads, concurrently; one job (one
 *                               delivery) is run by one worker at a time.
 *   Every host function may be called from any of these threads, except the
 *   registration functions (init only).  So: a plugin keeps no unguarded
 *   mutable global state; what init sets up is read-only afterwards, and
 *   holds no json_object ("json_object and threads" below).
 *
 * ---------------------------------------------------------------------------
 * Memory ownership: every function below says which of these applies.
 *
 *   borrowed     valid until the callback returns (or as stated); do not free.
 *   transferred  the receiver owns it: json objects are released with
 *                json_object_put(), host memory is never freed by the plugin
 *                (it lives in the request arena).
 *   copied       the host copied what it needs; the caller keeps its own.
 *
 * ---------------------------------------------------------------------------
 * json_object and threads
 *
 *   json-c as distributions build it is not thread-safe for a shared object:
 *   json_object_get/put change a plain (non-atomic) reference count, and
 *   json_object_to_json_string* (also json_object_get_string of a
 *   non-string) print into the object itself.  Two threads doing so to one
 *   object lose counts and free it early: a crash far from the cause.  So a
 *   json_object is used by one thread at a time:
 *
 *   - What a callback is handed (doc, event data, job payload, req_json's,
 *     db_query's, pass_get's and vault_read's results) belongs to the
 *     calling thread.  Borrowed objects are for the call only: never keep a
 *     pointer or a reference (json_object_get) to one, or to a member of
 *     one, in static or shared state; copy what must outlive the call
 *     (json_object_deep_copy, a serialised string, or plain C values).
 *   - The config object given to init: read it during init and copy what
 *     you need into your own C variables.  Never json_object_get/put it,
 *     keep pointers into it, or read or serialise it from a route, filter,
 *     event or job thread.
 *   - State shared between threads holds no json_object: share an
 *     immutable serialised string (each user parses its own copy), or guard
 *     every use of the object, reads and serialisation included, with one
 *     mutex.
 *
 * ---------------------------------------------------------------------------
 * ABI ledger (append-only; see "Versioning" in docs/plugins.md)
 *
 * One entry per minor.  "wp_host:" lists the slots that minor appended to
 * the host table, in table order (a list goes on while a line ends with a
 * comma); the other lines name the rest of what it added.  The ledger, the
 * struct below, its _Static_asserts and docs/plugins.md are checked against
 * each other by a test (unit_abi_ledger), so they cannot drift apart.
 *
 *   1.0 (walletpass 0.1.0)  wp_host: log .. resp_err
 *                           wp_plugin_def: magic .. homepage
 *   1.1 (walletpass 0.1.0)  wp_host: url_check, vault_read
 *                           wp_status: WP_EDENIED (19)
 *   1.2 (walletpass 0.1.0)  wp_host: public_url, pass_get, pass_link_token,
 *                           pass_link_verify, req_api_key
 *   1.3 (walletpass 0.1.0)  wp_host: vault_seal, vault_open, pass_find
 *   1.4 (walletpass 0.1.0)  wp_host: pass_authenticate, pass_cap_token,
 *                           pass_cap_verify, job_enqueue_ex
 *                           structs: wp_job_options_v1
 *   1.5 (walletpass 0.1.0)  wp_host: subscribe_ex
 *                           wp_plugin_def: built_abi_minor, needs_plugins, needs_hooks
 *                           structs: wp_subscribe_options_v1, wp_plugin_event_v2
 *                           names: init_error = set_error, err_set = error_set,
 *                           resp_from_err = resp_err (one slot, two names each)
 *   1.6 (walletpass 0.1.0)  wp_host: credential_kind_register
 *                           structs: wp_credential_kind_v1
 *   1.7 (walletpass 0.1.0)  wp_host: pass_secret_get, pass_secret_put, pass_secret_find
 *                           macros: WP_PASS_SECRET_MINT
 *                           retired: pass_find, pass_authenticate (slots kept, NULL)
 *                           changed: pass_get no longer carries "authentication_token"
 *   1.8 (walletpass 0.1.0)  wp_host: api_call
 *   1.9 (walletpass 0.1.0)  wp_host: reload_register
 *                           types: wp_plugin_reload_fn
 *   1.10 (walletpass 0.1.0) wp_host: pass_memo_get, pass_memo_put, pass_memo_sync
 *
 * Rules: a function is only ever appended to wp_host (a removed one keeps its
 * slot as NULL); a struct only ever grows at its end and carries its size
 * first; enum values are never renumbered.  _Static_assert below pins every
 * offset, so an accidental layout change does not compile.
 *
 * Built against, and requires.  A plugin sees the whole table of the header
 * it is compiled with (wp_plugin_def.built_abi_minor), and states the oldest
 * host it runs on (wp_plugin_def.abi_minor, set by WP_REQUIRE_ABI_MINOR).  A
 * host loads it when that requirement is at most its own minor; the plugin
 * probes every slot newer than its requirement with WP_HOST_HAS(), which
 * reads host->size, before calling it.
 */
#ifndef WALLETPASS_PLUGIN_H
#define WALLETPASS_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ABI version of this header. */
#define WP_ABI_MAJOR 1
#define WP_ABI_MINOR 10

/*
 * The oldest host minor the plugin runs on (recorded as
 * wp_plugin_def.abi_minor).  Define it before including this header to run
 * on older hosts, and probe every slot newer than it with WP_HOST_HAS()
 * before the call:
 *
 *     #define WP_REQUIRE_ABI_MINOR 2
 *     #include <walletpass/plugin.h>
 *     ...
 *     if (WP_HOST_HAS(host, pass_authenticate)) ...   (1.4: absent on 1.2 and 1.3 hosts)
 *
 * Default: this header's minor (every slot may be called unprobed).  The
 * whole table is always declared.  WP_TARGET_ABI_MINOR is the deprecated
 * name of this setting (before ABI 1.5 it also hid the newer slots, so
 * WP_HOST_HAS could not name them).
 */
#ifndef WP_REQUIRE_ABI_MINOR
#ifdef WP_TARGET_ABI_MINOR
#define WP_REQUIRE_ABI_MINOR WP_TARGET_ABI_MINOR
#else
#define WP_REQUIRE_ABI_MINOR WP_ABI_MINOR
#endif
#endif
#if WP_REQUIRE_ABI_MINOR > WP_ABI_MINOR || WP_REQUIRE_ABI_MINOR < 0
#error "WP_REQUIRE_ABI_MINOR must be a minor of this walletpass/plugin.h (0 .. WP_ABI_MINOR)"
#endif

#if defined(__GNUC__)
#define WP_PRINTF_(fmt_, args_) __attribute__((format(printf, fmt_, args_)))
#else
#define WP_PRINTF_(fmt_, args_)
#endif

/* "WPPL" read as a big-endian 32-bit number. */
#define WP_PLUGIN_MAGIC 0x5750504Cu
/* The one symbol a plugin exports. */
#define WP_PLUGIN_SYMBOL "wp_plugin_definition"

/*
 * Status codes, in the manner of CURLcode: append-only, never renumbered,
 * a retired value keeps its number as WP_OBSOLETEnn.  host->status_str()
 * gives the static meaning; the detail of one failure travels in a message
 * next to it (host->last_error()).
 */
typedef enum wp_status {
    WP_OK = 0,          /* 0  success */
    WP_ENOMEM = 1,      /* 1  out of memory */
    WP_EINVAL = 2,      /* 2  invalid argument or input */
    WP_ENOTFOUND = 3,   /* 3  no such object (or not yours) */
    WP_ECONFLICT = 4,   /* 4  the object exists or changed meanwhile */
    WP_EDB = 5,         /* 5  the database refused the statement */
    WP_EUNAVAIL = 6,    /* 6  a dependency (database, upstream) is unreachable */
    WP_EIO = 7,         /* 7  file or network I/O failed */
    WP_ECONFIG = 8,     /* 8  configuration is wrong */
    WP_EAUTH = 9,       /* 9  authentication failed */
    WP_ELIMIT = 10,     /* 10 a limit was exceeded */
    WP_ELATE = 11,      /* 11 called after registration closed */
    WP_EABI = 12,       /* 12 ABI mismatch */
    WP_ECRYPTO = 13,    /* 13 a cryptographic operation failed */
    WP_EINTERNAL = 14,  /* 14 a bug: the host or plugin broke an invariant */
    WP_RETRY = 15,      /* 15 transient failure: try again on the schedule */
    WP_FAIL = 16,       /* 16 permanent failure: do not retry */
    WP_EMEDIATYPE = 17, /* 17 unsupported content type */
    WP_ETOOLARGE = 18,  /* 18 input larger than allowed */
    WP_EDENIED = 19     /* 19 refused by policy (e.g. an outbound URL to a private address); ABI 1.1 */
} wp_status;

/* Log levels for host->log. */
typedef enum wp_log_level { WP_LOG_DEBUG = 0, WP_LOG_INFO = 1, WP_LOG_WARN = 2, WP_LOG_ERROR = 3 } wp_log_level;

/* Which authentication the host applies before a route handler runs. */
typedef enum wp_auth_kind {
    WP_AUTH_PUBLIC = 0,     /* anyone */
    WP_AUTH_API_KEY = 1,    /* Authorization: Bearer sk_live_...; req_account_id() is the key's account */
    WP_AUTH_PASS_TOKEN = 2, /* a device's per-pass token in Authorization; the handler checks it (pass_secret_find) */
    WP_AUTH_PORTAL = 3      /* dashboard session cookie */
} wp_auth_kind;

/*
 * Filter priorities: lower runs first.  Spaced so that WP_PRIO_EARLY - 2
 * works.  WP_PRIO_REALLY_FIRST/LAST are reserved for the core.
 */
#define WP_PRIO_REALLY_FIRST (-10)
#define WP_PRIO_FIRST 0
#define WP_PRIO_EARLY 25
#define WP_PRIO_DEFAULT 50
#define WP_PRIO_LATE 75
#define WP_PRIO_LAST 100
#define WP_PRIO_REALLY_LAST 110

/* What a filter did with the document. */
typedef enum wp_filter_result {
    WP_FILTER_CONTINUE = 0, /* not mine / untouched: run the next filter */
    WP_FILTER_MODIFIED = 1, /* changed the document: run the next filter */
    WP_FILTER_STOP = 2,     /* handled: skip the remaining filters */
    WP_FILTER_REJECT = 3    /* refuse: the error set with host->err_set becomes the HTTP response */
} wp_filter_result;

/* Opaque handles.  Their layouts are the host's business. */
typedef struct wp_plugin wp_plugin; /* the host's record of one loaded plugin */
typedef struct wp_req wp_req;       /* one HTTP request, valid while its handler/filter runs */
typedef struct wp_err wp_err;       /* an error slot handed to filters */
typedef struct wp_host wp_host;

/*
 * Retry schedule for job handlers and event subscribers (copied by the
 * host).  A handler that returns WP_RETRY runs again after backoff_s[attempt-1]
 * seconds (the last value repeats) until max_attempts; then the job is
 * marked failed with its last error.  NULL or zero fields mean the host's
 * default (8 attempts; 10 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h).
 */
typedef struct wp_retry_policy_v1 {
    uint32_t size;              /* sizeof(wp_retry_policy_v1): set by WP_RETRY_POLICY_INIT */
    uint32_t max_attempts;      /* including the first; 0: default */
    const uint32_t *backoff_s;  /* seconds before attempt 2, 3, ...; NULL: default */
    uint32_t nbackoff;
} wp_retry_policy_v1;
#define wp_retry_policy wp_retry_policy_v1
#define WP_RETRY_POLICY_INIT {sizeof(wp_retry_policy_v1), 0, NULL, 0}

/*
 * A durable event as a subscriber sees it.  Delivery is at-least-once:
 * deduplicate on `id`.  Everything is borrowed for the handler's duration.
 */
typedef struct wp_plugin_event_v1 {
    uint32_t size;              /* sizeof the host's struct; read fields within it only */
    uint32_t attempt;           /* 1 on first delivery; 0 when the host does not say */
    const char *id;             /* "evt_..." */
    const char *type;           /* "pass.created", ... */
    const char *account_id;     /* the account the event belongs to */
    const json_object *data;    /* the event's data object (its "schema" member versions it) */
    const char *created_at;     /* RFC 3339, or NULL when the host does not say */
} wp_plugin_event_v1;

/* ABI 1.5: v1, and the version of the event's data. */
typedef struct wp_plugin_event_v2 {
    uint32_t size;              /* sizeof the host's struct; read fields within it only */
    uint32_t attempt;
    const char *id;
    const char *type;
    const char *account_id;
    const json_object *data;
    const char *created_at;
    uint32_t schema;            /* data's "schema" member (1 when data has none) */
    uint32_t reserved;
} wp_plugin_event_v2;
#define wp_plugin_event wp_plugin_event_v2

/*
 * What the host does with an event whose data schema a subscriber made
 * with subscribe_ex does not understand (outside schema_min..schema_max).
 */
typedef enum wp_schema_mismatch {
    WP_SCHEMA_REFUSE = 0, /* the delivery fails at once (never retried); its last error names both versions */
    WP_SCHEMA_SKIP = 1    /* the delivery is done without calling the handler; an info line is logged */
} wp_schema_mismatch;

/*
 * Options of host->subscribe_ex (ABI 1.5), copied by the host.  Start from
 * WP_SUBSCRIBE_OPTIONS_INIT (it sets .size); zero fields mean "default".
 * An event's data schema is its data's "schema" member (1 when absent).
 */
typedef struct wp_subscribe_options_v1 {
    uint32_t size;              /* sizeof(wp_subscribe_options_v1): set by WP_SUBSCRIBE_OPTIONS_INIT */
    uint32_t schema_min;        /* the oldest data schema the handler understands; 0: 1 */
    uint32_t schema_max;        /* the newest; 0: no upper bound */
    uint32_t on_mismatch;       /* wp_schema_mismatch: WP_SCHEMA_REFUSE (0) or WP_SCHEMA_SKIP */
    const wp_retry_policy *retry; /* NULL: the default schedule */
} wp_subscribe_options_v1;
#define wp_subscribe_options wp_subscribe_options_v1
#define WP_SUBSCRIBE_OPTIONS_INIT {sizeof(wp_subscribe_options_v1), 0, 0, WP_SCHEMA_REFUSE, NULL}

/* A job as its handler sees it.  Everything is borrowed for the handler's duration. */
typedef struct wp_plugin_job_v1 {
    uint32_t size;
    uint32_t attempt;           /* 1 on the first run */
    const char *id;
    const char *kind;
    const json_object *payload;
} wp_plugin_job_v1;
#define wp_plugin_job wp_plugin_job_v1

/*
 * Options of host->job_enqueue_ex (ABI 1.4), copied by the host.  Start
 * from WP_JOB_OPTIONS_INIT (it sets .size); zero fields mean "none".
 *
 * serial_key: jobs with the same key never run at the same time (in any
 * gateway process sharing the database), and among the due jobs of one key
 * the one enqueued first runs first.  A job waiting for its run_at (a
 * delayed job, or a retry's backoff) does not hold back the later ones.
 * The key must start with "<plugin name>:" and be at most 255 characters
 * of [A-Za-z0-9._:*-/@]: "google-jwt:<account>:<pass>".
 */
typedef struct wp_job_options_v1 {
    uint32_t size;              /* sizeof(wp_job_options_v1): set by WP_JOB_OPTIONS_INIT */
    uint32_t reserved;          /* 0 */
    int64_t run_at_ms;          /* Unix milliseconds; 0: now */
    const char *serial_key;     /* NULL: none */
} wp_job_options_v1;
#define wp_job_options wp_job_options_v1
#define WP_JOB_OPTIONS_INIT {sizeof(wp_job_options_v1), 0, 0, NULL}

/*
 * A credential kind (ABI 1.6), registered with host->credential_kind_register
 * during init: the plugin that owns a platform says what an account uploads
 * for it; the host does the rest.  For kind "acme" the host serves
 *
 *   PUT    /api/v1/credentials/acme   200 {object, platform, ...meta, created_at, updated_at}
 *   GET    /api/v1/credentials/acme   200 the same; 404 when the account has none
 *   DELETE /api/v1/credentials/acme   200 {object, platform, deleted: true}; 404 when none
 *
 * with API-key authentication, Cache-Control: no-store, the body parsed as
 * strict JSON, no query parameters, one row per account, errors in the API
 * error shape.  What validate returns as the secret is sealed by the vault
 * (bound to the account and the kind, so a copy in another account's row
 * does not open) and comes back decrypted from vault_read(self, account,
 * "acme"); the meta object is stored in clear and shown by PUT and GET.
 *
 * validate: HTTP worker threads, concurrently.  body (the request's JSON,
 * borrowed; the host overwrites its strings afterwards: keep nothing of it)
 * is checked; on success *secret and *meta receive new JSON objects,
 * transferred to the host (the host overwrites the secret's strings once
 * it is sealed).  On a refusal: fill err with host->error_set (WP_EINVAL,
 * code "parameter_missing"/"parameter_invalid"/"parameter_unknown", param
 * the field at fault) and return its status; nothing is stored.  Never put
 * a secret in a message.  req: the request, for req_account_id and the
 * like (borrowed).
 */
typedef wp_status (*wp_credential_validate_fn)(void *ud, wp_req *req, const json_object *body, json_object **secret,
                                               json_object **meta, wp_err *err);

typedef struct wp_credential_kind_v1 {
    uint32_t size;                      /* sizeof(wp_credential_kind_v1): set by WP_CREDENTIAL_KIND_INIT */
    uint32_t reserved;                  /* 0 */
    const char *name;                   /* the route's last segment and vault_read's name: 1..32 characters
                                         * of [a-z0-9_-], starting with a letter ("apple") */
    const char *display_name;           /* in messages ("no Apple credentials are stored ..."); NULL: name */
    wp_credential_validate_fn validate; /* required */
    void *ud;                           /* handed to validate as is */
    /* Top-level body fields whose strings may exceed limits.max_string_bytes
     * (base64 files, PEM texts): NULL-terminated, NULL for none. */
    const char *const *long_fields;
} wp_credential_kind_v1;
#define wp_credential_kind wp_credential_kind_v1
#define WP_CREDENTIAL_KIND_INIT {sizeof(wp_credential_kind_v1), 0, NULL, NULL, NULL, NULL, NULL}

/*
 * Callbacks.  `ud` is the pointer given at registration, handed back as is.
 *
 * Route handler: HTTP worker thread, concurrently.  Must send exactly one
 * response with host->resp_*; the host answers 500 for a handler that sent
 * none.  `req` is borrowed for the call.
 */
typedef void (*wp_plugin_route_fn)(wp_req *req, void *ud);

/*
 * Filter: the thread running the hook, concurrently.  `doc` is borrowed and
 * may be modified in place (return WP_FILTER_MODIFIED).  `req` is NULL when
 * the hook runs outside a request (a job).  To reject, call
 * host->err_set(err, ...) and return WP_FILTER_REJECT.
 */
typedef wp_filter_result (*wp_plugin_filter_fn)(void *ud, wp_req *req, json_object *doc, wp_err *err);

/*
 * Event subscriber and job handler: job worker threads, concurrently (one
 * delivery at a time per job).  Return WP_OK (done), WP_RETRY (transient:
 * retried on the schedule) or WP_FAIL (permanent).  Say why with
 * host->log(); the host records the attempt and a last error.
 */
typedef wp_status (*wp_plugin_event_fn)(void *ud, const wp_plugin_event *ev);
typedef wp_status (*wp_plugin_job_fn)(void *ud, const wp_plugin_job *job);

/*
 * Reload (ABI 1.9, registered with host->reload_register): the main thread,
 * on SIGHUP, while routes, filters and jobs run concurrently.  `config` is
 * the plugin's whole "config" as it is to be: the running settings, with the
 * keys declared reloadable that changed in the file (borrowed, for the call
 * only; read it as init reads its own).  Check it, then publish the new
 * values so that the other threads read them safely (an atomic, or a lock
 * they take too).  Return WP_OK once applied; any other status (after
 * host->set_error says why) refuses the change: the running settings stay,
 * and the gateway logs the reason.
 */
typedef wp_status (*wp_plugin_reload_fn)(wp_plugin *self, const json_object *config);

/*
 * The host table, handed to init.  It stays valid (and unchanged) until
 * after shutdown returns, so a plugin may keep the pointer.  Every function
 * that returns wp_status leaves a message for host->last_error().
 *
 * Three slots carry two names each (an anonymous union: one slot, one
 * function).  Use the first; the second is its deprecated name, which
 * keeps working:
 *   init_error     (set_error)   why init fails
 *   err_set        (error_set)   fills a wp_err slot (a filter's REJECT)
 *   resp_from_err  (resp_err)    sends the response a wp_err slot describes
 * and resp_error sends an error response from a status, code and message.
 */
struct wp_host {
    uint32_t size;              /* sizeof the host's table: use WP_HOST_HAS() for newer slots */
    uint16_t abi_major;
    uint16_t abi_minor;

    /* ---- ABI 1.0 ---------------------------------------------------- */

    /* Writes one line to the gateway log, prefixed with the plugin's name.
     * Never log secrets.  fmt and arguments: borrowed. */
    void (*log)(wp_plugin *self, wp_log_level level, const char *fmt, ...) WP_PRINTF_(3, 4);

    /* The fixed meaning of a status ("not found").  Static string, never NULL. */
    const char *(*status_str)(wp_status s);

    /* The message of the last failing host call on this thread (thread-local,
     * valid until the next host call on this thread).  "" when none. */
    const char *(*last_error)(void);

    /* During init: records why init fails (copied); the loader reports it
     * as `plugin "name" (path): init failed: <message>`. */
    union {
        void (*init_error)(wp_plugin *self, const char *fmt, ...) WP_PRINTF_(2, 3);
        void (*set_error)(wp_plugin *self, const char *fmt, ...) WP_PRINTF_(2, 3); /* deprecated name */
    };

    /* Fills an error slot (for a filter's WP_FILTER_REJECT).  status picks the
     * HTTP status (WP_EINVAL 400, WP_EAUTH 401, WP_ENOTFOUND 404,
     * WP_ECONFLICT 409, WP_ETOOLARGE 413, WP_ELIMIT 429, WP_EUNAVAIL 503,
     * anything else 500); code is a machine-readable error code
     * ("invalid_location"), param the request field at fault (may be NULL).
     * All copied. */
    union {
        void (*err_set)(wp_err *err, wp_status status, const char *code, const char *param, const char *fmt, ...)
            WP_PRINTF_(5, 6);
        void (*error_set)(wp_err *err, wp_status status, const char *code, const char *param, const char *fmt, ...)
            WP_PRINTF_(5, 6); /* deprecated name */
    };

    /* A fresh error slot for req_json and hook_run: with req, in the request
     * arena (valid until the request ends); with req NULL, thread-local
     * (valid until the next err_new(NULL) on this thread).  Never freed by
     * the plugin.  NULL only when out of memory. */
    wp_err *(*err_new)(wp_req *req);

    /* The message in an error slot ("" when empty); borrowed from the slot. */
    const char *(*err_message)(const wp_err *err);

    /* Registration (init only; WP_ELATE afterwards).  Strings are copied. */

    /* Adds an HTTP route.  pattern: literal segments and ":name" segments
     * ("/api/v1/hello/:name").  WP_ECONFLICT when taken, WP_EINVAL when malformed.
     * Database work the handler does with req runs in one transaction,
     * committed when the handler responds with a status < 400. */
    wp_status (*route_add)(wp_plugin *self, const char *method, const char *pattern, wp_auth_kind auth,
                           wp_plugin_route_fn fn, void *ud);

    /* Adds a filter on the hook `hook` (dotted name, docs/plugins.md lists
     * them).  Filters of a hook run by priority, then by plugin name. */
    wp_status (*filter_add)(wp_plugin *self, const char *hook, int priority, wp_plugin_filter_fn fn, void *ud);

    /* Subscribes to durable events of `type`.  retry: NULL for the default; copied. */
    wp_status (*subscribe)(wp_plugin *self, const char *type, wp_plugin_event_fn fn, void *ud,
                           const wp_retry_policy *retry);

    /* Handles jobs of `kind` (namespaced by the plugin: "hello.send").  retry: copied. */
    wp_status (*job_register)(wp_plugin *self, const char *kind, wp_plugin_job_fn fn, void *ud,
                              const wp_retry_policy *retry);

    /* Running (any thread, after init returned). */

    /* Publishes an event.  With req, the event row is written in the
     * request's transaction (it exists if and only if the request's changes
     * commit); with req NULL, in a transaction of its own.  data: borrowed
     * (serialised), an object whose "schema" member (an integer >= 1) is the
     * version of its shape: required from plugins built against 1.5 on
     * (WP_EINVAL without it).  id_out (may be NULL) receives the event id
     * (>= 48 bytes). */
    wp_status (*publish)(wp_plugin *self, wp_req *req, const char *account_id, const char *type,
                         const json_object *data, char *id_out, size_t id_len);

    /* Enqueues a job of `kind` to run at run_at_ms (Unix milliseconds; 0: now).
     * With req, inside the request's transaction.  payload: borrowed. */
    wp_status (*job_enqueue)(wp_plugin *self, wp_req *req, const char *kind, const json_object *payload,
                             int64_t run_at_ms, char *id_out, size_t id_len);

    /* Runs one parameterised statement ($1, $2 ...; params are text, NULL
     * for SQL NULL; borrowed) on the plugin's own tables.  With req: on the
     * request's connection, in its transaction.  Without: on a pooled
     * connection, autocommit.  *rows (may be NULL) receives a json array of
     * row objects (column name -> value: integers and booleans as JSON
     * numbers/booleans, json/jsonb parsed, NULL as null, everything else as
     * strings): transferred, the caller json_object_put()s it. */
    wp_status (*db_query)(wp_plugin *self, wp_req *req, const char *sql, int nparams,
                          const char *const *params, json_object **rows);

    /* Adds delta to the counter walletpass_<plugin>_<name> in /metrics
     * ([a-zA-Z0-9_] name; help copied). */
    wp_status (*metrics_add)(wp_plugin *self, const char *name, const char *help, double delta);

    /* Runs the filters of `hook` over doc (borrowed, modified in place); req
     * may be NULL.  Returns the combined result; on WP_FILTER_REJECT err is
     * filled (pass it to resp_from_err).  A hook may not run itself recursively. */
    wp_filter_result (*hook_run)(const char *hook, json_object *doc, wp_req *req, wp_err *err);

    /* Request accessors.  Returned strings are borrowed until the handler
     * returns.  NULL when absent. */
    const char *(*req_method)(wp_req *req);
    const char *(*req_param)(wp_req *req, const char *name);   /* ":name" from the pattern */
    const char *(*req_header)(wp_req *req, const char *name);  /* case-insensitive */
    /* Copies the decoded query parameter into buf: 1 present, 0 absent, -1 too long. */
    int (*req_query)(wp_req *req, const char *name, char *buf, size_t len);
    /* Raw body (borrowed). */
    wp_status (*req_body)(wp_req *req, const char **data, size_t *len);
    /* Body parsed as strict JSON (content type, size and depth limits);
     * *out transferred.  Failures are ready for resp_from_err. */
    wp_status (*req_json)(wp_req *req, json_object **out, wp_err *err);
    /* The authenticated account ("" on public routes). */
    const char *(*req_account_id)(wp_req *req);
    /* The request id ("req_..."), for logs. */
    const char *(*req_id)(wp_req *req);
    /* Arena memory freed when the request ends (never free it).  NULL when out of memory. */
    void *(*req_alloc)(wp_req *req, size_t n);

    /* Responses: exactly one per request. */
    /* Adds a header to the response (copied). */
    void (*resp_header)(wp_req *req, const char *name, const char *value);
    /* Sends body (borrowed, serialised) as application/json. */
    void (*resp_json)(wp_req *req, int status, const json_object *body);
    /* Sends bytes (borrowed). */
    void (*resp_raw)(wp_req *req, int status, const char *content_type, const void *body, size_t len);
    /* Sends the API error shape {"error": {type, code, message, param, request_id}}
     * from a status, a code, the request field at fault (may be NULL) and a message. */
    void (*resp_error)(wp_req *req, int status, const char *code, const char *param, const char *fmt, ...)
        WP_PRINTF_(5, 6);
    /* Sends the response an error slot describes (a REJECT, a req_json failure). */
    union {
        void (*resp_from_err)(wp_req *req, const wp_err *err);
        void (*resp_err)(wp_req *req, const wp_err *err); /* deprecated name */
    };

    /* ---- ABI 1.1 ---------------------------------------------------- */

    /* Checks an outbound URL against the SSRF rules: http/https only; the
     * host name is resolved and every address must be public (loopback,
     * private, link-local, CGNAT, multicast, reserved and cloud-metadata
     * addresses are refused with WP_EDENIED unless the gateway is configured
     * with outbound.allow_private_targets).  pin (may be NULL) receives
     * "host:port:address" for CURLOPT_RESOLVE, so the connection goes to
     * the address that was checked (DNS rebinding). */
    wp_status (*url_check)(wp_plugin *self, const char *url, char *pin, size_t pin_len);

    /* Reads an account's decrypted credential of kind `name` (the secret
     * object the kind's validate returned at upload, see
     * wp_credential_kind; the plugin that registers a kind documents its
     * shape); *out transferred (a new object: drop it with json_object_put
     * as soon as it is used, and never log it or put it in a response).
     * WP_ENOTFOUND when the account has none (PUT /api/v1/credentials/<name>)
     * and for a malformed name; WP_ECRYPTO when the stored value does not
     * open (sealed under a master key no longer configured); WP_EUNAVAIL when
     * the database is unreachable or the process has no vault (`walletpass
     * plugins`). */
    wp_status (*vault_read)(wp_plugin *self, const char *account_id, const char *name, json_object **out);

    /* ---- ABI 1.2: what platform plugins need to render passes -------- */

    /* The gateway's public base URL (configuration "public_url"), without a
     * trailing slash: "https://wallet.example.com".  Borrowed, valid for the
     * life of the process. */
    const char *(*public_url)(wp_plugin *self);

    /* Reads one pass of account_id: the API resource (id, serial_number,
     * pass_type, status, template_id, created_at, updated_at, version, body:
     * the effective unified body) and "owner_account_id" (the account the
     * pass belongs to; a loyalty pass's own "account_id" field is the
     * member's).  Before ABI 1.7 it also carried a secret
     * "authentication_token"; a plugin's per-pass secrets are now its own
     * (pass_secret_get).  *out transferred.  WP_ENOTFOUND when the pass does
     * not exist or belongs to another account. */
    wp_status (*pass_get)(wp_plugin *self, const char *account_id, const char *pass_id, json_object **out);

    /* The capability that lets a link reach one pass without an API key
     * (pkpass_url "?t=..."): a MAC bound to the account and the pass, URL-safe
     * characters only.  out: at least 128 bytes. */
    wp_status (*pass_link_token)(wp_plugin *self, const char *account_id, const char *pass_id, char *out,
                                 size_t len);

    /* Checks a capability for pass_id in constant time.  WP_OK: it is the
     * pass's, and account_out (may be NULL; >= 48 bytes) receives the owning
     * account.  WP_ENOTFOUND for a wrong, foreign or malformed capability and
     * for an unknown pass (answer 404 either way). */
    wp_status (*pass_link_verify)(wp_plugin *self, const char *pass_id, const char *token, char *account_out,
                                  size_t account_len);

    /* On a WP_AUTH_PUBLIC route that also accepts an API key: authenticates
     * "Authorization: Bearer sk_live_..." exactly as WP_AUTH_API_KEY routes
     * are (key check, then the key's rate limit).  WP_OK: req_account_id()
     * is now the key's account.  WP_ENOTFOUND: the request carries no
     * Authorization header; nothing was sent.  Anything else: the 401, 429
     * or 503 response has already been sent; return from the handler. */
    wp_status (*req_api_key)(wp_req *req);

    /* ---- ABI 1.3: plugin secrets ---------------------------------------- */

    /* Seals len bytes of plain (borrowed) with the gateway vault (AES-256-GCM,
     * current master key).  The associated data is built by the host as
     * "<account_id>/<plugin name>/<purpose>", so a sealed value opens only for
     * the same account, the same plugin and the same purpose.  out receives
     * the NUL-terminated sealed text ("wpv1:<ver>:<base64>"), copied;
     * WP_ETOOLARGE when out_len is too small (len * 4 / 3 + 64 is always
     * enough).  WP_EUNAVAIL when the process has no vault.  purpose:
     * 1..128 characters of [A-Za-z0-9._/-] ("webhook_secret/wh_123"). */
    wp_status (*vault_seal)(wp_plugin *self, const char *account_id, const char *purpose, const void *plain,
                            size_t len, char *out, size_t out_len);

    /* Opens what vault_seal made for the same account_id and purpose.  The
     * plaintext is copied into out (out_cap bytes; WP_ETOOLARGE when too
     * small), *out_len receives its length; the caller wipes it after use.
     * WP_ECRYPTO when the value was tampered with, belongs to another
     * account/plugin/purpose, or its master key is no longer configured;
     * WP_EUNAVAIL when the process has no vault. */
    wp_status (*vault_open)(wp_plugin *self, const char *account_id, const char *purpose, const char *sealed,
                            void *out, size_t out_cap, size_t *out_len);

    /* RETIRED in ABI 1.7: the slot stays and the host leaves it NULL
     * (WP_HOST_HAS says no).  It found a pass by one platform's identifiers;
     * a device finds its pass with pass_secret_find now. */
    wp_status (*pass_find)(wp_plugin *self, const char *pass_type_identifier, const char *serial_number,
                           json_object **out);

    /* ---- ABI 1.4: capabilities by purpose; ordered jobs ---------------- */

    /* RETIRED in ABI 1.7: the slot stays and the host leaves it NULL
     * (WP_HOST_HAS says no).  It authenticated one platform's devices; use
     * pass_secret_find. */
    wp_status (*pass_authenticate)(wp_plugin *self, const char *pass_type_identifier, const char *serial_number,
                                   const char *token, json_object **out);

    /* A capability for one pass and one purpose of this plugin: a MAC of
     * the account and the pass under a key derived for
     * "<plugin name>/<purpose>", so it opens only what it was made for (an
     * image URL's capability never opens the download link, whose capability
     * is pass_link_token's).  purpose: 1..64 characters of [a-z0-9._-].
     * URL-safe characters only; out: at least 128 bytes. */
    wp_status (*pass_cap_token)(wp_plugin *self, const char *purpose, const char *account_id, const char *pass_id,
                                char *out, size_t len);

    /* Checks a capability made by pass_cap_token for the same plugin and
     * purpose, in constant time.  WP_OK: account_out (may be NULL; >= 48
     * bytes) receives the owning account.  WP_ENOTFOUND for a wrong,
     * foreign, other-purpose or malformed capability and for an unknown pass
     * (answer 404 either way). */
    wp_status (*pass_cap_verify)(wp_plugin *self, const char *purpose, const char *pass_id, const char *token,
                                 char *account_out, size_t account_len);

    /* job_enqueue with options (wp_job_options: run_at_ms, serial_key).
     * opts: borrowed, NULL for none; the host reads only the fields within
     * opts->size.  WP_EINVAL for a kind or key that is not the plugin's own
     * or is malformed. */
    wp_status (*job_enqueue_ex)(wp_plugin *self, wp_req *req, const char *kind, const json_object *payload,
                                const wp_job_options *opts, char *id_out, size_t id_len);

    /* ---- ABI 1.5: versioned event subscriptions ------------------------ */

    /* subscribe with options (wp_subscribe_options: the data schemas fn
     * understands, what the host does with others, the retry schedule).
     * opts: borrowed (copied); NULL is subscribe's behaviour.  An event whose
     * data schema lies outside schema_min..schema_max never reaches fn:
     * WP_SCHEMA_REFUSE fails its delivery at once with a last error naming
     * both versions, WP_SCHEMA_SKIP marks it done.  Registration: init only. */
    wp_status (*subscribe_ex)(wp_plugin *self, const char *type, wp_plugin_event_fn fn, void *ud,
                              const wp_subscribe_options *opts);

    /* ---- ABI 1.6: credential kinds ---------------------------------------- */

    /* Registration (init only; WP_ELATE afterwards).  Registers the
     * credential kind `kind` (borrowed: the host copies the strings and the
     * long_fields list and keeps the pointers validate and ud): the routes
     * PUT/GET/DELETE /api/v1/credentials/<name> and vault_read's name (see
     * wp_credential_kind).  The host reads only the fields within
     * kind->size.  WP_EINVAL for a malformed name or a missing validate;
     * WP_ECONFLICT when another plugin registered the name (reported at
     * load, like a taken route). */
    wp_status (*credential_kind_register)(wp_plugin *self, const wp_credential_kind *kind);

    /* ---- ABI 1.7: per-pass secrets of a plugin ------------------------- */

    /* A secret a platform needs per pass (the token its devices send back to
     * prove they hold the pass), kept by the host: sealed at rest by the
     * vault, one per (pass, calling plugin, name), and never in the API.
     * name: 1..64 characters of [a-z0-9_.-]; values are 1..1024 bytes
     * without NUL.  With req, the statements join the request's transaction
     * (a secret minted in a request that fails is gone with it).
     *
     * pass_secret_get: the secret `name` of account_id's pass, copied into
     * out followed by a NUL (out_cap must exceed its length; WP_ETOOLARGE
     * otherwise); *out_len (may be NULL) receives its length.  With flags
     * WP_PASS_SECRET_MINT, a pass that has none gets one first: 32 random
     * bytes as 43 URL-safe characters (callers minting at once get the same
     * one).  WP_ENOTFOUND when the account has no such pass, or (without
     * MINT) the pass has no such secret; WP_EUNAVAIL when the database or
     * the vault is unavailable or the value does not open (its master key
     * is no longer configured).  Wipe out after use. */
    wp_status (*pass_secret_get)(wp_plugin *self, wp_req *req, const char *account_id, const char *pass_id,
                                 const char *name, uint32_t flags, char *out, size_t out_cap, size_t *out_len);

    /* Stores (replaces) the secret `name` of account_id's pass: value
     * borrowed, len bytes.  WP_ENOTFOUND when the account has no such pass;
     * WP_EINVAL for a bad name or value. */
    wp_status (*pass_secret_put)(wp_plugin *self, wp_req *req, const char *account_id, const char *pass_id,
                                 const char *name, const char *value, size_t len);

    /* A device names its pass by serial number and proves it holds it with
     * the secret: the pass with serial_number, in any account, whose secret
     * `name` (of this plugin) is `secret`, compared in constant time with
     * every candidate.  *out (transferred) is shaped as pass_get's, with
     * "owner_account_id".  WP_EAUTH alike for an unknown serial, a pass
     * without that secret and a wrong secret (answer them the same way, so
     * nobody learns which serials exist); WP_EUNAVAIL when the database or
     * the vault is unavailable.  Scope checks of your own (which account
     * may serve this device) come after, answered as WP_EAUTH was. */
    wp_status (*pass_secret_find)(wp_plugin *self, const char *name, const char *serial_number, const char *secret,
                                  json_object **out);

    /* ---- ABI 1.8: the gateway's API, called in process ----------------- */

    /* Calls a route of the gateway's API (a path under /api/ whose route
     * takes an API key: the core's or a plugin's) in process, as the
     * request `req` the calling route handler is serving: the same account,
     * API key and mode, through every check, limit, filter, metering rule
     * and event of that route, exactly as if the client had sent the call
     * itself (it takes no second token of the key's rate limit).  So a
     * plugin offering another shape of the API (an integration's flat
     * fields) leaves validation, metering and isolation to the core.
     *
     * method: "GET", "POST", "PUT", "PATCH" or "DELETE".  path: the path
     * and query, percent-encoded as a client sends them
     * ("/api/v1/passes?limit=5").  body: the JSON body (borrowed,
     * serialised on this thread), NULL for none.  WP_OK once the route
     * answered, whatever it answered: *status receives the HTTP status
     * (201, 404, 429 ...), *out (may be NULL) its JSON body (transferred;
     * NULL when the answer is not JSON), *headers (may be NULL) its
     * response headers as an object of strings ({"Retry-After": "3"};
     * transferred).  The call's work commits or rolls back before it
     * returns, as a client's call would: make it before the route's own
     * first db_query/publish/job_enqueue with req (WP_ECONFLICT inside an
     * open transaction).  WP_EINVAL for req NULL or not authenticated by an
     * API key, a call from inside an api_call (no nesting), a method or
     * path not as above, or a route that takes no API key; WP_EUNAVAIL
     * when no database connection is to be had. */
    wp_status (*api_call)(wp_plugin *self, wp_req *req, const char *method, const char *path,
                          const json_object *body, int *status, json_object **out, json_object **headers);

    /* ---- ABI 1.9: settings changed without a restart ------------------- */

    /* During init only: declares the keys of this plugin's "config" that may
     * change while the gateway runs (`keys`: NULL-terminated, static) and the
     * function that applies them.  On SIGHUP the gateway reads its
     * configuration again; when this plugin's config changed, the changed
     * keys named here are handed to `fn` (wp_plugin_reload_fn), and every
     * other changed key is logged as needing a restart and not applied.  A
     * plugin that registers nothing gets every change of its config reported
     * as needing a restart.  WP_EINVAL for keys NULL or empty, fn NULL, or a
     * second registration; WP_ELATE after init. */
    wp_status (*reload_register)(wp_plugin *self, const char *const *keys, wp_plugin_reload_fn fn);

    /* ---- ABI 1.10: what a plugin reads about a pass, kept in memory ---- */

    /* A plugin that reads something of its own about a pass on every
     * request (a platform's web service: the pass's update time, its last
     * message) may keep it in the gateway's memory beside the pass's row,
     * one value per (plugin, pass), under the same rules: it is forgotten
     * whenever the pass, its account or its credentials change, and
     * whenever a statement of the plugin calls the SQL function
     * wp_cache_forget(account_id, pass_id) (a trigger on the plugin's own
     * table, see docs/plugins.md); and it is served only while this
     * process is sure to have heard of every such change committed before.
     *
     * pass_memo_get: WP_OK and the value copied into out (*len its length)
     * when held.  Otherwise *gen receives the stamp to hand to
     * pass_memo_put once the value has been read from the database, and
     * the call returns WP_ENOTFOUND (not held, or this process may not
     * serve from memory right now), or WP_ETOOLARGE (held, but longer than
     * cap: *len is its length; read the database).  WP_EINVAL for a NULL or
     * empty argument. */
    wp_status (*pass_memo_get)(wp_plugin *self, const char *account_id, const char *pass_id, void *out, size_t cap,
                               size_t *len, uint64_t *gen);

    /* Keeps len bytes of val (copied; 1 .. 65536) for the pass, unless a
     * change was heard of since gen was handed out (then nothing is kept, so
     * a value read before a change never outlives it).  WP_OK whether kept
     * or not (the cache's bounds decide too); WP_EINVAL for a NULL or empty
     * argument or a bad length. */
    wp_status (*pass_memo_put)(wp_plugin *self, const char *account_id, const char *pass_id, const void *val,
                               size_t len, uint64_t gen);

    /* After the plugin committed a change that wp_cache_forget() announced
     * (a db_query without req), and before telling anyone of it (a push to
     * devices that will come back for the pass): returns once every gateway
     * process has forgotten what the change replaced, or, for a process that
     * does not answer, once it can no longer serve from memory.  A request's
     * own writes need no call: the gateway waits the same way before it
     * answers them.  Never fails: WP_OK. */
    wp_status (*pass_memo_sync)(wp_plugin *self);
};

/* flags of pass_secret_get (ABI 1.7) */
#define WP_PASS_SECRET_MINT 1u

/* True when the host's table has the slot `fn` and it is not NULL. */
#define WP_HOST_HAS(host, fn) \
    (offsetof(wp_host, fn) + sizeof((host)->fn) <= (host)->size && (host)->fn != NULL)

/* host->size of a host of each minor: WP_HOST_SLOT_(number of slots). */
#define WP_HOST_SLOT_(n) (8 + (n) * sizeof(void (*)(void)))
#define WP_HOST_SIZE_1_0 WP_HOST_SLOT_(30)
#define WP_HOST_SIZE_1_1 WP_HOST_SLOT_(32)
#define WP_HOST_SIZE_1_2 WP_HOST_SLOT_(37)
#define WP_HOST_SIZE_1_3 WP_HOST_SLOT_(40)
#define WP_HOST_SIZE_1_4 WP_HOST_SLOT_(44)
#define WP_HOST_SIZE_1_5 WP_HOST_SLOT_(45)
#define WP_HOST_SIZE_1_6 WP_HOST_SLOT_(46)
#define WP_HOST_SIZE_1_7 WP_HOST_SLOT_(49)
#define WP_HOST_SIZE_1_8 WP_HOST_SLOT_(50)
#define WP_HOST_SIZE_1_9 WP_HOST_SLOT_(51)
#define WP_HOST_SIZE_1_10 WP_HOST_SLOT_(54)

/* The definition a plugin exports (made by WP_PLUGIN_DEFINE*). */
typedef struct wp_plugin_def {
    uint32_t magic;             /* WP_PLUGIN_MAGIC */
    uint32_t size;              /* sizeof(wp_plugin_def) as the plugin was built */
    uint16_t abi_major;         /* WP_ABI_MAJOR */
    uint16_t abi_minor;         /* the oldest host minor the plugin runs on: WP_REQUIRE_ABI_MINOR */
    uint32_t json_c_version;    /* JSON_C_VERSION_NUM the plugin was compiled with */
    const char *name;           /* [a-z0-9_-], unique; must match the configuration */
    const char *version;        /* the plugin's own version, free-form ("1.2.0") */
    const char *description;
    /* Registers what the plugin offers.  config: the plugin's "config"
     * object from the gateway configuration (an empty object when absent),
     * a private copy; borrowed, and valid until shutdown returns, but read
     * it during init only ("json_object and threads" above). */
    wp_status (*init)(const wp_host *host, wp_plugin *self, const json_object *config);
    void (*shutdown)(wp_plugin *self);
    /* &json_object_put as the plugin was linked: the loader compares it with
     * its own to refuse a plugin carrying a private copy of json-c. */
    int (*json_put)(struct json_object *obj);
    const char *license;        /* optional (SPDX id) */
    const char *homepage;       /* optional */

    /* ---- ABI 1.5: the host reads these only when .size covers them ------ */

    uint16_t built_abi_minor;   /* WP_ABI_MINOR of the header the plugin was compiled with */
    uint16_t reserved16;        /* 0 */
    uint32_t reserved32;        /* 0 */
    /* Plugins that must be loaded too (NULL-terminated names; NULL: none):
     * start-up stops, naming both, when one is not configured; a needed
     * plugin starts first.  "apns" needs "apple-signer". */
    const char *const *needs_plugins;
    /* Hooks this plugin runs with hook_run and that must have a filter
     * (NULL-terminated; NULL: none): start-up stops, naming the hook and
     * this plugin, when no loaded plugin filters one of them. */
    const char *const *needs_hooks;
} wp_plugin_def;

#if defined(__GNUC__)
#define WP_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define WP_PLUGIN_EXPORT
#endif
#ifdef __cplusplus
#define WP_PLUGIN_EXTERN_C extern "C"
#else
#define WP_PLUGIN_EXTERN_C
#endif

/*
 * Defines the plugin's one exported function.  Use exactly once, at file
 * scope, in one source file of the plugin.  New definition fields are
 * appended with zero defaults, so this macro's arguments never change.
 */
#define WP_PLUGIN_DEFINE(name_, version_, description_, init_, shutdown_) \
    WP_PLUGIN_DEFINE_NEEDS(name_, version_, description_, init_, shutdown_, NULL, NULL, NULL, NULL)

/* Same, with the optional license (SPDX id) and homepage. */
#define WP_PLUGIN_DEFINE_EXT(name_, version_, description_, init_, shutdown_, license_, homepage_) \
    WP_PLUGIN_DEFINE_NEEDS(name_, version_, description_, init_, shutdown_, license_, homepage_, NULL, NULL)

/*
 * Same, with what the plugin needs (ABI 1.5): two NULL-terminated arrays of
 * names, or NULL.  The arrays must be static:
 *
 *     static const char *const needs_plugins[] = {"apple-signer", NULL};
 *     static const char *const needs_hooks[] = {"apple.pkpass.build", NULL};
 *     WP_PLUGIN_DEFINE_NEEDS("apns", "1.0.0", "...", init, shutdown, NULL, NULL, needs_plugins, needs_hooks)
 *
 * Hosts older than 1.5 do not read the needs (nor built_abi_minor).
 */
#define WP_PLUGIN_DEFINE_NEEDS(name_, version_, description_, init_, shutdown_, license_, homepage_,         \
                               needs_plugins_, needs_hooks_)                                                   \
    WP_PLUGIN_EXTERN_C WP_PLUGIN_EXPORT const wp_plugin_def *wp_plugin_definition(void);                     \
    WP_PLUGIN_EXTERN_C WP_PLUGIN_EXPORT const wp_plugin_def *wp_plugin_definition(void)                      \
    {                                                                                                         \
        static const wp_plugin_def wp_definition_ = {WP_PLUGIN_MAGIC, (uint32_t)sizeof(wp_plugin_def),        \
                                                     WP_ABI_MAJOR, WP_REQUIRE_ABI_MINOR, JSON_C_VERSION_NUM,  \
                                                     (name_), (version_), (description_), (init_),            \
                                                     (shutdown_), json_object_put, (license_), (homepage_),   \
                                                     WP_ABI_MINOR, 0, 0, (needs_plugins_), (needs_hooks_)};   \
        return &wp_definition_;                                                                               \
    }

/* The type of the exported function, for the loader. */
typedef const wp_plugin_def *(*wp_plugin_definition_fn)(void);

/* ---- layout pins: a failing assert means an ABI break ------------------ */
#ifdef __cplusplus
#define WP_STATIC_ASSERT static_assert
#else
#define WP_STATIC_ASSERT _Static_assert
#endif
WP_STATIC_ASSERT(offsetof(wp_host, size) == 0, "ABI: wp_host.size moved");
WP_STATIC_ASSERT(offsetof(wp_host, abi_major) == 4, "ABI: wp_host.abi_major moved");
WP_STATIC_ASSERT(offsetof(wp_host, abi_minor) == 6, "ABI: wp_host.abi_minor moved");
/* ABI 1.0 */
WP_STATIC_ASSERT(offsetof(wp_host, log) == WP_HOST_SLOT_(0), "ABI: wp_host.log moved");
WP_STATIC_ASSERT(offsetof(wp_host, status_str) == WP_HOST_SLOT_(1), "ABI: wp_host.status_str moved");
WP_STATIC_ASSERT(offsetof(wp_host, last_error) == WP_HOST_SLOT_(2), "ABI: wp_host.last_error moved");
WP_STATIC_ASSERT(offsetof(wp_host, init_error) == WP_HOST_SLOT_(3), "ABI: wp_host.init_error moved");
WP_STATIC_ASSERT(offsetof(wp_host, set_error) == WP_HOST_SLOT_(3), "ABI: wp_host.set_error moved");
WP_STATIC_ASSERT(offsetof(wp_host, err_set) == WP_HOST_SLOT_(4), "ABI: wp_host.err_set moved");
WP_STATIC_ASSERT(offsetof(wp_host, error_set) == WP_HOST_SLOT_(4), "ABI: wp_host.error_set moved");
WP_STATIC_ASSERT(offsetof(wp_host, err_new) == WP_HOST_SLOT_(5), "ABI: wp_host.err_new moved");
WP_STATIC_ASSERT(offsetof(wp_host, err_message) == WP_HOST_SLOT_(6), "ABI: wp_host.err_message moved");
WP_STATIC_ASSERT(offsetof(wp_host, route_add) == WP_HOST_SLOT_(7), "ABI: wp_host.route_add moved");
WP_STATIC_ASSERT(offsetof(wp_host, filter_add) == WP_HOST_SLOT_(8), "ABI: wp_host.filter_add moved");
WP_STATIC_ASSERT(offsetof(wp_host, subscribe) == WP_HOST_SLOT_(9), "ABI: wp_host.subscribe moved");
WP_STATIC_ASSERT(offsetof(wp_host, job_register) == WP_HOST_SLOT_(10), "ABI: wp_host.job_register moved");
WP_STATIC_ASSERT(offsetof(wp_host, publish) == WP_HOST_SLOT_(11), "ABI: wp_host.publish moved");
WP_STATIC_ASSERT(offsetof(wp_host, job_enqueue) == WP_HOST_SLOT_(12), "ABI: wp_host.job_enqueue moved");
WP_STATIC_ASSERT(offsetof(wp_host, db_query) == WP_HOST_SLOT_(13), "ABI: wp_host.db_query moved");
WP_STATIC_ASSERT(offsetof(wp_host, metrics_add) == WP_HOST_SLOT_(14), "ABI: wp_host.metrics_add moved");
WP_STATIC_ASSERT(offsetof(wp_host, hook_run) == WP_HOST_SLOT_(15), "ABI: wp_host.hook_run moved");
WP_STATIC_ASSERT(offsetof(wp_host, req_method) == WP_HOST_SLOT_(16), "ABI: wp_host.req_method moved");
WP_STATIC_ASSERT(offsetof(wp_host, req_param) == WP_HOST_SLOT_(17), "ABI: wp_host.req_param moved");
WP_STATIC_ASSERT(offsetof(wp_host, req_header) == WP_HOST_SLOT_(18), "ABI: wp_host.req_header moved");
WP_STATIC_ASSERT(offsetof(wp_host, req_query) == WP_HOST_SLOT_(19), "ABI: wp_host.req_query moved");
WP_STATIC_ASSERT(offsetof(wp_host, req_body) == WP_HOST_SLOT_(20), "ABI: wp_host.req_body moved");
WP_STATIC_ASSERT(offsetof(wp_host, req_json) == WP_HOST_SLOT_(21), "ABI: wp_host.req_json moved");
WP_STATIC_ASSERT(offsetof(wp_host, req_account_id) == WP_HOST_SLOT_(22), "ABI: wp_host.req_account_id moved");
WP_STATIC_ASSERT(offsetof(wp_host, req_id) == WP_HOST_SLOT_(23), "ABI: wp_host.req_id moved");
WP_STATIC_ASSERT(offsetof(wp_host, req_alloc) == WP_HOST_SLOT_(24), "ABI: wp_host.req_alloc moved");
WP_STATIC_ASSERT(offsetof(wp_host, resp_header) == WP_HOST_SLOT_(25), "ABI: wp_host.resp_header moved");
WP_STATIC_ASSERT(offsetof(wp_host, resp_json) == WP_HOST_SLOT_(26), "ABI: wp_host.resp_json moved");
WP_STATIC_ASSERT(offsetof(wp_host, resp_raw) == WP_HOST_SLOT_(27), "ABI: wp_host.resp_raw moved");
WP_STATIC_ASSERT(offsetof(wp_host, resp_error) == WP_HOST_SLOT_(28), "ABI: wp_host.resp_error moved");
WP_STATIC_ASSERT(offsetof(wp_host, resp_from_err) == WP_HOST_SLOT_(29), "ABI: wp_host.resp_from_err moved");
WP_STATIC_ASSERT(offsetof(wp_host, resp_err) == WP_HOST_SLOT_(29), "ABI: wp_host.resp_err moved");
WP_STATIC_ASSERT(WP_HOST_SIZE_1_0 == offsetof(wp_host, resp_err) + sizeof(void (*)(void)), "ABI: 1.0 ends at resp_err");
/* ABI 1.1 */
WP_STATIC_ASSERT(offsetof(wp_host, url_check) == WP_HOST_SLOT_(30), "ABI: wp_host.url_check moved");
WP_STATIC_ASSERT(offsetof(wp_host, vault_read) == WP_HOST_SLOT_(31), "ABI: wp_host.vault_read moved");
WP_STATIC_ASSERT(WP_HOST_SIZE_1_1 == offsetof(wp_host, vault_read) + sizeof(void (*)(void)), "ABI: 1.1 ends at vault_read");
/* ABI 1.2 */
WP_STATIC_ASSERT(offsetof(wp_host, public_url) == WP_HOST_SLOT_(32), "ABI: wp_host.public_url moved");
WP_STATIC_ASSERT(offsetof(wp_host, pass_get) == WP_HOST_SLOT_(33), "ABI: wp_host.pass_get moved");
WP_STATIC_ASSERT(offsetof(wp_host, pass_link_token) == WP_HOST_SLOT_(34), "ABI: wp_host.pass_link_token moved");
WP_STATIC_ASSERT(offsetof(wp_host, pass_link_verify) == WP_HOST_SLOT_(35), "ABI: wp_host.pass_link_verify moved");
WP_STATIC_ASSERT(offsetof(wp_host, req_api_key) == WP_HOST_SLOT_(36), "ABI: wp_host.req_api_key moved");
WP_STATIC_ASSERT(WP_HOST_SIZE_1_2 == offsetof(wp_host, req_api_key) + sizeof(void (*)(void)), "ABI: 1.2 ends at req_api_key");
/* ABI 1.3 */
WP_STATIC_ASSERT(offsetof(wp_host, vault_seal) == WP_HOST_SLOT_(37), "ABI: wp_host.vault_seal moved");
WP_STATIC_ASSERT(offsetof(wp_host, vault_open) == WP_HOST_SLOT_(38), "ABI: wp_host.vault_open moved");
WP_STATIC_ASSERT(offsetof(wp_host, pass_find) == WP_HOST_SLOT_(39), "ABI: wp_host.pass_find moved");
WP_STATIC_ASSERT(WP_HOST_SIZE_1_3 == offsetof(wp_host, pass_find) + sizeof(void (*)(void)), "ABI: 1.3 ends at pass_find");
/* ABI 1.4 */
WP_STATIC_ASSERT(offsetof(wp_host, pass_authenticate) == WP_HOST_SLOT_(40), "ABI: wp_host.pass_authenticate moved");
WP_STATIC_ASSERT(offsetof(wp_host, pass_cap_token) == WP_HOST_SLOT_(41), "ABI: wp_host.pass_cap_token moved");
WP_STATIC_ASSERT(offsetof(wp_host, pass_cap_verify) == WP_HOST_SLOT_(42), "ABI: wp_host.pass_cap_verify moved");
WP_STATIC_ASSERT(offsetof(wp_host, job_enqueue_ex) == WP_HOST_SLOT_(43), "ABI: wp_host.job_enqueue_ex moved");
WP_STATIC_ASSERT(WP_HOST_SIZE_1_4 == offsetof(wp_host, job_enqueue_ex) + sizeof(void (*)(void)), "ABI: 1.4 ends at job_enqueue_ex");
/* ABI 1.5 */
WP_STATIC_ASSERT(offsetof(wp_host, subscribe_ex) == WP_HOST_SLOT_(44), "ABI: wp_host.subscribe_ex moved");
WP_STATIC_ASSERT(WP_HOST_SIZE_1_5 == offsetof(wp_host, subscribe_ex) + sizeof(void (*)(void)), "ABI: 1.5 ends at subscribe_ex");
/* ABI 1.6 */
WP_STATIC_ASSERT(offsetof(wp_host, credential_kind_register) == WP_HOST_SLOT_(45),
                 "ABI: wp_host.credential_kind_register moved");
WP_STATIC_ASSERT(WP_HOST_SIZE_1_6 == offsetof(wp_host, credential_kind_register) + sizeof(void (*)(void)),
                 "ABI: 1.6 ends at credential_kind_register");
/* ABI 1.7 */
WP_STATIC_ASSERT(offsetof(wp_host, pass_secret_get) == WP_HOST_SLOT_(46), "ABI: wp_host.pass_secret_get moved");
WP_STATIC_ASSERT(offsetof(wp_host, pass_secret_put) == WP_HOST_SLOT_(47), "ABI: wp_host.pass_secret_put moved");
WP_STATIC_ASSERT(offsetof(wp_host, pass_secret_find) == WP_HOST_SLOT_(48), "ABI: wp_host.pass_secret_find moved");
WP_STATIC_ASSERT(WP_HOST_SIZE_1_7 == offsetof(wp_host, pass_secret_find) + sizeof(void (*)(void)),
                 "ABI: 1.7 ends at pass_secret_find");
/* ABI 1.8 */
WP_STATIC_ASSERT(offsetof(wp_host, api_call) == WP_HOST_SLOT_(49), "ABI: wp_host.api_call moved");
WP_STATIC_ASSERT(WP_HOST_SIZE_1_8 == offsetof(wp_host, api_call) + sizeof(void (*)(void)), "ABI: 1.8 ends at api_call");
/* ABI 1.9 */
WP_STATIC_ASSERT(offsetof(wp_host, reload_register) == WP_HOST_SLOT_(50), "ABI: wp_host.reload_register moved");
WP_STATIC_ASSERT(WP_HOST_SIZE_1_9 == offsetof(wp_host, reload_register) + sizeof(void (*)(void)),
                 "ABI: 1.9 ends at reload_register");
/* ABI 1.10 */
WP_STATIC_ASSERT(offsetof(wp_host, pass_memo_get) == WP_HOST_SLOT_(51), "ABI: wp_host.pass_memo_get moved");
WP_STATIC_ASSERT(offsetof(wp_host, pass_memo_put) == WP_HOST_SLOT_(52), "ABI: wp_host.pass_memo_put moved");
WP_STATIC_ASSERT(offsetof(wp_host, pass_memo_sync) == WP_HOST_SLOT_(53), "ABI: wp_host.pass_memo_sync moved");
WP_STATIC_ASSERT(WP_HOST_SIZE_1_10 == offsetof(wp_host, pass_memo_sync) + sizeof(void (*)(void)),
                 "ABI: 1.10 ends at pass_memo_sync");
WP_STATIC_ASSERT(sizeof(wp_host) == WP_HOST_SIZE_1_10, "ABI: wp_host size changed");
/* the definition */
WP_STATIC_ASSERT(offsetof(wp_plugin_def, magic) == 0, "ABI: wp_plugin_def.magic moved");
WP_STATIC_ASSERT(offsetof(wp_plugin_def, size) == 4, "ABI: wp_plugin_def.size moved");
WP_STATIC_ASSERT(offsetof(wp_plugin_def, abi_major) == 8, "ABI: wp_plugin_def.abi_major moved");
WP_STATIC_ASSERT(offsetof(wp_plugin_def, abi_minor) == 10, "ABI: wp_plugin_def.abi_minor moved");
WP_STATIC_ASSERT(offsetof(wp_plugin_def, json_c_version) == 12, "ABI: wp_plugin_def.json_c_version moved");
WP_STATIC_ASSERT(offsetof(wp_plugin_def, name) == 16, "ABI: wp_plugin_def.name moved");
WP_STATIC_ASSERT(offsetof(wp_plugin_def, version) == 16 + sizeof(void *), "ABI: wp_plugin_def.version moved");
WP_STATIC_ASSERT(offsetof(wp_plugin_def, homepage) == 16 + 7 * sizeof(void *), "ABI: wp_plugin_def.homepage moved");
WP_STATIC_ASSERT(offsetof(wp_plugin_def, built_abi_minor) == 16 + 8 * sizeof(void *), "ABI: wp_plugin_def.built_abi_minor moved");
WP_STATIC_ASSERT(offsetof(wp_plugin_def, needs_plugins) == 24 + 8 * sizeof(void *), "ABI: wp_plugin_def.needs_plugins moved");
WP_STATIC_ASSERT(offsetof(wp_plugin_def, needs_hooks) == 24 + 9 * sizeof(void *), "ABI: wp_plugin_def.needs_hooks moved");
WP_STATIC_ASSERT(sizeof(wp_plugin_def) == 24 + 10 * sizeof(void *), "ABI: wp_plugin_def size changed");
/* the structs */
WP_STATIC_ASSERT(offsetof(wp_retry_policy_v1, backoff_s) == 8, "ABI: wp_retry_policy_v1 changed");
WP_STATIC_ASSERT(offsetof(wp_plugin_event_v1, id) == 8, "ABI: wp_plugin_event_v1.id moved");
WP_STATIC_ASSERT(offsetof(wp_plugin_event_v1, created_at) == 8 + 4 * sizeof(void *), "ABI: wp_plugin_event_v1 changed");
WP_STATIC_ASSERT(offsetof(wp_plugin_event_v2, created_at) == 8 + 4 * sizeof(void *), "ABI: wp_plugin_event_v2 changed");
WP_STATIC_ASSERT(offsetof(wp_plugin_event_v2, schema) == 8 + 5 * sizeof(void *), "ABI: wp_plugin_event_v2.schema moved");
WP_STATIC_ASSERT(offsetof(wp_plugin_job_v1, payload) == 8 + 2 * sizeof(void *), "ABI: wp_plugin_job_v1 changed");
WP_STATIC_ASSERT(offsetof(wp_job_options_v1, run_at_ms) == 8, "ABI: wp_job_options_v1.run_at_ms moved");
WP_STATIC_ASSERT(offsetof(wp_job_options_v1, serial_key) == 16, "ABI: wp_job_options_v1.serial_key moved");
WP_STATIC_ASSERT(offsetof(wp_subscribe_options_v1, on_mismatch) == 12, "ABI: wp_subscribe_options_v1.on_mismatch moved");
WP_STATIC_ASSERT(offsetof(wp_subscribe_options_v1, retry) == 16, "ABI: wp_subscribe_options_v1.retry moved");
WP_STATIC_ASSERT(offsetof(wp_credential_kind_v1, name) == 8, "ABI: wp_credential_kind_v1.name moved");
WP_STATIC_ASSERT(offsetof(wp_credential_kind_v1, validate) == 8 + 2 * sizeof(void *),
                 "ABI: wp_credential_kind_v1.validate moved");
WP_STATIC_ASSERT(offsetof(wp_credential_kind_v1, long_fields) == 8 + 4 * sizeof(void *),
                 "ABI: wp_credential_kind_v1.long_fields moved");
WP_STATIC_ASSERT(sizeof(wp_credential_kind_v1) == 8 + 5 * sizeof(void *), "ABI: wp_credential_kind_v1 size changed");
#undef WP_STATIC_ASSERT

#ifdef __cplusplus
}
#endif

#endif /* WALLETPASS_PLUGIN_H */
