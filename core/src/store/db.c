/*
 * db.c - a mutex + condition-variable pool of PGconn slots.
 *
 * Slots are handed out LIFO so a lightly loaded gateway keeps reusing the
 * same warm connections.  Health is checked on acquire (PQstatus) and after
 * every failed statement, which is what lets the pool ride out a database
 * restart: a dead connection is reset once, then the error reaches the caller.
 *
 * Connections get TCP keepalives and a TCP user timeout unless the URL sets
 * them, so a database host that vanishes (power, network partition, a
 * failover that moves the address) is noticed in about a minute instead of
 * the kernel's two hours of silence or fifteen minutes of retransmits.
 *
 * Errors that mean "the database cannot be reached" say only that: libpq's
 * text names the host, port and reason, which is for the operator's log
 * (written here, at most once a second), not for API clients.
 */
#include "db.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

/*
 * Dead-peer detection (seconds unless named): probes after 30 s idle, every
 * 10 s, 3 unanswered end it; unacknowledged data ends it after 30 s
 * (tcp_user_timeout, libpq 12 and later).  Only keywords this libpq knows are
 * used, and they come before the URL, whose own values win.
 */
static const char *const tcp_keys[] = {"keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
                                       "tcp_user_timeout"};
static const char *const tcp_vals[] = {"1", "30", "10", "3", "30000"};
#define NTCP (sizeof tcp_keys / sizeof tcp_keys[0])

struct wp_db {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    PGconn **free_conns;   /* stack of idle connections (may hold NULL: not yet opened) */
    int nfree;
    int size;
    int in_use;
    int acquire_timeout_ms;
    char connect_timeout[16]; /* seconds, as libpq's text */
    char *conninfo_url;
    char options[128];     /* "": none (transaction pooling) */
    char appname[64];
    bool transaction_pooling;
    bool tcp_known[NTCP];  /* which of tcp_keys this libpq accepts */
    int max_prepared;      /* per connection; 0: pooled connections run statements unnamed */
};

static void first_line(char *dst, size_t n, const char *msg)
{
    snprintf(dst, n, "%s", msg ? msg : "");
    char *nl = strchr(dst, '\n');
    if (nl) *nl = '\0';
}

#define DB_UNAVAILABLE "the database is unavailable; try again"

/* Logs why the database cannot be reached; while it is down every request
 * fails alike, so one line a second at most, counting the ones left out. */
static void log_unavailable(const char *detail)
{
    static atomic_llong last_s;
    static atomic_int skipped;
    long long now = (long long)time(NULL), prev = atomic_load(&last_s);
    if (now <= prev || !atomic_compare_exchange_strong(&last_s, &prev, now)) {
        atomic_fetch_add(&skipped, 1);
        return;
    }
    int n = atomic_exchange(&skipped, 0);
    if (n) wp_log_warn("database unavailable: %s (and %d more failures not logged)", detail, n);
    else wp_log_warn("database unavailable: %s", detail);
}

static wp_status unavailable(wp_err *err, const char *libpq_msg)
{
    char line[300];
    first_line(line, sizeof line, libpq_msg);
    log_unavailable(line);
    return wp_err_set(err, WP_EUNAVAIL, DB_UNAVAILABLE);
}


static int libpq_knows(const char *keyword)
{
    PQconninfoOption *opts = PQconndefaults();
    int found = 0;
    for (PQconninfoOption *o = opts; o && o->keyword && !found; o++) found = strcmp(o->keyword, keyword) == 0;
    PQconninfoFree(opts);
    return found;
}

/* The keywords and values every connection is opened with; returns how many (NULL-terminated). */
static size_t conn_params(const wp_db *db, const char **keys, const char **vals)
{
    size_t n = 0;
    for (size_t i = 0; i < NTCP; i++) {
        if (!db->tcp_known[i]) continue;
        keys[n] = tcp_keys[i];
        vals[n++] = tcp_vals[i];
    }
    /* Before dbname, like the keepalives: a connect_timeout in the database URL overrides
     * database.connect_timeout_seconds. */
    keys[n] = "connect_timeout";
    vals[n++] = db->connect_timeout;
    const char *rest_k[] = {"dbname", "options", "application_name"};
    const char *rest_v[] = {db->conninfo_url, db->options, db->appname};
    for (size_t i = 0; i < 3; i++) {
        keys[n] = rest_k[i];
        vals[n++] = rest_v[i];
    }
    keys[n] = vals[n] = NULL;
    return n;
}

#define NPARAMS (NTCP + 5)

static PGconn *open_conn(wp_db *db, wp_err *err)
{
    const char *keys[NPARAMS], *vals[NPARAMS];
    conn_params(db, keys, vals);
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        unavailable(err, c ? PQerrorMessage(c) : "out of memory");
        if (c) PQfinish(c);
        return NULL;
    }
    /* Through a pooler the session's TimeZone cannot be set; timestamps are read and
     * written as UTC text, so the server's (or the pooler's) own setting must be UTC. */
    const char *tz = db->transaction_pooling ? PQparameterStatus(c, "TimeZone") : NULL;
    if (tz && strcmp(tz, "UTC") != 0 && strcmp(tz, "Etc/UTC") != 0) {
        wp_err_set(err, WP_ECONFIG,
                   "database.transaction_pooling: the database's TimeZone is \"%.60s\", not UTC; set timezone=UTC "
                   "on the PgBouncer database entry or ALTER ROLE ... SET TimeZone = 'UTC' (docs/operations.md)",
                   tz);
        PQfinish(c);
        return NULL;
    }
    return c;
}


/* ---- prepared statements of pooled connections --------------------------
 *
 * A statement run on a pooled connection is prepared there the first time
 * and executed by name afterwards: PostgreSQL then parses and plans it once
 * per connection instead of on every call, which for the short reads of the
 * hot paths is most of their cost.  Preparing cannot fail where running the
 * same text with PQexecParams would not (that parses it too), so a caller
 * sees the same results and errors.  Only connections of a pool are
 * registered (added when opened, removed before PQfinish); any other
 * connection runs statements unnamed, as before.  A connection's statements
 * are forgotten when it reconnects (another backend) and bounded in number
 * (database.prepared_statements; beyond it, statements run unnamed).
 */
#define STMT_BUCKETS 256
#define MAX_CONNS 4096

typedef struct stmt {
    struct stmt *next;
    uint64_t hash;
    int id;
    char sql[];
} stmt;

typedef struct conn_stmts {
    PGconn *conn;
    int pid;          /* the backend the statements were prepared on */
    int n, max;
    stmt *buckets[STMT_BUCKETS];
} conn_stmts;

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static conn_stmts *reg[MAX_CONNS];

static void stmts_clear(conn_stmts *cs)
{
    for (int b = 0; b < STMT_BUCKETS; b++) {
        while (cs->buckets[b]) {
            stmt *x = cs->buckets[b];
            cs->buckets[b] = x->next;
            free(x);
        }
    }
    cs->n = 0;
}

static void reg_add(PGconn *c, int max)
{
    conn_stmts *cs = calloc(1, sizeof *cs);
    if (!cs) return; /* unregistered: statements run unnamed */
    cs->conn = c;
    cs->max = max;
    cs->pid = PQbackendPID(c);
    pthread_mutex_lock(&reg_mu);
    for (int i = 0; i < MAX_CONNS; i++) {
        if (!reg[i]) {
            reg[i] = cs;
            cs = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&reg_mu);
    free(cs);
}

static void reg_remove(PGconn *c)
{
    conn_stmts *cs = NULL;
    pthread_mutex_lock(&reg_mu);
    for (int i = 0; i < MAX_CONNS; i++) {
        if (reg[i] && reg[i]->conn == c) {
            cs = reg[i];
            reg[i] = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&reg_mu);
    if (cs) {
        stmts_clear(cs);
        free(cs);
    }
}

/* The registry entry of c, or NULL.  Only the thread holding c uses the entry's statements. */
static conn_stmts *reg_find(PGconn *c)
{
    conn_stmts *cs = NULL;
    pthread_mutex_lock(&reg_mu);
    for (int i = 0; i < MAX_CONNS && !cs; i++)
        if (reg[i] && reg[i]->conn == c) cs = reg[i];
    pthread_mutex_unlock(&reg_mu);
    return cs;
}

static uint64_t sql_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void finish_conn(PGconn *c)
{
    reg_remove(c);
    PQfinish(c);
}

/* Runs sql as a prepared statement of cs's connection (preparing it first when new). */
static PGresult *exec_prepared(conn_stmts *cs, PGconn *conn, const char *sql, int nparams, const char *const *params)
{
    if (cs->pid != PQbackendPID(conn)) { /* reconnected: a new backend knows none of them */
        stmts_clear(cs);
        cs->pid = PQbackendPID(conn);
    }
    uint64_t h = sql_hash(sql);
    stmt *x = cs->buckets[h % STMT_BUCKETS];
    while (x && (x->hash != h || strcmp(x->sql, sql) != 0)) x = x->next;
    char name[24];
    if (!x) {
        if (cs->n >= cs->max) return PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
        size_t len = strlen(sql);
        x = malloc(sizeof *x + len + 1);
        if (!x) return PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
        x->hash = h;
        x->id = cs->n;
        memcpy(x->sql, sql, len + 1);
        snprintf(name, sizeof name, "wp_s%d", x->id);
        PGresult *pr = PQprepare(conn, name, sql, nparams, NULL);
        if (!pr || PQresultStatus(pr) != PGRES_COMMAND_OK) {
            free(x);
            return pr; /* the same error running it would have given */
        }
        PQclear(pr);
        x->next = cs->buckets[h % STMT_BUCKETS];
        cs->buckets[h % STMT_BUCKETS] = x;
        cs->n++;
    }
    snprintf(name, sizeof name, "wp_s%d", x->id);
    return PQexecPrepared(conn, name, nparams, params, NULL, NULL, 0);
}

wp_status wp_db_open(const wp_db_options *opt, wp_db **out, wp_err *err)
{
    *out = NULL;
    if (!opt->url || !*opt->url)
        return wp_err_set(err, WP_ECONFIG, "database.url is not set (WALLETPASS_DATABASE_URL)");
    wp_db *db = calloc(1, sizeof *db);
    if (!db) return wp_err_set(err, WP_ENOMEM, "out of memory");
    db->size = opt->pool_size > 0 ? opt->pool_size : 8;
    db->free_conns = calloc((size_t)db->size, sizeof *db->free_conns);
    db->conninfo_url = strdup(opt->url);
    if (!db->free_conns || !db->conninfo_url) {
        free(db->free_conns);
        free(db->conninfo_url);
        free(db);
        return wp_err_set(err, WP_ENOMEM, "out of memory");
    }
    db->nfree = db->size; /* all slots idle, none opened yet */
    /* a transaction pooler does not keep a connection's prepared statements (config.c refuses both) */
    db->max_prepared = opt->max_prepared > 0 && !opt->transaction_pooling ? opt->max_prepared : 0;
    db->acquire_timeout_ms = opt->acquire_timeout_ms > 0 ? opt->acquire_timeout_ms : 5000;
    /* Under 2 libpq would use 2 anyway. 10 s: a backend fork on a host loaded far beyond its
     * cores can take several seconds, and this bounds only a connection being opened. */
    snprintf(db->connect_timeout, sizeof db->connect_timeout, "%d",
             opt->connect_timeout_s <= 0 ? 10 : opt->connect_timeout_s < 2 ? 2 : opt->connect_timeout_s);
    /* client_min_messages: NOTICEs ("already exists, skipping") are not for operators. */
    /* A transaction-pooling PgBouncer refuses "options" (and SET would not outlive the
     * transaction): the role's or the pooler's settings apply then (docs/operations.md). */
    db->transaction_pooling = opt->transaction_pooling;
    if (opt->transaction_pooling)
        db->options[0] = '\0';
    else
        snprintf(db->options, sizeof db->options,
                 "-c statement_timeout=%d -c TimeZone=UTC -c client_min_messages=warning", opt->statement_timeout_ms);
    snprintf(db->appname, sizeof db->appname, "%s", opt->application_name ? opt->application_name : "walletpass");
    for (size_t i = 0; i < NTCP; i++) db->tcp_known[i] = libpq_knows(tcp_keys[i]);
    pthread_mutex_init(&db->mu, NULL);
    pthread_cond_init(&db->cv, NULL);
    *out = db;
    return WP_OK;
}

void wp_db_close(wp_db *db)
{
    if (!db) return;
    for (int i = 0; i < db->nfree; i++)
        if (db->free_conns[i]) finish_conn(db->free_conns[i]);
    pthread_mutex_destroy(&db->mu);
    pthread_cond_destroy(&db->cv);
    free(db->free_conns);
    free(db->conninfo_url);
    free(db);
}

PGconn *wp_db_connect_raw(wp_db *db, wp_err *err) { return open_conn(db, err); }

PGconn *wp_db_connect_url(const char *url, const char *application_name, wp_err *err)
{
    const char *keys[] = {"dbname", "application_name", "options", NULL};
    const char *vals[] = {url, application_name, "-c TimeZone=UTC -c client_min_messages=warning", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        char line[300];
        snprintf(line, sizeof line, "%s", c ? PQerrorMessage(c) : "out of memory");
        line[strcspn(line, "\n")] = '\0';
        wp_err_set(err, WP_EUNAVAIL, "database unavailable: %s", line);
        if (c) PQfinish(c);
        return NULL;
    }
    return c;
}

PGconn *wp_db_acquire(wp_db *db, wp_err *err)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += db->acquire_timeout_ms / 1000;
    deadline.tv_nsec += (long)(db->acquire_timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&db->mu);
    while (db->nfree == 0) {
        if (pthread_cond_timedwait(&db->cv, &db->mu, &deadline) == ETIMEDOUT && db->nfree == 0) {
            pthread_mutex_unlock(&db->mu);
            wp_err_set(err, WP_EUNAVAIL, "database pool exhausted: no connection free within %d ms",
                       db->acquire_timeout_ms);
            return NULL;
        }
    }
    PGconn *c = db->free_conns[--db->nfree];
    db->in_use++;
    pthread_mutex_unlock(&db->mu);

    if (c && PQstatus(c) != CONNECTION_OK) {
        finish_conn(c);
        c = NULL;
    }
    if (!c) {
        c = open_conn(db, err);
        if (c && db->max_prepared > 0) reg_add(c, db->max_prepared);
    }
    if (!c) {
        pthread_mutex_lock(&db->mu);
        db->free_conns[db->nfree++] = NULL;
        db->in_use--;
        pthread_cond_signal(&db->cv);
        pthread_mutex_unlock(&db->mu);
    }
    return c;
}

void wp_db_release(wp_db *db, PGconn *conn)
{
    if (conn) {
        PGTransactionStatusType ts = PQtransactionStatus(conn);
        if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) wp_db_rollback(conn);
        if (PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) != PQTRANS_IDLE) {
            finish_conn(conn);
            conn = NULL;
        }
    }
    pthread_mutex_lock(&db->mu);
    db->free_conns[db->nfree++] = conn;
    db->in_use--;
    pthread_cond_signal(&db->cv);
    pthread_mutex_unlock(&db->mu);
}

wp_status wp_db_query(PGconn *conn, const char *sql, int nparams, const char *const *params,
                      PGresult **res, wp_err *err)
{
    if (res) *res = NULL;
    conn_stmts *cs = reg_find(conn);
    for (int attempt = 0;; attempt++) {
        bool idle = PQtransactionStatus(conn) == PQTRANS_IDLE;
        PGresult *r = cs ? exec_prepared(cs, conn, sql, nparams, params)
                         : PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
        ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            if (res) *res = r;
            else PQclear(r);
            return WP_OK;
        }
        if (PQstatus(conn) != CONNECTION_OK) {
            if (r) PQclear(r);
            /* A connection that died while idle (database restarted) is
             * safe to reopen and retry once: nothing of ours was lost. */
            if (attempt == 0 && idle) {
                PQreset(conn);
                if (PQstatus(conn) == CONNECTION_OK) continue;
            }
            return unavailable(err, PQerrorMessage(conn));
        }
        const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        if (cs && attempt == 0 && idle && state && strcmp(state, "0A000") == 0) {
            /* "cached plan must not change result type": a table changed under a prepared
             * statement (a migration while serving); forget them all and run it afresh */
            PQclear(r);
            PGresult *d = PQexec(conn, "DEALLOCATE ALL");
            if (d) PQclear(d);
            stmts_clear(cs);
            continue;
        }
        char line[300];
        first_line(line, sizeof line, r ? PQresultErrorMessage(r) : PQerrorMessage(conn));
        wp_status code = WP_EDB;
        if (state && strcmp(state, "23505") == 0) code = WP_ECONFLICT;
        else if (state && (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
                           strcmp(state, "57P03") == 0))
            code = WP_EUNAVAIL;
        if (code == WP_EUNAVAIL) unavailable(err, line);
        else wp_err_set(err, code, "database: %s", line);
        if (r) PQclear(r);
        return code;
    }
}

wp_status wp_db_begin(PGconn *conn, wp_err *err) { return wp_db_query(conn, "BEGIN", 0, NULL, NULL, err); }
wp_status wp_db_commit(PGconn *conn, wp_err *err) { return wp_db_query(conn, "COMMIT", 0, NULL, NULL, err); }

void wp_db_rollback(PGconn *conn)
{
    PGresult *r = PQexec(conn, "ROLLBACK");
    if (r) PQclear(r);
}

void wp_db_stats(wp_db *db, int *size, int *in_use, int *open)
{
    pthread_mutex_lock(&db->mu);
    *size = db->size;
    *in_use = db->in_use;
    int idle_open = 0;
    for (int i = 0; i < db->nfree; i++)
        if (db->free_conns[i]) idle_open++;
    *open = idle_open + db->in_use;
    pthread_mutex_unlock(&db->mu);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

PGconn *wp_db_acquire_waiting(wp_db *db, int wait_s, wp_err *err)
{
    double deadline = mono_s() + (wait_s > 0 ? wait_s : 0);
    bool said = false;
    for (;;) {
        PGconn *c = wp_db_acquire(db, err);
        if (c || wait_s <= 0) return c;
        const char *keys[NPARAMS], *vals[NPARAMS];
        conn_params(db, keys, vals);
        /* PQPING_OK here: the server answers but refused this connection (password, database,
         * a full max_connections); PQPING_NO_ATTEMPT: the URL itself is wrong. */
        PGPing p = PQpingParams(keys, vals, 1);
        if (p != PQPING_NO_RESPONSE && p != PQPING_REJECT) return NULL;
        double left = deadline - mono_s();
        if (left < 1) return NULL;
        if (!said) {
            wp_log_warn("waiting up to %d s for the database to accept connections (database.startup_wait_seconds)",
                        wait_s);
            said = true;
        }
        struct timespec one = {1, 0};
        nanosleep(&one, NULL);
        wp_err_clear(err);
    }
}

wp_status wp_db_ping(wp_db *db, wp_err *err)
{
    PGconn *c = wp_db_acquire(db, err);
    if (!c) return err ? err->status : WP_EUNAVAIL;
    wp_status st = wp_db_query(c, "SELECT 1", 0, NULL, NULL, err);
    wp_db_release(db, c);
    return st;
}
