-- Passes are kept in memory by every gateway process (core/src/store/fence.h,
-- docs/caching.md "Passes").  A change to a pass, or to the credentials its
-- downloads are signed with, or to its account, tells every process to forget what it holds,
-- through NOTIFY wp_cache, delivered in commit order when the change commits.
-- One statement that touches many passes sends one "forget everything".
CREATE FUNCTION wp_cache_notify_passes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    SELECT count(*) INTO n FROM old_rows;
    IF n > 64 THEN
        PERFORM pg_notify('wp_cache', 'x *');
    ELSIF n > 0 THEN
        PERFORM pg_notify('wp_cache', 'x ' || account_id || '/' || id) FROM old_rows;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION wp_cache_notify_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('wp_cache', 'x *');
    RETURN NULL;
END
$$;

CREATE TRIGGER passes_cache_notify_update AFTER UPDATE ON passes
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION wp_cache_notify_passes();
CREATE TRIGGER passes_cache_notify_delete AFTER DELETE ON passes
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION wp_cache_notify_passes();
CREATE TRIGGER passes_cache_notify_truncate AFTER TRUNCATE ON passes
    FOR EACH STATEMENT EXECUTE FUNCTION wp_cache_notify_all();
CREATE TRIGGER credentials_cache_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON credentials
    FOR EACH STATEMENT EXECUTE FUNCTION wp_cache_notify_all();
-- A pass row read for a request carries its account's mode and deletion (WP_PASS_LIVEMODE_COL,
-- WP_PASS_GONE_COL) and, through live_account_id, which credentials sign it.
CREATE TRIGGER accounts_cache_notify AFTER UPDATE OF deleted_at, livemode, live_account_id OR DELETE OR TRUNCATE
    ON accounts FOR EACH STATEMENT EXECUTE FUNCTION wp_cache_notify_all();
