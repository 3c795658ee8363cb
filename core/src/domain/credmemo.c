/* credmemo.c - see credmemo.h. */
#include "credmemo.h"

#include <string.h>

static _Thread_local wp_cred_memo *current;

wp_cred_memo *wp_cred_memo_current(void) { return current; }

wp_cred_memo *wp_cred_memo_enter(wp_cred_memo *m)
{
    wp_cred_memo *prev = current;
    m->valid = false;
    current = m;
    return prev;
}

void wp_cred_memo_leave(wp_cred_memo *previous) { current = previous; }

void wp_cred_memo_fill(const char *account_id, const char *stamps)
{
    wp_cred_memo *m = current;
    if (!m) return;
    m->valid = false;
    size_t al = strlen(account_id), sl = stamps ? strlen(stamps) : 0;
    /* too long to hold whole: no memo, the reads go to the database */
    if (al >= sizeof m->account || sl >= sizeof m->stamps) return;
    memcpy(m->account, account_id, al + 1);
    memcpy(m->stamps, stamps ? stamps : "", sl + 1);
    m->valid = true;
}
