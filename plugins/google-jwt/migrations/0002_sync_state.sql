-- google-jwt: what Google has, so that sync jobs send only what changed and
-- notify at most once.

-- The object as last sent (SHA-256 of its JSON, and the values of the
-- pass's fields with a change message): an update job whose rendering equals
-- it sends nothing; a notifying update is one that changes such a value.
-- NULL: unknown (inserted by the request path, or before this migration).
ALTER TABLE google_jwt_objects ADD COLUMN content_hash text;
ALTER TABLE google_jwt_objects ADD COLUMN notify_values jsonb;
ALTER TABLE google_jwt_objects ADD COLUMN synced_at timestamptz;

-- A notification is claimed ('sending') before it is sent and marked 'sent'
-- on Google's answer; a refused one is deleted.  A claim left 'sending' (no
-- answer, process killed) counts toward the three-a-day rule and is never
-- sent again blindly.  loud: TEXT_AND_NOTIFY or a notifying update (what the
-- rule counts); silent TEXT messages are recorded too, so that they are sent
-- at most once.  Rows from before this migration were loud and sent.
ALTER TABLE google_jwt_notifications ADD COLUMN state text NOT NULL DEFAULT 'sent'
    CHECK (state IN ('sending', 'sent'));
ALTER TABLE google_jwt_notifications ADD COLUMN loud boolean NOT NULL DEFAULT true;
