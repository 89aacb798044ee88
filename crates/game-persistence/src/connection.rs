//! Connections: which backend a URL names, the connection type covering both, and the
//! pool that hands them out with their settings and round-trip counting in place, and
//! drops those the database ended instead of handing them out again.
//!
//! Each backend is a cargo feature (`sqlite`, `postgres`, both by default): a build
//! without one has no variant for it here, and refuses its URLs with
//! [`StoreError::BackendDisabled`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use diesel::connection::{Instrumentation, InstrumentationEvent, SimpleConnection};
#[cfg(feature = "postgres")]
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{ManageConnection, Pool, R2D2Connection};
use diesel::result::DatabaseErrorKind;
#[cfg(feature = "sqlite")]
use diesel::sqlite::SqliteConnection;

use crate::deadline::Deadlines;
use crate::error::StoreError;

/// A connection to either backend. Queries both dialects understand are written once
/// against it; the few that differ (upserts, row locks, `BEGIN IMMEDIATE`) match on it,
/// one arm per backend compiled in. (The derive sees the enum after `cfg` stripping, so
/// a one-backend build gets a one-variant connection.)
#[derive(diesel::MultiConnection)]
pub(crate) enum AnyConnection {
    /// The embedded default.
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteConnection),
    /// The production option.
    #[cfg(feature = "postgres")]
    Pg(PgConnection),
}

/// Runs the same expression on whichever concrete connection `$conn` holds, for queries
/// diesel does not offer through [`AnyConnection`] but spells alike on both backends.
macro_rules! on_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            #[cfg(feature = "sqlite")]
            $crate::connection::AnyConnection::Sqlite($c) => $body,
            #[cfg(feature = "postgres")]
            $crate::connection::AnyConnection::Pg($c) => $body,
        }
    };
}
pub(crate) use on_backend;

/// Which database a URL points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A PostgreSQL connection URL, passed to libpq unchanged.
    #[cfg(feature = "postgres")]
    Postgres(String),
    /// A SQLite file path, created if missing.
    #[cfg(feature = "sqlite")]
    Sqlite(String),
}

impl Target {
    /// Chooses the backend from the scheme: `postgres://` and `postgresql://` are
    /// PostgreSQL; `sqlite://path` and anything else is a SQLite file. Decided here because
    /// the derived `establish` would try SQLite first, and SQLite accepts any string. A
    /// backend this build leaves out is [`StoreError::BackendDisabled`].
    pub(crate) fn parse(url: &str) -> Result<Target, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            #[cfg(feature = "postgres")]
            return Ok(Target::Postgres(url.to_owned()));
            #[cfg(not(feature = "postgres"))]
            return Err(StoreError::BackendDisabled {
                backend: "PostgreSQL",
                feature: "postgres",
            });
        }
        #[cfg(not(feature = "sqlite"))]
        return Err(StoreError::BackendDisabled {
            backend: "SQLite",
            feature: "sqlite",
        });
        #[cfg(feature = "sqlite")]
        Target::sqlite(url)
    }

    /// A SQLite file path from `sqlite://path` or a bare path.
    #[cfg(feature = "sqlite")]
    fn sqlite(url: &str) -> Result<Target, StoreError> {
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        if path.is_empty() || path == ":memory:" {
            // Every pooled connection would get its own empty in-memory database.
            return Err(StoreError::InvalidUrl {
                url: url.to_owned(),
                reason: "each pooled connection would get a private, temporary database",
            });
        }
        Ok(Target::Sqlite(path.to_owned()))
    }

    /// Connections the pool keeps at most. SQLite has one writer at a time anyway; a few
    /// connections let readers proceed beside it (WAL).
    pub(crate) fn pool_size(&self) -> u32 {
        match self {
            #[cfg(feature = "postgres")]
            Target::Postgres(_) => 8,
            #[cfg(feature = "sqlite")]
            Target::Sqlite(_) => 4,
        }
    }
}

#[cfg(feature = "postgres")]
/// TCP keepalive settings for PostgreSQL connections (libpq parameters): a peer that
/// vanished without closing the connection is noticed within about 10 + 3 × 5 s on an idle
/// connection, and within `tcp_user_timeout` while data waits to be acknowledged.
const PG_KEEPALIVES: &str =
    "keepalives=1&keepalives_idle=10&keepalives_interval=5&keepalives_count=3";

#[cfg(feature = "postgres")]
/// The libpq URL with the connection settings added (unless the URL sets them itself):
/// `connect_timeout`, TCP keepalives and `tcp_user_timeout`.
pub(crate) fn pg_url_with_settings(url: &str, deadlines: &Deadlines) -> String {
    let connect_s = deadlines.connect.as_secs().max(2);
    let user_timeout_ms = deadlines.call.as_millis().max(1_000) * 2;
    let mut settings = vec![format!("connect_timeout={connect_s}")];
    settings.extend(PG_KEEPALIVES.split('&').map(str::to_owned));
    settings.push(format!("tcp_user_timeout={user_timeout_ms}"));
    let mut out = url.to_owned();
    for setting in settings {
        let name = setting.split('=').next().unwrap_or_default();
        let already = url
            .split_once('?')
            .is_some_and(|(_, query)| query.split('&').any(|p| p.starts_with(&format!("{name}="))));
        if !already {
            out.push(if out.contains('?') { '&' } else { '?' });
            out.push_str(&setting);
        }
    }
    out
}

/// Opens connections for the pool: per-backend settings, then the round-trip counter.
#[derive(Debug)]
pub(crate) struct Manager {
    target: Target,
    deadlines: Deadlines,
    round_trips: Arc<AtomicU64>,
}

impl Manager {
    fn establish(&self) -> ConnectionResult<AnyConnection> {
        // A second past the call deadline: the client-side deadline, which is counted,
        // fires first; the database then gives up on the abandoned statement too.
        let call_ms = self.deadlines.call.as_millis().max(1) + 1_000;
        Ok(match &self.target {
            #[cfg(feature = "postgres")]
            Target::Postgres(url) => {
                let url = pg_url_with_settings(url, &self.deadlines);
                let mut conn = PgConnection::establish(&url)?;
                // The server abandons a statement soon after the call deadline too, so a
                // call the client gave up on does not go on holding locks; and it ends a
                // transaction whose client went silent in it (a link cut mid-batch) just
                // as soon, so its row locks (the lease row's among them) cannot keep a
                // standby from taking over. Between the statements of a transaction the
                // client never waits on anything but its own CPU.
                conn.batch_execute(&format!(
                    "SET statement_timeout = {call_ms}; \
                     SET idle_in_transaction_session_timeout = {call_ms}"
                ))
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
                AnyConnection::Pg(conn)
            }
            #[cfg(feature = "sqlite")]
            Target::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path)?;
                // busy_timeout first: switching to WAL itself may wait for a lock.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {call_ms}; \
                     PRAGMA journal_mode = WAL; \
                     PRAGMA foreign_keys = ON;"
                ))
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
                AnyConnection::Sqlite(conn)
            }
        })
    }
}

impl ManageConnection for Manager {
    type Connection = Pooled;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Pooled, Self::Error> {
        let mut conn = self
            .establish()
            .map_err(diesel::r2d2::Error::ConnectionError)?;
        let dead = Arc::new(AtomicBool::new(false));
        // Installed after the settings, so the counter sees only the store's own work.
        conn.set_instrumentation(ConnectionWatch {
            round_trips: self.round_trips.clone(),
            dead: dead.clone(),
        });
        Ok(Pooled { conn, dead })
    }

    fn is_valid(&self, pooled: &mut Pooled) -> Result<(), Self::Error> {
        pooled.conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, pooled: &mut Pooled) -> bool {
        // diesel's `is_broken` is true while a transaction is open (e.g. after a panic
        // inside one), but not always for a connection whose server hung up: `dead`
        // covers that.
        pooled.dead.load(Ordering::Relaxed) || pooled.conn.is_broken()
    }
}

/// A connection in the pool, and whether it was found dead.
pub(crate) struct Pooled {
    conn: AnyConnection,
    /// Set by its [`ConnectionWatch`] when a statement failed because the connection is
    /// gone (the server restarted or ended it, the network was cut). The pool then drops
    /// it instead of handing it out again, where it would fail every later call.
    dead: Arc<AtomicBool>,
}

impl Pooled {
    /// Runs `f` on the connection (the flag stays out of the callers' way).
    pub(crate) fn run<T, E>(
        &mut self,
        f: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
    ) -> Result<T, E> {
        f(&mut self.conn)
    }
}

/// Watches a connection's statements: counts every one sent (one per `StartQuery`,
/// BEGIN and COMMIT included) and notes when one failed because the connection is gone.
struct ConnectionWatch {
    round_trips: Arc<AtomicU64>,
    dead: Arc<AtomicBool>,
}

impl Instrumentation for ConnectionWatch {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { .. } => {
                self.round_trips.fetch_add(1, Ordering::Relaxed);
            }
            InstrumentationEvent::FinishQuery {
                error: Some(error), ..
            } if is_connection_lost(error) => self.dead.store(true, Ordering::Relaxed),
            _ => {}
        }
    }
}

/// True for the errors of a connection that can no longer be used (libpq's "server closed
/// the connection", "no connection to the server"), as opposed to a refused statement.
fn is_connection_lost(error: &diesel::result::Error) -> bool {
    matches!(
        error,
        diesel::result::Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _
        )
    )
}

/// A pool of at most `size` connections to `target` whose statements are counted in
/// `round_trips`. Fails if the first connection cannot be opened.
pub(crate) fn pool(
    target: Target,
    size: u32,
    deadlines: Deadlines,
    round_trips: Arc<AtomicU64>,
) -> Result<Pool<Manager>, StoreError> {
    Pool::builder()
        .max_size(size)
        // Open connections on demand, but prove at start that one can be opened.
        .min_idle(Some(1))
        // No validation query on every checkout: it would be a round trip per operation.
        // Broken and dead connections are dropped by `has_broken` when they come back
        // instead (a `ConnectionWatch` finds the dead ones).
        .test_on_check_out(false)
        // Waiting for a connection is part of a call: bounded by the same deadline.
        .connection_timeout(deadlines.call.max(Duration::from_millis(1)))
        .build(Manager {
            target,
            deadlines,
            round_trips,
        })
        .map_err(StoreError::Connect)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_picks_the_backend() {
        let pg = "postgres://u@h/db";
        assert_eq!(Target::parse(pg).unwrap(), Target::Postgres(pg.into()));
        let pgql = "postgresql://u@h/db?sslmode=disable";
        assert_eq!(Target::parse(pgql).unwrap(), Target::Postgres(pgql.into()));
        assert_eq!(
            Target::parse("sqlite:///var/lib/spacewars.db").unwrap(),
            Target::Sqlite("/var/lib/spacewars.db".into())
        );
        assert_eq!(
            Target::parse("data/game.db").unwrap(),
            Target::Sqlite("data/game.db".into())
        );
        assert!(Target::parse(":memory:").is_err());
    }

    #[test]
    fn postgres_urls_get_timeouts_and_keepalives_unless_they_set_them() {
        let deadlines = Deadlines {
            call: Duration::from_millis(1_500),
            connect: Duration::from_secs(4),
            ..Deadlines::default()
        };
        assert_eq!(
            pg_url_with_settings("postgres://u@h/db", &deadlines),
            "postgres://u@h/db?connect_timeout=4&keepalives=1&keepalives_idle=10\
             &keepalives_interval=5&keepalives_count=3&tcp_user_timeout=3000"
        );
        assert_eq!(
            pg_url_with_settings(
                "postgres://u@h/db?connect_timeout=9&keepalives=0",
                &deadlines
            ),
            "postgres://u@h/db?connect_timeout=9&keepalives=0&keepalives_idle=10\
             &keepalives_interval=5&keepalives_count=3&tcp_user_timeout=3000"
        );
        assert!(Target::parse("sqlite://").is_err());
    }
}
