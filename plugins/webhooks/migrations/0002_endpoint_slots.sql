-- webhooks: the attempts in flight per endpoint, for the whole deployment.
-- per_endpoint_concurrency bounds an endpoint's attempts across every gateway
-- process: an attempt holds one of its endpoint's slots (0 ..
-- per_endpoint_concurrency - 1) while it is sent.  held_until outlives the
-- attempt's total timeout, so the slot of an attempt lost with its process
-- frees itself, never before that attempt could still be sending.
CREATE TABLE webhooks_endpoint_slots (
    account_id  text NOT NULL,
    endpoint_id text NOT NULL,
    slot        integer NOT NULL,
    token       text NOT NULL,                 -- the attempt holding it (released by this token)
    held_until  timestamptz NOT NULL,
    PRIMARY KEY (account_id, endpoint_id, slot),
    FOREIGN KEY (account_id, endpoint_id) REFERENCES webhooks_endpoints (account_id, id) ON DELETE CASCADE
);
