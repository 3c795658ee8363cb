-- Batches (POST /api/v1/passes/batch) and the location index of GET /api/v1/passes?near=.

CREATE TABLE batches (
    account_id    text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id            text NOT NULL,                 -- batch_…
    status        text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'processing', 'completed')),
    total         int NOT NULL CHECK (total BETWEEN 1 AND 1000),
    template_id   text,                          -- the default template of the items
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz,
    PRIMARY KEY (account_id, id)
);

-- One row per item: the input until it is processed, then its result.  A pass and
-- its item's result commit in one transaction, so a chunk run again (the gateway
-- died mid-batch) skips the items already done and never creates a pass twice.
CREATE TABLE batch_items (
    account_id  text NOT NULL,
    batch_id    text NOT NULL,
    idx         int NOT NULL,                    -- the item's index in "passes"
    body        jsonb,                           -- the item as sent; NULL once processed
    status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    pass_id     text,
    error       jsonb,                           -- {status, type, code, message, param}
    PRIMARY KEY (account_id, batch_id, idx),
    FOREIGN KEY (account_id, batch_id) REFERENCES batches (account_id, id) ON DELETE CASCADE
);

-- locations[i] of every pass, for ?near=: a bounding box on (account_id, lat, lng)
-- first, then the exact great-circle distance (core/src/passes.c).
CREATE TABLE passes_locations (
    account_id  text NOT NULL,
    pass_id     text NOT NULL,
    idx         int NOT NULL,
    lat         double precision NOT NULL,
    lng         double precision NOT NULL,
    PRIMARY KEY (account_id, pass_id, idx),
    FOREIGN KEY (account_id, pass_id) REFERENCES passes (account_id, id) ON DELETE CASCADE
);
CREATE INDEX passes_locations_geo_idx ON passes_locations (account_id, lat, lng) INCLUDE (pass_id);

-- Kept in the transaction of every write of passes.body, whoever writes it
-- (create, update, template propagation, batch): nothing can forget it.
CREATE FUNCTION passes_locations_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.body -> 'locations' IS NOT DISTINCT FROM OLD.body -> 'locations' THEN
            RETURN NULL;
        END IF;
        DELETE FROM passes_locations WHERE account_id = NEW.account_id AND pass_id = NEW.id;
    END IF;
    IF jsonb_typeof(NEW.body -> 'locations') = 'array' THEN
        INSERT INTO passes_locations (account_id, pass_id, idx, lat, lng)
        SELECT NEW.account_id, NEW.id, (e.ord - 1)::int, (e.loc ->> 'latitude')::float8, (e.loc ->> 'longitude')::float8
          FROM jsonb_array_elements(NEW.body -> 'locations') WITH ORDINALITY AS e (loc, ord)
         WHERE jsonb_typeof(e.loc -> 'latitude') = 'number' AND jsonb_typeof(e.loc -> 'longitude') = 'number';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER passes_locations_sync AFTER INSERT OR UPDATE OF body ON passes
    FOR EACH ROW EXECUTE FUNCTION passes_locations_sync();

-- Passes written before this migration.
INSERT INTO passes_locations (account_id, pass_id, idx, lat, lng)
SELECT p.account_id, p.id, (e.ord - 1)::int, (e.loc ->> 'latitude')::float8, (e.loc ->> 'longitude')::float8
  FROM passes p, jsonb_array_elements(p.body -> 'locations') WITH ORDINALITY AS e (loc, ord)
 WHERE jsonb_typeof(p.body -> 'locations') = 'array'
   AND jsonb_typeof(e.loc -> 'latitude') = 'number' AND jsonb_typeof(e.loc -> 'longitude') = 'number';
