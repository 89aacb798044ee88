-- Secrets of the server, by name; `session` keys the MAC in session tokens, so a forged
-- token is refused without a lookup. Made at the first start; shared by every process
-- that opens this database, so tokens survive restarts.
CREATE TABLE server_keys (
    name TEXT PRIMARY KEY,
    -- Hex.
    secret TEXT NOT NULL
);
-- Expired and revoked sessions are deleted periodically.
CREATE INDEX sessions_expires_ms ON sessions (expires_ms);
