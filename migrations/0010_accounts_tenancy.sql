-- Agencies, sub-accounts, allocations, plan changes and test mode (docs/api.md, "Accounts").
--
-- Test mode: every account may have one test workspace, an accounts row of its
-- own (livemode false, live_account_id naming its account).  A test key acts on
-- that row, so every account-scoped query keeps live and test objects apart
-- exactly as it keeps two accounts apart.

ALTER TABLE accounts
    ADD COLUMN livemode        boolean NOT NULL DEFAULT true,
    ADD COLUMN live_account_id text REFERENCES accounts (id) ON DELETE CASCADE,
    ADD COLUMN allocation      bigint,        -- a sub-account's monthly operations; NULL: none set
    ADD COLUMN deleted_at      timestamptz,   -- deleted: refused everywhere, purged after the retention
    ADD CONSTRAINT accounts_test_has_live CHECK (livemode = (live_account_id IS NULL)),
    ADD CONSTRAINT accounts_allocation_ok CHECK (allocation IS NULL OR allocation >= 0);
CREATE UNIQUE INDEX accounts_test_workspace_key ON accounts (live_account_id) WHERE live_account_id IS NOT NULL;
CREATE INDEX accounts_parent_idx ON accounts (parent_account_id) WHERE parent_account_id IS NOT NULL;

-- An email names one top-level account; an agency may reuse it across its own
-- sub-accounts' clients only once each.  Test workspaces copy their account's.
DROP INDEX accounts_email_key;
CREATE UNIQUE INDEX accounts_email_key ON accounts (lower(email))
    WHERE livemode AND parent_account_id IS NULL;
CREATE UNIQUE INDEX accounts_sub_email_key ON accounts (parent_account_id, lower(email))
    WHERE livemode AND parent_account_id IS NOT NULL AND deleted_at IS NULL;

-- Keys made before test mode existed are live keys ("sk_live_...").
ALTER TABLE api_keys ADD COLUMN livemode boolean NOT NULL DEFAULT true;

-- An agency acting on a sub-account (WalletPass-Account): account_id is the
-- sub-account acted on, agency_account_id the key's own account.
ALTER TABLE access_logs ADD COLUMN agency_account_id text;

CREATE TABLE account_plan_changes (
    account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id         bigserial,
    from_plan  text NOT NULL,
    to_plan    text NOT NULL,
    source     text NOT NULL,             -- 'cli' | 'api'
    changed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id)
);
