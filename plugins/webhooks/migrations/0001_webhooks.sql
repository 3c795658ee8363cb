-- webhooks: endpoints, deliveries (one per event and endpoint) and the
-- attempts of each delivery.  Tenant tables: keys lead with account_id.

CREATE TABLE webhooks_endpoints (
    account_id             text NOT NULL,
    id                     text NOT NULL,            -- wh_…
    url                    text NOT NULL,
    event_types            jsonb NOT NULL,           -- ["pass.created", …] or ["*"]
    description            text NOT NULL DEFAULT '',
    enabled                boolean NOT NULL DEFAULT true,
    -- The signing secret ("whsec_…") sealed with the gateway vault (host
    -- vault_seal, purpose "webhook_secret/<id>"): "wpv1:<key version>:<base64>".
    secret_sealed          text NOT NULL,
    -- The secret before the last rotation: it keeps signing until previous_secret_until.
    previous_secret_sealed text,
    previous_secret_until  timestamptz,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id)
);

-- One delivery per (endpoint, event): the unique key makes the fan-out of an
-- event delivered twice (at-least-once) a no-op.  body is the exact JSON sent
-- (and signed) on every attempt.
CREATE TABLE webhooks_deliveries (
    account_id       text NOT NULL,
    id               text NOT NULL,                  -- whd_…
    endpoint_id      text NOT NULL,
    event_id         text NOT NULL,                  -- evt_…: the webhook-id header and the body's id
    event_type       text NOT NULL,
    body             text NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,     -- attempts made
    max_attempts     integer NOT NULL DEFAULT 5,     -- a manual retry allows one more
    event_created_at timestamptz NOT NULL,           -- the schedule is measured from here
    next_attempt_at  timestamptz,
    locked_until     timestamptz,                    -- an attempt in flight (claim; expires)
    last_status_code integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, endpoint_id, event_id),
    FOREIGN KEY (account_id, endpoint_id) REFERENCES webhooks_endpoints (account_id, id) ON DELETE CASCADE
);
CREATE INDEX webhooks_deliveries_endpoint_idx ON webhooks_deliveries (account_id, endpoint_id, id DESC);

CREATE TABLE webhooks_attempts (
    account_id       text NOT NULL,
    delivery_id      text NOT NULL,
    attempt          integer NOT NULL,               -- 1, 2, …
    started_at       timestamptz NOT NULL,
    status_code      integer,                        -- NULL: no HTTP response
    error            text,                           -- network error or refusal; NULL on a 2xx
    latency_ms       integer NOT NULL,
    response_excerpt text NOT NULL DEFAULT '',
    PRIMARY KEY (account_id, delivery_id, attempt),
    FOREIGN KEY (account_id, delivery_id) REFERENCES webhooks_deliveries (account_id, id) ON DELETE CASCADE
);
