/* idempotency.c - see idempotency.h. */
#include "idempotency.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "ids.h"
#include "log.h"
#include "http.h"

static int valid_key(const char *k)
{
    size_t n = strlen(k);
    if (n < 1 || n > 255) return 0;
    for (const char *p = k; *p; p++)
        if (*p < 0x21 || *p > 0x7e) return 0;
    return 1;
}

/* Marks a stored record whose response held a secret (a new API key, a
 * webhook signing secret): the response is never written to this table, so
 * the secret cannot be replayed or read from it. */
#define SECRET_MARK "-secret-"

/*
 * A response that carries a secret says so with "Cache-Control: no-store"
 * (core handlers and plugins alike: it is the one mark a plugin can set, and
 * a secret must stay out of every cache anyway).  Any Cache-Control header
 * whose directives include no-store counts, in any letter case.
 */
static int resp_holds_secret(const wp_req *req)
{
    const char *line = req->extra_headers;
    while (*line) {
        const char *end = strstr(line, "\r\n");
        size_t len = end ? (size_t)(end - line) : strlen(line);
        static const char name[] = "cache-control:";
        if (len > sizeof name - 1 && strncasecmp(line, name, sizeof name - 1) == 0) {
            for (const char *p = line + sizeof name - 1; p + 8 <= line + len; p++)
                if (strncasecmp(p, "no-store", 8) == 0) return 1;
        }
        if (!end) break;
        line = end + 2;
    }
    return 0;
}

/* Replays a stored response exactly, marking it as a replay. */
static void replay(wp_req *req, PGresult *r)
{
    if (!PQgetisnull(r, 0, 2) && strcmp(PQgetvalue(r, 0, 2), SECRET_MARK) == 0) {
        wp_resp_error(req, 409, "idempotency_error", "idempotency_response_secret", "Idempotency-Key",
                      "the first request with this Idempotency-Key succeeded and returned a secret, which is shown "
                      "only once; it is not repeated");
        return;
    }
    int status = atoi(PQgetvalue(r, 0, 1));
    size_t len = 0;
    unsigned char *body = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 3), &len);
    wp_resp_header(req, "Idempotent-Replayed", "true");
    wp_resp_raw(req, status, PQgetisnull(r, 0, 2) ? NULL : PQgetvalue(r, 0, 2), body ? (const char *)body : "",
                body ? len : 0);
    PQfreemem(body);
}

int wp_idem_before(wp_req *req)
{
    const char *key = wp_req_header(req, "Idempotency-Key");
    if (!key || strcmp(req->ri->request_method, "POST") != 0 || !req->account_id[0]) return 1;
    if (!valid_key(key)) {
        wp_resp_error(req, 400, "invalid_request_error", "parameter_invalid", "Idempotency-Key",
                      "Idempotency-Key must be 1 to 255 printable ASCII characters");
        return 0;
    }
    wp_err err;
    wp_err_clear(&err);
    const char *body;
    size_t len;
    if (wp_req_body(req, &body, &len, &err) != WP_OK) {
        wp_resp_from_err(req, &err);
        return 0;
    }
    char hash[65];
    wp_sha256_hex(body, len, hash);
    PGconn *db = wp_req_db(req, &err);
    if (!db) {
        wp_resp_from_err(req, &err);
        return 0;
    }
    const char *params[] = {req->account_id, req->api_key_id, req->ri->request_method, req->path, key, hash};
    PGresult *r;
    /* Insert, or take over an expired or abandoned record. */
    if (wp_db_query(db,
                    "INSERT INTO idempotency_keys (account_id, api_key_id, method, path, key, body_hash)"
                    " VALUES ($1, $2, $3, $4, $5, $6)"
                    " ON CONFLICT (account_id, api_key_id, method, path, key) DO UPDATE"
                    " SET body_hash = EXCLUDED.body_hash, status = 0, content_type = NULL, response = NULL,"
                    "     created_at = now()"
                    " WHERE idempotency_keys.created_at < now() - interval '24 hours'"
                    "    OR (idempotency_keys.status = 0 AND idempotency_keys.created_at < now() - interval '"
                    "120 seconds')"
                    " RETURNING 1",
                    6, params, &r, &err) != WP_OK) {
        wp_resp_from_err(req, &err);
        return 0;
    }
    int mine = PQntuples(r) == 1;
    PQclear(r);
    if (mine) {
        snprintf(req->idem_key, sizeof req->idem_key, "%s", key);
        req->idem_active = true;
        return 1;
    }
    if (wp_db_query(db,
                    "SELECT body_hash, status, content_type, response FROM idempotency_keys"
                    " WHERE account_id = $1 AND api_key_id = $2 AND method = $3 AND path = $4 AND key = $5",
                    5, params, &r, &err) != WP_OK) {
        wp_resp_from_err(req, &err);
        return 0;
    }
    if (PQntuples(r) != 1) { /* released meanwhile by a 5xx: ask the client to retry */
        PQclear(r);
        wp_resp_header(req, "Retry-After", "1");
        wp_resp_error(req, 409, "idempotency_error", "idempotency_key_in_use", "Idempotency-Key",
                      "a request with this Idempotency-Key just finished with an error; retry");
        return 0;
    }
    if (strcmp(PQgetvalue(r, 0, 0), hash) != 0) {
        PQclear(r);
        /* Malformed input is reported as such first (docs/api.md: 400/415 before 409). */
        json_object *doc = NULL;
        if (len > 0 && wp_req_json(req, &doc, &err) != WP_OK) {
            wp_resp_from_err(req, &err);
            return 0;
        }
        json_object_put(doc);
        wp_resp_error(req, 409, "idempotency_error", "idempotency_key_reused", "Idempotency-Key",
                      "this Idempotency-Key was used with a different request body in the last 24 hours");
        return 0;
    }
    if (strcmp(PQgetvalue(r, 0, 1), "0") == 0) {
        PQclear(r);
        wp_resp_header(req, "Retry-After", "1");
        wp_resp_error(req, 409, "idempotency_error", "idempotency_key_in_use", "Idempotency-Key",
                      "a request with this Idempotency-Key is still being processed");
        return 0;
    }
    replay(req, r);
    PQclear(r);
    return 0;
}

void wp_idem_after(wp_req *req)
{
    if (!req->idem_active) return;
    wp_err err;
    wp_err_clear(&err);
    PGconn *db = wp_req_db(req, &err);
    if (!db) {
        wp_log_warn("idempotency: response for key not stored: %s", err.msg);
        return;
    }
    /* A handler may leave its transaction open on an error path: end it first. */
    if (PQtransactionStatus(db) != PQTRANS_IDLE) wp_db_rollback(db);
    const char *params[7] = {req->account_id, req->api_key_id, req->ri->request_method, req->path, req->idem_key};
    wp_status st;
    if (req->status >= 500 || !req->capture) {
        st = wp_db_query(db,
                         "DELETE FROM idempotency_keys WHERE account_id = $1 AND api_key_id = $2 AND method = $3"
                         " AND path = $4 AND key = $5",
                         5, params, NULL, &err);
    } else {
        char status[16];
        snprintf(status, sizeof status, "%d", req->status);
        size_t elen = 0;
        int secret = resp_holds_secret(req);
        unsigned char *esc = secret ? NULL
                                    : PQescapeByteaConn(db, (const unsigned char *)req->capture, req->capture_len, &elen);
        params[5] = status;
        params[6] = esc ? (const char *)esc : "";
        const char *p8[8] = {params[0], params[1], params[2], params[3], params[4], status,
                             secret ? NULL : params[6],
                             secret ? SECRET_MARK : (req->capture_ctype[0] ? req->capture_ctype : NULL)};
        st = wp_db_query(db,
                         "UPDATE idempotency_keys SET status = $6::int, response = $7::bytea, content_type = $8"
                         " WHERE account_id = $1 AND api_key_id = $2 AND method = $3 AND path = $4 AND key = $5",
                         8, p8, NULL, &err);
        PQfreemem(esc);
    }
    if (st != WP_OK) wp_log_warn("idempotency: record not updated: %s", err.msg);
}
