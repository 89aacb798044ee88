DROP INDEX sessions_expires_ms;
DROP TABLE server_keys;
