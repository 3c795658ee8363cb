/*
 * domain.h - what the domain's services need of the running process: the
 * configuration, the pool, the vault, the job queue and the event bus.
 *
 * app/server.c fills one per process and hands it to the modules that need
 * it: the API's handlers get it as their route's user data, the plugin host
 * through its environment.  No module below app/ sees the server itself.
 * Everything it points to is borrowed and outlives the requests and jobs
 * that use it.  A process without a service (the CLI's listing mode, a test)
 * leaves its pointer NULL; the services answer WP_EUNAVAIL then.
 */
#ifndef WP_DOMAIN_H
#define WP_DOMAIN_H

#include "config.h"
#include "db.h"
#include "events.h"
#include "jobs.h"
#include "fence.h"
#include "lru.h"
#include "metrics.h"
#include "vault.h"

typedef struct wp_domain {
    /* public_url, the pass limits, the plans.  An immutable snapshot that a
     * reload (SIGHUP) replaces as a whole: read it once per operation (a
     * plain read is an atomic load), never cache it beyond that; replaced
     * snapshots stay valid until the process ends. */
    const wp_config *_Atomic cfg;
    wp_db *db;
    wp_vault *vault;        /* capabilities (link and share tokens), per-pass secrets */
    wp_jobs *jobs;
    wp_events *events;
    /* Decrypted credentials by (account, kind), each under its row's stamp
     * (plugin/host_passes.c, docs/caching.md); NULL: none kept. */
    wp_lru *credcache;
    /* Pass rows read by requests (passcache.h), served while the fence holds its lease;
     * NULL: none kept.  fence NULL: this process caches nothing and syncs with nobody. */
    wp_lru *passcache;
    wp_fence *fence;
    /* Which pass a (serial, per-pass secret) names (plugin/host_passes.c): never stale, as a
     * secret is written once with its pass, whose row is checked on every use.  NULL: none. */
    wp_lru *secretcache;
    wp_metrics *metrics; /* NULL: nothing counted */
} wp_domain;

#endif
