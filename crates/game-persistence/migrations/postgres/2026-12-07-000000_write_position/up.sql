-- Where the write-behind history of this database stands (docs/persistence.md, Spill
-- files): every write-behind batch (and every applied spill file) advances `flush_seq` by
-- one and records its own random `flush_id`, in the transaction that writes it. A spill
-- file names the batch it continues from and is applied only while that batch (or one of
-- its own whose outcome it could not learn) is still the last one here.
-- `expires_ms` is from now on written and compared on the database's clock.
ALTER TABLE lease ADD COLUMN flush_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE lease ADD COLUMN flush_id TEXT NOT NULL DEFAULT '';
