-- GET /api/v1/events?pass_id=: the events of one pass (the dashboard's pass page shows its
-- versions), found on an index rather than by reading every event of the account.  A pass's
-- events carry the pass resource ("pass") or its id ("pass_id").
CREATE INDEX events_pass_idx ON events (account_id, (coalesce(data->'pass'->>'id', data->>'pass_id')), id);
