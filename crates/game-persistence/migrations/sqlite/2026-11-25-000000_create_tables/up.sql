-- The Spacewars schema on SQLite. Same meaning as ../../postgres; SQLite spellings
-- (INTEGER PRIMARY KEY is the 64-bit rowid, REAL is a double).

CREATE TABLE users (
    id INTEGER PRIMARY KEY NOT NULL,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    iron REAL NOT NULL,
    -- Unix seconds.
    last_updated BIGINT NOT NULL,
    iron_harvesting_level INTEGER NOT NULL CHECK (iron_harvesting_level >= 0),
    ship_speed_level INTEGER NOT NULL CHECK (ship_speed_level >= 0),
    afterburner_level INTEGER NOT NULL CHECK (afterburner_level >= 0),
    -- Wire name of the research in progress, with its remaining seconds; both or neither.
    active_research_type TEXT
        CHECK (active_research_type IN ('IronHarvesting', 'shipSpeed', 'Afterburner')),
    active_research_remaining REAL,
    ship_id BIGINT NOT NULL UNIQUE,
    CHECK ((active_research_type IS NULL) = (active_research_remaining IS NULL))
);

CREATE TABLE space_objects (
    id INTEGER PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('player_ship', 'asteroid', 'shipwreck', 'escape_pod')),
    x REAL NOT NULL,
    y REAL NOT NULL,
    speed REAL NOT NULL CHECK (speed >= 0),
    angle REAL NOT NULL CHECK (angle >= 0 AND angle < 360),
    last_position_update_ms BIGINT NOT NULL
);

CREATE TABLE sessions (
    -- Hex SHA-256 of the token; the token itself is never stored.
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE
);

-- Ids come from counters, never from MAX(id) + 1, so they are not reused after a crash.
CREATE TABLE id_counters (
    name TEXT PRIMARY KEY NOT NULL,
    next_id BIGINT NOT NULL
);
INSERT INTO id_counters (name, next_id) VALUES ('users', 1), ('space_objects', 1);

-- The one-owner lease (docs/persistence.md, One owner). The row always exists, so acquirers have a row to lock;
-- an empty token means nobody holds it.
CREATE TABLE lease (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    owner TEXT NOT NULL,
    token TEXT NOT NULL,
    expires_ms BIGINT NOT NULL
);
INSERT INTO lease (id, owner, token, expires_ms) VALUES (1, '', '', 0);
