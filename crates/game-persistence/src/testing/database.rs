//! [`TestDatabase`]: a fresh database per test on either backend, removed when dropped.
//!
//! Modelled on crates.io's `crates_io_test_db`. Every failure here panics with what went
//! wrong: a test database that cannot be made is a broken test environment, not a case a
//! test could handle.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tempfile::TempDir;

use super::environment;
use crate::database::Database;
use crate::deadline::Deadlines;

/// The variable naming the PostgreSQL server test databases are made on, e.g.
/// `postgres://postgres@127.0.0.1:5432/test`.
pub const PG_URL_VAR: &str = "SPACEWARS_TEST_PG_URL";

/// The call deadline of [`TestDatabase::connect`]'s handles: a minute, not the default
/// 5 s, so a database call slowed by a loaded machine is not cut (tests of the deadline
/// set their own with `Database::connect_with`).
pub const TEST_CALL_DEADLINE: Duration = Duration::from_secs(60);

/// Which backend a [`TestDatabase`] is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A schema of its own on the PostgreSQL server of [`PG_URL_VAR`].
    Postgres,
}

impl TestBackend {
    /// True when a database of this backend can be made here. For PostgreSQL without
    /// [`PG_URL_VAR`] this fails the test under CI or `SPACEWARS_TEST_REQUIRE_ALL=1`, and
    /// otherwise says once on stderr that the PostgreSQL tests are skipped.
    pub fn available(self) -> bool {
        match self {
            TestBackend::Sqlite => true,
            TestBackend::Postgres => TestDatabase::postgres_available(),
        }
    }

    /// A fresh, empty database on this backend; `None` (after saying "skipped") for
    /// PostgreSQL when [`PG_URL_VAR`] is not set.
    pub fn fresh_database(self) -> Option<TestDatabase> {
        match self {
            TestBackend::Sqlite => Some(TestDatabase::sqlite()),
            TestBackend::Postgres => TestDatabase::postgres(),
        }
    }
}

impl fmt::Display for TestBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TestBackend::Sqlite => "sqlite",
            TestBackend::Postgres => "postgres",
        })
    }
}

/// A fresh, empty database (migrations run at the first [`Database::connect`]), removed
/// with everything in it when this value is dropped.
///
/// Drop every [`Database`] handle on it first: a PostgreSQL schema is dropped even while
/// idle pooled connections still point at it, but a handle used afterwards fails.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    place: Place,
}

/// Where the database lives, kept for the clean-up.
#[derive(Debug)]
enum Place {
    /// Removing the directory removes the file.
    Sqlite { _dir: TempDir },
    /// Dropped over a connection of its own to the server's URL.
    Postgres { admin_url: String, schema: String },
}

/// Tells apart the schemas one test process makes; the random part keeps a schema left
/// over by a killed run (same pid, same counter) from colliding with a new one.
static NEXT_SCHEMA: AtomicU64 = AtomicU64::new(0);

impl TestDatabase {
    /// A SQLite file in a new temporary directory.
    pub fn sqlite() -> TestDatabase {
        let dir = tempfile::tempdir().expect("a temporary directory for the test database");
        let url = dir.path().join("spacewars.db").display().to_string();
        TestDatabase {
            url,
            place: Place::Sqlite { _dir: dir },
        }
    }

    /// True when [`PG_URL_VAR`] is set. When it is not, this panics under CI or
    /// [`REQUIRE_ALL_VAR`](super::environment::REQUIRE_ALL_VAR), and otherwise says on
    /// stderr (once per test binary) that the PostgreSQL tests are skipped.
    #[track_caller]
    pub fn postgres_available() -> bool {
        environment::required_var(PG_URL_VAR, "PostgreSQL").is_some()
    }

    /// A new schema on the PostgreSQL server of [`PG_URL_VAR`], which the returned URL
    /// selects through `search_path`; `None` when the variable is not set, after
    /// [`TestDatabase::postgres_available`] failed the test or said it is skipped.
    #[track_caller]
    pub fn postgres() -> Option<TestDatabase> {
        let admin_url = environment::required_var(PG_URL_VAR, "PostgreSQL")?;
        let schema = format!(
            "test_{}_{}_{:08x}",
            std::process::id(),
            NEXT_SCHEMA.fetch_add(1, Ordering::Relaxed),
            StdRng::from_os_rng().random::<u32>()
        );
        pg(&admin_url)
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .expect("create the test schema");
        let separator = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!(
            "{admin_url}{separator}options=-csearch_path%3D{schema}%20-capplication_name%3D{schema}"
        );
        Some(TestDatabase {
            url,
            place: Place::Postgres { admin_url, schema },
        })
    }

    /// What `Database::connect` (or `--database-url`) takes to reach this database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Which backend this database is on.
    pub fn backend(&self) -> TestBackend {
        match self.place {
            Place::Sqlite { .. } => TestBackend::Sqlite,
            Place::Postgres { .. } => TestBackend::Postgres,
        }
    }

    /// A handle on this database with [`TEST_CALL_DEADLINE`]; the first one runs the
    /// migrations.
    pub async fn connect(&self) -> Database {
        let deadlines = Deadlines {
            call: TEST_CALL_DEADLINE,
            ..Deadlines::default()
        };
        Database::connect_with(&self.url, deadlines)
            .await
            .unwrap_or_else(|error| {
                panic!("connect to the {} test database: {error}", self.backend())
            })
    }

    /// Runs SQL statements on a connection of their own, beside any handle under test.
    pub fn execute(&self, sql: &str) {
        match self.backend() {
            TestBackend::Sqlite => sqlite(&self.url).batch_execute(sql),
            TestBackend::Postgres => pg(&self.url).batch_execute(sql),
        }
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
    }

    /// The value of a scalar SQL expression such as `(SELECT count(*) FROM users)`.
    pub fn scalar(&self, expression: &str) -> i64 {
        let query = diesel::select(diesel::dsl::sql::<BigInt>(expression));
        match self.backend() {
            TestBackend::Sqlite => query.get_result(&mut sqlite(&self.url)),
            TestBackend::Postgres => query.get_result(&mut pg(&self.url)),
        }
        .unwrap_or_else(|error| panic!("{expression}: {error}"))
    }

    /// Rows in `table`.
    pub fn count(&self, table: &str) -> i64 {
        self.scalar(&format!("(SELECT count(*) FROM {table})"))
    }

    /// Blocks every game write on a connection of its own until the returned value is
    /// dropped: SQLite's write lock (`BEGIN IMMEDIATE`), or PostgreSQL's `EXCLUSIVE` lock
    /// on the game tables (plain reads go on; the lease table stays free). Writes wait
    /// meanwhile: database calls that do not return.
    pub fn block_writes(&self) -> LockHeld {
        let sql = "LOCK TABLE id_counters, users, space_objects, sessions IN EXCLUSIVE MODE";
        let conn = match self.backend() {
            TestBackend::Sqlite => {
                let mut conn = sqlite(&self.url);
                conn.batch_execute("BEGIN IMMEDIATE")
                    .expect("take the write lock");
                Held::Sqlite(conn)
            }
            TestBackend::Postgres => {
                let mut conn = pg(&self.url);
                conn.batch_execute(&format!("BEGIN; {sql}")).expect(sql);
                Held::Pg(conn)
            }
        };
        LockHeld(conn)
    }

    /// Ends every PostgreSQL connection to this database (its handles' pools included)
    /// from the server's side, as a database restart or a network cut would; returns how
    /// many it ended. `None` on SQLite, whose connections are files.
    pub fn end_connections(&self) -> Option<i64> {
        let Place::Postgres { admin_url, schema } = &self.place else {
            return None;
        };
        let query = diesel::select(diesel::dsl::sql::<BigInt>(&format!(
            "(SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = '{schema}')"
        )));
        Some(
            query
                .get_result(&mut pg(admin_url))
                .expect("end the test database's connections"),
        )
    }

    /// Makes every later statement on this database fail by dropping its schema now
    /// (PostgreSQL); `false` on SQLite, whose open file cannot be taken away like that.
    pub fn break_now(&self) -> bool {
        let Place::Postgres { admin_url, schema } = &self.place else {
            return false;
        };
        pg(admin_url)
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .expect("drop the test schema");
        true
    }
}

/// A lock taken by [`TestDatabase::block_writes`]; dropping it rolls back and frees it.
pub struct LockHeld(Held);

enum Held {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

impl fmt::Debug for LockHeld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LockHeld")
    }
}

impl Drop for LockHeld {
    fn drop(&mut self) {
        let rolled_back = match &mut self.0 {
            Held::Sqlite(conn) => conn.batch_execute("ROLLBACK"),
            Held::Pg(conn) => conn.batch_execute("ROLLBACK"),
        };
        if let Err(error) = rolled_back {
            eprintln!("could not free the test lock: {error}");
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Place::Postgres { admin_url, schema } = &self.place {
            // Idle pooled connections hold no locks, so this does not wait for them.
            // `IF EXISTS`: `break_now` may have dropped it already.
            let dropped = PgConnection::establish(admin_url)
                .map_err(|e| e.to_string())
                .and_then(|mut conn| {
                    conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                        .map_err(|e| e.to_string())
                });
            if let Err(error) = dropped {
                eprintln!("could not drop test schema {schema}: {error}");
            }
        }
    }
}

/// A PostgreSQL connection to `url` (the server's, or the test schema's).
fn pg(url: &str) -> PgConnection {
    PgConnection::establish(url).unwrap_or_else(|error| panic!("connect to PostgreSQL: {error}"))
}

/// A SQLite connection to the file at `path`; it waits up to 10 s for another
/// connection's write lock.
fn sqlite(path: &str) -> SqliteConnection {
    let mut conn =
        SqliteConnection::establish(path).unwrap_or_else(|error| panic!("open {path}: {error}"));
    conn.batch_execute("PRAGMA busy_timeout = 10000")
        .unwrap_or_else(|error| panic!("busy_timeout on {path}: {error}"));
    conn
}
