-- google-jwt: notifications sent per pass.  Google allows 3 notifying
-- messages / updates per pass per 24 hours; past that the plugin sends
-- silent ones (TEXT, no notifyPreference).  The key deduplicates retries of
-- one event (job delivery is at-least-once).
CREATE TABLE google_jwt_notifications (
    account_id text NOT NULL,
    pass_id    text NOT NULL,
    event_id   text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('message', 'update')),
    sent_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, pass_id, event_id)
);
CREATE INDEX google_jwt_notifications_recent_idx ON google_jwt_notifications (account_id, pass_id, sent_at);

-- Objects this plugin has inserted at Google over REST.  A pass whose save
-- link must be skinny is inserted once; later versions keep the same ids and
-- their content reaches Google through the update job's PATCH, so the
-- request path makes no REST call again.
CREATE TABLE google_jwt_objects (
    account_id  text NOT NULL,
    object_id   text NOT NULL,
    inserted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, object_id)
);

-- The content (SHA-256 of the JSON) of each class as last sent over REST: an
-- update job patches the class only when what the pass renders for it changed
-- (one class serves every pass of a template, or of an account and type).
CREATE TABLE google_jwt_classes (
    account_id   text NOT NULL,
    class_id     text NOT NULL,
    content_hash text NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, class_id)
);
