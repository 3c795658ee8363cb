/*
 * accesslog.c - a ring buffer drained by one writer thread.
 *
 * The writer wakes every flush interval (or when a batch is full), copies
 * up to `batch` entries out under the lock, and inserts them with one
 * multi-row INSERT outside the lock.  While the database is down entries
 * stay queued (up to capacity) and are written when it returns.
 */
#include "accesslog.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "utf8.h"

#define NCOLS 11

struct wp_accesslog {
    wp_db *db;
    pthread_mutex_t mu;
    pthread_cond_t wake, idle;
    pthread_t thread;
    wp_access_entry *ring;
    size_t cap, head, count;
    int batch, flush_ms;
    int stopping, writing;
    unsigned long long dropped, flush_gen, done_gen;
};

/* Inserts n entries.  WP_EUNAVAIL (database down) is left to the caller,
 * which keeps the entries; any other failure is logged and they are lost. */
static wp_status insert_batch(wp_accesslog *al, wp_access_entry *e, int n)
{
    wp_err err;
    wp_err_clear(&err);
    PGconn *db = wp_db_acquire(al->db, &err);
    if (!db) return err.status;
    /* One row's placeholders take about 75 characters plus ten numbers of up to
     * five digits (batch <= 1000, so $10000 at most): 160 per row is enough. */
    size_t sqlcap = 256 + (size_t)n * 160;
    char *sql = malloc(sqlcap);
    const char **params = malloc(sizeof(char *) * (size_t)n * NCOLS);
    char (*nums)[3][24] = malloc(sizeof *nums * (size_t)n);
    if (!sql || !params || !nums) {
        free(sql);
        free(params);
        free(nums);
        wp_db_release(al->db, db);
        wp_log_warn("access log: out of memory, %d entries dropped", n);
        return WP_ENOMEM;
    }
    size_t len = (size_t)snprintf(sql, sqlcap,
                                  "INSERT INTO access_logs (ts, ip, method, path, status, latency_us, account_id,"
                                  " key_prefix, request_id, kind, agency_account_id) VALUES ");
    for (int i = 0; i < n; i++) {
        int b = i * NCOLS;
        len += (size_t)snprintf(sql + len, sqlcap - len,
                                "%s(to_timestamp($%d::double precision / 1000000),$%d,$%d,$%d,$%d::int,$%d::int,$%d,$%d,$%d,$%d,$%d)",
                                i ? "," : "", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8, b + 9, b + 10,
                                b + 11);
        snprintf(nums[i][0], 24, "%lld", (long long)e[i].ts_us);
        snprintf(nums[i][1], 24, "%d", e[i].status);
        snprintf(nums[i][2], 24, "%d", e[i].latency_us);
        params[b + 0] = nums[i][0];
        params[b + 1] = e[i].ip;
        params[b + 2] = e[i].method;
        params[b + 3] = e[i].path;
        params[b + 4] = nums[i][1];
        params[b + 5] = nums[i][2];
        params[b + 6] = e[i].account_id; /* '': not authenticated (migration 0017) */
        params[b + 7] = e[i].key_prefix[0] ? e[i].key_prefix : NULL;
        params[b + 8] = e[i].request_id;
        params[b + 9] = e[i].kind;
        params[b + 10] = e[i].agency_account_id[0] ? e[i].agency_account_id : NULL;
    }
    wp_status st = wp_db_query(db, sql, n * NCOLS, params, NULL, &err);
    if (st != WP_OK && st != WP_EUNAVAIL) wp_log_warn("access log: %d entries not written: %s", n, err.msg);
    wp_db_release(al->db, db);
    free(sql);
    free(params);
    free(nums);
    return st;
}

/* Puts n entries back at the front of the queue (caller holds mu); 0 when full. */
static int requeue(wp_accesslog *al, const wp_access_entry *e, int n)
{
    if (al->count + (size_t)n > al->cap) return 0;
    al->head = (al->head + al->cap - (size_t)n) % al->cap;
    for (int i = 0; i < n; i++) al->ring[(al->head + (size_t)i) % al->cap] = e[i];
    al->count += (size_t)n;
    return 1;
}

static void *writer(void *arg)
{
    wp_accesslog *al = arg;
    wp_access_entry *chunk = malloc(sizeof *chunk * (size_t)al->batch);
    /* While the database is down the writer retries once a second at most
     * rather than once per flush interval. */
    int down = 0, backoff = 0;
    long retry_ms = al->flush_ms > 1000 ? al->flush_ms : 1000;
    pthread_mutex_lock(&al->mu);
    for (;;) {
        if ((al->count == 0 || backoff) && al->flush_gen == al->done_gen) {
            if (al->stopping) break;
            struct timespec dl;
            clock_gettime(CLOCK_REALTIME, &dl);
            long ms = backoff ? retry_ms : al->flush_ms;
            dl.tv_sec += ms / 1000;
            dl.tv_nsec += (ms % 1000) * 1000000L;
            dl.tv_sec += dl.tv_nsec / 1000000000L;
            dl.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&al->wake, &al->mu, &dl);
            backoff = 0;
            continue;
        }
        unsigned long long gen = al->flush_gen;
        while (al->count > 0 && chunk) {
            int n = 0;
            while (al->count > 0 && n < al->batch) {
                chunk[n++] = al->ring[al->head];
                al->head = (al->head + 1) % al->cap;
                al->count--;
            }
            al->writing = 1;
            pthread_mutex_unlock(&al->mu);
            wp_status st = insert_batch(al, chunk, n);
            pthread_mutex_lock(&al->mu);
            al->writing = 0;
            if (st == WP_EUNAVAIL) {
                /* Kept for later, unless someone waits for a flush (shutdown):
                 * then they are given up so that the flush ends. */
                int waited_on = al->stopping || al->flush_gen != al->done_gen;
                if (!waited_on && requeue(al, chunk, n)) {
                    if (!down) wp_log_warn("access log: database unavailable; keeping entries queued");
                    down = 1;
                    backoff = 1;
                    break;
                }
                al->dropped += (unsigned long long)n;
                wp_log_warn("access log: database unavailable, %d entries dropped", n);
            } else if (st == WP_OK && down) {
                down = 0;
                wp_log_info("access log: database back, queued entries written");
            }
        }
        al->done_gen = gen;
        pthread_cond_broadcast(&al->idle);
        if (!chunk) al->count = 0;
    }
    pthread_mutex_unlock(&al->mu);
    free(chunk);
    return NULL;
}

wp_status wp_accesslog_start(wp_db *db, int queue_capacity, int batch, int flush_ms, wp_accesslog **out, wp_err *err)
{
    wp_accesslog *al = calloc(1, sizeof *al);
    if (!al) return wp_err_set(err, WP_ENOMEM, "out of memory");
    al->db = db;
    al->cap = (size_t)queue_capacity;
    al->batch = batch > 1000 ? 1000 : batch; /* keeps one INSERT under PostgreSQL's 65535 parameters */
    al->flush_ms = flush_ms;
    al->ring = calloc(al->cap, sizeof *al->ring);
    if (!al->ring) {
        free(al);
        return wp_err_set(err, WP_ENOMEM, "out of memory for the access log queue (%d entries)", queue_capacity);
    }
    pthread_mutex_init(&al->mu, NULL);
    pthread_cond_init(&al->wake, NULL);
    pthread_cond_init(&al->idle, NULL);
    int rc = pthread_create(&al->thread, NULL, writer, al);
    if (rc != 0) {
        free(al->ring);
        free(al);
        return wp_err_set(err, WP_EIO, "cannot start the access log writer: %s", strerror(rc));
    }
    *out = al;
    return WP_OK;
}

void wp_accesslog_push(wp_accesslog *al, const wp_access_entry *e)
{
    pthread_mutex_lock(&al->mu);
    if (al->count == al->cap) {
        al->dropped++;
    } else {
        wp_access_entry *slot = &al->ring[(al->head + al->count) % al->cap];
        *slot = *e;
        /* One value PostgreSQL refuses as text would lose the whole batch. */
        wp_utf8_scrub(slot->path);
        wp_utf8_scrub(slot->method);
        al->count++;
        if (al->count >= (size_t)al->batch) pthread_cond_signal(&al->wake);
    }
    pthread_mutex_unlock(&al->mu);
}

void wp_accesslog_flush(wp_accesslog *al)
{
    pthread_mutex_lock(&al->mu);
    unsigned long long gen = ++al->flush_gen;
    pthread_cond_signal(&al->wake);
    while (al->done_gen < gen) pthread_cond_wait(&al->idle, &al->mu);
    pthread_mutex_unlock(&al->mu);
}

void wp_accesslog_stop(wp_accesslog *al)
{
    if (!al) return;
    wp_accesslog_flush(al);
    pthread_mutex_lock(&al->mu);
    al->stopping = 1;
    pthread_cond_signal(&al->wake);
    pthread_mutex_unlock(&al->mu);
    pthread_join(al->thread, NULL);
    pthread_mutex_destroy(&al->mu);
    pthread_cond_destroy(&al->wake);
    pthread_cond_destroy(&al->idle);
    free(al->ring);
    free(al);
}

uint64_t wp_accesslog_dropped(wp_accesslog *al)
{
    pthread_mutex_lock(&al->mu);
    uint64_t d = al->dropped;
    pthread_mutex_unlock(&al->mu);
    return d;
}
