//! Fresh databases per test, on both backends, and small helpers.

use std::fmt::Debug;

use async_trait::async_trait;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use game_domain::error::{AppError, GameError};
use game_domain::game::PasswordHasher;
use game_persistence::{Database, StoreError};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tempfile::TempDir;

/// The variable naming the PostgreSQL server the tests may use.
pub const PG_URL_VAR: &str = "SPACEWARS_TEST_PG_URL";

/// A migrated, empty database of one backend, removed when dropped.
pub struct TestDb {
    /// The handle under test.
    pub db: Database,
    /// What `Database::connect` was given, to open more handles on the same database.
    pub url: String,
    /// Which backend, for messages.
    pub backend: &'static str,
    // Declared last: dropped after the handle.
    _cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] TempDir),
    Postgres { base_url: String, schema: String },
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Cleanup::Postgres { base_url, schema } = self {
            // Idle pooled connections hold no locks, so this does not wait for them.
            let dropped = PgConnection::establish(base_url)
                .map_err(|e| e.to_string())
                .and_then(|mut conn| {
                    conn.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
                        .map_err(|e| e.to_string())
                });
            if let Err(error) = dropped {
                eprintln!("could not drop test schema {schema}: {error}");
            }
        }
    }
}

/// Runs `test` on a fresh SQLite database, then on a fresh PostgreSQL schema if
/// [`PG_URL_VAR`] is set (saying so when it is not).
///
/// An async closure, not a closure returning an `async move` block: such a block would
/// capture only the fields it uses, dropping the rest of the `TestDb` (its temporary
/// directory or schema) before the test body even runs.
pub async fn on_each_backend(test: impl AsyncFn(TestDb)) {
    test(sqlite().await).await;
    match std::env::var(PG_URL_VAR) {
        Ok(base_url) => test(postgres(&base_url).await).await,
        Err(_) => println!("PostgreSQL part skipped: {PG_URL_VAR} is not set"),
    }
}

async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("spacewars.db").display().to_string();
    TestDb {
        db: Database::connect(&url).await.unwrap(),
        url,
        backend: "sqlite",
        _cleanup: Cleanup::Sqlite(dir),
    }
}

async fn postgres(base_url: &str) -> TestDb {
    let schema = format!("test_{:016x}", StdRng::from_os_rng().random::<u64>());
    let mut admin = PgConnection::establish(base_url).unwrap();
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .unwrap();
    let separator = if base_url.contains('?') { '&' } else { '?' };
    let url = format!("{base_url}{separator}options=-csearch_path%3D{schema}");
    let cleanup = Cleanup::Postgres {
        base_url: base_url.to_owned(),
        schema,
    };
    TestDb {
        db: Database::connect(&url).await.unwrap(),
        url,
        backend: "postgres",
        _cleanup: cleanup,
    }
}

/// A connection of the test's own, beside the store, for checks and tampering.
pub enum RawConnection {
    /// SQLite.
    Sqlite(SqliteConnection),
    /// PostgreSQL.
    Postgres(PgConnection),
}

impl TestDb {
    /// Opens a raw connection to the same database.
    pub fn raw(&self) -> RawConnection {
        if self.backend == "postgres" {
            RawConnection::Postgres(PgConnection::establish(&self.url).unwrap())
        } else {
            RawConnection::Sqlite(SqliteConnection::establish(&self.url).unwrap())
        }
    }

    /// Runs SQL statements on a raw connection.
    pub fn execute(&self, sql: &str) {
        match self.raw() {
            RawConnection::Sqlite(mut c) => c.batch_execute(sql).unwrap(),
            RawConnection::Postgres(mut c) => c.batch_execute(sql).unwrap(),
        }
    }

    /// The value of a scalar SQL expression such as `(SELECT count(*) FROM users)`.
    pub fn scalar(&self, expression: &str) -> i64 {
        let query = diesel::select(diesel::dsl::sql::<BigInt>(expression));
        match self.raw() {
            RawConnection::Sqlite(mut c) => query.get_result(&mut c).unwrap(),
            RawConnection::Postgres(mut c) => query.get_result(&mut c).unwrap(),
        }
    }

    /// Rows in `table`.
    pub fn count(&self, table: &str) -> i64 {
        self.scalar(&format!("(SELECT count(*) FROM {table})"))
    }
}

/// A test-only password "hash": the password with a prefix. Persistence tests need a
/// hasher for `Game`, not a slow one.
pub struct PlainHasher;

#[async_trait]
impl PasswordHasher for PlainHasher {
    async fn hash(&self, password: &str) -> Result<String, AppError> {
        Ok(format!("plain${password}"))
    }

    async fn verify(&self, password: &str, hash: Option<&str>) -> bool {
        hash == Some(format!("plain${password}").as_str())
    }
}

/// The rule a use case broke; panics on success or a storage error.
pub fn game_error<T: Debug>(result: Result<T, AppError>) -> GameError {
    match result {
        Err(AppError::Game(error)) => error,
        other => panic!("expected a game error, got {other:?}"),
    }
}

/// The storage error behind a use case's failure; panics on anything else.
pub fn storage_error<T: Debug>(result: Result<T, AppError>) -> StoreError {
    match result {
        Err(AppError::Storage(source)) => match source.downcast::<StoreError>() {
            Ok(error) => *error,
            Err(other) => panic!("expected a StoreError, got {other:?}"),
        },
        other => panic!("expected a storage error, got {other:?}"),
    }
}
