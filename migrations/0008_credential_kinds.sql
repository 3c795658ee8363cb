-- Credential kinds are whatever plugins register (PUT /api/v1/credentials/<kind>,
-- wp_credential_kind in walletpass/plugin.h): the column checks a kind name's
-- shape, as core/src/credentials.c does, instead of a fixed list.  Databases
-- made before this file carry the list; new ones already have this CHECK
-- (0004): both end with the same constraint under the same name.
ALTER TABLE credentials DROP CONSTRAINT credentials_platform_check;
ALTER TABLE credentials ADD CONSTRAINT credentials_platform_check CHECK (platform ~ '^[a-z][a-z0-9_-]{0,31}$');
