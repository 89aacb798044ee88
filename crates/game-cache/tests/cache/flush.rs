//! docs/persistence.md, promises 2–3: write-behind on a timer and no lost update (failing
//! databases and shutdown are in `flush_faults`, consistent cuts in `cuts`); the helpers
//! the three share.

use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

use game_cache::CacheConfig;
use game_domain::clock::ManualClock;
use game_domain::navigate::NavigateRequest;
use game_domain::user::UserId;

use crate::support::{
    FaultStore, PauseAt, T0, TestStore, cached_users, cached_world, demo_user_of, game,
    on_both_backends, quiet_config, register_player_ids, seed_asteroids, seed_demo, start,
    stored_users, stored_world,
};

/// Polls `done` (sleeping 1 ms of tokio time in between, which a paused clock skips).
pub(crate) async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..100_000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("timed out waiting until {what}");
}

pub(crate) async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

pub(crate) fn steer(speed: f64, angle: f64) -> NavigateRequest {
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
