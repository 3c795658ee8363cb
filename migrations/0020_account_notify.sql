-- GET /api/v1/account is answered from each gateway process's memory
-- (docs/caching.md "Accounts"): the account's row and its month's usage, kept
-- beside the pass rows under the pass id "account", which no pass has.  A
-- change to the account's row or to its usage counters tells every process to
-- forget it, through the same NOTIFY wp_cache as 0018's triggers, delivered
-- when the change commits.  The payload "x <account>/account" is the one a
-- pass's change sends, so a gateway of the release before forgets a row it
-- never keeps and nothing else.  PostgreSQL sends a payload once per
-- transaction however many rows it names.
CREATE FUNCTION wp_cache_notify_usage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('wp_cache', 'x ' || OLD.account_id || '/account');
    ELSE
        PERFORM pg_notify('wp_cache', 'x ' || NEW.account_id || '/account');
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION wp_cache_notify_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('wp_cache', 'x ' || OLD.id || '/account');
    RETURN NULL;
END
$$;

CREATE TRIGGER usage_counters_cache_notify AFTER INSERT OR UPDATE OR DELETE ON usage_counters
    FOR EACH ROW EXECUTE FUNCTION wp_cache_notify_usage();
CREATE TRIGGER usage_counter_slots_cache_notify AFTER INSERT OR UPDATE OR DELETE ON usage_counter_slots
    FOR EACH ROW EXECUTE FUNCTION wp_cache_notify_usage();
CREATE TRIGGER usage_counters_cache_notify_truncate AFTER TRUNCATE ON usage_counters
    FOR EACH STATEMENT EXECUTE FUNCTION wp_cache_notify_all();
CREATE TRIGGER usage_counter_slots_cache_notify_truncate AFTER TRUNCATE ON usage_counter_slots
    FOR EACH STATEMENT EXECUTE FUNCTION wp_cache_notify_all();
-- Any column: GET /account shows the name, email, plan, trial, parent and allocation.
CREATE TRIGGER accounts_row_cache_notify AFTER UPDATE OR DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION wp_cache_notify_account();
