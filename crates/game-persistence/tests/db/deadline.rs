//! Deadlines: a database call that does not return is cut at the call deadline, counted,
//! and the handle goes on working once the database answers again.

use std::time::Duration;

use game_persistence::{Database, Deadlines, Store, StoreError};

use crate::common::on_each_backend;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_does_not_return_is_cut_and_counted() {
    on_each_backend(async |t| {
        let deadlines = Deadlines {
            call: Duration::from_millis(300),
            ..Deadlines::default()
        };
        let db = Database::connect_with(t.test_db.url(), deadlines)
            .await
            .unwrap();
        assert_eq!(db.deadlines(), deadlines);
        let lock = t.test_db.block_writes();
        let cut = db.reserve_object_ids(1).await;
        assert!(
            matches!(cut, Err(StoreError::Timeout { after }) if after == deadlines.call),
            "{cut:?} on {}",
            t.test_db.backend()
        );
        assert_eq!(db.timeouts(), 1);
        assert_eq!(
            StoreError::Timeout {
                after: deadlines.call
            }
            .to_string(),
            "the database did not answer within 300 ms (a write's outcome is unknown)"
        );
        // Reads of other tables go on meanwhile.
        assert_eq!(db.load_world().await.unwrap(), vec![]);
        drop(lock);
        db.reserve_object_ids(1).await.unwrap();
        assert_eq!(db.timeouts(), 1);
    })
    .await;
}

/// The lease is renewed on a connection of its own: with every pooled connection stuck in
/// a call that does not return, renewals go on. (PostgreSQL only: SQLite has one writer,
/// and a lock that blocks every write blocks the renewal too.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_pool_does_not_starve_the_lease_renewal() {
    let Some(test_db) = game_persistence::testing::TestDatabase::postgres() else {
        return;
    };
    let db = test_db.connect().await;
    let _lease = db
        .acquire_lease("busy", Duration::from_millis(600))
        .await
        .unwrap();
    let blocked = test_db.block_writes();
    let stuck: Vec<_> = (0..8)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move { db.reserve_object_ids(1).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let expiry = || test_db.scalar("(SELECT expires_ms FROM lease)");
    let before = expiry();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(expiry() > before, "renewed while the pool was busy");
    drop(blocked);
    for call in stuck {
        call.await.unwrap().unwrap();
    }
}
