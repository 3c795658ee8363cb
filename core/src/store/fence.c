/*
 * fence.c - see fence.h.
 *
 * Payloads on WP_FENCE_CHANNEL, all sent in their own transaction:
 *   "p <id> <n>"       a process's ping n (its lease, and that it is alive)
 *   "s <id> <n>"       a process's sync token n
 *   "a <id> <to> <n>"  process id has handled everything before token n of process to
 *   "x <what>"         an invalidation (the triggers of migrations/0018_cache_notify.sql)
 * A process id is 16 hex digits drawn at start.  Everything but the caller's
 * side of wp_fence_sync runs on the fence's one thread, which owns the
 * connection and the peer table; the mutex guards what callers share with it.
 */
#include "fence.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ids.h"
#include "log.h"

#define ID_LEN 16
#define MAX_PEERS 64
#define PING_RING 64
#define MAX_ACKS 16

typedef struct peer {
    char id[ID_LEN + 1];
    int64_t heard_ns; /* 0: slot free */
    uint64_t acked;   /* the highest of our tokens it acknowledged */
    int needed;       /* the token in progress waits for it */
} peer;

typedef struct pending_ack {
    char to[ID_LEN + 1];
    uint64_t n;
} pending_ack;

struct wp_fence {
    wp_db *db;
    char *direct_url;
    int64_t lease_ns;
    int delay_ms;
    wp_fence_fn fn;
    void *ud;
    char me[ID_LEN + 1];
    pthread_t thread;
    int pipefd[2];
    atomic_int stop;
    atomic_int listening;
    _Atomic int64_t caught_ns; /* when our latest returned ping was sent; 0: no lease */
    atomic_int npeers;
    atomic_ullong syncs, waited_out;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t want; /* callers' requests, numbered (mu) */
    uint64_t done; /* every request up to this one is covered (mu) */

    /* the thread's own */
    uint64_t ping_n;
    int64_t ping_sent[PING_RING];
    int64_t next_ping_ns;
    uint64_t tok_n;      /* the last token sent */
    uint64_t tok_covers; /* the requests it covers */
    int phase;           /* 0 none, 1 waiting for our own token, 2 waiting for acknowledgements */
    int64_t tok_t0, tok_deadline;
    int overflow; /* more peers than slots: a token can only end at its deadline */
    peer peers[MAX_PEERS];
    pending_ack acks[MAX_ACKS];
    int nacks;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int id_ok(const char *s, size_t n)
{
    if (n != ID_LEN) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return 1;
}

/* Waits up to ms for the pipe; returns 1 when asked to stop. */
static int nap(wp_fence *f, int ms)
{
    struct pollfd pf = {.fd = f->pipefd[0], .events = POLLIN};
    poll(&pf, 1, ms);
    return atomic_load(&f->stop);
}

static void drain_pipe(wp_fence *f)
{
    char b[64];
    while (read(f->pipefd[0], b, sizeof b) > 0) {
    }
}

/* ---- peers --------------------------------------------------------------- */

static peer *peer_find(wp_fence *f, const char *id, int add, int64_t now)
{
    peer *free_slot = NULL;
    for (int i = 0; i < MAX_PEERS; i++) {
        peer *p = &f->peers[i];
        if (p->heard_ns && strcmp(p->id, id) == 0) return p;
        /* a peer silent for longer than a lease holds none of ours: its slot may go */
        if (!free_slot && (!p->heard_ns || (now - p->heard_ns > 2 * f->lease_ns && !p->needed))) free_slot = p;
    }
    if (!add) return NULL;
    if (!free_slot) {
        f->overflow = 1;
        return NULL;
    }
    memset(free_slot, 0, sizeof *free_slot);
    memcpy(free_slot->id, id, ID_LEN + 1);
    return free_slot;
}

static void peers_count(wp_fence *f, int64_t now)
{
    int n = 0;
    for (int i = 0; i < MAX_PEERS; i++)
        if (f->peers[i].heard_ns && now - f->peers[i].heard_ns <= f->lease_ns) n++;
    atomic_store(&f->npeers, n);
}

/* ---- the token in progress ---------------------------------------------- */

static void token_complete(wp_fence *f)
{
    pthread_mutex_lock(&f->mu);
    if (f->tok_covers > f->done) f->done = f->tok_covers;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    f->phase = 0;
    for (int i = 0; i < MAX_PEERS; i++) f->peers[i].needed = 0;
}

/* Phase 2: the token is back; wait for every peer heard from within a lease of it. */
static void token_returned(wp_fence *f)
{
    int waiting = 0;
    for (int i = 0; i < MAX_PEERS; i++) {
        peer *p = &f->peers[i];
        p->needed = p->heard_ns && p->heard_ns >= f->tok_t0 - f->lease_ns && p->acked < f->tok_n;
        waiting += p->needed;
    }
    if (!waiting && !f->overflow) token_complete(f);
    else f->phase = 2;
}

static void token_check_acks(wp_fence *f)
{
    if (f->phase != 2 || f->overflow) return;
    for (int i = 0; i < MAX_PEERS; i++)
        if (f->peers[i].needed) return;
    token_complete(f);
}

/* ---- notifications -------------------------------------------------------- */

static void handle(wp_fence *f, const char *s, int64_t now)
{
    char kind = s[0];
    if (kind == 'x' && s[1] == ' ') {
        f->fn(f->ud, s + 2);
        return;
    }
    if ((kind != 'p' && kind != 's' && kind != 'a') || s[1] != ' ') return;
    const char *id = s + 2;
    if (strlen(id) < ID_LEN + 2 || id[ID_LEN] != ' ' || !id_ok(id, ID_LEN)) return;
    char who[ID_LEN + 1];
    memcpy(who, id, ID_LEN);
    who[ID_LEN] = '\0';
    const char *rest = id + ID_LEN + 1;
    char to[ID_LEN + 1] = "";
    if (kind == 'a') {
        if (strlen(rest) < ID_LEN + 2 || rest[ID_LEN] != ' ' || !id_ok(rest, ID_LEN)) return;
        memcpy(to, rest, ID_LEN);
        to[ID_LEN] = '\0';
        rest += ID_LEN + 1;
    }
    char *end;
    unsigned long long n = strtoull(rest, &end, 10);
    if (end == rest || *end) return;
    int mine = strcmp(who, f->me) == 0;
    if (mine) {
        if (kind == 'p' && n <= f->ping_n && f->ping_n - n < PING_RING) {
            int64_t sent = f->ping_sent[n % PING_RING];
            if (sent > atomic_load(&f->caught_ns)) atomic_store(&f->caught_ns, sent);
        } else if (kind == 's' && f->phase == 1 && n == f->tok_n) {
            token_returned(f);
        }
        return;
    }
    peer *p = peer_find(f, who, 1, now);
    if (p) p->heard_ns = now;
    if (kind == 's') {
        /* acknowledged once this batch is handled: everything before the token is then */
        int i;
        for (i = 0; i < f->nacks && strcmp(f->acks[i].to, who) != 0; i++) {
        }
        if (i == f->nacks && f->nacks < MAX_ACKS) memcpy(f->acks[f->nacks++].to, who, ID_LEN + 1);
        if (i < MAX_ACKS) f->acks[i].n = n;
    } else if (kind == 'a' && p && strcmp(to, f->me) == 0) {
        if (n > p->acked) p->acked = n;
        if (p->needed && p->acked >= f->tok_n) p->needed = 0;
    }
}

/* Runs one statement of pg_notify calls on the fence's connection. */
static int notify(PGconn *c, const char *const *payloads, int n)
{
    char sql[64 + MAX_ACKS * 40];
    size_t len = (size_t)snprintf(sql, sizeof sql, "SELECT ");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(sql + len, sizeof sql - len, "%spg_notify('" WP_FENCE_CHANNEL "', $%d)", i ? "," : "",
                                i + 1);
    PGresult *r = PQexecParams(c, sql, n, NULL, payloads, NULL, NULL, 0);
    int ok = r && PQresultStatus(r) == PGRES_TUPLES_OK;
    if (r) PQclear(r);
    return ok;
}

/* Hands over every notification libpq holds, then sends the acknowledgements they call for.
 * 0 when the connection failed. */
static int drain(wp_fence *f, PGconn *c)
{
    for (;;) {
        PGnotify *nt;
        int64_t now = now_ns();
        while ((nt = PQnotifies(c)) != NULL) {
            handle(f, nt->extra ? nt->extra : "", now);
            PQfreemem(nt);
        }
        token_check_acks(f);
        if (!f->nacks) return 1;
        char bufs[MAX_ACKS][64];
        const char *payloads[MAX_ACKS];
        for (int i = 0; i < f->nacks; i++) {
            snprintf(bufs[i], sizeof bufs[i], "a %s %s %llu", f->me, f->acks[i].to, (unsigned long long)f->acks[i].n);
            payloads[i] = bufs[i];
        }
        int n = f->nacks;
        f->nacks = 0;
        if (!notify(c, payloads, n)) return 0;
    }
}

static int send_ping(wp_fence *f, PGconn *c)
{
    uint64_t n = ++f->ping_n;
    char buf[64];
    snprintf(buf, sizeof buf, "p %s %llu", f->me, (unsigned long long)n);
    const char *pl[] = {buf};
    f->ping_sent[n % PING_RING] = now_ns(); /* before the send: the lease never starts late */
    f->next_ping_ns = f->ping_sent[n % PING_RING] + f->lease_ns / 4;
    return notify(c, pl, 1) && drain(f, c);
}

static int send_token(wp_fence *f, PGconn *c)
{
    pthread_mutex_lock(&f->mu);
    uint64_t covers = f->want;
    pthread_mutex_unlock(&f->mu);
    uint64_t n = ++f->tok_n;
    char buf[64];
    snprintf(buf, sizeof buf, "s %s %llu", f->me, (unsigned long long)n);
    const char *pl[] = {buf};
    f->tok_covers = covers;
    f->tok_t0 = now_ns();
    f->tok_deadline = f->tok_t0 + f->lease_ns;
    f->phase = 1;
    if (!notify(c, pl, 1)) return 0;
    return drain(f, c);
}

static PGconn *fence_conn(wp_fence *f)
{
    wp_err err;
    wp_err_clear(&err);
    PGconn *c = f->direct_url ? wp_db_connect_url(f->direct_url, "walletpass-fence", &err)
                              : wp_db_connect_raw(f->db, &err);
    if (!c) return NULL;
    /* Its pings, tokens and acknowledgements need no durability, only commit order: they are
     * delivered at commit whether or not the commit record has reached the disk yet. */
    if (wp_db_query(c, "SET synchronous_commit = off", 0, NULL, NULL, &err) != WP_OK ||
        wp_db_query(c, "LISTEN " WP_FENCE_CHANNEL, 0, NULL, NULL, &err) != WP_OK) {
        wp_log_warn("cache fence: LISTEN failed: %s", err.msg);
        PQfinish(c);
        return NULL;
    }
    return c;
}

static void lost(wp_fence *f, PGconn **c)
{
    atomic_store(&f->listening, 0);
    atomic_store(&f->caught_ns, 0);
    if (*c) PQfinish(*c);
    *c = NULL;
    f->phase = 0; /* the token may be lost: sent again once connected */
    f->nacks = 0;
}

static void *fence_main(void *arg)
{
    wp_fence *f = arg;
    PGconn *c = NULL;
    int warned = 0;
    while (!atomic_load(&f->stop)) {
        if (!c) {
            c = fence_conn(f);
            if (!c) {
                if (!warned) wp_log_warn("cache fence: cannot listen on " WP_FENCE_CHANNEL "; retrying every second");
                warned = 1;
                if (nap(f, 1000)) break;
                continue;
            }
            if (warned) wp_log_info("cache fence: listening again");
            warned = 0;
            atomic_store(&f->listening, 1);
            f->fn(f->ud, NULL); /* anything may have changed while nobody listened */
            if (!send_ping(f, c)) {
                lost(f, &c);
                continue;
            }
        }
        int64_t now = now_ns(), wake = f->next_ping_ns;
        if (f->phase && f->tok_deadline < wake) wake = f->tok_deadline;
        int timeout = wake > now ? (int)((wake - now) / 1000000 + 1) : 0;
        if (timeout > 1000) timeout = 1000;
        struct pollfd pf[2] = {{.fd = f->pipefd[0], .events = POLLIN}, {.fd = PQsocket(c), .events = POLLIN}};
        int pr = poll(pf, 2, timeout);
        if (atomic_load(&f->stop)) break;
        if (pr > 0 && (pf[0].revents & POLLIN)) drain_pipe(f);
        if (pr > 0 && (pf[1].revents & (POLLIN | POLLERR | POLLHUP))) {
            if (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK) {
                wp_log_warn("cache fence: connection lost; reconnecting (nothing is served from memory meanwhile)");
                lost(f, &c);
                continue;
            }
            if (f->delay_ms > 0 && nap(f, f->delay_ms)) break;
            if (!PQconsumeInput(c) || !drain(f, c)) {
                lost(f, &c);
                continue;
            }
        }
        now = now_ns();
        if (f->phase && now >= f->tok_deadline) token_complete(f); /* the lease covers whoever did not answer */
        if (now >= f->next_ping_ns && !send_ping(f, c)) {
            lost(f, &c);
            continue;
        }
        pthread_mutex_lock(&f->mu);
        int more = !f->phase && f->want > f->done;
        pthread_mutex_unlock(&f->mu);
        if (more && !send_token(f, c)) {
            lost(f, &c);
            continue;
        }
        peers_count(f, now);
    }
    atomic_store(&f->listening, 0);
    atomic_store(&f->caught_ns, 0);
    if (c) PQfinish(c);
    pthread_mutex_lock(&f->mu);
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

/* ---- the callers' side ----------------------------------------------------- */

wp_status wp_fence_start(wp_db *db, const wp_fence_options *o, wp_fence_fn fn, void *ud, wp_fence **out, wp_err *err)
{
    *out = NULL;
    if (o->lease_ms < 1) return wp_err_param(err, WP_EINVAL, "cache.lease_ms", "cache.lease_ms must be positive");
    wp_fence *f = calloc(1, sizeof *f);
    if (!f) return wp_err_set(err, WP_ENOMEM, "out of memory");
    unsigned char rnd[ID_LEN / 2];
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        free(f);
        return wp_err_set(err, WP_ECRYPTO, "cache fence: no randomness for the process id");
    }
    wp_hex(rnd, ID_LEN / 2, f->me);
    f->db = db;
    f->lease_ns = (int64_t)o->lease_ms * 1000000LL;
    f->delay_ms = o->test_delay_ms;
    f->fn = fn;
    f->ud = ud;
    if (o->direct_url && !(f->direct_url = strdup(o->direct_url))) {
        free(f);
        return wp_err_set(err, WP_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    if (pipe(f->pipefd) != 0) {
        free(f->direct_url);
        free(f);
        return wp_err_set(err, WP_EIO, "cache fence: pipe failed");
    }
    fcntl(f->pipefd[0], F_SETFL, O_NONBLOCK);
    fcntl(f->pipefd[1], F_SETFL, O_NONBLOCK);
    if (pthread_create(&f->thread, NULL, fence_main, f) != 0) {
        close(f->pipefd[0]);
        close(f->pipefd[1]);
        free(f->direct_url);
        free(f);
        return wp_err_set(err, WP_EIO, "cache fence: cannot start its thread");
    }
    *out = f;
    return WP_OK;
}

void wp_fence_stop(wp_fence *f)
{
    if (!f) return;
    atomic_store(&f->stop, 1);
    ssize_t w = write(f->pipefd[1], "x", 1);
    (void)w;
    pthread_join(f->thread, NULL);
    close(f->pipefd[0]);
    close(f->pipefd[1]);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f->direct_url);
    free(f);
}

int wp_fence_leased(wp_fence *f)
{
    if (!f) return 0;
    int64_t caught = atomic_load_explicit(&f->caught_ns, memory_order_acquire);
    return caught > 0 && now_ns() - caught <= f->lease_ns;
}

int wp_fence_sync(wp_fence *f)
{
    if (!f) return 1;
    int64_t deadline = now_ns() + f->lease_ns;
    pthread_mutex_lock(&f->mu);
    uint64_t mine = ++f->want;
    pthread_mutex_unlock(&f->mu);
    ssize_t w = write(f->pipefd[1], "s", 1); /* a full pipe already wakes the thread */
    (void)w;
    pthread_mutex_lock(&f->mu);
    while (f->done < mine && !atomic_load(&f->stop)) {
        int64_t left = deadline - now_ns();
        if (left <= 0) break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t step = left < 50000000LL ? left : 50000000LL; /* the realtime clock may jump: re-check often */
        ts.tv_sec += (time_t)(step / 1000000000LL);
        ts.tv_nsec += (long)(step % 1000000000LL);
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&f->cv, &f->mu, &ts);
    }
    int ok = f->done >= mine;
    pthread_mutex_unlock(&f->mu);
    atomic_fetch_add(&f->syncs, 1);
    if (!ok) {
        atomic_fetch_add(&f->waited_out, 1);
        /* stopping: nothing is served from memory any more in this process, but the others may be */
        int64_t left = deadline - now_ns();
        if (left > 0) {
            struct timespec ts = {.tv_sec = (time_t)(left / 1000000000LL), .tv_nsec = (long)(left % 1000000000LL)};
            nanosleep(&ts, NULL);
        }
    }
    return ok;
}

void wp_fence_stats_get(wp_fence *f, wp_fence_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!f) return;
    out->leased = wp_fence_leased(f);
    out->listening = atomic_load(&f->listening);
    out->peers = atomic_load(&f->npeers);
    out->syncs = atomic_load(&f->syncs);
    out->syncs_waited_out = atomic_load(&f->waited_out);
}
