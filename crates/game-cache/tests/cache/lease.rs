//! docs/persistence.md, One owner and Graceful shutdown: a process past its lease deadline
//! answers nothing from memory; a shutdown waits no longer than its timeout, a batch in
//! flight included.

use std::time::Duration;

use game_cache::{CacheConfig, CacheError};
use game_domain::clock::ManualClock;
use game_domain::error::AppError;
use game_domain::navigate::NavigateRequest;
use game_domain::repository::Repository;
use game_persistence::StoreError;

use crate::support::{
    FaultStore, T0, TestStore, game, on_both_backends, quiet_config, register_players, start,
    stored_users,
};

/// The storage error behind a use case's failure.
fn store_error<T: std::fmt::Debug>(result: Result<T, AppError>) -> StoreError {
    match result {
        Err(AppError::Storage { source, .. }) => match source.downcast::<StoreError>() {
            Ok(error) => *error,
            Err(other) => panic!("expected a StoreError, got {other:?}"),
        },
        other => panic!("expected a storage error, got {other:?}"),
    }
}

/// Past the deadline every unit of work, reads included, is refused and changes nothing;
/// once a renewal is confirmed they run again.
async fn past_the_lease_deadline_nothing_is_answered_from_memory(backend: TestStore) {
    let clock = ManualClock::new(T0);
    let faults = FaultStore::new(backend.store());
    let repo = start(faults.clone(), quiet_config(), &clock).await;
    let game = game(repo.clone(), &clock, 3);
    let (id, _) = register_players(&game, 1).await[0];
    let steer = NavigateRequest {
        speed: Some(5.0),
        angle: Some(45.0),
    };

    faults.set_lease_expired(true);
    let refused = store_error(game.navigate(id, steer).await);
    assert!(matches!(refused, StoreError::LeaseExpired), "{refused:?}");
    assert!(matches!(
        store_error(game.user_stats(id).await),
        StoreError::LeaseExpired
    ));
    assert!(matches!(
        store_error(game.world().await),
        StoreError::LeaseExpired
    ));
    assert!(matches!(
        store_error(repo.view_world(|world| world.len()).await),
        StoreError::LeaseExpired
    ));
    // The refused navigate touched nothing: nothing is pending.
    let stats = repo.stats();
    assert_eq!((stats.dirty_users, stats.dirty_objects), (0, 0));

    faults.set_lease_expired(false);
    let course = game.navigate(id, steer).await.expect("navigate");
    assert_eq!((course.speed, course.angle), (5.0, 45.0));
    assert_eq!(repo.stats().dirty_objects, 1);
    repo.shutdown().await.expect("shutdown");
}

on_both_backends!(
    past_the_lease_deadline_nothing_is_answered_from_memory,
    past_the_deadline_sqlite,
    past_the_deadline_postgres,
    flavor = "multi_thread",
    worker_threads = 2
);

/// A database that stops answering while the background flush writes: the shutdown
/// abandons that batch and its own final attempt at the shutdown timeout (3 s), not at the
/// batch deadline, counts each as a failed flush at once, and leaves the changes pending
/// for the spill file.
async fn shutdown_abandons_a_hung_batch_at_its_timeout(backend: TestStore) {
    let clock = ManualClock::new(T0);
    let faults = FaultStore::new(backend.store());
    let config = CacheConfig {
        persist_interval: Duration::from_secs(1),
        shutdown_flush_timeout: Duration::from_secs(3),
        ..quiet_config()
    };
    let repo = start(faults.clone(), config, &clock).await;
    let game = game(repo.clone(), &clock, 4);
    let (id, _) = register_players(&game, 1).await[0];
    repo.flush_now().await.expect("flush");
    clock.advance_ms(7_000);
    game.user_stats(id).await.expect("user stats");
    assert_eq!(repo.stats().dirty_users, 1);

    faults.set_hanging(true);
    let attempts = faults.attempts.load(std::sync::atomic::Ordering::SeqCst);
    // The background flush starts its batch, which never returns.
    crate::hot_path::wait_until(|| {
        faults.attempts.load(std::sync::atomic::Ordering::SeqCst) > attempts
    })
    .await;
    assert_eq!(repo.stats().flush_failures, 0, "still waiting");

    let started = tokio::time::Instant::now();
    let stopped = repo.shutdown().await;
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    assert!(
        matches!(
            stopped,
            Err(CacheError::Store(StoreError::Timeout { after })) if after == Duration::from_secs(3)
        ),
        "{stopped:?}"
    );
    // The background batch and the final attempt.
    assert_eq!(repo.stats().flush_failures, 2);
    let pending = repo.pending_batch().await;
    assert_eq!(pending.users.len(), 1);
    assert_eq!(pending.users[0].iron, 7.0);
    faults.set_hanging(false);
    assert_eq!(stored_users(&backend.db, &[id]).await[0].iron, 0.0);
}

on_both_backends!(
    shutdown_abandons_a_hung_batch_at_its_timeout,
    shutdown_abandons_sqlite,
    shutdown_abandons_postgres,
    start_paused = true
);
