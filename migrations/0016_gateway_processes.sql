-- The live gateway processes of a deployment.  Each process's job-queue
-- maintenance thread inserts its row at start, renews expires_at about once
-- a second and deletes the row at a clean stop.  A row whose expires_at has
-- passed names a process that stopped renewing it (killed, host gone): its
-- running jobs are taken over at once instead of after their lease, and it
-- no longer counts as live.
--
-- Limits configured for the whole deployment (the API rate limit, the
-- plugins' outbound limits) are divided by the live count
-- (docs/operations.md, "Several gateways").
CREATE TABLE gateway_processes (
    owner        text PRIMARY KEY,           -- the job lease owner ("host:pid:token:node")
    host         text NOT NULL,
    pid          integer NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);

-- The live count, for the core and for plugins (which query it through the
-- host's database access rather than depend on the table): at least 1, the
-- process asking being live itself.
CREATE FUNCTION wp_live_gateways() RETURNS integer
    LANGUAGE sql STABLE
    AS $$ SELECT greatest(count(*), 1)::integer FROM gateway_processes WHERE expires_at > now() $$;
