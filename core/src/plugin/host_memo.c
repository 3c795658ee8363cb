/*
 * host_memo.c - the host table's slots that keep what a plugin reads about a
 * pass in memory beside the pass's row (ABI 1.10, passcache.h).
 *
 * A plugin's memos take the plugin's place in the start order as their slot,
 * so one invalidation of a pass reaches every plugin's value for it without a
 * registry; a deployment loading more plugins than there are slots keeps
 * nothing for the last ones (their reads go to the database).
 */
#include "plugin_host.h"

#include "passcache.h"

#define MEMO_MAX 65536

static int slot_of(const wp_plugin *p)
{
    for (size_t i = 0; i < p->set->n && i < WP_PASSCACHE_MEMO_SLOTS; i++)
        if (p->set->p[i] == p) return (int)i;
    return -1;
}

static int ids_ok(const char *account_id, const char *pass_id)
{
    return account_id && *account_id && pass_id && *pass_id && strlen(account_id) < 64 && strlen(pass_id) < 64;
}

wp_status wp_host_pass_memo_get(wp_plugin *p, const char *account_id, const char *pass_id, void *out, size_t cap,
                                size_t *len, uint64_t *gen)
{
    if (len) *len = 0;
    if (gen) *gen = 0;
    if (!p || !ids_ok(account_id, pass_id) || (!out && cap) || !len || !gen)
        return wp_plugin_failf(WP_EINVAL, "pass_memo_get: account_id, pass_id (1..63 characters), len and gen are required");
    wp_domain *dom = p->set->env.domain;
    int slot = slot_of(p);
    if (!dom || slot < 0) return wp_plugin_failf(WP_ENOTFOUND, "pass_memo_get: this process keeps no memos");
    /* before the lookup: a put of what the database gives after a miss is dropped
     * if anything was forgotten in between */
    *gen = wp_passcache_generation(dom);
    if (!wp_passcache_memo_get(dom, slot, account_id, pass_id, out, cap, len))
        return wp_plugin_failf(WP_ENOTFOUND, "pass_memo_get: not held");
    if (*len > cap) return wp_plugin_failf(WP_ETOOLARGE, "pass_memo_get: the value has %zu bytes, out %zu", *len, cap);
    return wp_plugin_ok();
}

wp_status wp_host_pass_memo_put(wp_plugin *p, const char *account_id, const char *pass_id, const void *val, size_t len,
                                uint64_t gen)
{
    if (!p || !ids_ok(account_id, pass_id) || !val || len == 0 || len > MEMO_MAX)
        return wp_plugin_failf(WP_EINVAL, "pass_memo_put: account_id, pass_id (1..63 characters) and 1..%d bytes are required",
                               MEMO_MAX);
    wp_domain *dom = p->set->env.domain;
    int slot = slot_of(p);
    if (dom && slot >= 0) wp_passcache_memo_put(dom, slot, account_id, pass_id, val, len, gen);
    return wp_plugin_ok();
}

wp_status wp_host_pass_memo_sync(wp_plugin *p)
{
    wp_domain *dom = p ? p->set->env.domain : NULL;
    if (dom) (void)wp_fence_sync(dom->fence); /* either way no process serves the old value now */
    return wp_plugin_ok();
}
