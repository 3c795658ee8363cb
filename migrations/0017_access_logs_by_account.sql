-- access_logs becomes a tenant table like the others (docs/operations.md,
-- "Distributing the database by account"): its key leads with account_id,
-- which is never NULL.  A request that was not authenticated is logged under
-- the account '' (operators only), which no API key
-- reaches: an account's log lists its own rows by account_id = the caller.
--
-- Gateways of the previous release may still be running during the upgrade
-- and write NULL for such requests: the trigger turns that into '' so their
-- log batches keep being written.  It is additive on purpose; a later
-- release drops it (docs/operations.md, "Upgrading").

UPDATE access_logs SET account_id = '' WHERE account_id IS NULL;
ALTER TABLE access_logs ALTER COLUMN account_id SET DEFAULT '';

CREATE FUNCTION access_logs_account_default() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.account_id := coalesce(NEW.account_id, '');
    RETURN NEW;
END
$$;
-- BEFORE ROW triggers run before the NOT NULL check.
CREATE TRIGGER access_logs_account_default BEFORE INSERT ON access_logs
    FOR EACH ROW EXECUTE FUNCTION access_logs_account_default();

ALTER TABLE access_logs ALTER COLUMN account_id SET NOT NULL;
ALTER TABLE access_logs DROP CONSTRAINT access_logs_pkey;
ALTER TABLE access_logs ADD PRIMARY KEY (account_id, id);
-- (account_id, id DESC) served the listing; the primary key now does.
DROP INDEX access_logs_account_idx;
