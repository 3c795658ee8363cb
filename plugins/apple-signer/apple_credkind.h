/*
 * apple_credkind.h - the "apple" credential kind: PUT/GET/DELETE
 * /api/v1/credentials/apple are served by the gateway with this plugin's
 * check (apple_credcheck.h); the gateway seals and stores the secret.
 *
 * Configuration (keys of the plugin's "config"; apple_signer.c hands them here):
 *   require_apple_wwdr  false   refuse Pass Type ID certificates that do not
 *                               chain to a certificate of wwdr_ca_file
 *   wwdr_ca_file        null    PEM file with Apple's WWDR intermediates;
 *                               required with require_apple_wwdr; read once, here
 *
 * Threads: init and shutdown on the main thread; the check runs on HTTP
 * workers and only reads what init set.
 */
#ifndef APPLE_CREDKIND_H
#define APPLE_CREDKIND_H

#include <stdbool.h>
#include <walletpass/plugin.h>

/* True for the configuration keys apple_credkind_init reads. */
bool apple_credkind_config_key(const char *key);

/* Reads the keys above (WP_ECONFIG with set_error naming "config.<key>"),
 * loads wwdr_ca_file and registers the kind (init only). */
wp_status apple_credkind_init(const wp_host *host, wp_plugin *self, const json_object *config);

/* Frees what init kept.  Safe to call when init failed or never ran. */
void apple_credkind_shutdown(void);

#endif
