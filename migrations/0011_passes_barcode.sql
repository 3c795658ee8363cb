-- GET /api/v1/passes?barcode_message=: a pass found by what its barcode says
-- (a scanner's reading, an integration's search) on an index, not by reading
-- every pass of the account.  serial_number has its unique index already.
CREATE INDEX passes_barcode_idx ON passes (account_id, (body->>'barcode_message'));
