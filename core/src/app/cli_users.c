/* cli_users.c - see cli_users.h. */
#include "cli_users.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "password.h"
#include "portal_store.h"

static const char *flag(int argc, char **argv, const char *name)
{
    for (int i = 0; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    return NULL;
}

static int has(int argc, char **argv, const char *name)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], name) == 0) return 1;
    return 0;
}

static int fail(const char *cmd, const wp_err *err)
{
    fprintf(stderr, "walletpass %s: %s\n", cmd, err->msg[0] ? err->msg : wp_status_str(err->status));
    return 1;
}

/* A connection of its own; NULL with err. */
static PGconn *open_db(const wp_config *cfg, wp_db **pool, wp_err *err)
{
    wp_db_options o = {.url = cfg->database_url, .pool_size = 1, .acquire_timeout_ms = cfg->db_acquire_timeout_ms,
                       .statement_timeout_ms = 0, .connect_timeout_s = cfg->db_connect_timeout_s,
                       .application_name = "walletpass-cli", .transaction_pooling = cfg->db_transaction_pooling};
    if (wp_db_open(&o, pool, err) != WP_OK) return NULL;
    PGconn *c = wp_db_acquire(*pool, err);
    if (!c) {
        wp_db_close(*pool);
        *pool = NULL;
    }
    return c;
}

/* 1 when the account is live and not deleted; 0 (err set) otherwise. */
static int account_exists(PGconn *c, const char *account, wp_err *err)
{
    const char *p[] = {account};
    PGresult *r;
    if (wp_db_query(c, "SELECT 1 FROM accounts WHERE id = $1 AND livemode AND deleted_at IS NULL", 1, p, &r, err) !=
        WP_OK)
        return 0;
    int found = PQntuples(r) == 1;
    PQclear(r);
    if (!found) wp_err_set(err, WP_ENOTFOUND, "no account %s", account);
    return found;
}

static int email_ok(const char *e)
{
    const char *at = strchr(e, '@');
    if (!at || at == e || !at[1] || strchr(at + 1, '@') || strlen(e) > WP_PORTAL_EMAIL_MAX) return 0;
    for (; *e; e++)
        if ((unsigned char)*e <= 0x20 || *e == 0x7f) return 0;
    return 1;
}

/* The password: the first line of stdin (--password-stdin), else generated (*generated set).
 * 0 ok; otherwise the exit status, the message printed. */
static int read_password(const wp_config *cfg, const char *cmd, int argc, char **argv, char *password, size_t len,
                         int *generated)
{
    *generated = !has(argc, argv, "--password-stdin");
    if (*generated) {
        if (wp_random_token(18, password, len) != WP_OK) {
            fprintf(stderr, "walletpass %s: no random bytes for a password\n", cmd);
            return 1;
        }
        return 0;
    }
    if (!fgets(password, (int)len, stdin)) {
        fprintf(stderr, "walletpass %s: --password-stdin: nothing on stdin\n", cmd);
        return 2;
    }
    password[strcspn(password, "\r\n")] = '\0';
    if (strlen(password) > WP_PASSWORD_MAX_BYTES) {
        OPENSSL_cleanse(password, len);
        fprintf(stderr, "walletpass %s: the password is longer than %d bytes\n", cmd, WP_PASSWORD_MAX_BYTES);
        return 2;
    }
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)password; *p; p++) chars += (*p & 0xc0) != 0x80;
    if (chars < (size_t)cfg->portal_password_min_length) {
        OPENSSL_cleanse(password, len);
        fprintf(stderr, "walletpass %s: the password must have at least %d characters (portal.password_min_length)\n",
                cmd, cfg->portal_password_min_length);
        return 2;
    }
    return 0;
}

/* user create --account ID --email E [--password-stdin]: prints the user id (and a generated password). */
static int user_create(const wp_config *cfg, int argc, char **argv)
{
    const char *account = flag(argc, argv, "--account"), *email = flag(argc, argv, "--email");
    if (!account || !*account || !email || !*email) {
        fprintf(stderr, "walletpass user create: usage: user create --account ID --email EMAIL [--password-stdin]\n");
        return 2;
    }
    if (!email_ok(email)) {
        fprintf(stderr, "walletpass user create: --email \"%s\" is not an email address\n", email);
        return 2;
    }
    char password[WP_PASSWORD_MAX_BYTES + 2];
    int generated = 0, rc = read_password(cfg, "user create", argc, argv, password, sizeof password, &generated);
    if (rc) return rc;
    wp_err err;
    wp_err_clear(&err);
    char hash[WP_PASSWORD_HASH_MAX];
    wp_password_cost cost = {.log2_n = cfg->portal_password_log2_n};
    if (wp_password_hash(password, cost, hash, sizeof hash, &err) != WP_OK) {
        OPENSSL_cleanse(password, sizeof password);
        return fail("user create", &err);
    }
    wp_db *pool = NULL;
    PGconn *c = open_db(cfg, &pool, &err);
    char id[WP_ID_MAX];
    wp_status st = !c ? (err.status ? err.status : WP_EUNAVAIL)
                      : !account_exists(c, account, &err) ? err.status
                                                          : wp_portal_user_create(c, account, email, hash, id, &err);
    if (c) wp_db_release(pool, c);
    wp_db_close(pool);
    if (st != WP_OK) {
        OPENSSL_cleanse(password, sizeof password);
        return fail("user create", &err);
    }
    wp_log_info("account %s: dashboard user %s created (walletpass user create)", account, id);
    if (generated) printf("%s\t%s\n", id, password);
    else printf("%s\n", id);
    OPENSSL_cleanse(password, sizeof password);
    return 0;
}

/* user set-password --email E [--password-stdin]: a new password; every session of the user ends. */
static int user_set_password(const wp_config *cfg, int argc, char **argv)
{
    const char *email = flag(argc, argv, "--email");
    if (!email || !*email) {
        fprintf(stderr, "walletpass user set-password: usage: user set-password --email EMAIL [--password-stdin]\n");
        return 2;
    }
    char password[WP_PASSWORD_MAX_BYTES + 2];
    int generated = 0, rc = read_password(cfg, "user set-password", argc, argv, password, sizeof password, &generated);
    if (rc) return rc;
    wp_err err;
    wp_err_clear(&err);
    char hash[WP_PASSWORD_HASH_MAX];
    wp_password_cost cost = {.log2_n = cfg->portal_password_log2_n};
    if (wp_password_hash(password, cost, hash, sizeof hash, &err) != WP_OK) {
        OPENSSL_cleanse(password, sizeof password);
        return fail("user set-password", &err);
    }
    wp_db *pool = NULL;
    PGconn *c = open_db(cfg, &pool, &err);
    wp_portal_user u;
    wp_status st = !c ? (err.status ? err.status : WP_EUNAVAIL) : wp_portal_user_by_email(c, email, &u, &err);
    if (st == WP_ENOTFOUND) wp_err_set(&err, WP_ENOTFOUND, "no dashboard user with email %s", email);
    /* the new password and the end of the old sessions, together */
    if (st == WP_OK) st = wp_db_begin(c, &err);
    if (st == WP_OK) st = wp_portal_user_set_password(c, u.account_id, u.id, hash, &err);
    if (st == WP_OK) st = wp_portal_sessions_delete_user(c, u.account_id, u.id, &err);
    if (st == WP_OK) st = wp_db_commit(c, &err);
    if (st != WP_OK && c) wp_db_rollback(c);
    if (c) wp_db_release(pool, c);
    wp_db_close(pool);
    if (st != WP_OK) {
        OPENSSL_cleanse(password, sizeof password);
        return fail("user set-password", &err);
    }
    wp_log_info("account %s: dashboard user %s has a new password; their sessions ended (walletpass user "
                "set-password)", u.account_id, u.id);
    if (generated) printf("%s\t%s\n", u.id, password);
    else printf("%s\n", u.id);
    OPENSSL_cleanse(password, sizeof password);
    return 0;
}

/* user list --account ID: id, email, created, last login. */
static int user_list(const wp_config *cfg, int argc, char **argv)
{
    const char *account = flag(argc, argv, "--account");
    if (!account || !*account) {
        fprintf(stderr, "walletpass user list: --account ID is required\n");
        return 2;
    }
    wp_err err;
    wp_err_clear(&err);
    wp_db *pool = NULL;
    PGconn *c = open_db(cfg, &pool, &err);
    if (!c) return fail("user list", &err);
    const char *p[] = {account};
    PGresult *r;
    wp_status st = wp_db_query(c,
                               "SELECT id, email, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
                               " coalesce(to_char(last_login_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '-')"
                               " FROM portal_users WHERE account_id = $1 ORDER BY created_at, id",
                               1, p, &r, &err);
    wp_db_release(pool, c);
    wp_db_close(pool);
    if (st != WP_OK) return fail("user list", &err);
    for (int i = 0; i < PQntuples(r); i++)
        printf("%s\t%s\t%s\t%s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3));
    PQclear(r);
    return 0;
}

/* invite create [--account ID] [--email E]: prints the invitation's link. */
static int invite_create(const wp_config *cfg, int argc, char **argv)
{
    const char *account = flag(argc, argv, "--account"), *email = flag(argc, argv, "--email");
    if (email && !email_ok(email)) {
        fprintf(stderr, "walletpass invite create: --email \"%s\" is not an email address\n", email);
        return 2;
    }
    wp_err err;
    wp_err_clear(&err);
    wp_db *pool = NULL;
    PGconn *c = open_db(cfg, &pool, &err);
    char token[WP_PORTAL_TOKEN_LEN + 1];
    wp_status st = !c ? (err.status ? err.status : WP_EUNAVAIL)
                      : account && !account_exists(c, account, &err)
                            ? err.status
                            : wp_portal_invite_create(c, account, email, cfg->portal_invite_ttl_hours, token, &err);
    if (c) wp_db_release(pool, c);
    wp_db_close(pool);
    if (st != WP_OK) return fail("invite create", &err);
    if (!account && strcmp(cfg->portal_signup, "off") == 0)
        fprintf(stderr, "walletpass invite create: note: portal.signup is \"off\", which takes no invitation to a new "
                        "account: set it to \"invite\"\n");
    printf("%s/dashboard/#/signup?invite=%s\n", cfg->public_url, token);
    return 0;
}

int wp_cli_users(const wp_config *cfg, int argc, char **argv)
{
    if (argc < 3) return -1;
    const char *a = argv[1], *b = argv[2];
    if (strcmp(a, "user") == 0 && strcmp(b, "create") == 0) return user_create(cfg, argc, argv);
    if (strcmp(a, "user") == 0 && strcmp(b, "list") == 0) return user_list(cfg, argc, argv);
    if (strcmp(a, "user") == 0 && strcmp(b, "set-password") == 0) return user_set_password(cfg, argc, argv);
    if (strcmp(a, "invite") == 0 && strcmp(b, "create") == 0) return invite_create(cfg, argc, argv);
    return -1;
}
