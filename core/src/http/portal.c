/*
 * portal.c - /portal/api/...: sign-up, login, logout, the session, password
 * changes, users and invitations; and the session check (see portal.h).
 */
#include "portal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apikey.h"
#include "db.h"
#include "handler.h"
#include "log.h"
#include "password.h"
#include "portal_store.h"
#include "qrsvg.h"

#define NAME_MAX_CHARS 200
#define CSRF_PURPOSE "portal-csrf"

static const char *const no_query[] = {NULL};

/* ---- helpers ------------------------------------------------------------ */

static wp_password_cost cost_of(const wp_domain *d)
{
    return (wp_password_cost){.log2_n = d->cfg->portal_password_log2_n};
}

static int https(const wp_domain *d) { return strncmp(d->cfg->public_url, "https://", 8) == 0; }

int wp_portal_cookie_in(const char *header, const char *name, char *out, size_t len)
{
    size_t nl = strlen(name);
    const char *p = header;
    while (p && *p) {
        while (*p == ' ' || *p == ';') p++;
        const char *end = strchr(p, ';');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            const char *v = p + nl + 1;
            size_t vl = n - nl - 1;
            while (vl > 0 && *v == ' ') v++, vl--;
            while (vl > 0 && v[vl - 1] == ' ') vl--;
            if (vl >= len) return 0; /* too long for any value we hand out: not ours */
            memcpy(out, v, vl);
            out[vl] = '\0';
            return 1;
        }
        p = end;
    }
    return 0;
}

/* The value of cookie `name` in the request's Cookie headers into out; 1 when found and it fits. */
static int cookie(const wp_req *req, const char *name, char *out, size_t len)
{
    for (int i = 0; i < req->ri->num_headers; i++)
        if (strcasecmp(req->ri->http_headers[i].name, "Cookie") == 0 &&
            wp_portal_cookie_in(req->ri->http_headers[i].value, name, out, len))
            return 1;
    return 0;
}

static void set_cookie(wp_req *req, const wp_domain *d, const char *token)
{
    char v[256];
    snprintf(v, sizeof v, WP_PORTAL_COOKIE "=%s; Path=" WP_PORTAL_PREFIX "; Max-Age=%d; HttpOnly; SameSite=Lax%s", token,
             d->cfg->portal_session_max_hours * 3600, https(d) ? "; Secure" : "");
    wp_resp_header(req, "Set-Cookie", v);
}

static void clear_cookie(wp_req *req, const wp_domain *d)
{
    char v[160];
    snprintf(v, sizeof v, WP_PORTAL_COOKIE "=; Path=" WP_PORTAL_PREFIX "; Max-Age=0; HttpOnly; SameSite=Lax%s",
             https(d) ? "; Secure" : "");
    wp_resp_header(req, "Set-Cookie", v);
}

static PGconn *begin(wp_req *req)
{
    wp_err err;
    wp_err_clear(&err);
    if (wp_req_query_check(req, no_query, &err) != WP_OK) {
        wp_resp_from_err(req, &err);
        return NULL;
    }
    PGconn *db = wp_req_db(req, &err);
    if (!db) wp_resp_from_err(req, &err);
    return db;
}

/* The body as a JSON object with only the allowed fields; NULL when a 400 was sent. */
static json_object *object_body(wp_req *req, const char *const *allowed)
{
    wp_err err;
    wp_err_clear(&err);
    json_object *body = NULL;
    if (wp_req_json(req, &body, &err) != WP_OK) {
        wp_resp_from_err(req, &err);
        return NULL;
    }
    if (!json_object_is_type(body, json_type_object)) {
        json_object_put(body);
        wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", "body", "body must be a JSON object");
        return NULL;
    }
    json_object_object_foreach(body, k, v) {
        (void)v;
        int ok = 0;
        for (const char *const *a = allowed; *a; a++) ok |= strcmp(*a, k) == 0;
        if (!ok) {
            wp_resp_error(req, 400, "invalid_request_error", "parameter_unknown", k, "unknown field \"%s\"", k);
            json_object_put(body);
            return NULL;
        }
    }
    return body;
}

/* A string field of 1..max bytes; 1 ok (or absent and !required), 0 when a 400 was sent. */
static int string_field(wp_req *req, json_object *body, const char *name, size_t max, int required, const char **out)
{
    json_object *v;
    *out = NULL;
    if (!json_object_object_get_ex(body, name, &v) || json_object_is_type(v, json_type_null)) {
        if (!required) return 1;
        wp_resp_error(req, 400, "invalid_request_error", "parameter_missing", name, "%s is required", name);
        return 0;
    }
    const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
    size_t n = s ? (size_t)json_object_get_string_len(v) : 0;
    if (!s || n == 0 || n > max || strlen(s) != n) {
        wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", name,
                      "%s must be a string of 1 to %zu bytes", name, max);
        return 0;
    }
    *out = s;
    return 1;
}

/* An address: something@something, printable, no spaces; 1 ok, 0 when a 400 was sent. */
static int email_field(wp_req *req, json_object *body, int required, const char **out)
{
    if (!string_field(req, body, "email", WP_PORTAL_EMAIL_MAX, required, out)) return 0;
    if (!*out) return 1;
    const char *at = strchr(*out, '@');
    int ok = at && at != *out && at[1] && !strchr(at + 1, '@');
    for (const char *p = *out; ok && *p; p++) ok = (unsigned char)*p > 0x20 && *p != 0x7f;
    if (!ok) {
        wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", "email",
                      "email must be an email address (name@example.com)");
        return 0;
    }
    return 1;
}

/* A new password: at least portal.password_min_length characters; 1 ok, 0 when a 400 was sent. */
static int new_password_field(wp_req *req, const wp_domain *d, json_object *body, const char *name, const char **out)
{
    if (!string_field(req, body, name, WP_PASSWORD_MAX_BYTES, 1, out)) return 0;
    /* characters, not bytes: a UTF-8 continuation byte does not start one */
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)*out; *p; p++) chars += (*p & 0xc0) != 0x80;
    if (chars < (size_t)d->cfg->portal_password_min_length) {
        wp_resp_error(req, 400, "invalid_request_error", "password_too_short", name,
                      "%s must have at least %d characters", name, d->cfg->portal_password_min_length);
        return 0;
    }
    return 1;
}

/* The CSRF token of a session: a MAC of its token's hash under the master key. */
static int csrf_of(const wp_domain *d, const char *token_hash, char out[WP_VAULT_MAC_LEN + 1])
{
    return d->vault && wp_vault_mac(d->vault, CSRF_PURPOSE, token_hash, out, WP_VAULT_MAC_LEN + 1) == WP_OK;
}

/* The answer of login, sign-up, a password change and GET session. */
static void respond_session(wp_req *req, const wp_domain *d, PGconn *db, const wp_portal_session *s, int status)
{
    char csrf[WP_VAULT_MAC_LEN + 1];
    if (!csrf_of(d, s->token_hash, csrf)) {
        wp_resp_error(req, 500, "api_error", "internal_error", NULL, "the session's CSRF token cannot be made");
        return;
    }
    const char *p[] = {s->account_id};
    PGresult *r;
    wp_err err;
    wp_err_clear(&err);
    if (wp_db_query(db, "SELECT name, parent_account_id FROM accounts WHERE id = $1", 1, p, &r, &err) != WP_OK) {
        wp_resp_from_err(req, &err);
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "object", json_object_new_string("portal_session"));
    json_object *u = json_object_new_object();
    json_object_object_add(u, "id", json_object_new_string(s->user_id));
    json_object_object_add(u, "email", json_object_new_string(s->email));
    json_object_object_add(o, "user", u);
    json_object *a = json_object_new_object();
    json_object_object_add(a, "id", json_object_new_string(s->account_id));
    json_object_object_add(a, "name", PQntuples(r) == 1 ? json_object_new_string(PQgetvalue(r, 0, 0)) : NULL);
    json_object_object_add(a, "parent_account_id", PQntuples(r) == 1 && !PQgetisnull(r, 0, 1)
                                                       ? json_object_new_string(PQgetvalue(r, 0, 1))
                                                       : NULL);
    json_object_object_add(o, "account", a);
    json_object_object_add(o, "csrf_token", json_object_new_string(csrf));
    json_object_object_add(o, "expires_at", json_object_new_string(s->expires_at));
    PQclear(r);
    wp_resp_header(req, "Cache-Control", "no-store");
    wp_resp_json(req, status, o);
    json_object_put(o);
}

/* Starts a session for the user (the old cookie's session, if any, ends) and answers with it. */
static void start_session(wp_req *req, const wp_domain *d, PGconn *db, const char *account_id, const char *user_id,
                          int status)
{
    wp_err err;
    wp_err_clear(&err);
    char old[WP_PORTAL_TOKEN_LEN + 2];
    if (cookie(req, WP_PORTAL_COOKIE, old, sizeof old)) {
        char h[65];
        wp_sha256_hex(old, strlen(old), h);
        (void)wp_portal_session_delete(db, h, &err); /* a stale cookie; the new session is what matters */
        wp_err_clear(&err);
    }
    char token[WP_PORTAL_TOKEN_LEN + 1];
    wp_portal_session s;
    if (wp_portal_session_create(db, account_id, user_id, wp_req_remote_ip(req), d->cfg->portal_session_max_hours, token,
                                 &s, &err) != WP_OK) {
        wp_resp_from_err(req, &err);
        return;
    }
    set_cookie(req, d, token);
    respond_session(req, d, db, &s, status);
}

/* ---- the session check ---------------------------------------------------- */

int wp_portal_authenticate(wp_req *req, const wp_domain *d)
{
    char token[WP_PORTAL_TOKEN_LEN + 2];
    if (!cookie(req, WP_PORTAL_COOKIE, token, sizeof token)) {
        wp_resp_error(req, 401, "authentication_error", "session_missing", NULL,
                      "not signed in: sign in to the dashboard first (POST /portal/api/login)");
        return 0;
    }
    wp_err err;
    wp_err_clear(&err);
    PGconn *db = wp_req_db(req, &err);
    if (!db) {
        wp_resp_from_err(req, &err);
        return 0;
    }
    wp_portal_session s;
    wp_status st = wp_portal_session_find(db, token, d->cfg->portal_session_idle_minutes, &s, &err);
    if (st == WP_EAUTH) {
        clear_cookie(req, d);
        wp_resp_error(req, 401, "authentication_error", "session_invalid", NULL, "%s", err.msg);
        return 0;
    }
    if (st != WP_OK) {
        wp_resp_from_err(req, &err);
        return 0;
    }
    snprintf(req->account_id, sizeof req->account_id, "%s", s.account_id);
    snprintf(req->live_account_id, sizeof req->live_account_id, "%s", s.account_id);
    snprintf(req->api_key_id, sizeof req->api_key_id, "%s", s.user_id);
    snprintf(req->portal_user_id, sizeof req->portal_user_id, "%s", s.user_id);
    req->key_prefix[0] = '\0';
    req->livemode = true;
    /* (the account is known from here on: a refusal below is in its access log) */
    const char *m = req->ri->request_method;
    if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0) {
        const char *given = wp_req_header(req, WP_PORTAL_CSRF_HEADER);
        if (!given || !d->vault || wp_vault_mac_verify(d->vault, CSRF_PURPOSE, s.token_hash, given) != WP_OK) {
            wp_resp_error(req, 403, "authentication_error", "csrf_token_invalid", WP_PORTAL_CSRF_HEADER,
                          "%s needs the session's CSRF token in the " WP_PORTAL_CSRF_HEADER
                          " header (from GET /portal/api/session)",
                          m);
            return 0;
        }
    }
    return 1;
}

int wp_portal_mode(wp_req *req)
{
    const char *m = wp_req_header(req, WP_PORTAL_MODE_HEADER);
    if (!m || strcmp(m, "live") == 0) return 1;
    if (strcmp(m, "test") == 0) return 0;
    wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", WP_PORTAL_MODE_HEADER,
                  "the " WP_PORTAL_MODE_HEADER " header must be live or test");
    return -1;
}

/* ---- GET /portal/api/config ---------------------------------------------- */

static void get_config(wp_req *req, void *ud)
{
    const wp_domain *d = ud;
    wp_err err;
    wp_err_clear(&err);
    if (wp_req_query_check(req, no_query, &err) != WP_OK) {
        wp_resp_from_err(req, &err);
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "object", json_object_new_string("portal_config"));
    json_object_object_add(o, "signup", json_object_new_string(d->cfg->portal_signup));
    json_object_object_add(o, "password_min_length", json_object_new_int(d->cfg->portal_password_min_length));
    json_object_object_add(o, "public_url", json_object_new_string(d->cfg->public_url));
    wp_resp_json(req, 200, o);
    json_object_put(o);
}

/* ---- POST /portal/api/signup ---------------------------------------------- */

static void signup(wp_req *req, void *ud)
{
    const wp_domain *d = ud;
    PGconn *db = begin(req);
    if (!db) return;
    static const char *const allowed[] = {"email", "password", "name", "invite", NULL};
    json_object *body = object_body(req, allowed);
    if (!body) return;
    const char *email, *password, *name, *invite;
    if (!email_field(req, body, 1, &email) || !new_password_field(req, d, body, "password", &password) ||
        !string_field(req, body, "name", NAME_MAX_CHARS, 0, &name) ||
        !string_field(req, body, "invite", 64, 0, &invite)) {
        json_object_put(body);
        return;
    }
    const char *mode = d->cfg->portal_signup;
    if (!invite && strcmp(mode, "open") != 0) {
        json_object_put(body);
        if (strcmp(mode, "invite") == 0)
            wp_resp_error(req, 403, "invalid_request_error", "invite_required", "invite",
                          "sign-up needs an invitation on this gateway: ask its operator for one");
        else
            wp_resp_error(req, 403, "invalid_request_error", "signup_disabled", NULL,
                          "sign-up is off on this gateway: its operator creates users (walletpass user create)");
        return;
    }
    wp_err err;
    wp_err_clear(&err);
    /* accounts made from one address are counted like failed sign-ins: a script cannot make thousands */
    char skey[WP_CLIENTADDR_MAX + 8];
    snprintf(skey, sizeof skey, "signup:%s", wp_req_remote_ip(req));
    const char *skeys[] = {skey};
    long retry = 0;
    wp_status tst = wp_portal_throttle_check(db, skeys, 1, &retry, &err);
    if (tst != WP_OK) {
        json_object_put(body);
        if (tst == WP_ELIMIT) {
            char ra[24];
            snprintf(ra, sizeof ra, "%ld", retry);
            wp_resp_header(req, "Retry-After", ra);
            wp_resp_error(req, 429, "rate_limit_error", "rate_limited", NULL,
                          "too many sign-ups from this address: try again in %ld minutes", (retry + 59) / 60);
        } else {
            wp_resp_from_err(req, &err);
        }
        return;
    }
    char hash[WP_PASSWORD_HASH_MAX];
    /* the slow part, outside any transaction */
    if (wp_password_hash(password, cost_of(d), hash, sizeof hash, &err) != WP_OK) {
        json_object_put(body);
        wp_resp_from_err(req, &err);
        return;
    }
    char account[WP_ID_MAX] = "", user[WP_ID_MAX];
    wp_status st = wp_db_begin(db, &err);
    if (st == WP_OK && invite) st = wp_portal_invite_take(db, invite, email, account, &err);
    if (st == WP_OK && invite && account[0] == '\0' && strcmp(mode, "off") == 0)
        st = wp_err_param(&err, WP_ENOTFOUND, "invite", "sign-up is off on this gateway: invitations to a new "
                                                        "account are not taken");
    if (st == WP_OK && account[0] == '\0') {
        char fallback[WP_PORTAL_EMAIL_MAX + 1];
        snprintf(fallback, sizeof fallback, "%s", email);
        st = wp_account_create(db, name ? name : fallback, email, d->cfg->default_plan, d->cfg->trial_days, account, &err);
        if (st == WP_OK) wp_log_info("portal: account %s signed up (plan %s)", account, d->cfg->default_plan);
    }
    if (st == WP_OK) st = wp_portal_user_create(db, account, email, hash, user, &err);
    if (st == WP_OK) st = wp_db_commit(db, &err);
    json_object_put(body);
    if (st != WP_OK) {
        wp_db_rollback(db);
        if (st == WP_ECONFLICT)
            wp_resp_error(req, 409, "invalid_request_error", "email_taken", "email",
                          "this email has an account already: sign in, or reset its password with the operator");
        else if (st == WP_ENOTFOUND)
            wp_resp_error(req, 404, "invalid_request_error", "resource_missing", "invite", "%s", err.msg);
        else
            wp_resp_from_err(req, &err);
        return;
    }
    snprintf(req->account_id, sizeof req->account_id, "%s", account);
    int locked = 0;
    (void)wp_portal_throttle_fail(db, skey, d->cfg->portal_signup_ip_max, d->cfg->portal_login_window_minutes,
                                  d->cfg->portal_login_lockout_minutes, &locked, &err);
    wp_err_clear(&err);
    start_session(req, d, db, account, user, 201);
}

/* ---- POST /portal/api/login ----------------------------------------------- */

static void lowercase(char *s)
{
    for (; *s; s++) *s = (char)tolower((unsigned char)*s);
}

static void login(wp_req *req, void *ud)
{
    const wp_domain *d = ud;
    req->log_kind = "login";
    PGconn *db = begin(req);
    if (!db) return;
    static const char *const allowed[] = {"email", "password", NULL};
    json_object *body = object_body(req, allowed);
    if (!body) return;
    const char *email, *password;
    if (!email_field(req, body, 1, &email) ||
        !string_field(req, body, "password", WP_PASSWORD_MAX_BYTES, 1, &password)) {
        json_object_put(body);
        return;
    }
    char ekey[WP_PORTAL_EMAIL_MAX + 8], ikey[WP_CLIENTADDR_MAX + 8];
    snprintf(ekey, sizeof ekey, "email:%s", email);
    lowercase(ekey);
    snprintf(ikey, sizeof ikey, "ip:%s", wp_req_remote_ip(req));
    const char *keys[] = {ekey, ikey};
    wp_err err;
    wp_err_clear(&err);
    wp_portal_user u;
    wp_status ust = wp_portal_user_by_email(db, email, &u, &err);
    if (ust != WP_OK && ust != WP_ENOTFOUND) {
        json_object_put(body);
        wp_resp_from_err(req, &err);
        return;
    }
    /* the account a known email belongs to sees its failed logins in its log */
    if (ust == WP_OK) snprintf(req->account_id, sizeof req->account_id, "%s", u.account_id);
    long retry = 0;
    wp_status st = wp_portal_throttle_check(db, keys, 2, &retry, &err);
    if (st == WP_ELIMIT) {
        json_object_put(body);
        char ra[24];
        snprintf(ra, sizeof ra, "%ld", retry);
        wp_resp_header(req, "Retry-After", ra);
        wp_resp_error(req, 429, "rate_limit_error", "login_locked", NULL, "%s", err.msg);
        return;
    }
    if (st != WP_OK) {
        json_object_put(body);
        wp_resp_from_err(req, &err);
        return;
    }
    int match = 0, weaker = 0;
    if (ust == WP_OK) {
        st = wp_password_verify(password, u.password_hash, cost_of(d), &match, &weaker, &err);
        if (st != WP_OK) wp_log_error("portal: user %s: %s", u.id, err.msg);
    } else {
        wp_password_burn(password, cost_of(d)); /* as slow as a wrong password: no hint that the email is unknown */
    }
    if (!match) {
        json_object_put(body);
        int locked_e = 0, locked_i = 0;
        wp_err ferr;
        wp_err_clear(&ferr);
        if (wp_portal_throttle_fail(db, ekey, d->cfg->portal_login_max_failures, d->cfg->portal_login_window_minutes,
                                    d->cfg->portal_login_lockout_minutes, &locked_e, &ferr) != WP_OK ||
            wp_portal_throttle_fail(db, ikey, d->cfg->portal_login_ip_max_failures,
                                    d->cfg->portal_login_window_minutes, d->cfg->portal_login_lockout_minutes,
                                    &locked_i, &ferr) != WP_OK) {
            wp_resp_from_err(req, &ferr);
            return;
        }
        if (locked_e || locked_i)
            wp_log_warn("portal: sign-in locked for %d minutes after repeated failures (%s)",
                        d->cfg->portal_login_lockout_minutes, locked_e ? "an email" : wp_req_remote_ip(req));
        wp_resp_error(req, 401, "authentication_error", "login_failed", NULL, "the email or the password is wrong");
        return;
    }
    json_object_put(body);
    (void)wp_portal_throttle_reset(db, ekey, &err);
    wp_err_clear(&err);
    if (weaker) {
        /* a hash made at a lower cost than today's: made again while the password is at hand */
        char hash[WP_PASSWORD_HASH_MAX];
        if (wp_password_hash(password, cost_of(d), hash, sizeof hash, &err) == WP_OK)
            (void)wp_portal_user_set_password(db, u.account_id, u.id, hash, &err);
        wp_err_clear(&err);
    }
    (void)wp_portal_user_touch(db, u.account_id, u.id, &err);
    start_session(req, d, db, u.account_id, u.id, 200);
}

/* ---- POST /portal/api/logout, GET /portal/api/session ---------------------- */

static void logout(wp_req *req, void *ud)
{
    const wp_domain *d = ud;
    PGconn *db = begin(req);
    if (!db) return;
    char token[WP_PORTAL_TOKEN_LEN + 2], h[65];
    wp_err err;
    wp_err_clear(&err);
    if (cookie(req, WP_PORTAL_COOKIE, token, sizeof token)) {
        wp_sha256_hex(token, strlen(token), h);
        if (wp_portal_session_delete(db, h, &err) != WP_OK) {
            wp_resp_from_err(req, &err);
            return;
        }
    }
    clear_cookie(req, d);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "object", json_object_new_string("portal_session"));
    json_object_object_add(o, "deleted", json_object_new_boolean(1));
    wp_resp_json(req, 200, o);
    json_object_put(o);
}

static void get_session(wp_req *req, void *ud)
{
    const wp_domain *d = ud;
    PGconn *db = begin(req);
    if (!db) return;
    char token[WP_PORTAL_TOKEN_LEN + 2];
    wp_err err;
    wp_err_clear(&err);
    wp_portal_session s;
    /* authenticated already; read again for the expiry and the hash the CSRF token is made of */
    if (!cookie(req, WP_PORTAL_COOKIE, token, sizeof token) ||
        wp_portal_session_find(db, token, d->cfg->portal_session_idle_minutes, &s, &err) != WP_OK) {
        wp_resp_error(req, 401, "authentication_error", "session_invalid", NULL, "the session has ended: sign in again");
        return;
    }
    respond_session(req, d, db, &s, 200);
}

/* ---- PUT /portal/api/password ----------------------------------------------- */

static void change_password(wp_req *req, void *ud)
{
    const wp_domain *d = ud;
    PGconn *db = begin(req);
    if (!db) return;
    static const char *const allowed[] = {"current_password", "new_password", NULL};
    json_object *body = object_body(req, allowed);
    if (!body) return;
    const char *current, *fresh;
    if (!string_field(req, body, "current_password", WP_PASSWORD_MAX_BYTES, 1, &current) ||
        !new_password_field(req, d, body, "new_password", &fresh)) {
        json_object_put(body);
        return;
    }
    wp_err err;
    wp_err_clear(&err);
    wp_portal_user u;
    if (wp_portal_user_get(db, req->live_account_id, req->portal_user_id, &u, &err) != WP_OK) {
        json_object_put(body);
        wp_resp_from_err(req, &err);
        return;
    }
    /* the current password is guessed no faster through a stolen session than at the login */
    char ekey[WP_PORTAL_EMAIL_MAX + 8];
    snprintf(ekey, sizeof ekey, "email:%s", u.email);
    lowercase(ekey);
    const char *keys[] = {ekey};
    long retry = 0;
    wp_status st = wp_portal_throttle_check(db, keys, 1, &retry, &err);
    if (st == WP_ELIMIT) {
        json_object_put(body);
        char ra[24];
        snprintf(ra, sizeof ra, "%ld", retry);
        wp_resp_header(req, "Retry-After", ra);
        wp_resp_error(req, 429, "rate_limit_error", "login_locked", NULL, "%s", err.msg);
        return;
    }
    int match = 0;
    if (st == WP_OK) st = wp_password_verify(current, u.password_hash, cost_of(d), &match, NULL, &err);
    if (st != WP_OK) {
        json_object_put(body);
        wp_resp_from_err(req, &err);
        return;
    }
    if (!match) {
        json_object_put(body);
        int locked = 0;
        (void)wp_portal_throttle_fail(db, ekey, d->cfg->portal_login_max_failures, d->cfg->portal_login_window_minutes,
                                      d->cfg->portal_login_lockout_minutes, &locked, &err);
        wp_resp_error(req, 400, "invalid_request_error", "password_wrong", "current_password",
                      "current_password is not the password of this user");
        return;
    }
    char hash[WP_PASSWORD_HASH_MAX];
    st = wp_password_hash(fresh, cost_of(d), hash, sizeof hash, &err);
    json_object_put(body);
    /* every session of the user ends, this one included: a new one is handed out */
    if (st == WP_OK) st = wp_db_begin(db, &err);
    if (st == WP_OK) st = wp_portal_user_set_password(db, u.account_id, u.id, hash, &err);
    if (st == WP_OK) st = wp_portal_sessions_delete_user(db, u.account_id, u.id, &err);
    if (st == WP_OK) st = wp_db_commit(db, &err);
    if (st != WP_OK) {
        wp_db_rollback(db);
        wp_resp_from_err(req, &err);
        return;
    }
    wp_log_info("portal: user %s of %s changed their password; their sessions ended", u.id, u.account_id);
    start_session(req, d, db, u.account_id, u.id, 200);
}

/* ---- GET /portal/api/users, POST /portal/api/invites ------------------------- */

static json_object *user_json(PGresult *r, int i)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(PQgetvalue(r, i, 0)));
    json_object_object_add(o, "object", json_object_new_string("portal_user"));
    json_object_object_add(o, "email", json_object_new_string(PQgetvalue(r, i, 1)));
    json_object_object_add(o, "created_at", json_object_new_string(PQgetvalue(r, i, 2)));
    json_object_object_add(o, "last_login_at",
                           PQgetisnull(r, i, 3) ? NULL : json_object_new_string(PQgetvalue(r, i, 3)));
    return o;
}

static void list_users(wp_req *req, void *ud)
{
    (void)ud;
    PGconn *db = begin(req);
    if (!db) return;
    const char *p[] = {req->live_account_id};
    PGresult *r;
    wp_err err;
    wp_err_clear(&err);
    if (wp_db_query(db,
                    "SELECT id, email, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
                    " to_char(last_login_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
                    " FROM portal_users WHERE account_id = $1 ORDER BY created_at, id LIMIT 1001",
                    1, p, &r, &err) != WP_OK) {
        wp_resp_from_err(req, &err);
        return;
    }
    wp_handler_send_rows(req, r, 1000, user_json);
    PQclear(r);
}

static void create_invite(wp_req *req, void *ud)
{
    const wp_domain *d = ud;
    PGconn *db = begin(req);
    if (!db) return;
    static const char *const allowed[] = {"email", NULL};
    json_object *body = object_body(req, allowed);
    if (!body) return;
    const char *email;
    if (!email_field(req, body, 0, &email)) {
        json_object_put(body);
        return;
    }
    char token[WP_PORTAL_TOKEN_LEN + 1];
    wp_err err;
    wp_err_clear(&err);
    wp_status st = wp_portal_invite_create(db, req->live_account_id, email, d->cfg->portal_invite_ttl_hours, token, &err);
    if (st != WP_OK) {
        json_object_put(body);
        wp_resp_from_err(req, &err);
        return;
    }
    char url[1200];
    int un = snprintf(url, sizeof url, "%s/dashboard/#/signup?invite=%s", d->cfg->public_url, token);
    if (un < 0 || (size_t)un >= sizeof url) {
        json_object_put(body);
        wp_resp_error(req, 500, "api_error", "internal_error", NULL, "public_url is too long for an invitation link");
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "object", json_object_new_string("portal_invite"));
    json_object_object_add(o, "account_id", json_object_new_string(req->live_account_id));
    json_object_object_add(o, "email", email ? json_object_new_string(email) : NULL);
    json_object_object_add(o, "token", json_object_new_string(token));
    json_object_object_add(o, "url", json_object_new_string(url));
    json_object_object_add(o, "expires_in_hours", json_object_new_int(d->cfg->portal_invite_ttl_hours));
    json_object_put(body);
    wp_resp_header(req, "Cache-Control", "no-store");
    wp_resp_json(req, 201, o);
    json_object_put(o);
}

/* ---- GET /portal/api/qr?text= ----------------------------------------------- */

/* A QR code of a link the dashboard shows (a pass's share page) as an SVG image: drawn here,
 * so that the dashboard needs no encoder of its own and no third-party service sees the link. */
static void qr(wp_req *req, void *ud)
{
    (void)ud;
    static const char *const allowed[] = {"text", NULL};
    wp_err err;
    wp_err_clear(&err);
    char text[2100];
    int got;
    if (wp_req_query_check(req, allowed, &err) != WP_OK ||
        (got = wp_req_query(req, "text", text, sizeof text, &err)) < 0) {
        wp_resp_from_err(req, &err);
        return;
    }
    if (got == 0 || !text[0] || strlen(text) > 2048) {
        wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", "text",
                      "text must be 1 to 2048 bytes: the link to draw as a QR code");
        return;
    }
    char *svg = NULL;
    wp_status st = wp_qr_svg(text, "QR code of the link", &svg);
    if (st != WP_OK) {
        free(svg);
        if (st == WP_EINVAL)
            wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", "text", "text does not fit in a QR code");
        else
            wp_resp_error(req, 503, "api_error", "service_unavailable", NULL, "out of memory; try again");
        return;
    }
    wp_resp_header(req, "Content-Security-Policy", "default-src 'none'");
    wp_resp_header(req, "X-Content-Type-Options", "nosniff");
    wp_resp_header(req, "Cache-Control", "private, max-age=3600");
    wp_resp_raw(req, 200, "image/svg+xml", svg, strlen(svg));
    free(svg);
}

wp_status wp_portal_routes(wp_router *r, wp_domain *d, wp_err *err)
{
    if (!d->cfg->portal_enabled) return WP_OK;
    static const struct {
        const char *method, *pattern;
        wp_auth_kind auth;
        wp_handler_fn fn;
    } routes[] = {
        {"GET", "/portal/api/config", WP_AUTH_PUBLIC, get_config},
        {"POST", "/portal/api/signup", WP_AUTH_PUBLIC, signup},
        {"POST", "/portal/api/login", WP_AUTH_PUBLIC, login},
        {"POST", "/portal/api/logout", WP_AUTH_PORTAL, logout},
        {"GET", "/portal/api/session", WP_AUTH_PORTAL, get_session},
        {"PUT", "/portal/api/password", WP_AUTH_PORTAL, change_password},
        {"GET", "/portal/api/users", WP_AUTH_PORTAL, list_users},
        {"POST", "/portal/api/invites", WP_AUTH_PORTAL, create_invite},
        {"GET", "/portal/api/qr", WP_AUTH_PORTAL, qr},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        wp_status st = wp_router_add(r, routes[i].method, routes[i].pattern, routes[i].auth, routes[i].fn, d, "core", err);
        if (st != WP_OK) return st;
    }
    return WP_OK;
}
