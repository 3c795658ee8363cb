-- zapier-bridge: REST-hook subscriptions (one per Zap step that subscribed)
-- and their deliveries.  Tenant tables: keys lead with account_id.

CREATE TABLE zapier_bridge_hooks (
    account_id  text NOT NULL,
    id          text NOT NULL,                       -- zh_…
    event       text NOT NULL,                       -- pass.created, …
    target_url  text NOT NULL,                       -- Zapier's hook URL (https, checked against private targets)
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id)
);
CREATE INDEX zapier_bridge_hooks_event_idx ON zapier_bridge_hooks (account_id, event);

-- One delivery per (subscription, event): the unique key makes the fan-out of
-- an event delivered twice (at-least-once) a no-op.  body is the flat event,
-- exactly as posted on every attempt.  A subscription removed (DELETE, or a
-- 410 from its target) takes its deliveries with it.
CREATE TABLE zapier_bridge_deliveries (
    account_id       text NOT NULL,
    id               text NOT NULL,                  -- zhd_…
    hook_id          text NOT NULL,
    event_id         text NOT NULL,
    body             text NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL DEFAULT 5,
    event_created_at timestamptz NOT NULL,           -- the schedule is measured from here
    next_attempt_at  timestamptz,
    locked_until     timestamptz,                    -- an attempt in flight (claim; expires)
    last_status_code integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, hook_id, event_id),
    FOREIGN KEY (account_id, hook_id) REFERENCES zapier_bridge_hooks (account_id, id) ON DELETE CASCADE
);
