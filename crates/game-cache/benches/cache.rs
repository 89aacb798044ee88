//! Hot paths of `CachedRepo` over a real SQLite file: units of work in memory (a user
//! update, a user + world update, a world read) and one write-behind flush of N dirty users.
//!
//! Run with `cargo bench -p game-cache --bench cache` (or `cargo xtask bench`).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use game_cache::{CacheConfig, CachedRepo};
use game_domain::accounts::NewUser;
use game_domain::clock::{Clock, ManualClock};
use game_domain::repository::Repository;
use game_domain::user::UserId;
use game_persistence::{Database, Store};
use tempfile::TempDir;
use tokio::runtime::Runtime;

const T0_MS: i64 = 1_800_000_000_000;

/// A cache over a fresh SQLite file holding `users` players (and their ships).
struct Fixture {
    repo: CachedRepo,
    users: Vec<UserId>,
    clock: ManualClock,
    _dir: TempDir,
}

impl Fixture {
    fn new(runtime: &Runtime, users: usize) -> Fixture {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("bench.db");
        let clock = ManualClock::new(T0_MS);
        let repo = runtime.block_on(async {
            let db = Database::connect(path.to_str().expect("utf-8 path"))
                .await
                .expect("connect sqlite");
            let store: Arc<dyn Store> = Arc::new(db);
            let config = CacheConfig {
                // The timer stays out of the way; flushes are explicit.
                persist_interval: Duration::from_secs(3_600),
                ..CacheConfig::default()
            };
            let shared: Arc<dyn Clock> = Arc::new(clock.clone());
            CachedRepo::start(store, config, shared)
                .await
                .expect("cache starts")
        });
        let ids = runtime.block_on(async {
            let mut ids = Vec::with_capacity(users);
            for i in 0..users {
                let user = repo
                    .create_user(NewUser::register(
                        format!("bench{i}"),
                        "plain$x".into(),
                        T0_MS,
                    ))
                    .await
                    .expect("create user");
                ids.push(user.id);
            }
            repo.flush_now().await.expect("first flush");
            ids
        });
        Fixture {
            repo,
            users: ids,
            clock,
            _dir: dir,
        }
    }
}

fn units_of_work(c: &mut Criterion) {
    let runtime = Runtime::new().expect("tokio runtime");
    let fixture = Fixture::new(&runtime, 100);
    let user = fixture.users[0];
    let mut group = c.benchmark_group("cache_unit_of_work");
    group.bench_function("with_user/update_stats", |b| {
        b.iter(|| {
            fixture.clock.advance_ms(1_000);
            let now_s = fixture.clock.now_s();
            runtime
                .block_on(fixture.repo.with_user(user, move |u| {
                    u.update_stats(now_s);
                    Ok(u.iron)
                }))
                .expect("unit of work")
        })
    });
    group.bench_function("with_user_and_world/turn_ship", |b| {
        let mut angle = 0.0;
        b.iter(|| {
            angle = (angle + 1.0) % 360.0;
            let turn = angle;
            runtime
                .block_on(
                    fixture
                        .repo
                        .with_user_and_world(user, Vec::new(), move |u, world| {
                            let ship = world
                                .get_mut(u.ship_id)
                                .ok_or(game_domain::error::GameError::UserNotFound)?;
                            ship.angle = turn;
                            Ok(())
                        }),
                )
                .expect("unit of work")
        })
    });
    group.throughput(Throughput::Elements(fixture.users.len() as u64));
    group.bench_function("view_world/100_ships", |b| {
        b.iter(|| {
            let now = fixture.clock.now_ms();
            black_box(
                runtime
                    .block_on(fixture.repo.view_world(move |w| w.snapshot_at(now)))
                    .expect("world view"),
            )
        })
    });
    group.finish();
}

fn flush_dirty_users(c: &mut Criterion) {
    let runtime = Runtime::new().expect("tokio runtime");
    let fixture = Fixture::new(&runtime, 1_000);
    let mut group = c.benchmark_group("cache_flush_dirty_users");
    group.sample_size(10);
    for n in [10, 100, 1_000] {
        let dirty = &fixture.users[..n];
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter_batched(
                || {
                    runtime.block_on(async {
                        for id in dirty {
                            fixture
                                .repo
                                .with_user(*id, |u| {
                                    u.iron += 1.0;
                                    Ok(())
                                })
                                .await
                                .expect("dirty a user");
                        }
                    })
                },
                |()| {
                    let report = runtime.block_on(fixture.repo.flush_now()).expect("flush");
                    black_box(report)
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
    runtime
        .block_on(fixture.repo.shutdown())
        .expect("final flush");
}

criterion_group!(benches, units_of_work, flush_dirty_users);
criterion_main!(benches);
