//! Each test body on both backends (the databases come from `game_persistence::testing`),
//! and small helpers.

use std::fmt::Debug;

use game_domain::error::{AppError, GameError};
use game_persistence::testing::TestDatabase;
use game_persistence::{Database, StoreError};

/// A fresh database of one backend and the handle under test on it.
pub struct TestDb {
    /// The handle under test.
    pub db: Database,
    /// The database itself: its URL and backend, raw SQL. Declared last: dropped (and
    /// removed) after the handle.
    pub test_db: TestDatabase,
}

impl TestDb {
    async fn open(test_db: TestDatabase) -> TestDb {
        TestDb {
            db: test_db.connect().await,
            test_db,
        }
    }
}

/// A fresh SQLite database, for tests about the file system rather than the backend.
pub async fn sqlite() -> TestDb {
    TestDb::open(TestDatabase::sqlite()).await
}

/// Runs `test` on a fresh SQLite database, then on a fresh PostgreSQL schema if
/// `SPACEWARS_TEST_PG_URL` is set (when it is not: failing under CI or
/// `SPACEWARS_TEST_REQUIRE_ALL=1`, else saying so on stderr; see
/// `game_persistence::testing::environment`).
///
/// An async closure, not a closure returning an `async move` block: such a block would
/// capture only the fields it uses, dropping the rest of the `TestDb` (its temporary
/// directory or schema) before the test body even runs.
pub async fn on_each_backend(test: impl AsyncFn(TestDb)) {
    test(TestDb::open(TestDatabase::sqlite()).await).await;
    if let Some(postgres) = TestDatabase::postgres() {
        test(TestDb::open(postgres).await).await;
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
        Err(AppError::Storage { source, .. }) => match source.downcast::<StoreError>() {
            Ok(error) => *error,
            Err(other) => panic!("expected a StoreError, got {other:?}"),
        },
        other => panic!("expected a storage error, got {other:?}"),
    }
}
