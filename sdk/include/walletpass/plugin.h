/*
 * walletpass/plugin.h - the WalletPass gateway plugin ABI.
 *
 * This header is the whole contract between the gateway and a plugin.
 * It is self-contained: it needs only the C standard library headers and
 * json-c, which is part of the ABI.
 */
#ifndef WALLETPASS_PLUGIN_H
#define WALLETPASS_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Status codes, in the manner of CURLcode: append-only, never renumbered,
 * a retired value keeps its number as WP_OBSOLETEnn.  wp_status_str()
 * (host->status_str for plugins) gives the static meaning; the detail of
 * one failure travels in a message next to it.
 */
typedef enum wp_status {
    WP_OK = 0,          /* 0  success */
    WP_ENOMEM = 1,      /* 1  out of memory */
    WP_EINVAL = 2,      /* 2  invalid argument or input */
    WP_ENOTFOUND = 3,   /* 3  no such object (or not yours) */
    WP_ECONFLICT = 4,   /* 4  the object exists or changed meanwhile */
    WP_EDB = 5,         /* 5  the database refused the statement */
    WP_EUNAVAIL = 6,    /* 6  a dependency (database, upstream) is unreachable */
    WP_EIO = 7,         /* 7  file or network I/O failed */
    WP_ECONFIG = 8,     /* 8  configuration is wrong */
    WP_EAUTH = 9,       /* 9  authentication failed */
    WP_ELIMIT = 10,     /* 10 a limit was exceeded */
    WP_ELATE = 11,      /* 11 called after registration closed */
    WP_EABI = 12,       /* 12 ABI mismatch */
    WP_ECRYPTO = 13,    /* 13 a cryptographic operation failed */
    WP_EINTERNAL = 14,  /* 14 a bug: the host or plugin broke an invariant */
    WP_RETRY = 15,      /* 15 transient failure: try again on the schedule */
    WP_FAIL = 16,       /* 16 permanent failure: do not retry */
    WP_EMEDIATYPE = 17, /* 17 unsupported content type */
    WP_ETOOLARGE = 18   /* 18 input larger than allowed */
} wp_status;

#ifdef __cplusplus
}
#endif

#endif /* WALLETPASS_PLUGIN_H */
