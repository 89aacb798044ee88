//! The tables, as diesel sees them; written by hand to match both migration folders.

diesel::table! {
    /// Players: account, iron, research levels and the research in progress.
    users (id) {
        /// Assigned from the `users` id counter.
        id -> BigInt,
        /// Unique login name.
        username -> Text,
        /// PHC string.
        password_hash -> Text,
        /// Iron owned.
        iron -> Double,
        /// Unix seconds up to which iron and research are accounted.
        last_updated -> BigInt,
        /// Research level.
        iron_harvesting_level -> Integer,
        /// Research level.
        ship_speed_level -> Integer,
        /// Research level.
        afterburner_level -> Integer,
        /// Wire name of the research in progress.
        active_research_type -> Nullable<Text>,
        /// Seconds left of the research in progress.
        active_research_remaining -> Nullable<Double>,
        /// The player's ship in `space_objects`.
        ship_id -> BigInt,
        /// NFC lower-cased name, unique (NULL only for legacy case-duplicates).
        username_key -> Nullable<Text>,
        /// Confusable skeleton of the key, unique (NULL only for legacy look-alikes).
        username_skeleton -> Nullable<Text>,
    }
}

diesel::table! {
    /// Every object in the world, player ships included, in analytic motion.
    space_objects (id) {
        /// Assigned from the `space_objects` id counter.
        id -> BigInt,
        /// Wire name of the kind (`asteroid`, …).
        kind -> Text,
        /// x at `last_position_update_ms`.
        x -> Double,
        /// y at `last_position_update_ms`.
        y -> Double,
        /// Units per minute.
        speed -> Double,
        /// Heading in degrees.
        angle -> Double,
        /// Unix milliseconds at which x, y were exact.
        last_position_update_ms -> BigInt,
    }
}

diesel::table! {
    /// Login sessions, stored under the hash of their token.
    sessions (token_hash) {
        /// Hex SHA-256 of the token.
        token_hash -> Text,
        /// Whose session.
        user_id -> BigInt,
        /// Unix ms of creation.
        created_ms -> BigInt,
        /// Unix ms after which it is invalid.
        expires_ms -> BigInt,
        /// Set by logout.
        revoked -> Bool,
    }
}

diesel::table! {
    /// Id counters (`users`, `space_objects`): the next id not yet handed out.
    id_counters (name) {
        /// Which ids.
        name -> Text,
        /// First id never handed out.
        next_id -> BigInt,
    }
}

diesel::table! {
    /// The one row saying which server process owns the database, and until when.
    lease (id) {
        /// Always 1.
        id -> Integer,
        /// Human-readable owner, for the operator.
        owner -> Text,
        /// Random per acquisition; empty when free. Fences writes of a process that lost it.
        token -> Text,
        /// Unix ms on the database's clock after which another process may take over.
        expires_ms -> BigInt,
        /// Write-behind batches (and spill files) written so far.
        flush_seq -> BigInt,
        /// Random id of the last of them; empty before the first.
        flush_id -> Text,
    }
}

diesel::table! {
    /// Named secrets of the server (`session`: the session token MAC key; `spill`: the
    /// spill file MAC key), hex.
    server_keys (name) {
        /// What the secret is for.
        name -> Text,
        /// The secret, hex.
        secret -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(users, space_objects);
