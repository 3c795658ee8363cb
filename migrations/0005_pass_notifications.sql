-- Pass notifications (POST /passes/:id/notify) and the lookups of public pass links.

-- One row per accepted notification: daily limits per pass (a platform plugin's) count them.
CREATE TABLE pass_notifications (
    account_id  text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id          text NOT NULL,                   -- ntf_…
    pass_id     text NOT NULL,
    message     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    FOREIGN KEY (account_id, pass_id) REFERENCES passes (account_id, id) ON DELETE CASCADE
);
CREATE INDEX pass_notifications_pass_idx ON pass_notifications (account_id, pass_id, created_at);

-- A pass link names the pass by id only (the capability in it says which account's).
CREATE INDEX passes_id_idx ON passes (id);
