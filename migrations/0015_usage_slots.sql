-- The usage counter of an account and month is spread over 8 rows ("slots"),
-- so concurrent operations of one account do not all queue on one row's lock
-- (core/src/domain/metering.c).  Each slot holds at most its share of the
-- limit (limit / 8, the first limit % 8 slots one more), so the slots together
-- never pass it; the month's count is their sum (usage_counter_rows).
-- Slot 0 is the usage_counters row, its key (account_id, period) unchanged: a
-- gateway of the release before keeps counting there during an upgrade
-- (docs/operations.md).  Slots 1-7 are rows of usage_counter_slots.  Existing
-- counts are spread over the slots the same way, which keeps every slot within
-- its share.
CREATE TABLE usage_counter_slots (
    account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    period     text NOT NULL,            -- 'YYYY-MM' (UTC)
    slot       smallint NOT NULL CHECK (slot >= 1 AND slot < 8),
    operations bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, period, slot)
);
INSERT INTO usage_counter_slots (account_id, period, slot, operations)
    SELECT account_id, period, s, operations / 8 + CASE WHEN s < operations % 8 THEN 1 ELSE 0 END
    FROM usage_counters, generate_series(1, 7) AS s;
UPDATE usage_counters SET operations = operations / 8 + CASE WHEN operations % 8 > 0 THEN 1 ELSE 0 END;
-- Every slot of every month, for reading the sum.
CREATE VIEW usage_counter_rows AS
    SELECT account_id, period, 0::smallint AS slot, operations FROM usage_counters
    UNION ALL
    SELECT account_id, period, slot, operations FROM usage_counter_slots;
