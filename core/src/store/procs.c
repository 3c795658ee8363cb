/* procs.c - see procs.h. */
#include "procs.h"

#include <stdio.h>
#include <stdlib.h>

#include "db.h"

wp_status wp_procs_beat(PGconn *c, const char *owner, const char *host, long pid, int dead_after_s, int *live,
                        wp_err *err)
{
    char pidtxt[24], after[16];
    snprintf(pidtxt, sizeof pidtxt, "%ld", pid);
    snprintf(after, sizeof after, "%d", dead_after_s);
    const char *params[] = {owner, host, pidtxt, after};
    PGresult *r = NULL;
    /* The count cannot see the CTE's own insert (one snapshot): the others, plus this one. */
    wp_status st = wp_db_query(c,
                               "WITH b AS (INSERT INTO gateway_processes (owner, host, pid, expires_at)"
                               " VALUES ($1, $2, $3::int, now() + make_interval(secs => $4::int))"
                               " ON CONFLICT (owner) DO UPDATE SET heartbeat_at = now(),"
                               " expires_at = excluded.expires_at RETURNING 1)"
                               " SELECT (SELECT count(*) FROM gateway_processes WHERE expires_at > now()"
                               " AND owner <> $1) + (SELECT count(*) FROM b)",
                               4, params, &r, err);
    if (st != WP_OK) return st;
    long n = PQntuples(r) == 1 ? strtol(PQgetvalue(r, 0, 0), NULL, 10) : 1;
    PQclear(r);
    *live = n < 1 ? 1 : n > 1000000 ? 1000000 : (int)n;
    return WP_OK;
}

wp_status wp_procs_leave(PGconn *c, const char *owner, wp_err *err)
{
    const char *params[] = {owner};
    return wp_db_query(c, "DELETE FROM gateway_processes WHERE owner = $1", 1, params, NULL, err);
}
