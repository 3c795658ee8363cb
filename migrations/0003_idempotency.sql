-- Idempotency-Key records: one per (API key, method, path, key), kept 24 hours.
CREATE TABLE idempotency_keys (
    account_id   text NOT NULL,
    api_key_id   text NOT NULL,
    method       text NOT NULL,
    path         text NOT NULL,
    key          text NOT NULL,
    body_hash    text NOT NULL,
    status       int NOT NULL DEFAULT 0,      -- 0 while the first request is still running
    content_type text,
    response     bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, api_key_id, method, path, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
