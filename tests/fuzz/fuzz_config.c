/*
 * fuzz_config: the configuration loader (config.c) on the input as the
 * file's contents, then the sections other modules read themselves (the
 * job queue's, the vault's).  The WALLETPASS_* environment is cleared once
 * so that only the file counts.  A refusal must name what is wrong.
 */
#include <stdio.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"
#include "jobs.h"
#include "server.h"

extern char **environ;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (int again = 1; again;) {
        again = 0;
        for (char **e = environ; *e; e++)
            if (strncmp(*e, "WALLETPASS_", 11) == 0) {
                char name[256];
                snprintf(name, sizeof name, "%.*s", (int)strcspn(*e, "="), *e);
                unsetenv(name);
                again = 1;
                break;
            }
    }
    snprintf(path, sizeof path, "/tmp/walletpass-fuzz-config-%ld.json", (long)getpid());
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    wp_config cfg;
    wp_err err;
    wp_err_clear(&err);
    if (wp_config_load(path, &cfg, &err) == WP_OK) {
        wp_jobs_config jc;
        wp_err_clear(&err);
        if (wp_jobs_config_read(cfg.root, &jc, &err) != WP_OK && !err.msg[0]) abort();
        wp_vault *v = NULL;
        wp_err_clear(&err);
        if (wp_server_vault_open(&cfg, &v, &err) == WP_OK) wp_vault_free(v);
        else if (!err.msg[0]) abort();
    } else if (!err.msg[0]) {
        fprintf(stderr, "configuration refused without a message\n");
        abort();
    }
    wp_config_free(&cfg);
    unlink(path);
    return 0;
}
