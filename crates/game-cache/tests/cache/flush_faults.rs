//! docs/persistence.md, promises 5–7: failing databases, graceful shutdown, and the flush
//! task's lifetime.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use game_cache::CacheConfig;
use game_domain::clock::ManualClock;
use game_domain::error::AppError;
use game_domain::error::GameError;
use game_domain::repository::Repository;
use game_domain::user::UserId;

use crate::flush::{settle, steer, wait_until};
use crate::support::{
    FaultStore, T0, TestStore, assert_store_matches_cache, game, on_both_backends, quiet_config,
    register_player_ids, register_players, seed_asteroids, start, stored_users, stored_world,
};

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
