//! docs/persistence.md, promise 4: consistent cuts under random faults.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::time::Duration;

use game_domain::clock::ManualClock;
use game_domain::error::AppError;
use game_domain::error::GameError;
use game_domain::tech_tree::ResearchType;
use game_domain::user::UserId;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::flush::steer;
use crate::support::{
    FaultStore, T0, TestStore, assert_store_matches_cache, game, on_both_backends, quiet_config,
    register_player_ids, seed_asteroids, start, stored_users, stored_world,
};

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
