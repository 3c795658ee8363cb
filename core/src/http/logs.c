/*
 * logs.c - GET /api/v1/logs: the caller's access log, filtered, as JSON
 * pages or as one CSV export.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "db.h"
#include "handler.h"
#include "http.h"
#include "timefmt.h"

#define CSV_MAX_ROWS 100000

typedef struct {
    char from[64], to[64], status[8], path_prefix[256], ip[64], method[16], format[8], kind[16];
    const char *after;
    int limit;
} log_filter;

/* The filters besides the page (wp_handler_page has read ?limit and ?starting_after). */
static wp_status parse_filter(wp_req *req, const wp_page *page, log_filter *f, wp_err *err)
{
    memset(f, 0, sizeof *f);
    f->limit = page->limit;
    f->after = page->after;
    struct { const char *name; char *buf; size_t len; } q[] = {
        {"from", f->from, sizeof f->from}, {"to", f->to, sizeof f->to}, {"status", f->status, sizeof f->status},
        {"path_prefix", f->path_prefix, sizeof f->path_prefix}, {"ip", f->ip, sizeof f->ip},
        {"method", f->method, sizeof f->method}, {"format", f->format, sizeof f->format},
        {"kind", f->kind, sizeof f->kind}};
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
        if (wp_req_query(req, q[i].name, q[i].buf, q[i].len, err) < 0) return WP_EINVAL;
    if (f->from[0] && !wp_iso8601_valid(f->from))
        return wp_err_param(err, WP_EINVAL, "from", "from must be an ISO 8601 timestamp (2025-06-01T12:00:00Z)");
    if (f->to[0] && !wp_iso8601_valid(f->to))
        return wp_err_param(err, WP_EINVAL, "to", "to must be an ISO 8601 timestamp (2025-06-01T12:00:00Z)");
    if (f->status[0]) {
        /* "404" or a class: "4xx" */
        const char *s = f->status;
        int ok = strlen(s) == 3 && s[0] >= '1' && s[0] <= '5' &&
                 ((s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9') || (s[1] == 'x' && s[2] == 'x'));
        if (!ok) return wp_err_param(err, WP_EINVAL, "status", "status must be a code (404) or a class (4xx)");
    }
    if (f->after[0] && (strncmp(f->after, "log_", 4) != 0 || !f->after[4] ||
                        strspn(f->after + 4, "0123456789") != strlen(f->after + 4) || strlen(f->after) > 22))
        return wp_err_param(err, WP_EINVAL, "starting_after", "starting_after must be a log id (log_123)");
    if (f->kind[0] && strcmp(f->kind, "api") != 0 && strcmp(f->kind, "portal") != 0 && strcmp(f->kind, "login") != 0)
        return wp_err_param(err, WP_EINVAL, "kind", "kind must be api, portal or login");
    if (f->format[0] && strcmp(f->format, "csv") != 0 && strcmp(f->format, "json") != 0)
        return wp_err_param(err, WP_EINVAL, "format", "format must be json or csv");
    return WP_OK;
}

static void csv_field(char **buf, size_t *len, size_t *cap, const char *s, int last)
{
    size_t need = strlen(s) * 2 + 4;
    if (*len + need >= *cap) {
        size_t nc = (*cap + need) * 2;
        char *nb = realloc(*buf, nc);
        if (!nb) return;
        *buf = nb;
        *cap = nc;
    }
    char *p = *buf + *len;
    *p++ = '"';
    for (; *s; s++) {
        if (*s == '"') *p++ = '"';
        *p++ = *s;
    }
    *p++ = '"';
    *p++ = last ? '\n' : ',';
    *len = (size_t)(p - *buf);
}

static void list_logs(wp_req *req, void *ud)
{
    (void)ud;
    static const char *const allowed[] = {"from", "to", "status", "path_prefix", "ip", "method",
                                          "limit", "starting_after", "format", "kind", NULL};
    wp_page page;
    if (!wp_handler_page(req, allowed, NULL, NULL, &page, NULL)) return;
    wp_err err;
    wp_err_clear(&err);
    log_filter f;
    PGconn *db = NULL;
    if (parse_filter(req, &page, &f, &err) != WP_OK || !(db = wp_req_db(req, &err))) {
        wp_handler_fail(req, &err);
        return;
    }
    int csv = strcmp(f.format, "csv") == 0;
    char lim[16], status_lo[8] = "", status_hi[8] = "";
    int rows = csv ? CSV_MAX_ROWS : f.limit + 1;
    snprintf(lim, sizeof lim, "%d", rows);
    if (f.status[0]) {
        if (f.status[1] == 'x') {
            snprintf(status_lo, sizeof status_lo, "%c00", f.status[0]);
            snprintf(status_hi, sizeof status_hi, "%c99", f.status[0]);
        } else {
            snprintf(status_lo, sizeof status_lo, "%s", f.status);
            snprintf(status_hi, sizeof status_hi, "%s", f.status);
        }
    }
    /* LIKE wildcards in the prefix are escaped so it matches literally. */
    char like[600] = "";
    if (f.path_prefix[0]) {
        size_t o = 0;
        for (const char *s = f.path_prefix; *s && o < sizeof like - 3; s++) {
            if (*s == '%' || *s == '_' || *s == '\\') like[o++] = '\\';
            like[o++] = *s;
        }
        like[o++] = '%';
        like[o] = '\0';
    }
    const char *params[] = {req->account_id, f.from[0] ? f.from : NULL, f.to[0] ? f.to : NULL,
                            status_lo[0] ? status_lo : NULL, status_hi[0] ? status_hi : NULL,
                            like[0] ? like : NULL, f.ip[0] ? f.ip : NULL, f.method[0] ? f.method : NULL,
                            f.after[0] ? f.after + 4 : NULL, lim, f.kind[0] ? f.kind : NULL};
    PGresult *r;
    if (wp_db_query(db,
                    "SELECT id, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), ip, method, path,"
                    " status, latency_us, key_prefix, request_id, kind, agency_account_id FROM access_logs"
                    " WHERE account_id = $1"
                    " AND ($2::timestamptz IS NULL OR ts >= $2::timestamptz)"
                    " AND ($3::timestamptz IS NULL OR ts < $3::timestamptz)"
                    " AND ($4::int IS NULL OR status BETWEEN $4::int AND $5::int)"
                    " AND ($6::text IS NULL OR path LIKE $6)"
                    " AND ($7::text IS NULL OR ip = $7)"
                    " AND ($8::text IS NULL OR method = upper($8))"
                    " AND ($9::bigint IS NULL OR id < $9::bigint)"
                    " AND ($11::text IS NULL OR kind = $11)"
                    " ORDER BY id DESC LIMIT $10::int",
                    11, params, &r, &err) != WP_OK) {
        wp_handler_fail(req, &err);
        return;
    }
    int n = PQntuples(r);
    if (csv) {
        size_t cap = 4096 + (size_t)n * 160, len = 0;
        char *buf = malloc(cap);
        if (!buf) {
            PQclear(r);
            wp_resp_error(req, 500, "api_error", "internal_error", NULL, "out of memory");
            return;
        }
        len = (size_t)snprintf(buf, cap, "id,time,ip,method,path,status,latency_ms,key_prefix,request_id,kind\n");
        for (int i = 0; i < n; i++) {
            char id[32], lat[32];
            snprintf(id, sizeof id, "log_%s", PQgetvalue(r, i, 0));
            snprintf(lat, sizeof lat, "%.3f", atof(PQgetvalue(r, i, 6)) / 1000.0);
            const char *cols[] = {id, PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
                                  PQgetvalue(r, i, 4), PQgetvalue(r, i, 5), lat, PQgetvalue(r, i, 7),
                                  PQgetvalue(r, i, 8), PQgetvalue(r, i, 9)};
            for (int c = 0; c < 10; c++) csv_field(&buf, &len, &cap, cols[c], c == 9);
        }
        PQclear(r);
        wp_resp_header(req, "Content-Disposition", "attachment; filename=\"walletpass-logs.csv\"");
        wp_resp_raw(req, 200, "text/csv; charset=utf-8", buf, len);
        free(buf);
        return;
    }
    json_object *data = json_object_new_array();
    for (int i = 0; i < n && i < f.limit; i++) {
        json_object *o = json_object_new_object();
        char id[32];
        snprintf(id, sizeof id, "log_%s", PQgetvalue(r, i, 0));
        json_object_object_add(o, "id", json_object_new_string(id));
        json_object_object_add(o, "time", json_object_new_string(PQgetvalue(r, i, 1)));
        json_object_object_add(o, "ip", json_object_new_string(PQgetvalue(r, i, 2)));
        json_object_object_add(o, "method", json_object_new_string(PQgetvalue(r, i, 3)));
        json_object_object_add(o, "path", json_object_new_string(PQgetvalue(r, i, 4)));
        json_object_object_add(o, "status", json_object_new_int(atoi(PQgetvalue(r, i, 5))));
        json_object_object_add(o, "latency_ms", json_object_new_double(atof(PQgetvalue(r, i, 6)) / 1000.0));
        json_object_object_add(o, "key_prefix",
                               PQgetisnull(r, i, 7) ? NULL : json_object_new_string(PQgetvalue(r, i, 7)));
        json_object_object_add(o, "request_id", json_object_new_string(PQgetvalue(r, i, 8)));
        json_object_object_add(o, "kind", json_object_new_string(PQgetvalue(r, i, 9)));
        /* set when an agency's key acted on this sub-account (WalletPass-Account) */
        json_object_object_add(o, "agency_account_id",
                               PQgetisnull(r, i, 10) ? NULL : json_object_new_string(PQgetvalue(r, i, 10)));
        json_object_array_add(data, o);
    }
    PQclear(r);
    wp_handler_send_list(req, data, n > f.limit);
}

wp_status wp_logs_routes(wp_router *rt, wp_err *err)
{
    return wp_router_add(rt, "GET", "/api/v1/logs", WP_AUTH_API_KEY, list_logs, NULL, "core", err);
}
