/* test_config.c - wp_config_from_json / wp_config_load: defaults, errors naming keys, env overrides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static const char *const env_names[] = {
    "WALLETPASS_CONFIG", "WALLETPASS_PORT", "WALLETPASS_PUBLIC_URL", "WALLETPASS_DATABASE_URL",
    "WALLETPASS_MASTER_KEY", "WALLETPASS_PLUGIN_DIR", "WALLETPASS_MIGRATIONS_DIR", "WALLETPASS_LOG_LEVEL",
    "WALLETPASS_TLS_CERTIFICATE_FILE", "WALLETPASS_TLS_KEY_FILE", "WALLETPASS_PORTAL_SIGNUP", "WALLETPASS_DASHBOARD_DIR",
    "WALLETPASS_DATABASE_LISTEN_URL", NULL};

/* Every test starts from an environment without WALLETPASS_* variables. */
static int clean_env(void **state)
{
    (void)state;
    for (const char *const *n = env_names; *n; n++) unsetenv(*n);
    return 0;
}

static wp_status from_text(const char *text, wp_config *cfg, wp_err *err)
{
    json_object *doc = json_tokener_parse(text);
    if (!doc) fail_msg("test JSON does not parse: %s", text);
    wp_err_clear(err);
    wp_status st = wp_config_from_json(doc, cfg, err);
    json_object_put(doc);
    return st;
}

static void test_defaults(void **state)
{
    (void)state;
    wp_config cfg;
    wp_err err;
    assert_int_equal(from_text("{}", &cfg, &err), WP_OK);
    assert_string_equal(cfg.listen_address, "127.0.0.1");
    assert_int_equal(cfg.port, 8080);
    assert_int_equal(cfg.num_threads, 50);
    assert_true(cfg.keep_alive);
    assert_int_equal(cfg.keep_alive_timeout_ms, 65000);
    assert_int_equal(cfg.request_timeout_ms, 30000);
    assert_int_equal(cfg.header_timeout_seconds, 5);
    assert_int_equal(cfg.listen_backlog, 512);
    assert_null(cfg.document_root);
    assert_string_equal(cfg.public_url, "http://localhost:8080");
    assert_null(cfg.database_url);
    assert_int_equal(cfg.db_pool_size, 54); /* 0 means num_threads + 4 */
    assert_int_equal(cfg.db_acquire_timeout_ms, 5000);
    assert_int_equal(cfg.db_statement_timeout_ms, 30000);
    assert_int_equal(cfg.db_connect_timeout_s, 10);
    assert_int_equal(cfg.db_startup_wait_s, 60);
    assert_null(cfg.master_key);
    assert_int_equal(cfg.max_body_bytes, 2097152);
    assert_int_equal(cfg.max_json_depth, 32);
    assert_int_equal(cfg.max_string_bytes, 4096);
    assert_int_equal(cfg.max_image_bytes, 1048576);
    assert_int_equal(cfg.max_metadata_bytes, 16384);
    assert_true(cfg.rate_limit_per_second == 100.0);
    assert_true(cfg.rate_limit_burst == 200.0);
    assert_int_equal(cfg.access_log_flush_ms, 250);
    assert_int_equal(cfg.access_log_batch, 500);
    assert_int_equal(cfg.access_log_queue, 100000);
    assert_string_equal(cfg.migrations_dir, WP_SOURCE_DIR "/migrations");
    assert_null(cfg.plugin_dir);
    assert_true(json_object_is_type(cfg.plugins, json_type_array));
    assert_int_equal(json_object_array_length(cfg.plugins), 0);
    assert_true(json_object_is_type(cfg.plans, json_type_object));
    json_object *p, *ops;
    assert_true(json_object_object_get_ex(cfg.plans, "unlimited", &p));
    assert_true(json_object_object_get_ex(p, "operations_per_month", &ops));
    assert_int_equal(json_object_get_int64(ops), -1);
    assert_string_equal(cfg.default_plan, "trial");
    assert_int_equal(cfg.trial_days, 14);
    assert_int_equal(cfg.log_level, 1); /* info */
    assert_non_null(cfg.root);
    wp_config_free(&cfg);
    assert_null(cfg.public_url);
    assert_null(cfg.plans);
    assert_null(cfg.root);
}

static void test_values_taken(void **state)
{
    (void)state;
    wp_config cfg;
    wp_err err;
    assert_int_equal(from_text("{\"server\":{\"port\":9000,\"num_threads\":4,\"keep_alive\":false,"
                               "\"document_root\":\"/srv/www\"},"
                               "\"database\":{\"url\":\"postgresql:///wp\",\"pool_size\":3},"
                               "\"public_url\":\"https://wallet.example.com/\","
                               "\"rate_limit\":{\"requests_per_second\":0.5,\"burst\":3},"
                               "\"limits\":{\"max_body_bytes\":1024},"
                               "\"plugins\":[{\"path\":\"x.so\"}],"
                               "\"plans\":{\"gold\":{\"operations_per_month\":5}},"
                               "\"metering\":{\"default_plan\":\"gold\",\"trial_days\":0},"
                               "\"log_level\":\"debug\"}",
                               &cfg, &err),
                     WP_OK);
    assert_int_equal(cfg.port, 9000);
    assert_int_equal(cfg.num_threads, 4);
    assert_false(cfg.keep_alive);
    assert_string_equal(cfg.document_root, "/srv/www");
    assert_string_equal(cfg.database_url, "postgresql:///wp");
    assert_int_equal(cfg.db_pool_size, 3);
    assert_string_equal(cfg.public_url, "https://wallet.example.com"); /* no trailing slash */
    assert_true(cfg.rate_limit_per_second == 0.5);
    assert_true(cfg.rate_limit_burst == 3.0);
    assert_int_equal(cfg.max_body_bytes, 1024);
    assert_int_equal(json_object_array_length(cfg.plugins), 1);
    assert_string_equal(cfg.default_plan, "gold");
    assert_int_equal(cfg.trial_days, 0);
    assert_int_equal(cfg.log_level, 0);
    wp_config_free(&cfg);
}

typedef struct {
    const char *name;
    const char *doc;
    const char *param;  /* expected err.param, also expected inside err.msg */
} bad_case;

static const bad_case bad_cases[] = {
    /* unknown keys */
    {"unknown top-level key", "{\"prot\":1}", "prot"},
    {"unknown key in section", "{\"server\":{\"prot\":8080}}", "server.prot"},
    {"unknown key deeper", "{\"limits\":{\"max_json_depth\":3,\"max_depth\":3}}", "limits.max_depth"},
    /* a transaction pooler does not keep a connection's prepared statements */
    {"prepared statements through a transaction pooler",
     "{\"database\":{\"transaction_pooling\":true,\"prepared_statements\":64}}", "database.prepared_statements"},
    {"unknown key under a leaf", "{\"server\":{\"port\":{\"value\":1}}}", "server.port"},
    /* wrong types */
    {"port as string", "{\"server\":{\"port\":\"8080\"}}", "server.port"},
    {"port as double", "{\"server\":{\"port\":8080.5}}", "server.port"},
    {"port as bool", "{\"server\":{\"port\":true}}", "server.port"},
    {"bool as int", "{\"server\":{\"keep_alive\":1}}", "server.keep_alive"},
    {"section as number", "{\"server\":5}", "server"},
    {"section as array", "{\"database\":[]}", "database"},
    {"string as number", "{\"database\":{\"url\":5}}", "database.url"},
    {"empty string", "{\"database\":{\"url\":\"\"}}", "database.url"},
    {"double as string", "{\"rate_limit\":{\"burst\":\"x\"}}", "rate_limit.burst"},
    {"array as object", "{\"plugins\":{}}", "plugins"},
    {"object as array", "{\"plans\":[]}", "plans"},
    {"open section as string", "{\"vault\":\"x\"}", "vault"},
    {"size as negative", "{\"limits\":{\"max_body_bytes\":-1}}", "limits.max_body_bytes"},
    /* out of range */
    {"port 0", "{\"server\":{\"port\":0}}", "server.port"},
    {"port 65536", "{\"server\":{\"port\":65536}}", "server.port"},
    {"port huge", "{\"server\":{\"port\":9223372036854775807}}", "server.port"},
    {"num_threads 0", "{\"server\":{\"num_threads\":0}}", "server.num_threads"},
    {"header timeout 0", "{\"server\":{\"header_timeout_seconds\":0}}", "server.header_timeout_seconds"},
    {"header timeout 301", "{\"server\":{\"header_timeout_seconds\":301}}", "server.header_timeout_seconds"},
    {"json depth 1", "{\"limits\":{\"max_json_depth\":1}}", "limits.max_json_depth"},
    {"body limit too small", "{\"limits\":{\"max_body_bytes\":1023}}", "limits.max_body_bytes"},
    {"negative rate", "{\"rate_limit\":{\"requests_per_second\":-1}}", "rate_limit.requests_per_second"},
    {"burst below 1", "{\"rate_limit\":{\"burst\":0.5}}", "rate_limit.burst"},
    {"trial days", "{\"metering\":{\"trial_days\":3651}}", "metering.trial_days"},
    /* public_url */
    {"public_url ftp", "{\"public_url\":\"ftp://example.com\"}", "public_url"},
    {"public_url without scheme", "{\"public_url\":\"example.com\"}", "public_url"},
    {"public_url empty", "{\"public_url\":\"\"}", "public_url"},
    {"public_url number", "{\"public_url\":8080}", "public_url"},
    {"public_url scheme only", "{\"public_url\":\"http://\"}", "public_url"},
    {"public_url without host", "{\"public_url\":\"https:///path\"}", "public_url"},
    {"public_url with space", "{\"public_url\":\"https://wallet example.com\"}", "public_url"},
    {"public_url upper-case scheme is not special-cased", "{\"public_url\":\"HTTP//x\"}", "public_url"},
    /* server.tls: both files or neither, an https public_url, a redirect port of its own */
    {"tls certificate without key", "{\"server\":{\"tls\":{\"certificate_file\":\"c.pem\"}},\"public_url\":\"https://x\"}",
     "server.tls.key_file"},
    {"tls key without certificate", "{\"server\":{\"tls\":{\"key_file\":\"k.pem\"}},\"public_url\":\"https://x\"}",
     "server.tls.certificate_file"},
    {"tls with an http public_url",
     "{\"server\":{\"tls\":{\"certificate_file\":\"c.pem\",\"key_file\":\"k.pem\"}},\"public_url\":\"http://x\"}",
     "public_url"},
    {"tls with the default public_url", "{\"server\":{\"tls\":{\"certificate_file\":\"c.pem\",\"key_file\":\"k.pem\"}}}",
     "public_url"},
    {"redirect port without tls", "{\"server\":{\"tls\":{\"redirect_port\":80}}}", "server.tls.redirect_port"},
    {"redirect port is the https port",
     "{\"server\":{\"port\":8443,\"tls\":{\"certificate_file\":\"c.pem\",\"key_file\":\"k.pem\",\"redirect_port\":8443}},"
     "\"public_url\":\"https://x\"}",
     "server.tls.redirect_port"},
    {"redirect port 65536", "{\"server\":{\"tls\":{\"redirect_port\":65536}}}", "server.tls.redirect_port"},
    {"tls unknown key", "{\"server\":{\"tls\":{\"cert\":\"c.pem\"}}}", "server.tls.cert"},
    {"tls as a string", "{\"server\":{\"tls\":\"on\"}}", "server.tls"},
    {"hsts negative", "{\"server\":{\"tls\":{\"hsts_max_age_seconds\":-1}}}", "server.tls.hsts_max_age_seconds"},
    {"tls empty file name", "{\"server\":{\"tls\":{\"certificate_file\":\"\"}}}", "server.tls.certificate_file"},
    /* server.trusted_proxies */
    {"trusted proxies as a string", "{\"server\":{\"trusted_proxies\":\"10.0.0.0/8\"}}", "server.trusted_proxies"},
    {"trusted proxy not an address", "{\"server\":{\"trusted_proxies\":[\"127.0.0.1\",\"proxy.local\"]}}",
     "server.trusted_proxies[1]"},
    {"trusted proxy prefix too long", "{\"server\":{\"trusted_proxies\":[\"10.0.0.0/33\"]}}", "server.trusted_proxies[0]"},
    {"trusted proxy as a number", "{\"server\":{\"trusted_proxies\":[10]}}", "server.trusted_proxies[0]"},
    /* log level */
    {"log level unknown", "{\"log_level\":\"verbose\"}", "log_level"},
    {"log level number", "{\"log_level\":3}", "log_level"},
    {"log level upper case", "{\"log_level\":\"INFO\"}", "log_level"},
    /* plans */
    {"plan without operations_per_month", "{\"plans\":{\"trial\":{}}}", "plans.trial.operations_per_month"},
    {"plan with string operations", "{\"plans\":{\"trial\":{\"operations_per_month\":\"10\"}}}",
     "plans.trial.operations_per_month"},
    {"plan with operations below -1", "{\"plans\":{\"trial\":{\"operations_per_month\":-2}}}",
     "plans.trial.operations_per_month"},
    {"plan with fractional operations", "{\"plans\":{\"trial\":{\"operations_per_month\":1.5}}}",
     "plans.trial.operations_per_month"},
    {"plan not an object", "{\"plans\":{\"trial\":5}}", "plans.trial"},
    {"plan with unknown key", "{\"plans\":{\"trial\":{\"operations_per_month\":1,\"price\":9}}}", "plans.trial.price"},
    {"default plan missing", "{\"metering\":{\"default_plan\":\"gold\"}}", "metering.default_plan"},
    {"default plan missing from custom plans",
     "{\"plans\":{\"gold\":{\"operations_per_month\":1}}}", "metering.default_plan"},
    {"default plan is a comment key",
     "{\"plans\":{\"$comment\":\"x\",\"gold\":{\"operations_per_month\":1}},\"metering\":{\"default_plan\":\"$comment\"}}",
     "metering.default_plan"},
};

/* transaction_pooling turns named prepared statements off; 0 or null alongside is accepted. */
static void test_transaction_pooling_no_prepared(void **state)
{
    (void)state;
    static const char *const docs[] = {"{\"database\":{\"transaction_pooling\":true}}",
                                       "{\"database\":{\"transaction_pooling\":true,\"prepared_statements\":0}}",
                                       "{\"database\":{\"transaction_pooling\":true,\"prepared_statements\":null}}"};
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        wp_config cfg;
        wp_err err;
        assert_int_equal(from_text(docs[i], &cfg, &err), WP_OK);
        assert_true(cfg.db_transaction_pooling);
        assert_int_equal(cfg.db_prepared_statements, 0);
        wp_config_free(&cfg);
    }
    wp_config cfg;
    wp_err err;
    assert_int_equal(from_text("{\"database\":{\"prepared_statements\":64}}", &cfg, &err), WP_OK);
    assert_int_equal(cfg.db_prepared_statements, 64);
    wp_config_free(&cfg);
    assert_int_equal(from_text("{}", &cfg, &err), WP_OK);
    assert_int_equal(cfg.db_prepared_statements, 512);
    wp_config_free(&cfg);
}

static void test_errors_name_key(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        wp_config cfg;
        wp_err err;
        wp_status st = from_text(c->doc, &cfg, &err);
        if (st == WP_OK) {
            print_error("[%s] accepted\n", c->name);
            wp_config_free(&cfg);
            bad++;
            continue;
        }
        if (st != WP_ECONFIG) {
            print_error("[%s] status %d, want WP_ECONFIG\n", c->name, st);
            bad++;
        }
        if (strcmp(err.param, c->param) != 0) {
            print_error("[%s] param \"%s\", want \"%s\" (msg: %s)\n", c->name, err.param, c->param, err.msg);
            bad++;
        }
        if (!strstr(err.msg, c->param)) {
            print_error("[%s] message does not name %s: %s\n", c->name, c->param, err.msg);
            bad++;
        }
        /* a failed load leaves nothing to free */
        assert_null(cfg.public_url);
        assert_null(cfg.listen_address);
        assert_null(cfg.plans);
        assert_null(cfg.root);
    }
    assert_int_equal(bad, 0);
}

/* server.tls and server.trusted_proxies: defaults, and values taken. */
static void test_tls_keys(void **state)
{
    (void)state;
    wp_config cfg;
    wp_err err;
    assert_int_equal(from_text("{}", &cfg, &err), WP_OK);
    assert_null(cfg.tls_certificate_file);
    assert_null(cfg.tls_key_file);
    assert_int_equal(cfg.tls_redirect_port, 0);
    assert_int_equal(cfg.tls_hsts_max_age, 31536000);
    assert_int_equal(json_object_array_length(cfg.trusted_proxies), 0);
    wp_config_free(&cfg);
    assert_int_equal(from_text("{\"server\":{\"port\":443,\"tls\":{\"certificate_file\":\"/etc/tls/fullchain.pem\","
                               "\"key_file\":\"/etc/tls/privkey.pem\",\"redirect_port\":80,\"hsts_max_age_seconds\":0},"
                               "\"trusted_proxies\":[\"10.0.0.0/8\",\"::1\"]},\"public_url\":\"https://wallet.example.com\"}",
                               &cfg, &err),
                     WP_OK);
    assert_string_equal(cfg.tls_certificate_file, "/etc/tls/fullchain.pem");
    assert_string_equal(cfg.tls_key_file, "/etc/tls/privkey.pem");
    assert_int_equal(cfg.tls_redirect_port, 80);
    assert_int_equal(cfg.tls_hsts_max_age, 0);
    assert_int_equal(json_object_array_length(cfg.trusted_proxies), 2);
    wp_config_free(&cfg);
    /* the files from the environment */
    setenv("WALLETPASS_TLS_CERTIFICATE_FILE", "/run/tls/cert.pem", 1);
    setenv("WALLETPASS_TLS_KEY_FILE", "/run/tls/key.pem", 1);
    setenv("WALLETPASS_PUBLIC_URL", "https://wallet.example.com", 1);
    wp_err_clear(&err);
    assert_int_equal(wp_config_load(NULL, &cfg, &err), WP_OK);
    assert_string_equal(cfg.tls_certificate_file, "/run/tls/cert.pem");
    assert_string_equal(cfg.tls_key_file, "/run/tls/key.pem");
    wp_config_free(&cfg);
    /* ... and a plain public_url beside them is refused, naming where it came from */
    setenv("WALLETPASS_PUBLIC_URL", "http://wallet.example.com", 1);
    assert_int_equal(wp_config_load(NULL, &cfg, &err), WP_ECONFIG);
    assert_string_equal(err.param, "public_url");
    assert_non_null(strstr(err.msg, "WALLETPASS_PUBLIC_URL"));
}

/* The plain-HTTP warning: any host but localhost and loopback addresses. */
static void test_public_url_warning(void **state)
{
    (void)state;
    static const struct { const char *url; int warns; } cases[] = {
        {"http://localhost:8080", 0},           {"http://LOCALHOST", 0},
        {"http://wallet.localhost:8080", 0},    {"http://127.0.0.1:8080", 0},
        {"http://127.8.9.10", 0},               {"http://[::1]:8080/base", 0},
        {"http://user@localhost:8080", 0},      {"https://wallet.example.com", 0},
        {"https://192.168.1.20:8443", 0},       {"http://wallet.example.com", 1},
        {"http://192.168.1.20:8080", 1},        {"http://10.0.0.5", 1},
        {"http://[2001:db8::1]:8080", 1},       {"http://localhost.example.com", 1},
        {"http://128.0.0.1", 1},                {"http://localhost@evil.example.com", 1},
        {"http://127.0.0.1.nip.io", 1},         {"http://wallet.example.com:80/p?q=1", 1},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char doc[256], text[600] = "";
        snprintf(doc, sizeof doc, "{\"public_url\":\"%s\"}", cases[i].url);
        wp_config cfg;
        wp_err err;
        assert_int_equal(from_text(doc, &cfg, &err), WP_OK);
        int got = wp_config_public_url_warning(&cfg, text, sizeof text);
        if (got != cases[i].warns) {
            print_error("%s: warning %d, want %d\n", cases[i].url, got, cases[i].warns);
            bad++;
        }
        if (got && (!strstr(text, "wallet apps will not update") || !strstr(text, cases[i].url))) {
            print_error("%s: the warning does not say it: %s\n", cases[i].url, text);
            bad++;
        }
        wp_config_free(&cfg);
    }
    assert_int_equal(bad, 0);
}

static void test_not_an_object(void **state)
{
    (void)state;
    wp_config cfg;
    wp_err err;
    assert_int_equal(from_text("[]", &cfg, &err), WP_ECONFIG);
    assert_true(err.msg[0] != '\0');
}

static void test_comments_ignored(void **state)
{
    (void)state;
    wp_config cfg;
    wp_err err;
    assert_int_equal(from_text("{\"$comment\":\"top\",\"server\":{\"$comment\":[1,2],\"port\":81},"
                               "\"plans\":{\"$comment\":\"p\",\"trial\":{\"$comment\":\"t\",\"operations_per_month\":1}},"
                               "\"metering\":{\"$comment\":{}},\"vault\":{\"$comment\":\"v\"}}",
                               &cfg, &err),
                     WP_OK);
    assert_int_equal(cfg.port, 81);
    wp_config_free(&cfg);
    /* only the exact spelling is a comment */
    assert_int_equal(from_text("{\"server\":{\"$Comment\":\"x\"}}", &cfg, &err), WP_ECONFIG);
    assert_string_equal(err.param, "server.$Comment");
}

static void test_null_means_default(void **state)
{
    (void)state;
    wp_config cfg;
    wp_err err;
    assert_int_equal(from_text("{\"server\":{\"port\":null,\"keep_alive\":null,\"document_root\":null},"
                               "\"public_url\":null,\"database\":{\"url\":null},\"rate_limit\":{\"burst\":null},"
                               "\"plugins\":null,\"plans\":null,\"metering\":{\"default_plan\":null},\"log_level\":null}",
                               &cfg, &err),
                     WP_OK);
    assert_int_equal(cfg.port, 8080);
    assert_true(cfg.keep_alive);
    assert_null(cfg.document_root);
    assert_string_equal(cfg.public_url, "http://localhost:8080");
    assert_null(cfg.database_url);
    assert_true(cfg.rate_limit_burst == 200.0);
    assert_non_null(cfg.plugins);
    assert_non_null(cfg.plans);
    assert_string_equal(cfg.default_plan, "trial");
    assert_int_equal(cfg.log_level, 1);
    wp_config_free(&cfg);
}

static void test_open_sections(void **state)
{
    (void)state;
    wp_config cfg;
    wp_err err;
    assert_int_equal(from_text("{\"vault\":{\"anything\":1},\"jobs\":{},\"outbound\":{\"x\":[]},\"portal\":{}}", &cfg, &err),
                     WP_OK);
    json_object *v;
    assert_true(json_object_object_get_ex(cfg.root, "vault", &v));
    wp_config_free(&cfg);
}

/* portal: its defaults, the sign-up modes, and its keys checked like every other section. */
static void test_portal_section(void **state)
{
    (void)state;
    wp_config cfg;
    wp_err err;
    wp_err_clear(&err);
    assert_int_equal(from_text("{}", &cfg, &err), WP_OK);
    assert_true(cfg.portal_enabled);
    assert_string_equal(cfg.portal_signup, "off");
    assert_string_equal(cfg.portal_dashboard_dir, WP_SOURCE_DIR "/dashboard");
    assert_int_equal(cfg.portal_login_max_failures, 5);
    assert_int_equal(cfg.portal_password_log2_n, 15);
    wp_config_free(&cfg);
    assert_int_equal(from_text("{\"portal\":{\"signup\":\"invite\",\"login_max_failures\":3}}", &cfg, &err), WP_OK);
    assert_string_equal(cfg.portal_signup, "invite");
    assert_int_equal(cfg.portal_login_max_failures, 3);
    wp_config_free(&cfg);
    assert_int_equal(from_text("{\"portal\":{\"signup\":\"sometimes\"}}", &cfg, &err), WP_ECONFIG);
    assert_string_equal(err.param, "portal.signup");
    assert_int_equal(from_text("{\"portal\":{\"sigup\":\"open\"}}", &cfg, &err), WP_ECONFIG);
    assert_string_equal(err.param, "portal.sigup");
    assert_int_equal(from_text("{\"portal\":{\"password_scrypt_log2_n\":9}}", &cfg, &err), WP_ECONFIG);
    assert_string_equal(err.param, "portal.password_scrypt_log2_n");
    assert_int_equal(from_text("{\"portal\":{\"password_min_length\":4}}", &cfg, &err), WP_ECONFIG);
    /* the production example signs nobody up */
    assert_int_equal(wp_config_load(WP_SOURCE_DIR "/config/production.example.json", &cfg, &err), WP_OK);
    assert_string_equal(cfg.portal_signup, "off");
    wp_config_free(&cfg);
}

/* Writes text to a new temporary file; returns its path (static buffer). */
static const char *tmp_file(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/wp_unit_config_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    return path;
}

static void test_load_defaults(void **state)
{
    (void)state;
    wp_config cfg;
    wp_err err;
    wp_err_clear(&err);
    assert_int_equal(wp_config_load(NULL, &cfg, &err), WP_OK);
    assert_int_equal(cfg.port, 8080);
    assert_null(cfg.database_url);
    wp_config_free(&cfg);
    setenv("WALLETPASS_CONFIG", "", 1); /* empty: no file */
    assert_int_equal(wp_config_load(NULL, &cfg, &err), WP_OK);
    wp_config_free(&cfg);
}

static void test_load_example(void **state)
{
    (void)state;
    wp_config cfg;
    wp_err err;
    wp_err_clear(&err);
    wp_status st = wp_config_load(WP_SOURCE_DIR "/config/walletpass.example.json", &cfg, &err);
    if (st != WP_OK) print_error("example config: %s\n", err.msg);
    assert_int_equal(st, WP_OK);
    /* the example documents the defaults */
    assert_int_equal(cfg.port, 8080);
    assert_string_equal(cfg.public_url, "http://localhost:8080");
    assert_string_equal(cfg.migrations_dir, WP_SOURCE_DIR "/migrations");
    assert_string_equal(cfg.default_plan, "trial");
    wp_config_free(&cfg);
    /* the same through WALLETPASS_CONFIG */
    setenv("WALLETPASS_CONFIG", WP_SOURCE_DIR "/config/walletpass.example.json", 1);
    assert_int_equal(wp_config_load(NULL, &cfg, &err), WP_OK);
    wp_config_free(&cfg);
}

/* The other shipped config files are valid (dev.json, test.json when present). */
static void test_load_other_shipped_configs(void **state)
{
    (void)state;
    static const char *const files[] = {"dev.json", "test.json", "production.example.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/config/%s", WP_SOURCE_DIR, files[i]);
        if (access(path, R_OK) != 0) continue;
        wp_config cfg;
        wp_err err;
        wp_err_clear(&err);
        wp_status st = wp_config_load(path, &cfg, &err);
        if (st != WP_OK) print_error("%s: %s\n", path, err.msg);
        assert_int_equal(st, WP_OK);
        wp_config_free(&cfg);
    }
}

/* Keys that moved into a plugin's configuration (plugins/<name>/moved_config.def)
 * are refused, naming the plugin and the key's new name, never ignored;
 * the shipped examples carry them in the plugin's entry. */
static void test_moved_keys(void **state)
{
    (void)state;
    wp_config cfg;
    wp_err err;
    wp_err_clear(&err);
    assert_int_equal(from_text("{\"apple\": {\"require_apple_wwdr\": true}}", &cfg, &err), WP_ECONFIG);
    assert_string_equal(err.param, "apple.require_apple_wwdr");
    assert_non_null(strstr(err.msg, "moved into the configuration of the plugin \"apple-signer\""));
    assert_non_null(strstr(err.msg, "\"config\": {\"require_apple_wwdr\": ...}"));
    assert_int_equal(from_text("{\"apple\": {\"wwdr_ca_file\": \"/x/wwdr.pem\"}}", &cfg, &err), WP_ECONFIG);
    assert_string_equal(err.param, "apple.wwdr_ca_file");
    assert_non_null(strstr(err.msg, "\"wwdr_ca_file\""));
    /* another key of the moved section, and the section alone */
    assert_int_equal(from_text("{\"apple\": {\"require_wwdr\": true}}", &cfg, &err), WP_ECONFIG);
    assert_string_equal(err.param, "apple.require_wwdr");
    assert_non_null(strstr(err.msg, "unknown configuration key"));
    assert_non_null(strstr(err.msg, "apple-signer"));
    assert_int_equal(from_text("{\"apple\": {}}", &cfg, &err), WP_ECONFIG);
    assert_string_equal(err.param, "apple");
    assert_non_null(strstr(err.msg, "apple-signer"));
    /* an unknown section is still just unknown */
    assert_int_equal(from_text("{\"orange\": {\"x\": 1}}", &cfg, &err), WP_ECONFIG);
    assert_string_equal(err.param, "orange");
    assert_string_equal(err.msg, "orange: unknown configuration key");
    /* the production example puts them where they belong */
    {
        assert_int_equal(wp_config_load(WP_SOURCE_DIR "/config/production.example.json", &cfg, &err), WP_OK);
        json_object *found = NULL;
        for (size_t j = 0; j < json_object_array_length(cfg.plugins); j++) {
            json_object *e = json_object_array_get_idx(cfg.plugins, j), *n, *c;
            if (json_object_object_get_ex(e, "name", &n) && strcmp(json_object_get_string(n), "apple-signer") == 0 &&
                json_object_object_get_ex(e, "config", &c))
                json_object_object_get_ex(c, "require_apple_wwdr", &found);
        }
        assert_non_null(found);
        assert_true(json_object_get_boolean(found));
        wp_config_free(&cfg);
    }
}

static void test_env_port(void **state)
{
    (void)state;
    wp_config cfg;
    wp_err err;
    wp_err_clear(&err);
    setenv("WALLETPASS_PORT", "abc", 1);
    assert_int_equal(wp_config_load(NULL, &cfg, &err), WP_ECONFIG);
    assert_string_equal(err.param, "server.port");
    assert_non_null(strstr(err.msg, "server.port"));
    assert_non_null(strstr(err.msg, "WALLETPASS_PORT"));

    setenv("WALLETPASS_PORT", "80x", 1);
    assert_int_equal(wp_config_load(NULL, &cfg, &err), WP_ECONFIG);
    assert_string_equal(err.param, "server.port");

    /* in range as text, out of range as a port: still names the variable */
    setenv("WALLETPASS_PORT", "70000", 1);
    assert_int_equal(wp_config_load(NULL, &cfg, &err), WP_ECONFIG);
    assert_string_equal(err.param, "server.port");
    assert_non_null(strstr(err.msg, "WALLETPASS_PORT"));

    setenv("WALLETPASS_PORT", "9090", 1);
    assert_int_equal(wp_config_load(NULL, &cfg, &err), WP_OK);
    assert_int_equal(cfg.port, 9090);
    wp_config_free(&cfg);
}

static void test_env_overrides_file(void **state)
{
    (void)state;
    const char *path = tmp_file("{\"server\":{\"port\":7000,\"num_threads\":3},\"public_url\":\"http://file.example\","
                                "\"log_level\":\"warn\",\"database\":{\"url\":\"postgresql:///file\"}}");
    wp_config cfg;
    wp_err err;
    wp_err_clear(&err);
    assert_int_equal(wp_config_load(path, &cfg, &err), WP_OK);
    assert_int_equal(cfg.port, 7000);
    assert_string_equal(cfg.public_url, "http://file.example");
    assert_int_equal(cfg.log_level, 2);
    wp_config_free(&cfg);

    setenv("WALLETPASS_PORT", "9091", 1);
    setenv("WALLETPASS_PUBLIC_URL", "https://wallet.example.com/", 1);
    setenv("WALLETPASS_DATABASE_URL", "postgresql:///env", 1);
    setenv("WALLETPASS_LOG_LEVEL", "error", 1);
    setenv("WALLETPASS_MASTER_KEY", "a2V5", 1);
    setenv("WALLETPASS_PLUGIN_DIR", "/opt/wp/plugins", 1);
    setenv("WALLETPASS_MIGRATIONS_DIR", "/opt/wp/migrations", 1);
    assert_int_equal(wp_config_load(path, &cfg, &err), WP_OK);
    assert_int_equal(cfg.port, 9091);
    assert_int_equal(cfg.num_threads, 3); /* untouched keys keep the file's value */
    assert_string_equal(cfg.public_url, "https://wallet.example.com");
    assert_string_equal(cfg.database_url, "postgresql:///env");
    assert_int_equal(cfg.log_level, 3);
    assert_string_equal(cfg.master_key, "a2V5");
    assert_string_equal(cfg.plugin_dir, "/opt/wp/plugins");
    assert_string_equal(cfg.migrations_dir, "/opt/wp/migrations");
    wp_config_free(&cfg);

    setenv("WALLETPASS_PUBLIC_URL", "https://wallet.example.com///", 1);
    assert_int_equal(wp_config_load(path, &cfg, &err), WP_OK);
    assert_string_equal(cfg.public_url, "https://wallet.example.com");
    wp_config_free(&cfg);

    setenv("WALLETPASS_PUBLIC_URL", "wallet.example.com", 1);
    assert_int_equal(wp_config_load(path, &cfg, &err), WP_ECONFIG);
    assert_string_equal(err.param, "public_url");
    assert_non_null(strstr(err.msg, "WALLETPASS_PUBLIC_URL"));

    unsetenv("WALLETPASS_PUBLIC_URL");
    setenv("WALLETPASS_LOG_LEVEL", "loud", 1);
    assert_int_equal(wp_config_load(path, &cfg, &err), WP_ECONFIG);
    assert_string_equal(err.param, "log_level");

    /* an explicit path wins over WALLETPASS_CONFIG */
    unsetenv("WALLETPASS_LOG_LEVEL");
    unsetenv("WALLETPASS_PORT");
    setenv("WALLETPASS_CONFIG", "/nonexistent/walletpass.json", 1);
    assert_int_equal(wp_config_load(path, &cfg, &err), WP_OK);
    assert_int_equal(cfg.port, 7000);
    wp_config_free(&cfg);
    unlink(path);
}

/* An override must not hide a section of the wrong type in the file. */
static void test_env_does_not_mask_bad_section(void **state)
{
    (void)state;
    const char *path = tmp_file("{\"server\":5}");
    setenv("WALLETPASS_PORT", "9000", 1);
    wp_config cfg;
    wp_err err;
    wp_err_clear(&err);
    assert_int_equal(wp_config_load(path, &cfg, &err), WP_ECONFIG);
    assert_string_equal(err.param, "server");
    unlink(path);
}

static void test_load_file_errors(void **state)
{
    (void)state;
    wp_config cfg;
    wp_err err;
    wp_err_clear(&err);
    assert_int_equal(wp_config_load("/nonexistent/dir/walletpass.json", &cfg, &err), WP_ECONFIG);
    assert_non_null(strstr(err.msg, "/nonexistent/dir/walletpass.json"));

    setenv("WALLETPASS_CONFIG", "/nonexistent/env.json", 1);
    assert_int_equal(wp_config_load(NULL, &cfg, &err), WP_ECONFIG);
    assert_non_null(strstr(err.msg, "/nonexistent/env.json"));
    unsetenv("WALLETPASS_CONFIG");

    static const char *const bad_json[] = {
        "{\"server\":{\"port\":8080,}}",          /* trailing comma */
        "{\"server\":{\"port\":8080},\"server\":{}}", /* duplicate key */
        "// comment\n{}",
        "",
        "{} x",
    };
    for (size_t i = 0; i < sizeof bad_json / sizeof bad_json[0]; i++) {
        const char *path = tmp_file(bad_json[i]);
        wp_err_clear(&err);
        assert_int_equal(wp_config_load(path, &cfg, &err), WP_ECONFIG);
        assert_non_null(strstr(err.msg, path));
        unlink(path);
    }
    /* a key error in a file names the key */
    const char *path = tmp_file("{\"server\":{\"port\":0}}");
    assert_int_equal(wp_config_load(path, &cfg, &err), WP_ECONFIG);
    assert_string_equal(err.param, "server.port");
    unlink(path);
}

/* A file larger than the first read buffer (64 KiB) is read whole. */
static void test_load_large_file(void **state)
{
    (void)state;
    size_t pad = 200000;
    char *text = malloc(pad + 100);
    assert_non_null(text);
    int n = snprintf(text, 100, "{\"$comment\":\"");
    memset(text + n, 'x', pad);
    snprintf(text + n + pad, 100, "\",\"server\":{\"port\":8123}}");
    const char *path = tmp_file(text);
    free(text);
    wp_config cfg;
    wp_err err;
    wp_err_clear(&err);
    wp_status st = wp_config_load(path, &cfg, &err);
    if (st != WP_OK) print_error("%s\n", err.msg);
    assert_int_equal(st, WP_OK);
    assert_int_equal(cfg.port, 8123);
    wp_config_free(&cfg);
    unlink(path);
}

/* wp_config_each: one line per schema key, with its source; secrets never shown. */
typedef struct {
    char key[64], value[256], env[64];
    wp_config_source src;
    int n;
} seen_key;

static void record(void *ud, const char *key, const char *value, wp_config_source src, const char *env)
{
    seen_key *want = ud;
    want[0].n++;
    for (seen_key *w = want + 1; w < want + 10 && w->key[0]; w++)
        if (strcmp(w->key, key) == 0) {
            snprintf(w->value, sizeof w->value, "%s", value);
            snprintf(w->env, sizeof w->env, "%s", env ? env : "");
            w->src = src;
            w->n++;
        }
}

static void test_each_sources_and_secrets(void **state)
{
    (void)state;
    const char *path = tmp_file("{\"server\":{\"port\":7000},\"rate_limit\":{\"burst\":null},"
                                "\"master_key\":\"c2VjcmV0LWtleS1zZWNyZXQta2V5LXNlY3JldC1rZXkh\","
                                "\"database\":{\"url\":\"postgresql://wp:hunter2@db/wp?sslmode=require\"},"
                                "\"plugins\":[{\"name\":\"webhooks\",\"config\":{\"token\":\"tok-9\"}}]}");
    setenv("WALLETPASS_LOG_LEVEL", "debug", 1);
    setenv("WALLETPASS_DATABASE_LISTEN_URL", "postgresql://wp:listen-pw@db:5432/wp", 1);
    wp_config cfg;
    wp_err err;
    wp_err_clear(&err);
    assert_int_equal(wp_config_load(path, &cfg, &err), WP_OK);
    static const char *const keys[] = {"", "server.port", "log_level", "rate_limit.burst", "database.url",
                                       "master_key", "plugins", "database.listen_url",
                                       "database.transaction_pooling", ""};
    seen_key want[10];
    memset(want, 0, sizeof want);
    for (int i = 0; i < 10; i++) snprintf(want[i].key, sizeof want[i].key, "%s", keys[i]);
    wp_config_each(&cfg, record, want);
    assert_true(want[0].n >= 40); /* every key of the schema */
    assert_int_equal(want[1].src, WP_CONFIG_FROM_FILE);
    assert_string_equal(want[1].value, "7000");
    assert_int_equal(want[2].src, WP_CONFIG_FROM_ENV);
    assert_string_equal(want[2].env, "WALLETPASS_LOG_LEVEL");
    assert_string_equal(want[2].value, "debug");
    assert_int_equal(want[3].src, WP_CONFIG_FROM_DEFAULT); /* null in the file is the default */
    assert_string_equal(want[3].value, "200");
    assert_string_equal(want[4].value, "postgresql://wp:REDACTED@db/wp?sslmode=require");
    assert_string_equal(want[5].value, "(set, redacted)");
    assert_string_equal(want[6].value, "[webhooks]"); /* names only: a plugin's config may hold secrets */
    /* the job queue's direct connection holds a password too */
    assert_string_equal(want[7].value, "postgresql://wp:REDACTED@db:5432/wp");
    assert_int_equal(want[7].src, WP_CONFIG_FROM_ENV);
    assert_string_equal(want[7].env, "WALLETPASS_DATABASE_LISTEN_URL");
    assert_string_equal(want[8].value, "false");
    assert_int_equal(want[8].src, WP_CONFIG_FROM_DEFAULT);
    for (int i = 1; i < 9; i++) assert_int_equal(want[i].n, 1);
    wp_config_free(&cfg);
    unsetenv("WALLETPASS_LOG_LEVEL");
    unsetenv("WALLETPASS_DATABASE_LISTEN_URL");

    char out[200];
    assert_true(wp_config_redact("host=db password=pw1 user=x", out, sizeof out));
    assert_string_equal(out, "host=db password=REDACTED user=x");
    assert_true(wp_config_redact("postgresql://u@db/x?password=pw&a=1", out, sizeof out));
    assert_string_equal(out, "postgresql://u@db/x?password=REDACTED&a=1");
    assert_true(wp_config_redact("postgresql:///local", out, sizeof out));
    assert_string_equal(out, "postgresql:///local");
    assert_false(wp_config_redact("postgresql://u:pw@db/a-long-name", out, 12));
    assert_string_equal(out, "(redacted)");
    assert_true(wp_config_key_is_secret("plugins.x.config.bearer_token"));
    assert_true(wp_config_key_is_secret("vault.previous_keys.1"));
    assert_true(wp_config_key_is_secret("plugins.apns.config.key"));
    assert_false(wp_config_key_is_secret("vault.key_version"));
    assert_false(wp_config_key_is_secret("server.tls.key_file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, clean_env),
        cmocka_unit_test_setup(test_values_taken, clean_env),
        cmocka_unit_test_setup(test_transaction_pooling_no_prepared, clean_env),
        cmocka_unit_test_setup(test_errors_name_key, clean_env),
        cmocka_unit_test_setup(test_tls_keys, clean_env),
        cmocka_unit_test_setup(test_public_url_warning, clean_env),
        cmocka_unit_test_setup(test_not_an_object, clean_env),
        cmocka_unit_test_setup(test_comments_ignored, clean_env),
        cmocka_unit_test_setup(test_null_means_default, clean_env),
        cmocka_unit_test_setup(test_open_sections, clean_env),
        cmocka_unit_test_setup(test_portal_section, clean_env),
        cmocka_unit_test_setup(test_load_defaults, clean_env),
        cmocka_unit_test_setup(test_load_example, clean_env),
        cmocka_unit_test_setup(test_load_other_shipped_configs, clean_env),
        cmocka_unit_test_setup(test_moved_keys, clean_env),
        cmocka_unit_test_setup(test_env_port, clean_env),
        cmocka_unit_test_setup(test_env_overrides_file, clean_env),
        cmocka_unit_test_setup(test_env_does_not_mask_bad_section, clean_env),
        cmocka_unit_test_setup(test_load_file_errors, clean_env),
        cmocka_unit_test_setup(test_load_large_file, clean_env),
        cmocka_unit_test_setup(test_each_sources_and_secrets, clean_env),
    };
    return cmocka_run_group_tests_name("config", tests, clean_env, NULL);
}
