-- bubble-bridge: destinations (a Bubble backend-workflow URL per event type)
-- and deliveries (one per event and destination).  Tenant tables: keys lead
-- with account_id.

CREATE TABLE bubble_bridge_destinations (
    account_id      text NOT NULL,
    id              text NOT NULL,                  -- bdst_…
    event_type      text NOT NULL,                  -- pass.created, pass.updated, pass.voided, pass.installed, pass.removed
    url             text NOT NULL,                  -- https://<app>.bubbleapps.io/version-test/api/1.1/wf/<workflow>
    template_id     text NOT NULL DEFAULT '',       -- '': passes of every template; else only this template's
    description     text NOT NULL DEFAULT '',
    -- The bearer token Bubble checks (an API token of the app), sealed with the
    -- gateway vault (host vault_seal, purpose "bearer_token/<id>"); NULL: none
    -- (a workflow that runs without authentication).  Never read back in clear.
    token_sealed    text,
    enabled         boolean NOT NULL DEFAULT true,
    -- Why the gateway disabled it ('' when enabled, or disabled by its owner):
    -- Bubble answered 401 or 403.
    disabled_reason text NOT NULL DEFAULT '',
    disabled_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id)
);
CREATE INDEX bubble_bridge_destinations_type_idx ON bubble_bridge_destinations (account_id, event_type) WHERE enabled;

-- One delivery per (destination, event): the unique key makes the fan-out of an
-- event delivered twice (at-least-once) a no-op.  body is the exact flat JSON
-- sent on every attempt.
CREATE TABLE bubble_bridge_deliveries (
    account_id       text NOT NULL,
    id               text NOT NULL,                 -- bdlv_…
    destination_id   text NOT NULL,
    event_id         text NOT NULL,                 -- evt_…
    event_type       text NOT NULL,
    test             boolean NOT NULL DEFAULT false, -- a "send test event" delivery
    url_suffix       text NOT NULL DEFAULT '',      -- '/initialize': the test event Bubble's "Detect data" waits for
    body             text NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL DEFAULT 5,
    event_created_at timestamptz NOT NULL,          -- the schedule is measured from here
    next_attempt_at  timestamptz,
    locked_until     timestamptz,                   -- an attempt in flight (claim; expires)
    last_status_code integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, destination_id, event_id),
    FOREIGN KEY (account_id, destination_id) REFERENCES bubble_bridge_destinations (account_id, id) ON DELETE CASCADE
);
CREATE INDEX bubble_bridge_deliveries_destination_idx ON bubble_bridge_deliveries (account_id, destination_id, id DESC);
