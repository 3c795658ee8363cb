-- Per-pass secrets of plugins (host pass_secret_get/put/find, core/src/pass_secrets.h):
-- one sealed value per (pass, plugin, name), such as the token a wallet's devices
-- authenticate with.  The core mints none of its own.

CREATE TABLE pass_secrets (
    account_id  text NOT NULL,
    pass_id     text NOT NULL,
    plugin      text NOT NULL,                   -- the owning plugin; '' until a plugin claims it (below)
    name        text NOT NULL,
    sealed      text NOT NULL,                   -- vault; associated data: see core/src/pass_secrets.h
    legacy      boolean NOT NULL DEFAULT false,  -- sealed as passes.auth_token was (associated data
                                                 -- "<account_id>/pass/<pass_id>/auth_token")
    lookup      text,                            -- vault MAC of the value, to find a pass by it; NULL
                                                 -- for moved values until they are first matched
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, pass_id, plugin, name),
    FOREIGN KEY (account_id, pass_id) REFERENCES passes (account_id, id) ON DELETE CASCADE
);
-- A device names its pass by serial number and proves it with the secret: the
-- look-up crosses accounts, like passes_serial_idx (docs/operations.md).
CREATE INDEX pass_secrets_lookup_idx ON pass_secrets (plugin, name, lookup) WHERE lookup IS NOT NULL;

-- The per-pass token the core used to mint for every pass moves here, sealed as
-- it was and owned by no plugin yet: the plugin that serves it claims the rows
-- in a migration of its own (plugins/<name>/migrations), so passes made before
-- this release keep working.
INSERT INTO pass_secrets (account_id, pass_id, plugin, name, sealed, legacy, created_at)
SELECT account_id, id, '', 'auth_token', auth_token, true, created_at FROM passes;

ALTER TABLE passes DROP COLUMN auth_token;
