//! Concurrency on a multi-thread runtime: one winner per object, one charge per research,
//! and no deadlock with invariants intact under a mixed load.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use game_domain::clock::ManualClock;
use game_domain::error::AppError;
use game_domain::error::GameError;
use game_domain::navigate::NavigateRequest;
use game_domain::tech_tree::ResearchType;
use game_domain::user::UserId;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::support::{
    T0, TestStore, cached_users, cached_world, demo_user_of, game, on_both_backends, quiet_config,
    register_player_ids, seed_asteroids, seed_demo, start, stored_users, stored_world,
};

/// 100 players collect one object at once: exactly one succeeds, iron is credited once,
/// and the database agrees after a flush (object gone, one spawn, one credit).
async fn hundred_collectors_one_object(backend: TestStore) {
    let clock = ManualClock::new(T0);
    let object = seed_asteroids(&backend.db, 1, 10.0, 21).await[0];
    let repo = start(backend.store(), quiet_config(), &clock).await;
    let game = Arc::new(game(repo.clone(), &clock, 22));
    let ids: Vec<UserId> = register_player_ids(&game, 100).await;
    let objects_before = cached_world(&repo).await.len();

    let mut tasks = tokio::task::JoinSet::new();
    for &id in &ids {
        let game = game.clone();
        tasks.spawn(async move { (id, game.collect(id, object).await) });
    }
    let results = tasks.join_all().await;
    let winners: Vec<_> = results
        .iter()
        .filter_map(|(id, r)| r.as_ref().ok().map(|outcome| (*id, *outcome)))
        .collect();
    assert_eq!(winners.len(), 1, "exactly one collector wins");
    for (_, result) in &results {
        if let Err(error) = result {
            assert!(
                matches!(error, AppError::Game(GameError::ObjectNotFound)),
                "{error}"
            );
        }
    }
    let (winner, outcome) = winners[0];
    let reward = f64::from(outcome.iron_reward);
    assert!(reward >= 50.0);
    let users = cached_users(&repo, &ids).await;
    let credited: Vec<_> = users.iter().filter(|u| u.iron > 0.0).collect();
    assert_eq!(credited.len(), 1);
    assert_eq!((credited[0].id, credited[0].iron), (winner, reward));

    repo.flush_now().await.expect("flush");
    let world = stored_world(&backend.db).await;
    assert_eq!(world.len(), objects_before, "removed one, spawned one");
    assert!(world.iter().all(|o| o.id != object));
    let stored = stored_users(&backend.db, &ids).await;
    assert_eq!(stored.iter().map(|u| u.iron).sum::<f64>(), reward);
    repo.shutdown().await.expect("shutdown");
}

on_both_backends!(
    hundred_collectors_one_object,
    one_object_sqlite,
    one_object_postgres,
    flavor = "multi_thread",
    worker_threads = 2
);

/// 50 concurrent research triggers by one player: one succeeds, iron is charged once.
async fn fifty_research_triggers_one_charge(backend: TestStore) {
    let clock = ManualClock::new(T0);
    seed_demo(&backend.db, T0).await;
    let repo = start(backend.store(), quiet_config(), &clock).await;
    let game = Arc::new(game(repo.clone(), &clock, 23));
    let demo = demo_user_of(&repo).await;

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let game = game.clone();
        tasks.spawn(async move {
            game.trigger_research(demo.id, ResearchType::IronHarvesting)
                .await
        });
    }
    let results = tasks.join_all().await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for result in &results {
        if let Err(error) = result {
            assert!(
                matches!(error, AppError::Game(GameError::ResearchInProgress)),
                "{error}"
            );
        }
    }
    let user = &cached_users(&repo, &[demo.id]).await[0];
    assert_eq!(user.iron, 900.0);
    repo.flush_now().await.expect("flush");
    let stored = &stored_users(&backend.db, &[demo.id]).await[0];
    assert_eq!(stored.iron, 900.0);
    assert_eq!(
        stored.tech_tree.active_research.map(|a| a.kind),
        Some(ResearchType::IronHarvesting)
    );
    repo.shutdown().await.expect("shutdown");
}

on_both_backends!(
    fifty_research_triggers_one_charge,
    one_charge_sqlite,
    one_charge_postgres,
    flavor = "multi_thread",
    worker_threads = 2
);

/// What one successful operation did to its player's iron (the clock stands still, so
/// there is no income and iron is exactly the sum of these).
enum Effect {
    Reward(i64, u32),
    Charge(f64),
}

/// 1,000 mixed operations from 50 players, 20 concurrent tasks, with background flushes:
/// all finish well within a timeout (no deadlock), each object is collected at most once,
/// every player's iron equals their rewards minus their charges, in memory and in the
/// database, and the object count never changes.
async fn thousand_mixed_concurrent_operations(backend: TestStore) {
    const USERS: usize = 50;
    const TASKS: u64 = 20;
    const OPS_PER_TASK: usize = 50;
    let clock = ManualClock::new(T0);
    let asteroids = seed_asteroids(&backend.db, 400, 110.0, 24).await;
    seed_demo(&backend.db, T0).await;
    let config = game_cache::CacheConfig {
        persist_interval: Duration::from_millis(100),
        ..quiet_config()
    };
    let repo = start(backend.store(), config, &clock).await;
    let game = Arc::new(game(repo.clone(), &clock, 25));
    let ids: Vec<UserId> = register_player_ids(&game, USERS).await;
    let objects_before = cached_world(&repo).await.len();

    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        let (game, ids, asteroids) = (game.clone(), ids.clone(), asteroids.clone());
        tasks.spawn(async move {
            let mut rng = StdRng::seed_from_u64(task);
            let mut effects = Vec::new();
            for _ in 0..OPS_PER_TASK {
                let id = ids[rng.random_range(0..ids.len())];
                let op = rng.random_range(0..8);
                let result = match op {
                    0..=2 => {
                        let object = asteroids[rng.random_range(0..asteroids.len())];
                        game.collect(id, object)
                            .await
                            .map(|o| effects.push((id, Effect::Reward(object, o.iron_reward))))
                    }
                    3 => game
                        .trigger_research(id, ResearchType::IronHarvesting)
                        .await
                        .map(|()| effects.push((id, Effect::Charge(100.0)))),
                    4 => {
                        let request = NavigateRequest {
                            speed: Some(0.0),
                            angle: Some(rng.random_range(0.0..360.0)),
                        };
                        game.navigate(id, request).await.map(drop)
                    }
                    5 => game.world().await.map(drop),
                    6 => game.ship_stats(id).await.map(drop),
                    _ => game.tech_tree(id).await.map(drop),
                };
                match result {
                    Ok(())
                    | Err(AppError::Game(
                        GameError::ObjectNotFound
                        | GameError::NotEnoughIron
                        | GameError::ResearchInProgress,
                    )) => {}
                    Err(other) => panic!("operation {op} failed: {other}"),
                }
            }
            effects
        });
    }
    let effects: Vec<(UserId, Effect)> =
        tokio::time::timeout(Duration::from_secs(60), tasks.join_all())
            .await
            .expect("no deadlock: all operations finish")
            .into_iter()
            .flatten()
            .collect();

    let mut expected: HashMap<UserId, f64> = ids.iter().map(|id| (*id, 0.0)).collect();
    let mut collected = HashSet::new();
    for (id, effect) in &effects {
        match effect {
            Effect::Reward(object, reward) => {
                assert!(collected.insert(*object), "object {object} collected twice");
                *expected.get_mut(id).expect("player") += f64::from(*reward);
            }
            Effect::Charge(cost) => *expected.get_mut(id).expect("player") -= cost,
        }
    }
    assert!(!collected.is_empty());
    let check = |users: Vec<game_domain::user::User>, place: &str| {
        for user in users {
            assert_eq!(
                user.iron, expected[&user.id],
                "{place}: iron of {}",
                user.id
            );
        }
    };
    check(cached_users(&repo, &ids).await, "cache");
    let world = cached_world(&repo).await;
    assert_eq!(world.len(), objects_before);
    assert!(world.iter().all(|o| !collected.contains(&o.id)));

    repo.shutdown().await.expect("shutdown");
    check(stored_users(&backend.db, &ids).await, "database");
    let stored = stored_world(&backend.db).await;
    assert_eq!(stored, world);
    let stats = repo.stats();
    assert!(stats.world_lock.acquisitions > 0 && stats.user_locks.acquisitions > 0);
    assert_eq!((stats.dirty_users, stats.dirty_objects), (0, 0));
}

on_both_backends!(
    thousand_mixed_concurrent_operations,
    mixed_load_sqlite,
    mixed_load_postgres,
    flavor = "multi_thread",
    worker_threads = 2
);
