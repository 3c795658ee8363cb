/* tenancy.c - see tenancy.h. */
#include "tenancy.h"

#include <stdio.h>
#include <string.h>

#include "db.h"

wp_status wp_tenancy_test_workspace(PGconn *db, const char *live_account_id, char *out, size_t len, wp_err *err)
{
    const char *p1[] = {live_account_id};
    PGresult *r;
    wp_status st = wp_db_query(db, "SELECT id FROM accounts WHERE live_account_id = $1", 1, p1, &r, err);
    if (st != WP_OK) return st;
    if (PQntuples(r) == 0) {
        PQclear(r);
        char id[WP_ID_MAX];
        if (wp_id_new("acct", id) != WP_OK) return wp_err_set(err, WP_ECRYPTO, "random number generator failed");
        /* Two first requests at once: one row wins, both read it below. */
        const char *p2[] = {id, live_account_id};
        st = wp_db_query(db,
                         "INSERT INTO accounts (id, name, email, plan, livemode, live_account_id)"
                         " SELECT $1, name, email, plan, false, id FROM accounts WHERE id = $2 AND livemode"
                         " ON CONFLICT (live_account_id) WHERE live_account_id IS NOT NULL DO NOTHING",
                         2, p2, NULL, err);
        if (st != WP_OK) return st;
        st = wp_db_query(db, "SELECT id FROM accounts WHERE live_account_id = $1", 1, p1, &r, err);
        if (st != WP_OK) return st;
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        return wp_err_set(err, WP_ENOTFOUND, "account %s has no test workspace", live_account_id);
    }
    int n = snprintf(out, len, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (n < 0 || (size_t)n >= len) return wp_err_set(err, WP_EINTERNAL, "test workspace id too long");
    return WP_OK;
}

static int well_formed_account_id(const char *s)
{
    size_t n = strlen(s);
    if (n < 6 || n >= WP_ID_MAX || strncmp(s, "acct_", 5) != 0) return 0;
    for (size_t i = 5; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

int wp_tenancy_resolve(wp_req *req, int livemode)
{
    wp_err err;
    wp_err_clear(&err);
    PGconn *db = NULL;
    req->livemode = livemode != 0;
    req->agency_account_id[0] = '\0';
    snprintf(req->live_account_id, sizeof req->live_account_id, "%s", req->account_id);
    const char *acting = wp_req_header(req, WP_TENANCY_HEADER);
    if (acting) {
        if (!well_formed_account_id(acting)) {
            wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", WP_TENANCY_HEADER,
                          "the " WP_TENANCY_HEADER " header must be a sub-account id (acct_...)");
            return 0;
        }
        /* Only the key's own, live, not deleted sub-accounts: any other id is
         * not found, like another account's objects. */
        const char *params[] = {acting, req->account_id};
        PGresult *r;
        if (!(db = wp_req_db(req, &err)) ||
            wp_db_query(db,
                        "SELECT id FROM accounts WHERE id = $1 AND parent_account_id = $2 AND livemode"
                        " AND deleted_at IS NULL",
                        2, params, &r, &err) != WP_OK) {
            wp_resp_from_err(req, &err);
            return 0;
        }
        int found = PQntuples(r) == 1;
        PQclear(r);
        if (!found) {
            wp_resp_error(req, 404, "invalid_request_error", "resource_missing", WP_TENANCY_HEADER,
                          "no sub-account %s of this account", acting);
            return 0;
        }
        snprintf(req->agency_account_id, sizeof req->agency_account_id, "%s", req->account_id);
        snprintf(req->live_account_id, sizeof req->live_account_id, "%s", acting);
        snprintf(req->account_id, sizeof req->account_id, "%s", acting);
    }
    if (!req->livemode && !db && !(db = wp_req_db(req, &err))) {
        wp_resp_from_err(req, &err);
        return 0;
    }
    if (!req->livemode &&
        wp_tenancy_test_workspace(db, req->live_account_id, req->account_id, sizeof req->account_id, &err) != WP_OK) {
        wp_resp_from_err(req, &err);
        return 0;
    }
    return 1;
}
