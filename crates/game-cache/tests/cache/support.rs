//! Shared test fixtures: a database per test (from `game_persistence::testing`), games,
//! and state readers; the fault-injecting store is in `fault_store`.

use std::sync::Arc;
use std::time::Duration;

use game_cache::{CacheConfig, CachedRepo};
use game_domain::clock::{Clock, ManualClock};
use game_domain::game::Game;
use game_domain::repository::Repository;
use game_domain::rng::GameRng;
use game_domain::seed::demo_user;
use game_domain::space_object::{ObjectId, ObjectKind, SpaceObject};
use game_domain::user::{User, UserId};
use game_persistence::testing::{PlainHasher, TestBackend, TestDatabase};
use game_persistence::{Batch, Database, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Start of every test's timeline (Unix ms).
pub const T0: i64 = 1_700_000_000_000;

/// Runs `$case(backend)` as two tests: on SQLite, and on PostgreSQL when
/// `SPACEWARS_TEST_PG_URL` is set (else the PostgreSQL one fails under CI or
/// `SPACEWARS_TEST_REQUIRE_ALL=1`, and elsewhere passes empty after the binary said so on
/// stderr: `game_persistence::testing::environment`).
macro_rules! on_both_backends {
    ($case:ident, $sqlite:ident, $pg:ident $(, $($attr:tt)+)?) => {
        #[tokio::test $(($($attr)+))?]
        async fn $sqlite() {
            $case($crate::support::TestStore::sqlite().await).await;
        }

        #[tokio::test $(($($attr)+))?]
        async fn $pg() {
            let postgres = game_persistence::testing::TestBackend::Postgres;
            if let Some(backend) = $crate::support::TestStore::new(postgres).await {
                $case(backend).await;
            }
        }
    };
}
pub(crate) use on_both_backends;

/// A fresh, migrated database (from `game_persistence::testing`) and a handle on it.
pub struct TestStore {
    /// The database handle (implements `Store`).
    pub db: Database,
    /// Declared after the handle, so the handle goes first; removes the database.
    _test_db: TestDatabase,
}

impl TestStore {
    /// A SQLite file in a temporary directory.
    pub async fn sqlite() -> TestStore {
        TestStore::on(TestDatabase::sqlite()).await
    }

    /// A fresh database on `backend`, or `None` for PostgreSQL when
    /// `SPACEWARS_TEST_PG_URL` is not set.
    pub async fn new(backend: TestBackend) -> Option<TestStore> {
        Some(TestStore::on(backend.fresh_database()?).await)
    }

    async fn on(test_db: TestDatabase) -> TestStore {
        TestStore {
            db: test_db.connect().await,
            _test_db: test_db,
        }
    }

    /// The database as a `Store` trait object.
    pub fn store(&self) -> Arc<dyn Store> {
        Arc::new(self.db.clone())
    }
}

/// A game over `repo` with a seeded RNG and the plain hasher.
pub fn game<R: Repository>(repo: R, clock: &ManualClock, seed: u64) -> Game<R> {
    Game::new(
        repo,
        Arc::new(clock.clone()),
        GameRng::from_seed(seed),
        Arc::new(PlainHasher),
    )
}

/// A config for tests: the timer effectively off (tests flush explicitly) and a big id
/// block, unless a test changes them.
pub fn quiet_config() -> CacheConfig {
    CacheConfig {
        persist_interval: Duration::from_secs(3_600),
        id_block_size: 100_000,
        ..CacheConfig::default()
    }
}

/// Starts a cache over `store`.
pub async fn start(store: Arc<dyn Store>, config: CacheConfig, clock: &ManualClock) -> CachedRepo {
    let clock: Arc<dyn Clock> = Arc::new(clock.clone());
    CachedRepo::start(store, config, clock)
        .await
        .expect("cache starts")
}

/// Seeds the demo world (user `a` with 1000 iron, nine objects) at `now_ms`.
pub async fn seed_demo(db: &Database, now_ms: i64) {
    db.seed_if_empty(Some(demo_user("plain$a".into(), now_ms)), now_ms)
        .await
        .expect("seed");
}

/// Adds `n` still asteroids within `radius` of the spawn point (250, 250), so ships there
/// can collect them while the clock stands still. Returns their ids.
pub async fn seed_asteroids(db: &Database, n: usize, radius: f64, seed: u64) -> Vec<ObjectId> {
    let mut rng = StdRng::seed_from_u64(seed);
    let first = db.reserve_object_ids(n as i64).await.expect("reserve");
    let objects: Vec<SpaceObject> = (0..n)
        .map(|i| {
            let r = radius * rng.random::<f64>().sqrt();
            let a = rng.random_range(0.0..std::f64::consts::TAU);
            SpaceObject {
                id: first + i as i64,
                kind: ObjectKind::Asteroid,
                x: 250.0 + r * a.cos(),
                y: 250.0 + r * a.sin(),
                speed: 0.0,
                angle: 0.0,
                last_position_update_ms: T0,
            }
        })
        .collect();
    let ids = objects.iter().map(|o| o.id).collect();
    db.apply_batch(Batch {
        upserted_objects: objects,
        ..Batch::default()
    })
    .await
    .expect("seed asteroids");
    ids
}

/// Every object in the store, by id.
pub async fn stored_world(db: &Database) -> Vec<SpaceObject> {
    let mut objects = db.load_world().await.expect("load world");
    objects.sort_by_key(|o| o.id);
    objects
}

/// The stored users with these ids (missing ones are a test failure).
pub async fn stored_users(db: &Database, ids: &[UserId]) -> Vec<User> {
    let mut users = Vec::with_capacity(ids.len());
    for id in ids {
        users.push(
            db.load_user(*id)
                .await
                .expect("load user")
                .expect("user exists"),
        );
    }
    users
}

/// Every object in the cache, by id.
pub async fn cached_world(repo: &CachedRepo) -> Vec<SpaceObject> {
    repo.view_world(|world| world.objects().copied().collect())
        .await
        .expect("view world")
}

/// The cached users with these ids.
pub async fn cached_users(repo: &CachedRepo, ids: &[UserId]) -> Vec<User> {
    let mut users = Vec::with_capacity(ids.len());
    for id in ids {
        users.push(
            repo.read_player(*id, |user, _ship| user.clone())
                .await
                .expect("read player"),
        );
    }
    users
}

/// Registers `n` players `p0`, `p1`, … through the game; returns their ids and tokens.
pub async fn register_players<R: Repository>(game: &Game<R>, n: usize) -> Vec<(UserId, String)> {
    let mut players = Vec::with_capacity(n);
    for i in 0..n {
        let name = format!("p{i}");
        let registered = game.register(&name, "pw").await.expect("register");
        players.push((registered.user_id, registered.token));
    }
    players
}

/// Registers `n` players like [`register_players`]; returns only their ids.
pub async fn register_player_ids<R: Repository>(game: &Game<R>, n: usize) -> Vec<UserId> {
    register_players(game, n)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect()
}

/// The seeded demo user `a`, as the repository has it.
pub async fn demo_user_of<R: Repository>(repo: &R) -> User {
    repo.find_user_by_name("a")
        .await
        .expect("find")
        .expect("demo user")
}

/// Asserts the store holds exactly what the cache holds: these users, and the world.
pub async fn assert_store_matches_cache(db: &Database, repo: &CachedRepo, ids: &[UserId]) {
    assert_eq!(stored_users(db, ids).await, cached_users(repo, ids).await);
    assert_eq!(stored_world(db).await, cached_world(repo).await);
}

pub use crate::fault_store::{FaultStore, PauseAt};
