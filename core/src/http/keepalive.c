/*
 * keepalive.c - connection keep-alive policy (see keepalive.h).
 */
#include "keepalive.h"

#include <stdatomic.h>

static atomic_int open_conns;

/* The connection's user data marks it as counted, so a connection CivetWeb
 * closes without having initialised it (a failed TLS handshake) is not
 * subtracted. */
static int on_init_connection(const struct mg_connection *conn, void **conn_data)
{
    (void)conn;
    atomic_fetch_add(&open_conns, 1);
    *conn_data = (void *)&open_conns;
    return 0;
}

static void on_connection_close(const struct mg_connection *conn)
{
    if (mg_get_user_connection_data(conn) == (void *)&open_conns) atomic_fetch_sub(&open_conns, 1);
}

void wp_keepalive_callbacks(struct mg_callbacks *cb)
{
    cb->init_connection = on_init_connection;
    cb->connection_close = on_connection_close;
}

int wp_keepalive_hint_s(const wp_config *cfg) { return cfg->keep_alive_timeout_ms / 2000; }

int wp_keepalive_allowed(const wp_config *cfg)
{
    if (!cfg->keep_alive || wp_keepalive_hint_s(cfg) < 1) return 0;
    int spare = cfg->num_threads / 4 > 0 ? cfg->num_threads / 4 : 1; /* workers kept for new connections */
    return atomic_load(&open_conns) <= cfg->num_threads - spare;
}
