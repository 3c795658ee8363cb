-- What a plugin keeps in memory about a pass (the host's pass_memo_* slots)
-- goes with the pass's row.  A plugin whose own tables hold what it keeps
-- calls this from a trigger on them, so that every gateway process forgets it
-- when the change commits (the same notification as 0018's triggers send).
CREATE FUNCTION wp_cache_forget(account_id text, pass_id text) RETURNS void LANGUAGE sql AS $$
    SELECT pg_notify('wp_cache', 'x ' || account_id || '/' || pass_id)
$$;
