//! How long writers wait for the world lock while world reads run, over a cache of 100,000
//! objects on a real SQLite file: a read as the server does it (an O(1) snapshot under the
//! lock, positions after releasing it) against a read that positions every object under
//! the lock (as world reads did before snapshots). The measured value is not wall time
//! but the world lock's total wait (its wait counter) during 60 navigates with two tasks
//! reading meanwhile; a ratio of the two is the figure (BENCHMARKS.md).
//!
//! Run with `cargo bench -p game-cache --bench world_reads`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use game_cache::{CacheConfig, CachedRepo};
use game_domain::clock::{Clock, ManualClock};
use game_domain::game::Game;
use game_domain::navigate::NavigateRequest;
use game_domain::repository::Repository;
use game_domain::rng::GameRng;
use game_domain::space_object::{ObjectKind, SpaceObject};
use game_domain::user::UserId;
use game_persistence::testing::PlainHasher;
use game_persistence::{Batch, Database, Store};
use tempfile::TempDir;
use tokio::runtime::Runtime;

const T0_MS: i64 = 1_800_000_000_000;
const OBJECTS: usize = 100_000;
const WRITES: usize = 60;
const READERS: usize = 2;

/// A cache holding `OBJECTS` still asteroids and one player.
struct Fixture {
    repo: CachedRepo,
    game: Arc<Game<CachedRepo>>,
    player: UserId,
    clock: ManualClock,
    _dir: TempDir,
}

impl Fixture {
    fn new(runtime: &Runtime) -> Fixture {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("bench.db");
        let clock = ManualClock::new(T0_MS);
        let (repo, game, player) = runtime.block_on(async {
            let db = Database::connect(path.to_str().expect("utf-8 path"))
                .await
                .expect("connect sqlite");
            let first = db.reserve_object_ids(OBJECTS as i64).await.expect("ids");
            let asteroids = (0..OBJECTS)
                .map(|i| SpaceObject {
                    id: first + i as i64,
                    kind: ObjectKind::Asteroid,
                    x: (i % 500) as f64,
                    y: (i / 500 % 500) as f64,
                    speed: 0.0,
                    angle: 0.0,
                    last_position_update_ms: T0_MS,
                })
                .collect();
            db.apply_batch(Batch {
                upserted_objects: asteroids,
                ..Batch::default()
            })
            .await
            .expect("seed asteroids");
            let store: Arc<dyn Store> = Arc::new(db);
            let config = CacheConfig {
                persist_interval: Duration::from_secs(3_600),
                ..CacheConfig::default()
            };
            let shared: Arc<dyn Clock> = Arc::new(clock.clone());
            let repo = CachedRepo::start(store, config, shared)
                .await
                .expect("cache starts");
            let game = Arc::new(Game::new(
                repo.clone(),
                Arc::new(clock.clone()),
                GameRng::from_seed(7),
                Arc::new(PlainHasher),
            ));
            let player = game
                .register("pilot", "pw")
                .await
                .expect("register")
                .user_id;
            (repo, game, player)
        });
        Fixture {
            repo,
            game,
            player,
            clock,
            _dir: dir,
        }
    }

    /// The world lock's total wait while `READERS` tasks read the world with `read` and
    /// this task makes `WRITES` navigates.
    async fn wait_under_reads<F, Fut>(&self, read: F) -> Duration
    where
        F: Fn() -> Fut + Send + Sync + Clone + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let before = self.repo.stats().world_lock.total_wait;
        let stop = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..READERS)
            .map(|_| {
                let (read, stop) = (read.clone(), stop.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        read().await;
                    }
                })
            })
            .collect();
        for i in 0..WRITES {
            let course = NavigateRequest {
                speed: Some(1.0),
                angle: Some((i % 360) as f64),
            };
            self.game
                .navigate(self.player, course)
                .await
                .expect("navigate");
            // Let the readers get a fresh read going between writes.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        stop.store(true, Ordering::Relaxed);
        for reader in readers {
            reader.await.expect("reader");
        }
        self.repo.stats().world_lock.total_wait - before
    }
}

fn world_lock_wait_under_reads(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(3)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let fixture = Fixture::new(&runtime);
    let mut group = c.benchmark_group("world_lock_wait_under_reads");
    group.sample_size(10);
    group.bench_function("snapshot_reads", |b| {
        b.iter_custom(|iterations| {
            let game = fixture.game.clone();
            let read = move || {
                let game = game.clone();
                async move {
                    let world = game.world().await.expect("world");
                    assert_eq!(world.space_objects.len(), OBJECTS + 1);
                }
            };
            (0..iterations)
                .map(|_| runtime.block_on(fixture.wait_under_reads(read.clone())))
                .sum()
        })
    });
    group.bench_function("copying_reads", |b| {
        b.iter_custom(|iterations| {
            let (repo, clock) = (fixture.repo.clone(), fixture.clock.clone());
            let read = move || {
                let (repo, clock) = (repo.clone(), clock.clone());
                async move {
                    let now = clock.now_ms();
                    let objects = repo.view_world(move |w| w.snapshot_at(now)).await;
                    assert_eq!(objects.map(|o| o.len()).ok(), Some(OBJECTS + 1));
                }
            };
            (0..iterations)
                .map(|_| runtime.block_on(fixture.wait_under_reads(read.clone())))
                .sum()
        })
    });
    group.finish();
    runtime
        .block_on(fixture.repo.shutdown())
        .expect("final flush");
}

criterion_group!(benches, world_lock_wait_under_reads);
criterion_main!(benches);
