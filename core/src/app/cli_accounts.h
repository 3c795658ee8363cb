/*
 * cli_accounts.h - the CLI's account and key commands for config-driven
 * deployments: account list, account set-plan, key list, key revoke
 * (docs/operations.md).  Output meant for scripts goes to stdout,
 * tab-separated; messages to stderr.
 */
#ifndef WP_CLI_ACCOUNTS_H
#define WP_CLI_ACCOUNTS_H

#include "config.h"

/* Runs `walletpass <argv[1]> <argv[2]> ...` when it is one of these commands:
 * returns the exit status (0, 1 failure, 2 usage), or -1 when it is not one. */
int wp_cli_accounts(const wp_config *cfg, int argc, char **argv);

#endif
