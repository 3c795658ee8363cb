/* listener.c - see listener.h.  A pipe wakes the thread for stopping. */
#include "listener.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

struct wp_listener {
    wp_db *db;
    char *direct_url; /* NULL: connect like the pool */
    char channel[64];
    wp_listener_fn fn;
    void *ud;
    pthread_t thread;
    int pipefd[2];
    atomic_int stop;
    atomic_int listening;
};

/* Waits up to ms for the stop pipe; returns 1 when asked to stop. */
static int nap(wp_listener *n, int ms)
{
    struct pollfd pf = {.fd = n->pipefd[0], .events = POLLIN};
    poll(&pf, 1, ms);
    return atomic_load(&n->stop);
}

static PGconn *listen_conn(wp_listener *n)
{
    wp_err err;
    wp_err_clear(&err);
    PGconn *c = n->direct_url ? wp_db_connect_url(n->direct_url, "walletpass-listener", &err)
                              : wp_db_connect_raw(n->db, &err);
    if (!c) return NULL;
    char sql[96];
    snprintf(sql, sizeof sql, "LISTEN %s", n->channel);
    if (wp_db_query(c, sql, 0, NULL, NULL, &err) != WP_OK) {
        wp_log_warn("cache listener: LISTEN %s failed: %s", n->channel, err.msg);
        PQfinish(c);
        return NULL;
    }
    return c;
}

static void *listener_main(void *arg)
{
    wp_listener *n = arg;
    PGconn *c = NULL;
    int warned = 0;
    while (!atomic_load(&n->stop)) {
        if (!c) {
            c = listen_conn(n);
            if (!c) {
                if (!warned) wp_log_warn("cache listener: cannot listen on %s; retrying every second", n->channel);
                warned = 1;
                if (nap(n, 1000)) break;
                continue;
            }
            warned = 0;
            atomic_store(&n->listening, 1);
            n->fn(n->ud, NULL); /* anything may have changed while nobody listened */
        }
        struct pollfd pf[2] = {{.fd = n->pipefd[0], .events = POLLIN}, {.fd = PQsocket(c), .events = POLLIN}};
        int pr = poll(pf, 2, 1000);
        if (atomic_load(&n->stop)) break;
        if (pr > 0 && (pf[1].revents & (POLLIN | POLLERR | POLLHUP))) {
            if (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK) {
                wp_log_warn("cache listener: connection lost; reconnecting");
                atomic_store(&n->listening, 0);
                PQfinish(c);
                c = NULL;
                continue;
            }
            PGnotify *nt;
            while ((nt = PQnotifies(c)) != NULL) {
                n->fn(n->ud, nt->extra ? nt->extra : "");
                PQfreemem(nt);
            }
        }
    }
    atomic_store(&n->listening, 0);
    if (c) PQfinish(c);
    return NULL;
}

wp_status wp_listener_start(wp_db *db, const char *direct_url, const char *channel, wp_listener_fn fn, void *ud,
                            wp_listener **out, wp_err *err)
{
    *out = NULL;
    size_t cl = strlen(channel);
    if (cl == 0 || cl >= 64 || strspn(channel, "abcdefghijklmnopqrstuvwxyz_") != cl)
        return wp_err_set(err, WP_EINVAL, "cache listener: bad channel name");
    wp_listener *n = calloc(1, sizeof *n);
    if (!n) return wp_err_set(err, WP_ENOMEM, "out of memory");
    n->db = db;
    if (direct_url && !(n->direct_url = strdup(direct_url))) {
        free(n);
        return wp_err_set(err, WP_ENOMEM, "out of memory");
    }
    memcpy(n->channel, channel, cl + 1);
    n->fn = fn;
    n->ud = ud;
    if (pipe(n->pipefd) != 0) {
        free(n->direct_url);
        free(n);
        return wp_err_set(err, WP_EIO, "cache listener: pipe failed");
    }
    fcntl(n->pipefd[0], F_SETFL, O_NONBLOCK);
    if (pthread_create(&n->thread, NULL, listener_main, n) != 0) {
        close(n->pipefd[0]);
        close(n->pipefd[1]);
        free(n->direct_url);
        free(n);
        return wp_err_set(err, WP_EIO, "cache listener: cannot start its thread");
    }
    *out = n;
    return WP_OK;
}

void wp_listener_stop(wp_listener *n)
{
    if (!n) return;
    atomic_store(&n->stop, 1);
    ssize_t w = write(n->pipefd[1], "x", 1);
    (void)w;
    pthread_join(n->thread, NULL);
    close(n->pipefd[0]);
    close(n->pipefd[1]);
    free(n->direct_url);
    free(n);
}

int wp_listener_listening(wp_listener *n) { return n ? atomic_load(&n->listening) : 0; }
