//! docs/persistence.md, promise 9: bounded memory without losing or going back on
//! anything.

use std::sync::Arc;
use std::time::Instant;

use game_cache::CacheConfig;
use game_domain::clock::ManualClock;
use game_domain::error::AppError;
use game_domain::repository::Repository;
use game_domain::space_object::{ObjectKind, SpaceObject};
use game_domain::tech_tree::TechTree;
use game_domain::user::{User, UserId};
use game_persistence::{Batch, Store};

use crate::support::{T0, TestStore, on_both_backends, quiet_config, start, stored_users};

const FIRST_USER: UserId = 1_000_000;

/// Writes `n` users with ships straight into the database (one batch); returns their ids.
async fn bulk_users(backend: &TestStore, n: usize) -> Vec<UserId> {
    let first_ship = backend
        .db
        .reserve_object_ids(n as i64)
        .await
        .expect("reserve");
    let mut batch = Batch::default();
    for i in 0..n as i64 {
        let ship_id = first_ship + i;
        batch.users.push(User {
            id: FIRST_USER + i,
            username: format!("bulk{i}"),
            password_hash: "plain$pw".into(),
            iron: 0.0,
            last_updated: T0 / 1_000,
            tech_tree: TechTree::default(),
            ship_id,
        });
        batch.upserted_objects.push(SpaceObject {
            id: ship_id,
            kind: ObjectKind::PlayerShip,
            x: 250.0,
            y: 250.0,
            speed: 0.0,
            angle: 0.0,
            last_position_update_ms: T0,
        });
    }
    let ids = batch.users.iter().map(|u| u.id).collect();
    backend.db.apply_batch(batch).await.expect("bulk insert");
    ids
}

/// 100,000 distinct users pass through a cache capped at 1,000: it never holds more than
/// the cap, every 100th user is changed (dirty) and stays cached until flushed (changed
/// again 10,000 misses later without a miss), none of those changes is lost, and a user
/// loaded again after eviction reads its flushed value, not a stale one.
async fn hundred_thousand_users_through_a_small_cache(backend: TestStore) {
    const USERS: usize = 100_000;
    const CAP: usize = 1_000;
    let timer = Instant::now();
    let ids = bulk_users(&backend, USERS).await;
    let inserted = timer.elapsed();
    let clock = ManualClock::new(T0);
    let config = CacheConfig {
        max_cached_users: CAP,
        ..quiet_config()
    };
    let repo = start(backend.store(), config, &clock).await;

    // Ten phases of 10,000 users, each walked by four concurrent tasks (a miss costs a
    // database round trip; two cores serve four tasks better than one). Every 100th user
    // is changed; flushes after phases 3, 6 and 9 leave phase 10's changes dirty.
    let mut changed = Vec::new();
    for (phase, users) in ids.chunks(USERS / 10).enumerate() {
        let mut walkers = tokio::task::JoinSet::new();
        for part in users.chunks(users.len() / 4) {
            let (repo, part) = (repo.clone(), part.to_vec());
            walkers.spawn(async move {
                let mut changed = Vec::new();
                for id in part {
                    let ship = repo
                        .read_player(id, |user, ship| (user.ship_id, ship.id))
                        .await
                        .expect("read player");
                    assert_eq!(ship.0, ship.1);
                    if id % 100 == 0 {
                        repo.with_user(id, |user| {
                            user.iron += 1.0;
                            Ok(())
                        })
                        .await
                        .expect("change");
                        changed.push(id);
                    }
                    let cached = repo.stats().cached_users;
                    assert!(cached <= CAP, "{cached} users cached");
                }
                changed
            });
        }
        let changed_now: Vec<UserId> = walkers.join_all().await.into_iter().flatten().collect();
        // 10,000 misses later, this phase's changed users are still cached (dirty users
        // are never evicted): changing them again reads memory, not the stale database.
        let misses = repo.stats().misses;
        for &id in &changed_now {
            repo.with_user(id, |user| {
                user.iron += 1.0;
                Ok(())
            })
            .await
            .expect("change again");
        }
        assert_eq!(repo.stats().misses, misses, "a dirty user was evicted");
        changed.extend(changed_now);
        if phase % 3 == 2 {
            repo.flush_now().await.expect("flush");
        }
    }
    let walked = timer.elapsed() - inserted;

    // Every change made since the last flush is still in memory, dirty, never evicted.
    let stats = repo.stats();
    assert_eq!(
        stats.dirty_users, 100,
        "changes since the last flush at 90,000"
    );
    assert_eq!(stats.misses, USERS as u64);
    assert_eq!(stats.evictions, (USERS - stats.cached_users) as u64);
    assert_eq!(stats.cached_users, CAP);
    repo.flush_now().await.expect("flush");
    for user in stored_users(&backend.db, &changed).await {
        assert_eq!(user.iron, 2.0, "change of user {} lost", user.id);
    }
    // Loaded again after eviction: the flushed value, and only one copy.
    for &id in changed.iter().take(50) {
        let iron = repo
            .read_player(id, |user, _| user.iron)
            .await
            .expect("read");
        assert_eq!(iron, 2.0);
    }
    assert!(repo.stats().cached_users <= CAP);
    repo.shutdown().await.expect("shutdown");
    println!("bulk insert {inserted:?}, walk {walked:?}");
}

on_both_backends!(
    hundred_thousand_users_through_a_small_cache,
    eviction_sqlite,
    eviction_postgres,
    flavor = "multi_thread",
    worker_threads = 2
);

/// Concurrent misses for one user load it once and share one cached copy; the username
/// index answers from memory afterwards and forgets evicted users.
async fn concurrent_misses_load_once(backend: TestStore) {
    let ids = bulk_users(&backend, 3).await;
    let clock = ManualClock::new(T0);
    let config = CacheConfig {
        max_cached_users: 2,
        ..quiet_config()
    };
    let repo = start(backend.store(), config, &clock).await;
    let repo = Arc::new(repo);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let repo = repo.clone();
        let id = ids[0];
        tasks.spawn(async move {
            repo.with_user(id, |user| {
                user.iron += 1.0;
                Ok(user.iron)
            })
            .await
        });
    }
    let mut seen: Vec<f64> = tasks
        .join_all()
        .await
        .into_iter()
        .map(|r| r.expect("with_user"))
        .collect();
    seen.sort_by(f64::total_cmp);
    assert_eq!(seen, (1..=20).map(f64::from).collect::<Vec<_>>());
    let stats = repo.stats();
    assert_eq!((stats.misses, stats.cached_users), (1, 1));

    let round_trips = repo.stats().db_round_trips;
    let found = repo.find_user_by_name("bulk0").await.expect("find");
    assert_eq!(found.map(|u| u.iron), Some(20.0));
    assert_eq!(repo.stats().db_round_trips, round_trips, "index hit");

    // Fill past the cap: bulk0 is dirty and stays; the others come and go.
    for &id in &ids[1..] {
        repo.read_player(id, |_, _| ()).await.expect("read");
    }
    assert_eq!(repo.stats().cached_users, 2);
    assert!(
        repo.find_user_by_name("bulk0")
            .await
            .expect("find")
            .is_some()
    );
    // bulk1, the least recently used clean one, was evicted when bulk2 came in: the index
    // still answers bulk2 from memory, and forgot bulk1, whose lookup reads the database.
    let round_trips = repo.stats().db_round_trips;
    let cached = repo.find_user_by_name("bulk2").await.expect("find");
    assert_eq!(cached.map(|u| u.id), Some(ids[2]));
    assert_eq!(
        repo.stats().db_round_trips,
        round_trips,
        "bulk2 from memory"
    );
    let evicted = repo.find_user_by_name("bulk1").await.expect("find");
    assert_eq!(evicted.map(|u| u.id), Some(ids[1]));
    assert!(
        repo.stats().db_round_trips > round_trips,
        "bulk1 was forgotten and read again"
    );
    repo.flush_now().await.expect("flush");
    assert_eq!(repo.stats().dirty_users, 0);
    assert!(matches!(
        repo.with_user(FIRST_USER + 99, |_| Ok(())).await,
        Err(AppError::Game(game_domain::error::GameError::UserNotFound))
    ));
    repo.shutdown().await.expect("shutdown");
}

on_both_backends!(
    concurrent_misses_load_once,
    concurrent_misses_sqlite,
    concurrent_misses_postgres,
    flavor = "multi_thread",
    worker_threads = 2
);
