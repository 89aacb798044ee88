//! The schema, as embedded migrations: one folder per backend, applied at connect.

use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::connection::AnyConnection;
use crate::error::StoreError;

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Applies the migrations not yet applied; a no-op on an up-to-date database.
pub(crate) fn run_pending(conn: &mut AnyConnection) -> Result<(), StoreError> {
    // On the concrete connection: each backend has its own SQL.
    let result = match conn {
        AnyConnection::Sqlite(c) => c.run_pending_migrations(SQLITE).map(drop),
        AnyConnection::Pg(c) => c.run_pending_migrations(POSTGRES).map(drop),
    };
    result.map_err(|e| StoreError::Database(format!("migrations failed: {e}")))
}
