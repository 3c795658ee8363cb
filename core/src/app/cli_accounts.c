/* cli_accounts.c - see cli_accounts.h. */
#include "cli_accounts.h"

#include <stdio.h>
#include <string.h>

#include "db.h"
#include "log.h"

static const char *flag(int argc, char **argv, const char *name)
{
    for (int i = 0; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    return NULL;
}

static int fail(const char *cmd, const wp_err *err)
{
    fprintf(stderr, "walletpass %s: %s\n", cmd, err->msg[0] ? err->msg : wp_status_str(err->status));
    return 1;
}

/* One statement on a connection of its own; *r (may be NULL) is the caller's. */
static wp_status run(const wp_config *cfg, const char *sql, int n, const char *const *params, PGresult **r,
                     wp_err *err)
{
    wp_db_options o = {.url = cfg->database_url, .pool_size = 1, .acquire_timeout_ms = cfg->db_acquire_timeout_ms,
                       .statement_timeout_ms = 0, .connect_timeout_s = cfg->db_connect_timeout_s,
                       .application_name = "walletpass-cli", .transaction_pooling = cfg->db_transaction_pooling};
    wp_db *pool;
    wp_status st = wp_db_open(&o, &pool, err);
    if (st != WP_OK) return st;
    PGconn *c = wp_db_acquire(pool, err);
    if (!c) {
        wp_db_close(pool);
        return err->status ? err->status : WP_EUNAVAIL;
    }
    st = wp_db_query(c, sql, n, params, r, err);
    wp_db_release(pool, c);
    wp_db_close(pool);
    return st;
}

static void print_rows(PGresult *r)
{
    for (int i = 0; i < PQntuples(r); i++)
        for (int c = 0; c < PQnfields(r); c++)
            printf("%s%s", PQgetisnull(r, i, c) ? "-" : PQgetvalue(r, i, c), c + 1 < PQnfields(r) ? "\t" : "\n");
}

#define TS(col) "coalesce(to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '-')"

/* account list: id, plan, trial end, parent, this month's operations, name, email (live accounts). */
static int account_list(const wp_config *cfg)
{
    wp_err err;
    wp_err_clear(&err);
    PGresult *r;
    if (run(cfg,
            "SELECT a.id, a.plan, " TS("a.trial_ends_at") ", coalesce(a.parent_account_id, '-'),"
            " coalesce((SELECT sum(operations) FROM usage_counter_rows u WHERE u.account_id = a.id"
            "   AND u.period = to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM')), 0), a.name, a.email"
            " FROM accounts a WHERE a.livemode AND a.deleted_at IS NULL ORDER BY a.created_at, a.id",
            0, NULL, &r, &err) != WP_OK)
        return fail("account list", &err);
    print_rows(r);
    PQclear(r);
    return 0;
}

/* account set-plan ID PLAN: at once, logged (account_plan_changes and the log). */
static int account_set_plan(const wp_config *cfg, int argc, char **argv)
{
    const char *id = argc > 3 ? argv[3] : NULL, *plan = argc > 4 ? argv[4] : NULL;
    if (!id || !plan || !*id || !*plan) {
        fprintf(stderr, "walletpass account set-plan: usage: account set-plan ACCOUNT_ID PLAN\n");
        return 2;
    }
    if (strcmp(plan, "$comment") == 0 || !json_object_object_get_ex(cfg->plans, plan, NULL)) {
        fprintf(stderr, "walletpass account set-plan: \"%s\" is not a plan in the configuration\n", plan);
        return 2;
    }
    wp_err err;
    wp_err_clear(&err);
    const char *p[] = {id, plan};
    PGresult *r;
    /* A top-level account changes with its test workspace and its sub-accounts
     * (theirs too), whose plan is their agency's; the change is recorded once. */
    if (run(cfg,
            "WITH old AS (SELECT id, plan FROM accounts WHERE id = $1 AND livemode AND deleted_at IS NULL"
            "   AND parent_account_id IS NULL FOR UPDATE),"
            " upd AS (UPDATE accounts a SET plan = $2 FROM old WHERE a.id = old.id OR a.live_account_id = old.id"
            "   OR a.parent_account_id = old.id"
            "   OR a.live_account_id IN (SELECT s.id FROM accounts s WHERE s.parent_account_id = old.id) RETURNING a.id),"
            " logged AS (INSERT INTO account_plan_changes (account_id, from_plan, to_plan, source)"
            "   SELECT id, plan, $2, 'cli' FROM old RETURNING from_plan)"
            " SELECT from_plan FROM logged",
            2, p, &r, &err) != WP_OK)
        return fail("account set-plan", &err);
    if (PQntuples(r) != 1) {
        PQclear(r);
        if (run(cfg, "SELECT parent_account_id FROM accounts WHERE id = $1 AND livemode AND deleted_at IS NULL", 1, p, &r,
                &err) != WP_OK)
            return fail("account set-plan", &err);
        if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
            fprintf(stderr,
                    "walletpass account set-plan: %s is a sub-account of %s: it has its agency's plan; change the"
                    " agency's plan, or its allocation (PUT /api/v1/accounts/%s/allocation)\n",
                    id, PQgetvalue(r, 0, 0), id);
        else
            fprintf(stderr, "walletpass account set-plan: no account %s\n", id);
        PQclear(r);
        return 1;
    }
    wp_log_info("account %s: plan %s -> %s (walletpass account set-plan)", id, PQgetvalue(r, 0, 0), plan);
    printf("%s\t%s\t%s\n", id, PQgetvalue(r, 0, 0), plan);
    PQclear(r);
    return 0;
}

/* key list --account ID: id, mode, prefix, created, revoked, name. */
static int key_list(const wp_config *cfg, int argc, char **argv)
{
    const char *account = flag(argc, argv, "--account");
    if (!account || !*account) {
        fprintf(stderr, "walletpass key list: --account ID is required\n");
        return 2;
    }
    wp_err err;
    wp_err_clear(&err);
    const char *p[] = {account};
    PGresult *r;
    if (run(cfg,
            "SELECT id, CASE WHEN livemode THEN 'live' ELSE 'test' END, prefix, " TS("created_at") ", "
            TS("revoked_at") ", coalesce(name, '-') FROM api_keys WHERE account_id = $1 ORDER BY created_at, id",
            1, p, &r, &err) != WP_OK)
        return fail("key list", &err);
    print_rows(r);
    PQclear(r);
    return 0;
}

/* key revoke --account ID KEY_ID */
static int key_revoke(const wp_config *cfg, int argc, char **argv)
{
    const char *account = flag(argc, argv, "--account");
    const char *key = NULL;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--account") == 0) {
            i++;
            continue;
        }
        key = argv[i];
    }
    if (!account || !*account || !key || !*key) {
        fprintf(stderr, "walletpass key revoke: usage: key revoke --account ACCOUNT_ID KEY_ID\n");
        return 2;
    }
    wp_err err;
    wp_err_clear(&err);
    const char *p[] = {account, key};
    PGresult *r;
    if (run(cfg,
            "UPDATE api_keys SET revoked_at = now() WHERE account_id = $1 AND id = $2 AND revoked_at IS NULL"
            " RETURNING id",
            2, p, &r, &err) != WP_OK)
        return fail("key revoke", &err);
    int n = PQntuples(r);
    PQclear(r);
    if (n != 1) {
        fprintf(stderr, "walletpass key revoke: account %s has no active key %s\n", account, key);
        return 1;
    }
    wp_log_info("account %s: key %s revoked (walletpass key revoke)", account, key);
    printf("%s\n", key);
    return 0;
}

int wp_cli_accounts(const wp_config *cfg, int argc, char **argv)
{
    if (argc < 3) return -1;
    const char *a = argv[1], *b = argv[2];
    if (strcmp(a, "account") == 0 && strcmp(b, "list") == 0) return account_list(cfg);
    if (strcmp(a, "account") == 0 && strcmp(b, "set-plan") == 0) return account_set_plan(cfg, argc, argv);
    if (strcmp(a, "key") == 0 && strcmp(b, "list") == 0) return key_list(cfg, argc, argv);
    if (strcmp(a, "key") == 0 && strcmp(b, "revoke") == 0) return key_revoke(cfg, argc, argv);
    return -1;
}
