/*
 * main.c - the walletpass command line.
 *
 *   walletpass serve                      migrate, then serve until SIGINT/SIGTERM
 *   walletpass migrate                    apply pending migrations and exit
 *   walletpass account create --name N --email E [--plan P]   prints the account id
 *   walletpass key create --account ID [--name N]             prints the new API key
 *   walletpass user create --account ID --email E             a dashboard user (cli_users.c)
 *   walletpass plugins [--hooks]          load the configured plugins, list them (and the filter order)
 *   walletpass routes                     every route serve would register: METHOD PATTERN AUTH OWNER
 *   walletpass config check [FILE]        validate a configuration file, TLS files and plugin sections
 * (plugins, routes and config check need neither a database nor the master key)
 *   walletpass version
 *
 * Output meant for scripts (ids, keys) goes alone to stdout; everything
 * else goes to stderr.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apikey.h"
#include "cli_accounts.h"
#include "cli_users.h"
#include "config.h"
#include "crash.h"
#include "db.h"
#include "log.h"
#include "hooks.h"
#include "jobs.h"
#include "migrate.h"
#include "threadlocale.h"
#include "plugins.h"
#include "notify.h"
#include "reload.h"
#include "server.h"
#include "tls.h"

static int usage(void)
{
    fprintf(stderr,
            "usage: walletpass <command>\n"
            "  serve                                   apply migrations, then serve\n"
            "  migrate                                 apply pending migrations\n"
            "  account create --name NAME --email EMAIL [--plan PLAN]\n"
            "                                          create an account; prints its id\n"
            "  key create --account ID [--name NAME] [--test]\n"
            "                                          create an API key (sk_live_, or sk_test_); prints the key\n"
            "  account list                            accounts: id, plan, trial end, parent, operations, name, email\n"
            "  account set-plan ID PLAN                change an account's plan at once (logged)\n"
            "  key list --account ID                   keys: id, live|test, prefix, created, revoked, name\n"
            "  key revoke --account ID KEY_ID          revoke a key\n"
            "  user create --account ID --email EMAIL [--password-stdin]\n"
            "                                          a dashboard user; prints its id (and a generated password)\n"
            "  user list --account ID                  dashboard users: id, email, created, last login\n"
            "  user set-password --email EMAIL [--password-stdin]\n"
            "                                          a new password (generated unless read); the user's sessions end\n"
            "  invite create [--account ID] [--email EMAIL]\n"
            "                                          a sign-up link (to a new account, or to join ID)\n"
            "  plugins [--hooks]                       list the configured plugins (and the filter order)\n"
            "  routes                                  list the routes of the core and the configured plugins\n"
            "  config check [FILE]                     validate a configuration file (default: WALLETPASS_CONFIG)\n"
            "  version                                 print the version\n"
            "configuration: WALLETPASS_CONFIG (file) and WALLETPASS_* variables; see config/walletpass.example.json\n");
    return 2;
}

/* Finds --flag VALUE in argv; NULL when absent. */
static const char *flag(int argc, char **argv, const char *name)
{
    for (int i = 0; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    return NULL;
}

static int fail(const wp_err *err)
{
    fprintf(stderr, "walletpass: %s\n", err->msg[0] ? err->msg : wp_status_str(err->status));
    return 1;
}

/* wait_s: how long to wait for a database that does not answer yet (serve, migrate: a service
 * started beside its database); the one-shot commands fail at once. */
static PGconn *connect_db(const wp_config *cfg, wp_db **pool, int wait_s, wp_err *err)
{
    wp_db_options o = {.url = cfg->database_url, .pool_size = 1, .acquire_timeout_ms = cfg->db_acquire_timeout_ms,
                       .statement_timeout_ms = 0, .connect_timeout_s = cfg->db_connect_timeout_s,
                       .application_name = "walletpass-cli", .transaction_pooling = cfg->db_transaction_pooling};
    if (wp_db_open(&o, pool, err) != WP_OK) return NULL;
    PGconn *c = wp_db_acquire_waiting(*pool, wait_s, err);
    if (!c) {
        wp_db_close(*pool);
        *pool = NULL;
    }
    return c;
}

static int run_migrate(const wp_config *cfg, int wait_s, wp_err *err)
{
    wp_db *pool;
    PGconn *c = connect_db(cfg, &pool, wait_s, err);
    if (!c) return 0;
    int n = 0;
    wp_status st = wp_migrate_dir(c, "core", cfg->migrations_dir, 1, &n, err);
    wp_db_release(pool, c);
    wp_db_close(pool);
    if (st == WP_OK) wp_log_info("migrations: %d applied, schema up to date", n);
    return st == WP_OK;
}

static wp_status load_plugins(wp_server *srv, wp_plugins **out, wp_err *err);

static int cmd_serve(wp_config *cfg)
{
    wp_err err;
    wp_err_clear(&err);
    if (!run_migrate(cfg, cfg->db_startup_wait_s, &err)) return fail(&err);
    /* Signals are taken synchronously by this thread; workers never see them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    wp_server srv;
    wp_plugins *plugins = NULL;
    /* Plugins load between init and start: their routes must be in before the router is sealed,
     * their job handlers before the workers start. */
    bool inited = false;
    if (wp_server_init(&srv, cfg, &err) != WP_OK || !(inited = true) || load_plugins(&srv, &plugins, &err) != WP_OK ||
        wp_server_start(&srv, &err) != WP_OK) {
        if (inited) wp_server_stop(&srv); /* no plugin code may still run when it shuts down */
        wp_plugins_unload(plugins);
        wp_server_free(&srv);
        return fail(&err);
    }
    /* Type=notify: migrations are applied and the port listens (notify.h) */
    char ready[200];
    snprintf(ready, sizeof ready, "READY=1\nSTATUS=serving on port %d\nMAINPID=%ld", cfg->port, (long)getpid());
    wp_notify(ready);
    int sig = 0;
    /* SIGHUP: read the configuration again and apply what can change without a restart (reload.h),
     * and re-read the TLS certificate and key (a renewal); serving goes on either way */
    while (sigwait(&set, &sig) == 0 && sig == SIGHUP) {
        wp_err herr;
        wp_err_clear(&herr);
        wp_notify_reloading();
        (void)wp_reload(&srv, plugins, &herr); /* logs what it did and did not; a bad file changes nothing */
        wp_err_clear(&herr);
        (void)wp_server_reload_tls(&srv, &herr); /* logs the outcome itself; a failure keeps the old pair */
        wp_notify("READY=1");
    }
    wp_notify("STOPPING=1");
    wp_log_info("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    wp_server_stop(&srv);
    wp_plugins_unload(plugins); /* after requests and jobs stopped, before the pool closes */
    wp_server_free(&srv);
    return 0;
}

static bool allow_private_targets(const wp_config *cfg)
{
    json_object *o, *v;
    return cfg->root && json_object_object_get_ex(cfg->root, "outbound", &o) &&
           json_object_object_get_ex(o, "allow_private_targets", &v) && json_object_get_boolean(v);
}

static wp_status load_plugins(wp_server *srv, wp_plugins **out, wp_err *err)
{
    wp_plugins_env env = {.router = srv->router, .db = srv->db, .metrics = srv->metrics, .jobs = srv->jobs,
                          .events = srv->events, .allow_private_targets = allow_private_targets(srv->cfg),
                          .domain = &srv->domain};
    return wp_plugins_load(srv->cfg, &env, out, err);
}

/* `walletpass plugins [--hooks]`: loads and initialises the plugins without a database, lists, unloads. */
static int cmd_plugins(const wp_config *cfg, int argc, char **argv)
{
    wp_err err;
    wp_err_clear(&err);
    wp_router *router = NULL;
    if (wp_router_new(&router) != WP_OK) return 1;
    wp_plugins_env env = {.router = router, .allow_private_targets = allow_private_targets(cfg)};
    wp_plugins *ps = NULL;
    wp_status st = wp_plugins_load(cfg, &env, &ps, &err);
    if (st == WP_OK) {
        printf("plugin directory: %s\n", wp_plugins_dir(cfg));
        wp_plugins_print(ps, stdout);
        if (argc > 2 && strcmp(argv[2], "--hooks") == 0) {
            printf("filters, in run order (hook, priority, plugin):\n");
            wp_hooks_dump(stdout);
        }
    }
    wp_plugins_unload(ps);
    wp_hooks_reset();
    wp_router_free(router);
    return st == WP_OK ? 0 : fail(&err);
}

static const char *auth_name(wp_auth_kind a)
{
    switch (a) {
    case WP_AUTH_PUBLIC: return "public";
    case WP_AUTH_API_KEY: return "api_key";
    case WP_AUTH_PASS_TOKEN: return "pass_token";
    case WP_AUTH_PORTAL: return "portal";
    }
    return "unknown";
}

/*
 * `walletpass routes`: the routes `serve` would register, core and configured plugins, one line each:
 * METHOD PATTERN AUTH OWNER, in registration order.  It builds the server as serve does but never
 * listens or connects: the plugins load without a database, as for `walletpass plugins`.  So it
 * needs neither a database nor the master key: when the configuration has none, stand-ins are used
 * (a URL never dialled, a random key that seals nothing) and the configuration is restored after.
 */
static int cmd_routes(wp_config *cfg)
{
    wp_err err;
    wp_err_clear(&err);
    static char unused_url[] = "postgresql://walletpass-routes.invalid/unused";
    char *saved_url = cfg->database_url, *saved_key = cfg->master_key;
    unsigned char raw[32];
    char key_b64[64];
    if (!cfg->database_url || !*cfg->database_url) cfg->database_url = unused_url;
    if (!cfg->master_key || !*cfg->master_key) {
        if (RAND_bytes(raw, sizeof raw) != 1) {
            fprintf(stderr, "walletpass routes: no random bytes for a stand-in master key\n");
            return 1;
        }
        EVP_EncodeBlock((unsigned char *)key_b64, raw, (int)sizeof raw);
        OPENSSL_cleanse(raw, sizeof raw);
        cfg->master_key = key_b64;
    }
    wp_server srv; /* wp_server_init zeroes it first, so freeing after a failed init is safe */
    wp_plugins *ps = NULL;
    wp_status st = wp_server_init(&srv, cfg, &err);
    if (st == WP_OK) {
        wp_plugins_env env = {.router = srv.router, .allow_private_targets = allow_private_targets(cfg)};
        st = wp_plugins_load(cfg, &env, &ps, &err);
    }
    if (st == WP_OK) {
        size_t n = wp_router_count(srv.router);
        for (size_t i = 0; i < n; i++) {
            const wp_route *r = wp_router_at(srv.router, i);
            printf("%s %s %s %s\n", r->method, r->pattern, auth_name(r->auth), r->owner ? r->owner : "core");
        }
    }
    wp_plugins_unload(ps);
    wp_hooks_reset();
    wp_server_free(&srv);
    cfg->database_url = saved_url;
    cfg->master_key = saved_key;
    OPENSSL_cleanse(key_b64, sizeof key_b64);
    return st == WP_OK ? 0 : fail(&err);
}

static void print_value(void *ud, const char *key, const char *value, wp_config_source src, const char *env)
{
    (void)ud;
    if (env) printf("%-40s %s  (%s: %s)\n", key, value, wp_config_source_name(src), env);
    else printf("%-40s %s  (%s)\n", key, value, wp_config_source_name(src));
}

/* The leaves of a free-form section as the file gives them (no defaults of their own here), secrets redacted. */
static void print_leaves(const char *prefix, json_object *v)
{
    if (json_object_is_type(v, json_type_object)) {
        json_object_object_foreach(v, k, child) {
            if (strncmp(k, "$comment", 8) == 0) continue;
            char key[512];
            snprintf(key, sizeof key, "%s.%s", prefix, k);
            print_leaves(key, child);
        }
        return;
    }
    char text[1024];
    if (wp_config_key_is_secret(prefix)) {
        snprintf(text, sizeof text, "(set, redacted)");
    } else {
        const char *js = json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                                   : json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
        wp_config_redact(js, text, sizeof text);
    }
    print_value(NULL, prefix, text, WP_CONFIG_FROM_FILE, NULL);
}

/* Every effective value on stdout, one line each: KEY VALUE (SOURCE[: VARIABLE]). */
static void print_effective(const wp_config *cfg)
{
    wp_config_each(cfg, print_value, NULL);
    json_object *sec = NULL, *v = NULL;
    wp_jobs_config jc;
    wp_err err;
    wp_err_clear(&err);
    if (wp_jobs_config_read(cfg->root, &jc, &err) == WP_OK) {
        bool has = cfg->root && json_object_object_get_ex(cfg->root, "jobs", &sec);
        struct { const char *k; int v; } jobs[] = {
            {"workers", jc.workers}, {"lease_seconds", jc.lease_seconds}, {"poll_ms", jc.poll_ms},
            {"claim_batch", jc.claim_batch}, {"handler_timeout_seconds", jc.handler_timeout_seconds},
            {"done_retention_hours", jc.done_retention_hours}, {"dead_after_seconds", jc.dead_after_seconds}};
        for (size_t i = 0; i < sizeof jobs / sizeof jobs[0]; i++) {
            char key[64], val[32];
            snprintf(key, sizeof key, "jobs.%s", jobs[i].k);
            snprintf(val, sizeof val, "%d", jobs[i].v);
            print_value(NULL, key, val, has && json_object_object_get_ex(sec, jobs[i].k, NULL) ? WP_CONFIG_FROM_FILE
                                                                                              : WP_CONFIG_FROM_DEFAULT, NULL);
        }
    }
    bool has_ver = cfg->root && json_object_object_get_ex(cfg->root, "vault", &sec) &&
                   json_object_object_get_ex(sec, "key_version", &v);
    print_value(NULL, "vault.key_version", has_ver ? json_object_get_string(v) : "1",
                has_ver ? WP_CONFIG_FROM_FILE : WP_CONFIG_FROM_DEFAULT, NULL);
    if (cfg->root && json_object_object_get_ex(cfg->root, "vault", &sec) &&
        json_object_object_get_ex(sec, "previous_keys", &v))
        print_leaves("vault.previous_keys", v);
    static const char *const open[] = {"outbound", NULL}; /* the free-form sections the schema does not list */
    for (const char *const *o = open; *o; o++)
        if (cfg->root && json_object_object_get_ex(cfg->root, *o, &sec)) print_leaves(*o, sec);
    /* each plugin's own keys as given; their defaults are the plugin's (its README) */
    for (size_t i = 0; cfg->plugins && i < json_object_array_length(cfg->plugins); i++) {
        json_object *e = json_object_array_get_idx(cfg->plugins, i), *nm = NULL, *pc = NULL;
        char prefix[200];
        snprintf(prefix, sizeof prefix, "plugins.%s",
                 json_object_object_get_ex(e, "name", &nm) ? json_object_get_string(nm) : "?");
        json_object_object_foreach(e, k, pv) {
            if (strcmp(k, "name") == 0 || strcmp(k, "config") == 0 || strncmp(k, "$comment", 8) == 0) continue;
            char key[300];
            snprintf(key, sizeof key, "%s.%s", prefix, k);
            print_leaves(key, pv);
        }
        if (json_object_object_get_ex(e, "config", &pc)) {
            char key[300];
            snprintf(key, sizeof key, "%s.config", prefix);
            print_leaves(key, pc);
        }
    }
}

/*
 * `walletpass config check [FILE]`: validates a configuration as `serve` would read it (FILE, else
 * WALLETPASS_CONFIG; the WALLETPASS_* variables applied): every key, the vault and jobs sections,
 * server.tls's certificate and key, and the plugins' own sections (loaded without a database, as for
 * `walletpass plugins`).  Neither the database nor the listening port is touched.  Every effective
 * value goes to stdout with where it came from (file, environment, default; secrets redacted);
 * findings go to stderr as "error: ..." / "warning: ..."; the exit status is 1 when there is an error.
 */
static int cmd_config_check(const char *path)
{
    const char *name = path ? path : getenv("WALLETPASS_CONFIG");
    if (!name || !*name) name = "(no file: defaults and WALLETPASS_* variables)";
    wp_config cfg;
    wp_err err;
    wp_err_clear(&err);
    if (wp_config_load(path, &cfg, &err) != WP_OK) {
        fprintf(stderr, "error: %s\n%s: configuration invalid\n", err.msg, name);
        return 1;
    }
    print_effective(&cfg);
    fflush(stdout);
    wp_log_set_level((wp_log_level)cfg.log_level);
    int errors = 0, warnings = 0;
    char text[900];
    if (wp_config_public_url_warning(&cfg, text, sizeof text)) {
        fprintf(stderr, "warning: %s\n", text);
        warnings++;
    }
    if (cfg.portal_enabled && !wp_server_dashboard_found(&cfg, text, sizeof text)) {
        fprintf(stderr, "warning: %s\n", text);
        warnings++;
    }
    if (cfg.tls_certificate_file) {
        wp_tls *tls = NULL;
        wp_tls_info info;
        wp_err_clear(&err);
        if (wp_tls_load(cfg.tls_certificate_file, cfg.tls_key_file, &tls, &info, &err) != WP_OK) {
            fprintf(stderr, "error: %s\n", err.msg);
            errors++;
        } else {
            int warn = wp_tls_describe(&info, text, sizeof text) == WP_LOG_WARN;
            fprintf(stderr, "%s: TLS certificate %s\n", warn ? "warning" : "ok", text);
            warnings += warn;
        }
        wp_tls_free(tls);
    }
    wp_jobs_config jc;
    wp_err_clear(&err);
    if (wp_jobs_config_read(cfg.root, &jc, &err) != WP_OK) {
        fprintf(stderr, "error: %s\n", err.msg);
        errors++;
    }
    if (!cfg.database_url || !*cfg.database_url) {
        fprintf(stderr, "warning: database.url is not set (nor WALLETPASS_DATABASE_URL): serve needs it\n");
        warnings++;
    }
    if (!cfg.master_key || !*cfg.master_key) {
        fprintf(stderr, "warning: master_key is not set (nor WALLETPASS_MASTER_KEY): serve needs it to seal "
                        "credentials\n");
        warnings++;
    } else {
        wp_vault *vault = NULL;
        wp_err_clear(&err);
        if (wp_server_vault_open(&cfg, &vault, &err) != WP_OK) {
            fprintf(stderr, "error: %s\n", err.msg);
            errors++;
        }
        wp_vault_free(vault);
    }
    wp_router *router = NULL;
    if (wp_router_new(&router) != WP_OK) {
        wp_config_free(&cfg);
        fprintf(stderr, "error: out of memory\n");
        return 1;
    }
    wp_plugins_env env = {.router = router, .allow_private_targets = allow_private_targets(&cfg)};
    wp_plugins *ps = NULL;
    wp_err_clear(&err);
    if (wp_plugins_load(&cfg, &env, &ps, &err) != WP_OK) {
        fprintf(stderr, "error: %s\n", err.msg);
        errors++;
    }
    wp_plugins_unload(ps);
    wp_hooks_reset();
    wp_router_free(router);
    wp_config_free(&cfg);
    if (errors) fprintf(stderr, "%s: configuration invalid (%d error%s)\n", name, errors, errors == 1 ? "" : "s");
    else fprintf(stderr, "%s: configuration OK (%d warning%s)\n", name, warnings, warnings == 1 ? "" : "s");
    return errors ? 1 : 0;
}

static int cmd_account_create(const wp_config *cfg, int argc, char **argv)
{
    const char *name = flag(argc, argv, "--name"), *email = flag(argc, argv, "--email");
    const char *plan = flag(argc, argv, "--plan");
    if (!name || !email || !*name || !*email) {
        fprintf(stderr, "walletpass account create: --name and --email are required\n");
        return 2;
    }
    if (!strchr(email, '@')) {
        fprintf(stderr, "walletpass account create: --email \"%s\" is not an email address\n", email);
        return 2;
    }
    if (!plan) plan = cfg->default_plan;
    if (!json_object_object_get_ex(cfg->plans, plan, NULL)) {
        fprintf(stderr, "walletpass account create: --plan \"%s\" is not a plan in the configuration\n", plan);
        return 2;
    }
    wp_err err;
    wp_err_clear(&err);
    if (!run_migrate(cfg, 0, &err)) return fail(&err);
    wp_db *pool;
    PGconn *c = connect_db(cfg, &pool, 0, &err);
    if (!c) return fail(&err);
    char id[WP_ID_MAX];
    int trial = cfg->trial_days; /* every plan starts with a trial (docs/api.md, "Plans and trials") */
    wp_status st = wp_account_create(c, name, email, plan, trial, id, &err);
    wp_db_release(pool, c);
    wp_db_close(pool);
    if (st != WP_OK) return fail(&err);
    printf("%s\n", id);
    return 0;
}

static int cmd_key_create(const wp_config *cfg, int argc, char **argv)
{
    const char *account = flag(argc, argv, "--account"), *name = flag(argc, argv, "--name");
    if (!account || !*account) {
        fprintf(stderr, "walletpass key create: --account ID is required\n");
        return 2;
    }
    wp_err err;
    wp_err_clear(&err);
    wp_db *pool;
    PGconn *c = connect_db(cfg, &pool, 0, &err);
    if (!c) return fail(&err);
    const char *params[] = {account};
    PGresult *r;
    wp_status st = wp_db_query(c, "SELECT 1 FROM accounts WHERE id = $1 AND livemode AND deleted_at IS NULL", 1, params,
                               &r, &err);
    if (st == WP_OK) {
        int found = PQntuples(r) == 1;
        PQclear(r);
        if (!found) st = wp_err_set(&err, WP_ENOTFOUND, "key create: no account %s", account);
    }
    wp_apikey_new k;
    int test = 0;
    for (int i = 3; i < argc; i++) test |= strcmp(argv[i], "--test") == 0;
    if (st == WP_OK) st = wp_apikey_create_mode(c, account, name, !test, &k, &err);
    wp_db_release(pool, c);
    wp_db_close(pool);
    if (st != WP_OK) return fail(&err);
    printf("%s\n", k.key);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) return usage();
    /* First, before any thread: a fatal signal anywhere leaves its name and a backtrace in the log. */
    if (!wp_crash_install()) perror("walletpass: installing the fatal-signal handler");
    wp_thread_locale_c(); /* the main thread parses the configuration, the CLI its JSON */
    const char *cmd = argv[1];
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("walletpass %s\n", WP_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0) {
        usage();
        return 0;
    }
    if (strcmp(cmd, "config") == 0) {
        if (argc < 3 || strcmp(argv[2], "check") != 0 || argc > 4) return usage();
        return cmd_config_check(argc == 4 ? argv[3] : NULL);
    }
    wp_config cfg;
    wp_err err;
    wp_err_clear(&err);
    if (wp_config_load(NULL, &cfg, &err) != WP_OK) {
        fprintf(stderr, "walletpass: configuration error: %s\n", err.msg);
        return 1;
    }
    wp_log_set_level((wp_log_level)cfg.log_level);
    int rc;
    if (strcmp(cmd, "serve") == 0) rc = cmd_serve(&cfg);
    else if (strcmp(cmd, "plugins") == 0) rc = cmd_plugins(&cfg, argc, argv);
    else if (strcmp(cmd, "routes") == 0) rc = cmd_routes(&cfg);
    else if (strcmp(cmd, "migrate") == 0) rc = run_migrate(&cfg, cfg.db_startup_wait_s, &err) ? 0 : fail(&err);
    else if ((rc = wp_cli_accounts(&cfg, argc, argv)) >= 0) (void)0;
    else if ((rc = wp_cli_users(&cfg, argc, argv)) >= 0) (void)0;
    else if (strcmp(cmd, "account") == 0 && argc > 2 && strcmp(argv[2], "create") == 0)
        rc = cmd_account_create(&cfg, argc, argv);
    else if (strcmp(cmd, "key") == 0 && argc > 2 && strcmp(argv[2], "create") == 0)
        rc = cmd_key_create(&cfg, argc, argv);
    else rc = usage();
    wp_config_free(&cfg);
    return rc;
}
