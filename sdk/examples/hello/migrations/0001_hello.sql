-- The hello plugin's own tables.  Plugin tables are prefixed with the
-- plugin's name and, like every tenant table, lead their keys with account_id.
CREATE TABLE hello_greetings (
    account_id text NOT NULL,
    id bigserial,
    name text NOT NULL,
    greeting text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id)
);

-- One row per event delivered to the subscriber; the key deduplicates
-- (delivery is at-least-once).
CREATE TABLE hello_deliveries (
    account_id text NOT NULL,
    event_id text NOT NULL,
    name text NOT NULL,
    delivered_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, event_id)
);
