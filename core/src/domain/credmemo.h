/*
 * credmemo.h - what a request's read of a pass learnt of the credentials of
 * the pass's account, for the credential reads later in the same request.
 *
 * A pass read made while a memo is current (wp_pass_get, the plugin host's
 * pass_get) fetches, in the same query, the stamps of the account's
 * credential rows: each row's account, kind, transaction id and update time,
 * which change whenever the row is written.  The plugin host's vault_read
 * then knows without a query of its own whether the decrypted credential it
 * keeps in memory is the current one (docs/caching.md).  The stamps are as of
 * a moment inside the request, so an upload that answered before the request
 * began is always seen.
 *
 * The server makes one memo current for each request it runs (and the
 * in-process calls their own); outside requests (jobs, events) there is none.
 * Thread-local: a memo belongs to the thread running its request.
 */
#ifndef WP_CREDMEMO_H
#define WP_CREDMEMO_H

#include <stdbool.h>

/* The stamp of one credentials row, as SQL over the row alias t. */
#define WP_CRED_STAMP_SQL(t) "(" t ".account_id || '/' || " t ".platform || '=' || " t ".xmin::text || '@' || " \
                             "extract(epoch FROM " t ".updated_at)::text)"

/* The stamps of the credentials account $1 signs with (its own and, for a test workspace, its
 * live account's), joined by ','; NULL when there are none. */
#define WP_CRED_STAMPS_SQL WP_CRED_STAMPS_SQL_OF("$1")
/* ... of the account the SQL expression acct names (a column: "passes.account_id"). */
#define WP_CRED_STAMPS_SQL_OF(acct)                                                                  \
    "(SELECT string_agg(" WP_CRED_STAMP_SQL("c") ", ',') FROM credentials c WHERE c.account_id IN" \
    " (" acct ", (SELECT live_account_id FROM accounts WHERE id = " acct ")))"

/* Longest stamps text a memo holds; longer ones leave it unset. */
#define WP_CRED_STAMPS_MAX 2048

typedef struct wp_cred_memo {
    bool valid;
    char account[64];
    char stamps[WP_CRED_STAMPS_MAX];
} wp_cred_memo;

/* The memo of the request running on this thread, or NULL. */
wp_cred_memo *wp_cred_memo_current(void);

/* Makes m (cleared) the current memo; returns the one it replaces, for wp_cred_memo_leave. */
wp_cred_memo *wp_cred_memo_enter(wp_cred_memo *m);
void wp_cred_memo_leave(wp_cred_memo *previous);

/* Fills the current memo (when there is one) with account's stamps; stamps NULL: none. */
void wp_cred_memo_fill(const char *account_id, const char *stamps);

#endif
