-- docs/limits.md: usernames are unique without regard to case. `username_key` is the name's
-- NFC form lower-cased (game_domain::username::username_key). The server fills it in for
-- existing rows right after migrating (the rule is Unicode-aware, SQL's lower() is not); a
-- legacy name whose key another account already has keeps NULL and still logs in by its
-- exact name. NULLs do not collide in a unique index.
ALTER TABLE users ADD COLUMN username_key TEXT;
CREATE UNIQUE INDEX users_username_key_unique ON users (username_key);
