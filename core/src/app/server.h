/*
 * server.h - the running gateway: configuration, pool, router and the
 * services every request touches.  One wp_server per process; it owns
 * everything it points to except the configuration, which main() owns.
 */
#ifndef WP_SERVER_H
#define WP_SERVER_H

#include <civetweb.h>

#include "accesslog.h"
#include "clientaddr.h"
#include "config.h"
#include "db.h"
#include "domain.h"
#include "events.h"
#include "http.h"
#include "jobs.h"
#include "keycache.h"
#include "json_strict.h"
#include "listener.h"
#include "metrics.h"
#include "ratelimit.h"
#include "router.h"
#include "tls.h"
#include "vault.h"

typedef struct wp_server {
    wp_config *cfg;             /* borrowed */
    wp_db *db;
    wp_router *router;
    wp_metrics *metrics;
    /* Replaced as a whole when a reload changes rate_limit (reload.c); a plain read is an atomic load. */
    wp_ratelimit *_Atomic ratelimit;
    wp_accesslog *accesslog;
    wp_jobs *jobs;              /* the job queue (jobs.h) */
    wp_events *events;          /* the event bus on top of it (events.h) */
    struct wp_sweep *sweep;     /* retention of deleted accounts and test passes (sweep.h) */
    wp_vault *vault;            /* credential and token encryption (master key) */
    wp_keycache *keycache;      /* API key -> account (keycache.h) */
    wp_listener *auth_listener; /* forgets the keycache on NOTIFY wp_auth */
    wp_lru *credcache;          /* decrypted credentials under their stamps (domain.h) */
    wp_lru *passcache;          /* pass rows read by requests (passcache.h); NULL: none */
    wp_lru *secretcache;        /* (serial, secret) -> pass (domain.h); NULL: none */
    wp_fence *fence;            /* the cache fence (fence.h); NULL: no LISTEN possible */
    struct mg_context *mg;
    wp_tls *tls;                /* server.tls: certificate and key in use; NULL: plain HTTP */
    wp_proxies proxies;         /* server.trusted_proxies */
    char https_origin[512];     /* "https://host[:port]" of public_url: where the redirect listener points */
    wp_json_limits json_limits;
    wp_http_env http;           /* what every request sees (req->env): cfg, db, json_limits */
    wp_domain domain;           /* what the API's handlers and the plugin host see: cfg, db, vault, jobs, events */
    wp_config *live_cfg;        /* the snapshot domain.cfg points at after a reload (owned); NULL: cfg */
    struct wp_retired *retired; /* snapshots and rate limiters a reload replaced: a request may still hold one,
                                 * so they are freed with the server */
} wp_server;

/* Creates the vault from master_key and the "vault" configuration section. */
wp_status wp_server_vault_open(const wp_config *cfg, wp_vault **out, wp_err *err);

/* Opens the pool, creates the services and registers the core routes.
 * Does not listen yet, so plugins can add routes in between. */
wp_status wp_server_init(wp_server *srv, wp_config *cfg, wp_err *err);
/* Seals the router and starts listening. */
wp_status wp_server_start(wp_server *srv, wp_err *err);
/* Re-reads server.tls's certificate and key (SIGHUP) and logs the outcome:
 * later handshakes present the new certificate; on failure the old one stays.
 * WP_OK without TLS (nothing to do). */
wp_status wp_server_reload_tls(wp_server *srv, wp_err *err);
/* Stops listening, waits for requests in flight, flushes the access log. */
void wp_server_stop(wp_server *srv);
void wp_server_free(wp_server *srv);

/* The API-key check of WP_AUTH_API_KEY routes (Bearer key, then its rate
 * limit), also for public routes that accept a key (host->req_api_key).
 * Returns 1 and fills req->account_id, or 0 when the 401/429/503 was sent. */
struct wp_req;
int wp_server_auth_bearer(struct wp_req *req);

/* 1 when portal.dashboard_dir holds the dashboard (its index.html); else 0 with why (for the
 * log and `walletpass config check`). */
int wp_server_dashboard_found(const wp_config *cfg, char *why, size_t len);

/* Route registration for the server's own health routes (health.c). */
wp_status wp_health_routes(wp_server *srv, wp_err *err);

#endif
