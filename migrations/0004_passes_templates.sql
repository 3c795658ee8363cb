-- Passes and templates: the core domain, platform-free.

CREATE TABLE templates (
    account_id  text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id          text NOT NULL,                   -- tpl_…
    name        text NOT NULL,
    body        jsonb NOT NULL,                  -- a unified pass body (template mode: nothing required)
    version     int NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz,
    PRIMARY KEY (account_id, id)
);

CREATE TABLE passes (
    account_id     text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id             text NOT NULL,                -- pass_…
    serial_number  text NOT NULL,
    pass_type      text NOT NULL,
    status         text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'voided')),
    template_id    text,
    body           jsonb NOT NULL,               -- the effective body: template merged with overrides
    overrides      jsonb NOT NULL DEFAULT '{}',  -- the keys the pass itself set (template propagation skips them)
    version        int NOT NULL DEFAULT 1,       -- moves on every real change
    auth_token     text NOT NULL,                -- a per-pass token, sealed by the vault (moved by 0009)
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, serial_number),
    FOREIGN KEY (account_id, template_id) REFERENCES templates (account_id, id)
);
CREATE INDEX passes_list_idx ON passes (account_id, id DESC);
CREATE INDEX passes_template_idx ON passes (account_id, template_id) WHERE template_id IS NOT NULL;
-- Device protocols name a pass by its serial number (and a scope of their own) only.
CREATE INDEX passes_serial_idx ON passes (serial_number);

-- Credentials of the kinds plugins register, sealed by the vault; `meta` holds what reads may show.
-- The CHECK is 0008's (a kind name's shape); this file was edited to match it, see docs/operations.md.
CREATE TABLE credentials (
    account_id  text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    platform    text NOT NULL CHECK (platform ~ '^[a-z][a-z0-9_-]{0,31}$'),
    sealed      text NOT NULL,                   -- wpv1:<key version>:… (see core/src/vault.h)
    key_version int NOT NULL,
    meta        jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, platform)
);
