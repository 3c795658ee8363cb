/*
 * cli_users.h - the CLI's dashboard commands, for deployments whose sign-up
 * is off or by invitation (docs/dashboard.md): user create, user list,
 * user set-password, invite create.  Output meant for scripts goes to stdout, tab-separated;
 * messages to stderr.
 */
#ifndef WP_CLI_USERS_H
#define WP_CLI_USERS_H

#include "config.h"

/* Runs `walletpass <argv[1]> <argv[2]> ...` when it is one of these commands:
 * returns the exit status (0, 1 failure, 2 usage), or -1 when it is not one. */
int wp_cli_users(const wp_config *cfg, int argc, char **argv);

#endif
