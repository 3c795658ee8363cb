-- The dashboard's users, their sessions, sign-up invitations and login throttling (docs/dashboard.md).
-- Passwords are stored as scrypt hashes, session and invitation tokens as their SHA-256:
-- none of the secrets a browser holds can be read back from these tables.

CREATE TABLE portal_users (
    account_id          text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id                  text NOT NULL,
    email               text NOT NULL,
    password_hash       text NOT NULL,       -- $scrypt$ln=..,r=..,p=..$salt$hash
    created_at          timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    last_login_at       timestamptz,
    PRIMARY KEY (account_id, id)
);
-- One email signs in to one account.
CREATE UNIQUE INDEX portal_users_email_key ON portal_users (lower(email));
CREATE UNIQUE INDEX portal_users_id_key ON portal_users (id);

CREATE TABLE portal_sessions (
    account_id   text NOT NULL,
    token_hash   text NOT NULL,              -- sha256 hex of the cookie's token
    user_id      text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,       -- the absolute end; idleness ends it sooner
    ip           text NOT NULL,
    PRIMARY KEY (account_id, token_hash),
    FOREIGN KEY (account_id, user_id) REFERENCES portal_users (account_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX portal_sessions_token_key ON portal_sessions (token_hash);
CREATE INDEX portal_sessions_user_idx ON portal_sessions (account_id, user_id);
CREATE INDEX portal_sessions_expires_idx ON portal_sessions (expires_at);

-- Failed logins per email ('email:<lower-case address>') and per client address ('ip:<address>'),
-- shared by every gateway process of the database: a lockout holds whichever process is asked.
CREATE TABLE portal_login_throttle (
    key          text PRIMARY KEY,
    failures     int NOT NULL,
    window_start timestamptz NOT NULL,
    locked_until timestamptz
);

-- An invitation: to sign up a new account (account_id NULL, when portal.signup is "invite")
-- or to join an existing one as another user.
CREATE TABLE portal_invites (
    token_hash text PRIMARY KEY,
    account_id text REFERENCES accounts (id) ON DELETE CASCADE,
    email      text,                          -- when set, only this address may use it
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
