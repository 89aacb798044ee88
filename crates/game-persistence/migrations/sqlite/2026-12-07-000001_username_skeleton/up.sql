-- docs/limits.md: a new name may not look like an existing one. `username_skeleton` is the
-- confusable skeleton (Unicode UTS #39) of the name's key
-- (game_domain::username::username_skeleton), so Cyrillic `а` and Latin `a` share it. The
-- server fills it in for existing rows right after migrating; an existing name whose
-- skeleton an older account already has keeps NULL (both keep working: only new
-- registrations are checked). NULLs do not collide in a unique index.
ALTER TABLE users ADD COLUMN username_skeleton TEXT;
CREATE UNIQUE INDEX users_username_skeleton_unique ON users (username_skeleton);
