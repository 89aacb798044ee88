//! docs/persistence.md, A failing database: no store call is made under a game lock, so a
//! database that stops answering never holds up play that does not need it.

use std::sync::Arc;
use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

use game_cache::{CacheConfig, CacheError};
use game_domain::clock::ManualClock;
use game_domain::repository::Repository;
use game_persistence::{Store, StoreError, WithDeadline};

use crate::hot_path::wait_until;
use crate::support::{
    FaultStore, T0, TestStore, game, on_both_backends, quiet_config, register_players,
    seed_asteroids, start, stored_users,
};

/// The store stops answering while the ids run out: the collect that finds none fails at
/// once without locking anything or calling the store, and a world read beside it does
/// not wait.
async fn ids_exhausted_with_a_hung_store_fail_fast(backend: TestStore) {
    let clock = ManualClock::new(T0);
    let asteroids = seed_asteroids(&backend.db, 6, 100.0, 4).await;
    let faults = FaultStore::new(backend.store());
    let config = CacheConfig {
        id_block_size: 4,
        ..quiet_config()
    };
    let repo = start(faults.clone(), config, &clock).await;
    let game = game(repo.clone(), &clock, 5);
    let (id, _) = register_players(&game, 1).await[0]; // 3 ids left
    assert_eq!(faults.reservations.load(SeqCst), 1);

    // The database hangs. Two spawns leave 1 id: the refill task asks and waits forever.
    faults.set_hanging(true);
    for &object in &asteroids[..2] {
        game.collect(id, object).await.expect("collect");
    }
    wait_until(|| faults.reservations.load(SeqCst) == 2).await;
    game.collect(id, asteroids[2]).await.expect("the last id");
    assert_eq!(repo.stats().reserved_ids, 0);

    let before = repo.stats();
    let (failed, objects) = tokio::join!(
        game.collect(id, asteroids[3]),
        repo.view_world(|world| world.len())
    );
    let failed = failed.expect_err("no id left");
    assert_eq!(
        failed.to_string(),
        "storage unavailable: no reserved object ids left and the database cannot reserve more"
    );
    // 6 asteroids + the ship, 3 collected and replaced.
    assert_eq!(objects.expect("world"), 7);
    let after = repo.stats();
    // The failed collect took no lock at all: the only world acquisition is the read's,
    // and nobody waited for anything.
    assert_eq!(
        after.world_lock.acquisitions,
        before.world_lock.acquisitions + 1
    );
    assert_eq!(after.world_lock.contended, before.world_lock.contended);
    assert_eq!(after.world_lock.total_wait, before.world_lock.total_wait);
    assert_eq!(
        after.user_locks.acquisitions,
        before.user_locks.acquisitions
    );
    assert_eq!(
        after.store_lock.acquisitions,
        before.store_lock.acquisitions
    );
    // Nor did it call the store: the refill's call is the only one waiting.
    assert_eq!(faults.reservations.load(SeqCst), 2);
    assert_eq!((after.inline_id_reservations, after.id_exhaustions), (0, 1));
    // The asteroid is still there, the user unchanged.
    let world = crate::support::cached_world(&repo).await;
    assert!(world.iter().any(|o| o.id == asteroids[3]));
    assert_eq!(after.dirty_users, before.dirty_users);
    assert_eq!(after.dirty_objects, before.dirty_objects);
}

on_both_backends!(
    ids_exhausted_with_a_hung_store_fail_fast,
    ids_exhausted_fail_fast_sqlite,
    ids_exhausted_fail_fast_postgres
);

/// A batch that never returns is cut at the store deadline and counted as a timeout and a
/// flush failure; the flush task keeps retrying with back-off, and once the database
/// answers again everything is written.
async fn a_hung_flush_is_cut_counted_and_retried(backend: TestStore) {
    let clock = ManualClock::new(T0);
    let faults = FaultStore::new(backend.store());
    let deadline = Duration::from_millis(200);
    let store = Arc::new(WithDeadline::new(faults.clone(), deadline));
    let config = CacheConfig {
        persist_interval: Duration::from_millis(100),
        ..quiet_config()
    };
    let repo = start(store.clone(), config, &clock).await;
    let game = game(repo.clone(), &clock, 6);
    let (id, _) = register_players(&game, 1).await[0];
    wait_until(|| repo.stats().dirty_users == 0).await;

    faults.set_hanging(true);
    clock.advance_ms(5_000);
    game.user_stats(id).await.expect("user stats");
    let cut = repo.flush_now().await;
    assert!(
        matches!(cut, Err(CacheError::Store(StoreError::Timeout { after })) if after == deadline),
        "{cut:?}"
    );
    assert_eq!(
        cut.map(drop).map_err(|e| e.to_string()),
        Err("the database did not answer within 200 ms (a write's outcome is unknown)".into())
    );
    // The background task goes on trying; each attempt is cut and counted.
    wait_until(|| repo.stats().flush_failures >= 3).await;
    assert_eq!(repo.stats().dirty_users, 1);
    assert_eq!(faults.committed.load(SeqCst), 0);

    faults.set_hanging(false);
    wait_until(|| repo.stats().dirty_users == 0).await;
    let stats = repo.stats();
    assert_eq!(store.timeouts(), stats.flush_failures);
    assert_eq!(
        faults.attempts.load(SeqCst),
        stats.flush_failures + stats.flushes
    );
    assert_eq!(stored_users(&backend.db, &[id]).await[0].iron, 5.0);
    repo.shutdown().await.expect("shutdown");
}

on_both_backends!(
    a_hung_flush_is_cut_counted_and_retried,
    hung_flush_sqlite,
    hung_flush_postgres
);
