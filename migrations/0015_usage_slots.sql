-- The usage counter of an account and month is spread over 8 rows ("slots"),
-- so concurrent operations of one account do not all queue on one row's lock
-- (core/src/domain/metering.c).  Each slot holds at most its share of the
-- limit (limit / 8, the first limit % 8 slots one more), so the slots together
-- never pass it; the month's count is their sum.  Existing counts are spread
-- over the slots the same way, which keeps every slot within its share.
ALTER TABLE usage_counters ADD COLUMN slot smallint NOT NULL DEFAULT 0 CHECK (slot >= 0 AND slot < 8);
ALTER TABLE usage_counters DROP CONSTRAINT usage_counters_pkey;
INSERT INTO usage_counters (account_id, period, slot, operations)
    SELECT account_id, period, s, operations / 8 + CASE WHEN s < operations % 8 THEN 1 ELSE 0 END
    FROM usage_counters, generate_series(1, 7) AS s WHERE slot = 0;
UPDATE usage_counters SET operations = operations / 8 + CASE WHEN operations % 8 > 0 THEN 1 ELSE 0 END WHERE slot = 0;
ALTER TABLE usage_counters ADD PRIMARY KEY (account_id, period, slot);
