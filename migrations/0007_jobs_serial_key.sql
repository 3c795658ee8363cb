-- Serialised jobs: a job may carry a serial key ("<plugin>:<account>:<pass>").
-- The queue never runs two jobs with the same key at once and, among the due
-- jobs of one key, runs the one enqueued first (docs/jobs-and-events.md).

ALTER TABLE jobs ADD COLUMN serial_key text;
-- Enqueue order.  created_at is the enqueuing transaction's start, which two
-- transactions can share or invert; a sequence value is taken at the insert.
-- Rows from before this migration keep NULL (they have no key either).
ALTER TABLE jobs ADD COLUMN seq bigint;
CREATE SEQUENCE jobs_seq OWNED BY jobs.seq;
ALTER TABLE jobs ALTER COLUMN seq SET DEFAULT nextval('jobs_seq');

-- The claim's look-up: the unfinished jobs of a key, oldest first.
CREATE INDEX jobs_key_idx ON jobs (serial_key, seq)
    WHERE serial_key IS NOT NULL AND status IN ('queued', 'running');
-- The guarantee itself: at most one running job per key.  Two claims racing
-- for different jobs of one key cannot both commit; the loser's claim fails
-- and is simply tried again.
CREATE UNIQUE INDEX jobs_key_running_idx ON jobs (serial_key) WHERE status = 'running';
