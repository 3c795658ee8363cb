-- The web-service authentication tokens the core minted for every pass before
-- per-pass secrets belonged to plugins (core migration 0009 moved them into
-- pass_secrets, owned by no plugin): this plugin claims them, so a pass made
-- before the upgrade keeps its token, and the devices holding it keep working.
-- They stay sealed as they were (legacy: the core's associated data).
UPDATE pass_secrets SET plugin = 'apple-signer', name = 'authentication_token'
 WHERE plugin = '' AND name = 'auth_token';
