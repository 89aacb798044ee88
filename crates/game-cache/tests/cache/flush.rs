//! docs/persistence.md, promises 2–7: write-behind on a timer, no lost update,
//! consistent cuts, failing databases, graceful shutdown, and the task's lifetime.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use game_cache::CacheConfig;
use game_domain::clock::ManualClock;
use game_domain::error::GameError;
use game_domain::navigate::NavigateRequest;
use game_domain::tech_tree::ResearchType;
use game_domain::user::UserId;
use game_domain::{AppError, Repository};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::support::{
    FaultStore, PauseAt, T0, TestStore, assert_store_matches_cache, cached_users, cached_world,
    demo_user_of, game, on_both_backends, quiet_config, register_player_ids, register_players,
    seed_asteroids, seed_demo, start, stored_users, stored_world,
};

/// Polls `done` (sleeping 1 ms of tokio time in between, which a paused clock skips).
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..100_000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("timed out waiting until {what}");
}

async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

fn steer(speed: f64, angle: f64) -> NavigateRequest {
    NavigateRequest {
        speed: Some(speed),
        angle: Some(angle),
    }
}

/// The flush task writes on its interval, and only what is dirty: a steered ship is one
/// object row, a user whose iron grew is one user row, and with nothing dirty the store is
/// not called at all.
async fn timer_flush_writes_only_dirty_entities(backend: TestStore) {
    let clock = ManualClock::new(T0);
    seed_demo(&backend.db, T0).await;
    let faults = FaultStore::new(backend.store());
    let config = CacheConfig {
        persist_interval: Duration::from_secs(30),
        ..quiet_config()
    };
    let repo = start(faults.clone(), config, &clock).await;
    let game = game(repo.clone(), &clock, 1);
    let demo = demo_user_of(&repo).await;

    clock.advance_ms(5_000);
    game.navigate(demo.id, steer(10.0, 90.0))
        .await
        .expect("navigate");
    tokio::time::advance(Duration::from_secs(29)).await;
    settle().await;
    assert_eq!(
        faults.attempts.load(SeqCst),
        0,
        "flushed before the interval"
    );

    tokio::time::advance(Duration::from_secs(1)).await;
    wait_until("the first flush", || repo.stats().flushes == 1).await;
    let batch = faults.last_batch().expect("a batch");
    assert!(batch.users.is_empty() && batch.deleted_objects.is_empty());
    assert_eq!(batch.upserted_objects.len(), 1);
    let ship = batch.upserted_objects[0];
    assert_eq!(
        (
            ship.id,
            ship.speed,
            ship.angle,
            ship.last_position_update_ms
        ),
        (demo.ship_id, 10.0, 90.0, T0 + 5_000)
    );
    assert_eq!(stored_world(&backend.db).await, cached_world(&repo).await);

    tokio::time::advance(Duration::from_secs(30)).await;
    settle().await;
    assert_eq!(
        faults.attempts.load(SeqCst),
        1,
        "an empty flush reached the store"
    );

    clock.advance_ms(10_000);
    let stats = game.user_stats(demo.id).await.expect("user stats");
    assert_eq!(stats.iron, 1_015.0);
    tokio::time::advance(Duration::from_secs(30)).await;
    wait_until("the second flush", || repo.stats().flushes == 2).await;
    let batch = faults.last_batch().expect("a batch");
    assert_eq!(batch.users.len(), 1);
    assert!(batch.upserted_objects.is_empty() && batch.deleted_objects.is_empty());
    let stored = stored_users(&backend.db, &[demo.id]).await;
    assert_eq!(
        (stored[0].iron, stored[0].last_updated),
        (1_015.0, T0 / 1_000 + 15)
    );
    let stats = repo.stats();
    assert_eq!((stats.dirty_users, stats.dirty_objects), (0, 0));
    assert!(stats.last_flush_duration.is_some());
    repo.shutdown().await.expect("shutdown");
}

on_both_backends!(
    timer_flush_writes_only_dirty_entities,
    timer_flush_sqlite,
    timer_flush_postgres,
    start_paused = true
);

/// Operations racing a flush that is paused inside `apply_batch` (before its write, or
/// after the commit but before the cache clears its marks) all reach the database with
/// the next flush: clearing keeps whatever changed after the cut.
async fn lost_update_case(backend: TestStore, at: PauseAt) {
    let clock = ManualClock::new(T0);
    let asteroids = seed_asteroids(&backend.db, 10, 100.0, 3).await;
    let faults = FaultStore::new(backend.store());
    let repo = start(faults.clone(), quiet_config(), &clock).await;
    let game = game(repo.clone(), &clock, 5);
    let ids: Vec<UserId> = register_player_ids(&game, 2).await;

    // Before the cut.
    let first_reward = game.collect(ids[0], asteroids[0]).await.expect("collect");
    game.navigate(ids[1], steer(5.0, 10.0))
        .await
        .expect("navigate");

    let pause = faults.pause_next_batch(at);
    let flush = {
        let repo = repo.clone();
        tokio::spawn(async move { repo.flush_now().await })
    };
    pause.reached.await.expect("the flush reached the pause");

    // While the batch is in flight: the same user, the same ship, new objects.
    clock.advance_ms(3_000);
    let second_reward = game.collect(ids[0], asteroids[1]).await.expect("collect");
    game.navigate(ids[1], steer(7.0, 20.0))
        .await
        .expect("navigate");
    game.navigate(ids[0], steer(3.0, 30.0))
        .await
        .expect("navigate");
    game.user_stats(ids[1]).await.expect("user stats");

    pause.release.send(()).expect("release");
    let first = flush.await.expect("flush task").expect("first flush");
    assert_eq!(
        (first.users, first.upserted_objects, first.deleted_objects),
        (1, 2, 1),
        "the first batch holds exactly the changes before the cut"
    );
    let stored = stored_users(&backend.db, &ids).await;
    assert_eq!(stored[0].iron, f64::from(first_reward.iron_reward));
    assert_ne!(stored, cached_users(&repo, &ids).await);

    let second = repo.flush_now().await.expect("second flush");
    assert!(!second.is_empty());
    let stored = stored_users(&backend.db, &ids).await;
    // Both rewards, plus 3 s of income accounted by the second collect.
    assert_eq!(
        stored[0].iron,
        f64::from(first_reward.iron_reward + second_reward.iron_reward) + 3.0
    );
    assert_eq!(stored, cached_users(&repo, &ids).await);
    assert_eq!(stored_world(&backend.db).await, cached_world(&repo).await);
    let stats = repo.stats();
    assert_eq!((stats.dirty_users, stats.dirty_objects), (0, 0));
    repo.shutdown().await.expect("shutdown");
}

async fn lost_update_after_commit(backend: TestStore) {
    lost_update_case(backend, PauseAt::AfterWrite).await;
}

async fn lost_update_before_write(backend: TestStore) {
    lost_update_case(backend, PauseAt::BeforeWrite).await;
}

on_both_backends!(
    lost_update_after_commit,
    lost_update_after_commit_sqlite,
    lost_update_after_commit_postgres
);
on_both_backends!(
    lost_update_before_write,
    lost_update_before_write_sqlite,
    lost_update_before_write_postgres
);

/// The store fails N flushes, then recovers: gameplay goes on meanwhile, retries follow
/// the capped exponential back-off exactly, the failure counter is N, nothing is lost.
async fn failing_flushes_then_recovery(backend: TestStore) {
    const N: u32 = 5;
    let clock = ManualClock::new(T0);
    let asteroids = seed_asteroids(&backend.db, 20, 100.0, 4).await;
    let faults = FaultStore::new(backend.store());
    let config = CacheConfig {
        persist_interval: Duration::from_secs(1),
        max_backoff: Duration::from_secs(4),
        ..quiet_config()
    };
    let repo = start(faults.clone(), config, &clock).await;
    let game = game(repo.clone(), &clock, 6);
    let ids: Vec<UserId> = register_player_ids(&game, 3).await;
    faults.fail_next_batches(N);
    let started = tokio::time::Instant::now();

    for round in 0..12 {
        clock.advance_ms(1_000);
        let id = ids[round % ids.len()];
        game.user_stats(id).await.expect("user stats");
        game.navigate(id, steer(1.0, round as f64))
            .await
            .expect("navigate");
        match game.collect(id, asteroids[round]).await {
            Ok(_) | Err(AppError::Game(GameError::ObjectTooFar)) => {}
            Err(other) => panic!("collect failed: {other}"),
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    let stats = repo.stats();
    assert_eq!(stats.flushes, 0);
    assert!(stats.flush_failures >= 3);
    assert_eq!(stats.consecutive_flush_failures, stats.flush_failures);
    wait_until("a successful flush after the failures", || {
        let stats = repo.stats();
        stats.flushes >= 1 && stats.dirty_users == 0 && stats.dirty_objects == 0
    })
    .await;

    let stats = repo.stats();
    assert_eq!(stats.flush_failures, u64::from(N));
    assert_eq!(stats.consecutive_flush_failures, 0);
    let attempts: Vec<u64> = faults
        .attempt_times()
        .iter()
        .map(|t| t.duration_since(started).as_millis() as u64)
        .collect();
    // Interval 1 s, then retries after 1, 2, 4, 4 s (capped), then success after 4 s.
    assert_eq!(&attempts[..6], [1_000, 2_000, 4_000, 8_000, 12_000, 16_000]);
    assert_store_matches_cache(&backend.db, &repo, &ids).await;
    repo.shutdown().await.expect("shutdown");
}

on_both_backends!(
    failing_flushes_then_recovery,
    failing_flushes_sqlite,
    failing_flushes_postgres,
    start_paused = true
);

/// While the database is down entirely, cached gameplay goes on; it catches up after.
async fn database_down_gameplay_goes_on(backend: TestStore) {
    let clock = ManualClock::new(T0);
    let faults = FaultStore::new(backend.store());
    let repo = start(faults.clone(), quiet_config(), &clock).await;
    let game = game(repo.clone(), &clock, 8);
    let players = register_players(&game, 2).await;
    for (id, token) in &players {
        game.authenticate(Some(token)).await.expect("auth");
        game.user_stats(*id).await.expect("warm");
    }
    faults.set_down(true);
    for step in 0..20 {
        clock.advance_ms(1_000);
        let (id, token) = &players[step % 2];
        assert_eq!(game.authenticate(Some(token)).await.expect("auth"), *id);
        game.user_stats(*id).await.expect("user stats");
        game.navigate(*id, steer(2.0, 45.0))
            .await
            .expect("navigate");
        game.world().await.expect("world");
    }
    assert!(repo.flush_now().await.is_err());
    assert!(repo.flush_now().await.is_err());
    assert_eq!(repo.stats().flush_failures, 2);
    faults.set_down(false);
    repo.flush_now().await.expect("flush after recovery");
    let ids: Vec<UserId> = players.iter().map(|(id, _)| *id).collect();
    assert_store_matches_cache(&backend.db, &repo, &ids).await;
    repo.shutdown().await.expect("shutdown");
}

on_both_backends!(
    database_down_gameplay_goes_on,
    database_down_sqlite,
    database_down_postgres
);

/// Operations keep arriving from many tasks while `shutdown` runs: every one that was
/// acknowledged is in the database afterwards, later ones are refused.
async fn shutdown_loses_nothing_acknowledged(backend: TestStore) {
    let clock = ManualClock::new(T0);
    let repo = start(backend.store(), quiet_config(), &clock).await;
    let game = game(repo.clone(), &clock, 9);
    let ids: Vec<UserId> = register_player_ids(&game, 8).await;
    let mut tasks = tokio::task::JoinSet::new();
    // Tasks that had an operation acknowledged: shutdown starts once all have (an order of
    // events, not a sleep a loaded machine could outlast).
    let going = Arc::new(AtomicUsize::new(0));
    for &id in &ids {
        let (repo, going) = (repo.clone(), going.clone());
        tasks.spawn(async move {
            let (mut acknowledged, mut last_speed) = (0u32, None);
            loop {
                let added = repo
                    .with_user(id, |user| {
                        user.iron += 1.0;
                        Ok(())
                    })
                    .await;
                match added {
                    Ok(()) => {
                        acknowledged += 1;
                        if acknowledged == 1 {
                            going.fetch_add(1, SeqCst);
                        }
                    }
                    Err(AppError::ShuttingDown) => break,
                    Err(other) => panic!("with_user failed: {other}"),
                }
                let speed = f64::from(acknowledged % 20);
                let steered = repo
                    .with_user_and_world(id, Vec::new(), move |user, world| {
                        let ship = world.get_mut(user.ship_id).ok_or(GameError::UserNotFound)?;
                        ship.speed = speed;
                        Ok(())
                    })
                    .await;
                match steered {
                    Ok(()) => last_speed = Some(speed),
                    Err(AppError::ShuttingDown) => break,
                    Err(other) => panic!("with_user_and_world failed: {other}"),
                }
            }
            (id, acknowledged, last_speed)
        });
    }
    wait_until("every task had an operation acknowledged", || {
        going.load(SeqCst) == ids.len()
    })
    .await;
    repo.shutdown().await.expect("shutdown");
    let acknowledged = tasks.join_all().await;

    let world: HashMap<i64, f64> = stored_world(&backend.db)
        .await
        .into_iter()
        .map(|o| (o.id, o.speed))
        .collect();
    for (id, count, last_speed) in acknowledged {
        assert!(count > 0, "user {id} made no progress");
        let user = &stored_users(&backend.db, &[id]).await[0];
        assert_eq!(user.iron, f64::from(count), "user {id}");
        if let Some(speed) = last_speed {
            assert_eq!(world[&user.ship_id], speed, "ship of user {id}");
        }
    }
    assert!(matches!(
        repo.view_world(|w| w.len()).await,
        Err(AppError::ShuttingDown)
    ));
    assert!(matches!(
        repo.find_session("x").await,
        Err(AppError::ShuttingDown)
    ));
    assert!(repo.shutdown().await.expect("second shutdown").is_empty());
}

on_both_backends!(
    shutdown_loses_nothing_acknowledged,
    shutdown_sqlite,
    shutdown_postgres,
    flavor = "multi_thread",
    worker_threads = 2
);

/// A shutdown flush timeout of 3.5 s: attempts at 0 s, 1 s and 3 s (back-off 1 s, then
/// 2 s; the next, 4 s later, would start after the deadline).
fn three_attempts() -> CacheConfig {
    CacheConfig {
        shutdown_flush_timeout: Duration::from_millis(3_500),
        ..quiet_config()
    }
}

/// The final flush is retried until its timeout; if every attempt fails the caller sees
/// the error and the changes stay in memory, dirty, for a later `flush_now` (or the spill
/// file: `pending_batch`).
async fn shutdown_retries_its_final_flush(backend: TestStore) {
    let clock = ManualClock::new(T0);
    let faults = FaultStore::new(backend.store());
    let repo = start(faults.clone(), three_attempts(), &clock).await;
    let game = game(repo.clone(), &clock, 10);
    let (id, _) = register_players(&game, 1).await[0];
    clock.advance_ms(7_000);
    game.user_stats(id).await.expect("user stats");

    faults.fail_next_batches(4);
    let started = tokio::time::Instant::now();
    assert!(repo.shutdown().await.is_err());
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    assert_eq!(repo.stats().flush_failures, 3);
    assert_eq!(repo.stats().dirty_users, 1);
    let pending = repo.pending_batch().await;
    assert_eq!(pending.users.len(), 1);
    assert_eq!(pending.users[0].iron, 7.0);
    assert!(repo.flush_now().await.is_err());
    let report = repo.flush_now().await.expect("flush");
    assert_eq!(report.users, 1);
    assert_eq!(stored_users(&backend.db, &[id]).await[0].iron, 7.0);

    // Fewer failures than attempts: shutdown succeeds.
    let clock = ManualClock::new(T0 + 7_000);
    let repo = start(faults.clone(), three_attempts(), &clock).await;
    let game = crate::support::game(repo.clone(), &clock, 11);
    clock.advance_ms(3_000);
    game.user_stats(id).await.expect("user stats");
    faults.fail_next_batches(2);
    let report = repo.shutdown().await.expect("shutdown after retries");
    assert_eq!(report.users, 1);
    assert_eq!(stored_users(&backend.db, &[id]).await[0].iron, 10.0);
}

on_both_backends!(
    shutdown_retries_its_final_flush,
    shutdown_retries_sqlite,
    shutdown_retries_postgres,
    start_paused = true
);

/// Dropping the last handle stops the flush task (which then releases the store).
#[tokio::test]
async fn dropping_the_last_handle_stops_the_flush_task() {
    let backend = TestStore::sqlite().await;
    let clock = ManualClock::new(T0);
    let faults = FaultStore::new(backend.store());
    let repo = start(faults.clone(), quiet_config(), &clock).await;
    let handle = repo.clone();
    drop(repo);
    settle().await;
    assert!(Arc::strong_count(&faults) > 1, "the task stopped too early");
    drop(handle);
    wait_until("the flush task has stopped", || {
        Arc::strong_count(&faults) == 1
    })
    .await;
}

/// One acknowledged operation of a player, in the order the player made them.
#[derive(Debug, Clone, Copy)]
enum Event {
    Collected { object: i64, reward: u32 },
    Researched { cost: f64 },
}

/// What the database held right after one flush attempt.
struct Snapshot {
    present: HashSet<i64>,
    object_count: usize,
    users: Vec<game_domain::user::User>,
}

/// Checks that `snapshot` is a consistent cut of the acknowledged operations: per player,
/// the visible operations are a prefix of theirs; each removed object is credited to its
/// collector exactly (the clock stands still, so iron is exactly the ledger); nothing is
/// removed without its spawn or spawned without its removal (the object count is fixed).
fn check_cut(
    what: &str,
    snapshot: &Snapshot,
    ledgers: &HashMap<UserId, Vec<Event>>,
    initial: &HashSet<i64>,
    object_count: usize,
) {
    assert_eq!(snapshot.object_count, object_count, "{what}: object count");
    let mut explained = HashSet::new();
    for user in &snapshot.users {
        let mut visible_so_far = true;
        let mut iron = 0.0;
        for event in ledgers.get(&user.id).map(Vec::as_slice).unwrap_or_default() {
            let visible = match *event {
                Event::Collected { object, reward } => {
                    let visible = !snapshot.present.contains(&object);
                    if visible {
                        iron += f64::from(reward);
                        explained.insert(object);
                    }
                    visible
                }
                Event::Researched { cost } => {
                    let visible = user.tech_tree.active_research.is_some();
                    if visible {
                        iron -= cost;
                    }
                    visible
                }
            };
            assert!(
                visible_so_far || !visible,
                "{what}: user {} shows an operation without an earlier one",
                user.id
            );
            visible_so_far = visible;
        }
        assert_eq!(user.iron, iron, "{what}: iron of user {}", user.id);
    }
    let removed: HashSet<i64> = initial.difference(&snapshot.present).copied().collect();
    assert_eq!(removed, explained, "{what}: removals without a collector");
}

/// Players collect, research and steer concurrently while another task flushes back to
/// back through a store that fails at random (before writing, or after committing while
/// reporting failure) and records what the database holds after every attempt. Once the
/// round's ledger is complete, every recorded state must be a consistent cut.
async fn consistent_cuts_under_random_faults(backend: TestStore) {
    const PLAYERS: usize = 6;
    const ASTEROIDS: usize = 300;
    let clock = ManualClock::new(T0); // still: no income, so iron is exactly the ledger
    let asteroids = seed_asteroids(&backend.db, ASTEROIDS, 110.0, 12).await;
    let faults = FaultStore::new(backend.store());
    faults.random_faults(13, 0.25, 0.2);
    let repo = start(faults.clone(), quiet_config(), &clock).await;
    let game = Arc::new(game(repo.clone(), &clock, 14));
    let ids: Vec<UserId> = register_player_ids(&game, PLAYERS).await;
    let initial: HashSet<i64> = asteroids.iter().copied().collect();
    let object_count = ASTEROIDS + PLAYERS;
    let mut ledgers: HashMap<UserId, Vec<Event>> = HashMap::new();
    let (mut flush_ok, mut flush_failed, mut checked) = (0u64, 0u64, 0usize);

    for round in 0..6u64 {
        let drivers_done = Arc::new(AtomicBool::new(false));
        let attempts = Arc::new(AtomicU64::new(0));
        let flusher = {
            let (repo, done, db, ids, attempts) = (
                repo.clone(),
                drivers_done.clone(),
                backend.db.clone(),
                ids.clone(),
                attempts.clone(),
            );
            tokio::spawn(async move {
                let (mut ok, mut failed, mut snapshots) = (0u64, 0u64, Vec::new());
                while !done.load(SeqCst) {
                    tokio::task::yield_now().await;
                    let result = repo.flush_now().await;
                    attempts.fetch_add(1, SeqCst);
                    match result {
                        Ok(report) if report.is_empty() => continue,
                        Ok(_) => ok += 1,
                        Err(_) => failed += 1,
                    }
                    // Only this task flushes: the database stays as this attempt left it.
                    let world = stored_world(&db).await;
                    snapshots.push(Snapshot {
                        present: world.iter().map(|o| o.id).collect(),
                        object_count: world.len(),
                        users: stored_users(&db, &ids).await,
                    });
                }
                (ok, failed, snapshots)
            })
        };
        let mut drivers = tokio::task::JoinSet::new();
        for (n, &id) in ids.iter().enumerate() {
            let (game, asteroids, attempts) = (game.clone(), asteroids.clone(), attempts.clone());
            drivers.spawn(async move {
                let mut rng = StdRng::seed_from_u64(1_000 * round + n as u64);
                let mut events = Vec::new();
                for step in 0..60 {
                    // Every 10 operations, wait for one more flush: at least 5 per round
                    // whatever the machine's speed.
                    if step % 10 == 9 {
                        let target = attempts.load(SeqCst) + 1;
                        while attempts.load(SeqCst) < target {
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        }
                    }
                    let pick: f64 = rng.random();
                    if pick < 0.8 {
                        let object = asteroids[rng.random_range(0..asteroids.len())];
                        match game.collect(id, object).await {
                            Ok(outcome) => events.push(Event::Collected {
                                object,
                                reward: outcome.iron_reward,
                            }),
                            Err(AppError::Game(GameError::ObjectNotFound)) => {}
                            Err(other) => panic!("collect failed: {other}"),
                        }
                    } else if pick < 0.9 {
                        match game
                            .trigger_research(id, ResearchType::IronHarvesting)
                            .await
                        {
                            Ok(()) => events.push(Event::Researched { cost: 100.0 }),
                            Err(AppError::Game(
                                GameError::NotEnoughIron | GameError::ResearchInProgress,
                            )) => {}
                            Err(other) => panic!("research failed: {other}"),
                        }
                    } else {
                        let angle = rng.random_range(0.0..360.0);
                        game.navigate(id, steer(0.0, angle))
                            .await
                            .expect("navigate");
                    }
                    // Let the flusher in between operations now and then, and make the
                    // round last long enough for a few dozen flushes.
                    match rng.random_range(0..10) {
                        0..=2 => tokio::task::yield_now().await,
                        3 => tokio::time::sleep(Duration::from_millis(1)).await,
                        _ => {}
                    }
                }
                (id, events)
            });
        }
        for (id, events) in drivers.join_all().await {
            ledgers.entry(id).or_default().extend(events);
        }
        drivers_done.store(true, SeqCst);
        let (ok, failed, snapshots) = flusher.await.expect("flusher");
        flush_ok += ok;
        flush_failed += failed;
        for (n, snapshot) in snapshots.iter().enumerate() {
            let what = format!("round {round}, flush {n}");
            check_cut(&what, snapshot, &ledgers, &initial, object_count);
        }
        checked += snapshots.len();
    }

    assert!(
        flush_ok > 0 && flush_failed > 0 && checked >= 30,
        "ok {flush_ok}, failed {flush_failed}, checked {checked}"
    );
    assert_eq!(repo.stats().flush_failures, flush_failed);
    faults.random_faults(0, 0.0, 0.0);
    repo.flush_now().await.expect("final flush");
    assert_store_matches_cache(&backend.db, &repo, &ids).await;
    repo.shutdown().await.expect("shutdown");
}

on_both_backends!(
    consistent_cuts_under_random_faults,
    consistent_cut_sqlite,
    consistent_cut_postgres,
    flavor = "multi_thread",
    worker_threads = 2
);
