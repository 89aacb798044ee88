ALTER TABLE lease DROP COLUMN flush_id;
ALTER TABLE lease DROP COLUMN flush_seq;
