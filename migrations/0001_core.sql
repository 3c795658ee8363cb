-- Core schema: accounts, API keys, access log, usage counters.
-- Every tenant table leads its keys with account_id (see docs/operations.md: distribution by account).

CREATE TABLE accounts (
    id                text PRIMARY KEY,
    name              text NOT NULL,
    email             text NOT NULL,
    plan              text NOT NULL,
    parent_account_id text REFERENCES accounts (id),
    trial_ends_at     timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX accounts_email_key ON accounts (lower(email));

CREATE TABLE api_keys (
    account_id  text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id          text NOT NULL,
    name        text,
    prefix      text NOT NULL,
    secret_hash text NOT NULL,           -- sha256 hex of the whole key; the key itself is never stored
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX api_keys_prefix_idx ON api_keys (prefix) WHERE revoked_at IS NULL;

CREATE TABLE access_logs (
    account_id text,                     -- NULL when the caller was not authenticated
    id         bigserial,
    ts         timestamptz NOT NULL,
    ip         text NOT NULL,
    method     text NOT NULL,
    path       text NOT NULL,
    status     int NOT NULL,
    latency_us int NOT NULL,
    key_prefix text,
    request_id text NOT NULL,
    kind       text NOT NULL DEFAULT 'api',
    PRIMARY KEY (id)
);
CREATE INDEX access_logs_account_idx ON access_logs (account_id, id DESC);
CREATE INDEX access_logs_account_ts_idx ON access_logs (account_id, ts);

CREATE TABLE usage_counters (
    account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    period     text NOT NULL,            -- 'YYYY-MM' (UTC)
    operations bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, period)
);
