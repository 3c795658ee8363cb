-- The job queue and the durable event outbox (docs/jobs-and-events.md).

-- jobs is the queue every gateway process shares, not a tenant table: a
-- claim scans across accounts, and system jobs (cleanup, batches of the
-- operator) have no account.  So its key is the job id alone and account_id
-- is a nullable attribute with its own index.  Under Citus it stays a local
-- table on the coordinator; it therefore has no foreign key to accounts
-- (a job of a deleted account runs, finds nothing, and finishes).
CREATE TABLE jobs (
    id           text PRIMARY KEY,                 -- 'job_…'
    account_id   text,                             -- NULL: a system job
    kind         text NOT NULL,
    payload      jsonb NOT NULL DEFAULT '{}',
    run_at       timestamptz NOT NULL DEFAULT now(),
    attempts     int NOT NULL DEFAULT 0,           -- attempts started so far
    max_attempts int NOT NULL DEFAULT 1,
    status       text NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'running', 'done', 'failed')),
    locked_by    text,                             -- the claiming process while running
    locked_until timestamptz,                      -- the lease; renewed while the handler runs
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);
-- The claim: queued jobs that are due, oldest first.  Partial, so finished
-- jobs cost the claim nothing however many of them are kept.
CREATE INDEX jobs_claim_idx ON jobs (run_at) WHERE status = 'queued';
-- Lease recovery and lease renewal look only at running jobs.
CREATE INDEX jobs_lease_idx ON jobs (locked_until) WHERE status = 'running';
-- Retention of finished jobs.
CREATE INDEX jobs_done_idx ON jobs (finished_at) WHERE status = 'done';
CREATE INDEX jobs_account_idx ON jobs (account_id, created_at) WHERE account_id IS NOT NULL;

-- events is a tenant table: keys lead with account_id.  Ids sort by creation
-- time (ids.h), which the newest-first listing and its cursor rely on.
CREATE TABLE events (
    account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id         text NOT NULL,                      -- 'evt_…'
    type       text NOT NULL,
    schema     int NOT NULL DEFAULT 1,             -- version of the event document
    data       jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id)
);
CREATE INDEX events_account_type_idx ON events (account_id, type, id);
