//! The real server, started in-process on port 0 over a fresh database, with a manual
//! clock and a seeded RNG; and the macro that runs a test on every setup.

use std::net::SocketAddr;
use std::sync::Arc;

use game_domain::clock::ManualClock;
use game_persistence::testing::{TestBackend, TestDatabase};
use game_server::{
    Config, Dependencies, LimitsConfig, RepoKind, Server, ServerError, StorageConfig, Switch,
};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::client::Client;

/// When every test starts: 2027-01-15T08:00:00Z, a whole second.
pub const T0: i64 = 1_800_000_000_000;

/// The seed of the server's RNG.
pub const SEED: u64 = 42;

/// The world version a fresh server of `setup` starts at: the cache counts from its start
/// time × 1000; the database repository keeps no versions (always 0).
pub fn start_version(setup: Setup) -> u64 {
    match setup.repo {
        RepoKind::Cached => T0 as u64 * 1_000,
        RepoKind::Db => 0,
    }
}

/// A database and repository to run a test on.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    /// The database backend.
    pub db: TestBackend,
    /// The repository.
    pub repo: RepoKind,
}

/// Logs to the test output when `TEST_LOG` is set (e.g. `TEST_LOG=debug`).
fn init_logging() {
    if let Ok(filter) = std::env::var("TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
}

/// The configuration tests run with: port 0, light argon2, the given database and repo,
/// a database call deadline of a minute, and no rate limits (every test client logs in from 127.0.0.1; the limits' own tests
/// turn them on).
pub fn test_config(url: &str, repo: RepoKind) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().expect("addr"),
        database_url: url.to_owned(),
        repo,
        argon2_memory_kib: 256,
        argon2_iterations: 1,
        argon2_parallelism: 1,
        limits: LimitsConfig {
            rate_limits: Switch::Off,
            ..LimitsConfig::default()
        },
        // A database call slowed by a loaded machine is not cut (the deadline's own tests
        // set theirs).
        storage: StorageConfig {
            db_call_timeout_ms: 60_000,
            ..StorageConfig::default()
        },
        ..Config::default()
    }
}

/// A running server and what a test needs to talk to it.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where the operations listener listens (`--ops-listen`), if configured.
    pub ops_addr: Option<SocketAddr>,
    /// Its clock; move it to make time pass.
    pub clock: ManualClock,
    /// Which setup it runs.
    pub setup: Setup,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServerError>>>,
    seed: u64,
    // Last: the database outlives the server.
    db: Arc<TestDatabase>,
}

impl Setup {
    /// True when this setup's database can be made here (see `TestBackend::available`).
    pub fn available(self) -> bool {
        self.db.available()
    }

    /// Starts a server on a fresh database.
    pub async fn start(self) -> TestServer {
        self.start_with(|_| {}).await
    }

    /// Starts a server on a fresh database with a changed configuration.
    pub async fn start_with(self, change: impl FnOnce(&mut Config)) -> TestServer {
        let db = Arc::new(
            self.db
                .fresh_database()
                .expect("each setup checks `available` first"),
        );
        self.start_on(db, ManualClock::new(T0), SEED, change).await
    }

    async fn start_on(
        self,
        db: Arc<TestDatabase>,
        clock: ManualClock,
        seed: u64,
        change: impl FnOnce(&mut Config),
    ) -> TestServer {
        init_logging();
        let mut config = test_config(db.url(), self.repo);
        change(&mut config);
        let deps = Dependencies {
            clock: Arc::new(clock.clone()),
            rng_seed: Some(seed),
        };
        let server = Server::bind(config, deps).await.expect("server starts");
        let addr = server.local_addr();
        let ops_addr = server.ops_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            ops_addr,
            clock,
            setup: self,
            stop: Some(stop),
            task: Some(task),
            seed,
            db,
        }
    }
}

impl TestServer {
    /// A client without a session.
    pub fn client(&self) -> Client {
        Client::new(self.addr)
    }

    /// A client sending `session` (e.g. one kept across a restart).
    pub fn client_with(&self, session: Option<String>) -> Client {
        let mut client = Client::new(self.addr);
        client.session = session;
        client
    }

    /// A client logged in as the demo user `a`.
    pub async fn demo(&self) -> Client {
        let mut client = self.client();
        let reply = client.login("a", "a").await;
        assert_eq!(reply.status, 200, "demo login: {:?}", reply.body);
        client
    }

    /// The database, to start another server on it (it lives while a clone does).
    pub fn database(&self) -> Arc<TestDatabase> {
        self.db.clone()
    }

    /// Triggers shutdown without waiting for it.
    pub fn trigger_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// True once `run` returned.
    pub fn is_stopped(&self) -> bool {
        self.task.as_ref().is_none_or(|task| task.is_finished())
    }

    /// Shuts down and returns what `run` returned.
    pub async fn stop(mut self) -> Result<(), ServerError> {
        self.shutdown_and_wait().await
    }

    async fn shutdown_and_wait(&mut self) -> Result<(), ServerError> {
        self.trigger_shutdown();
        let task = self.task.take().expect("running");
        task.await.expect("server task")
    }

    /// Stops (asserting a clean stop) and starts a new server on the same database with
    /// the same clock, as a restart would. The new process draws other random numbers
    /// (the same seed would issue the same session tokens again).
    pub async fn restart(self) -> TestServer {
        self.restart_with(|_| {}).await
    }

    /// Like [`TestServer::restart`], with a changed configuration.
    pub async fn restart_with(mut self, change: impl FnOnce(&mut Config)) -> TestServer {
        self.shutdown_and_wait().await.expect("clean stop");
        let (setup, db, clock, seed) = (
            self.setup,
            self.db.clone(),
            self.clock.clone(),
            self.seed + 1,
        );
        drop(self);
        setup.start_on(db, clock, seed, change).await
    }

    /// Stops (asserting a clean stop) and keeps what a restart on the same address needs:
    /// clients (a browser) keep their URL across [`Stopped::start_again`].
    pub async fn stop_for_restart(self) -> Stopped {
        let (result, stopped) = self.stop_any().await;
        result.expect("clean stop");
        stopped
    }

    /// Stops without asserting a clean stop: what `run` returned, and what a restart needs.
    pub async fn stop_any(mut self) -> (Result<(), ServerError>, Stopped) {
        let result = self.shutdown_and_wait().await;
        let stopped = Stopped {
            setup: self.setup,
            db: self.db.clone(),
            clock: self.clock.clone(),
            seed: self.seed + 1,
            addr: self.addr,
        };
        drop(self);
        (result, stopped)
    }

    /// Advances the clock.
    pub fn advance_ms(&self, ms: i64) {
        self.clock.advance_ms(ms);
    }

    /// The `/metrics` page.
    pub async fn metrics(&self) -> String {
        let reply = self.client().get("/metrics").await;
        assert_eq!(reply.status, 200);
        String::from_utf8(reply.body.to_vec()).expect("utf-8")
    }

    /// One unlabelled sample of `/metrics`, if present.
    pub async fn metric(&self, name: &str) -> Option<f64> {
        let page = self.metrics().await;
        page.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// True if two JSON values are equal, numbers compared as `f64` within a relative 1e-12
/// (the test side parses floats without serde_json's exact round-trip, so the last digit
/// may differ; the server's output is exact).
pub fn json_eq(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(a), Some(b)) => a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs()),
            _ => a == b,
        },
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(key, a)| b.get(key).is_some_and(|b| json_eq(a, b)))
        }
        (a, b) => a == b,
    }
}

/// Asserts two JSON values are equal, numbers compared by value (see [`json_eq`]).
#[track_caller]
pub fn assert_json(actual: &Value, expected: &Value) {
    assert!(
        json_eq(actual, expected),
        "\nactual:   {actual}\nexpected: {expected}"
    );
}

/// A server stopped by [`TestServer::stop_for_restart`].
pub struct Stopped {
    setup: Setup,
    db: Arc<TestDatabase>,
    clock: ManualClock,
    seed: u64,
    addr: SocketAddr,
}

impl Stopped {
    /// Starts the server again on the same database and clock, with a changed
    /// configuration.
    pub async fn start_again_with(self, change: impl FnOnce(&mut Config)) -> TestServer {
        self.setup
            .start_on(self.db, self.clock, self.seed, change)
            .await
    }

    /// Starts the server again on the same database, clock and address.
    pub async fn start_again(self) -> TestServer {
        let addr = self.addr;
        self.setup
            .start_on(self.db, self.clock, self.seed, |config| {
                config.listen = addr
            })
            .await
    }
}

/// Generates, for each listed `async fn name(setup: Setup)`, one test per setup:
/// SQLite and PostgreSQL, each with the cached and the database repository. Prefixed
/// `cached:`, only the cached repository's two setups (for what only a cache has: its
/// sessions, the event stream); prefixed `postgres:`, only PostgreSQL's two (for what
/// only PostgreSQL can do under a running server). A test whose database cannot be made
/// here runs nothing, after [`Setup::available`] failed it or said so on stderr; the
/// bodies themselves never return early.
macro_rules! each_setup {
    (cached: $($test:ident),* $(,)?) => {
        mod cached_only {
            use super::*;
            $crate::harness::each_setup!(@mod sqlite_cached, Sqlite, Cached, $($test),*);
            $crate::harness::each_setup!(@mod postgres_cached, Postgres, Cached, $($test),*);
        }
    };
    (postgres: $($test:ident),* $(,)?) => {
        mod postgres_only {
            use super::*;
            $crate::harness::each_setup!(@mod postgres_cached, Postgres, Cached, $($test),*);
            $crate::harness::each_setup!(@mod postgres_db, Postgres, Db, $($test),*);
        }
    };
    ($($test:ident),* $(,)?) => {
        each_setup!(@mod sqlite_cached, Sqlite, Cached, $($test),*);
        each_setup!(@mod sqlite_db, Sqlite, Db, $($test),*);
        each_setup!(@mod postgres_cached, Postgres, Cached, $($test),*);
        each_setup!(@mod postgres_db, Postgres, Db, $($test),*);
    };
    (@mod $module:ident, $db:ident, $repo:ident, $($test:ident),*) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let setup = $crate::harness::Setup {
                        db: game_persistence::testing::TestBackend::$db,
                        repo: game_server::RepoKind::$repo,
                    };
                    if setup.available() {
                        super::$test(setup).await;
                    }
                }
            )*
        }
    };
}

pub(crate) use each_setup;
