-- A device's fetch of its pass reads the pass's apns_passes row (its
-- Last-Modified second and last message).  The gateway keeps that row in
-- memory beside the pass's (the host's pass_memo_* slots); every change to it
-- tells every gateway process to forget it when the change commits.
CREATE FUNCTION apns_passes_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM wp_cache_forget(OLD.account_id, OLD.pass_id);
    ELSE
        PERFORM wp_cache_forget(NEW.account_id, NEW.pass_id);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER apns_passes_forget AFTER INSERT OR UPDATE OR DELETE ON apns_passes
    FOR EACH ROW EXECUTE FUNCTION apns_passes_forget();
