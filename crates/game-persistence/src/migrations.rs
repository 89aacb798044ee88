//! The schema, as embedded migrations: one folder per backend, applied at connect.

#[cfg(feature = "postgres")]
use diesel::connection::SimpleConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::connection::AnyConnection;
use crate::error::StoreError;
use crate::transaction;

#[cfg(feature = "sqlite")]
const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
#[cfg(feature = "postgres")]
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// The PostgreSQL advisory lock key that serialises start-ups (`"spacewar"` in ASCII).
#[cfg(feature = "postgres")]
const MIGRATION_LOCK_KEY: i64 = 0x7370_6163_6577_6172;

/// Applies the pending migrations in one write transaction that first takes a
/// database-wide lock: on PostgreSQL a transaction-scoped advisory lock, on SQLite the
/// write lock (`BEGIN IMMEDIATE`). Two processes starting together on a fresh database
/// thus migrate one after the other: the second finds nothing left to do (and then meets
/// the first one's lease).
pub(crate) fn run_pending_locked(conn: &mut AnyConnection) -> Result<(), StoreError> {
    transaction::write(conn, |conn| {
        match conn {
            // Migrating, or waiting for another process's migration, may take longer than
            // one ordinary call.
            #[cfg(feature = "postgres")]
            AnyConnection::Pg(c) => c.batch_execute(&format!(
                "SET LOCAL statement_timeout = 60000; \
                 SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"
            ))?,
            #[cfg(feature = "sqlite")]
            AnyConnection::Sqlite(_) => {}
        }
        run_pending(conn)
    })
}

/// Applies the migrations not yet applied; a no-op on an up-to-date database.
fn run_pending(conn: &mut AnyConnection) -> Result<(), StoreError> {
    // On the concrete connection: each backend has its own SQL.
    let result = match conn {
        #[cfg(feature = "sqlite")]
        AnyConnection::Sqlite(c) => c.run_pending_migrations(SQLITE).map(drop),
        #[cfg(feature = "postgres")]
        AnyConnection::Pg(c) => c.run_pending_migrations(POSTGRES).map(drop),
    };
    result.map_err(StoreError::Migration)
}
