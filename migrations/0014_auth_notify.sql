-- API keys are remembered by every gateway process (core/src/store/keycache.h).
-- A change to api_keys (a revocation, a deleted account's keys going) tells
-- them to forget, through NOTIFY wp_auth, delivered when the change commits.
-- One notification per statement: identical ones in a transaction fold into one.
CREATE FUNCTION wp_auth_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('wp_auth', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER api_keys_auth_notify AFTER UPDATE OR DELETE OR TRUNCATE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION wp_auth_notify();
