-- apns plugin: Apple's pass web service (registrations, update tags, device
-- logs) and the results of APNs pushes.  Every key leads with account_id.

-- One counter per account: every change of an account's pass takes the next
-- value as its update tag.  The upsert locks the row until the change
-- commits, so tags commit in increasing order within an account and a
-- device's passesUpdatedSince never skips a change committed later with a
-- smaller tag.
CREATE TABLE apns_accounts (
    account_id  text PRIMARY KEY,
    last_tag    bigint NOT NULL DEFAULT 0
);

-- What Apple devices see of a pass: its update tag, its Last-Modified second
-- (strictly increasing per change, so If-Modified-Since never hides a change
-- made within the same second) and the last notification message.
CREATE TABLE apns_passes (
    account_id     text NOT NULL,
    pass_id        text NOT NULL,
    serial_number  text NOT NULL,
    tag            bigint NOT NULL,
    modified_s     bigint NOT NULL,
    message        text,
    message_id     text,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, pass_id)
);

-- A device (library) registered for a pass.  push_token is opaque and
-- unbounded (a device keeps one token).
CREATE TABLE apns_registrations (
    account_id                 text NOT NULL,
    device_library_identifier  text NOT NULL,
    pass_type_identifier       text NOT NULL,
    serial_number              text NOT NULL,
    push_token                 text NOT NULL,
    pass_id                    text NOT NULL,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    last_push_status           int,
    last_push_reason           text,
    last_push_at               timestamptz,
    PRIMARY KEY (account_id, device_library_identifier, pass_type_identifier, serial_number)
);
CREATE INDEX apns_registrations_pass_idx ON apns_registrations (account_id, pass_id);
CREATE INDEX apns_registrations_token_idx ON apns_registrations (account_id, push_token);
-- the list call knows only the device and the pass type identifier
CREATE INDEX apns_registrations_device_idx ON apns_registrations (device_library_identifier, pass_type_identifier);

-- One row per push attempt.
CREATE TABLE apns_pushes (
    account_id                 text NOT NULL,
    id                         bigserial,
    pass_id                    text NOT NULL,
    device_library_identifier  text NOT NULL,
    status                     int NOT NULL,          -- HTTP status; 0 = no answer (transport)
    reason                     text,
    apns_id                    text,
    attempt                    int NOT NULL,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id)
);
CREATE INDEX apns_pushes_pass_idx ON apns_pushes (account_id, pass_id, id DESC);

-- What Wallet reports through POST /v1/log.  The log call carries no
-- credentials: a line is attributed to the account whose registrations name
-- a pass type identifier it mentions, otherwise to '' (operators only).
CREATE TABLE apns_logs (
    account_id  text NOT NULL,
    id          bigserial,
    message     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id)
);
