//! Deadlines: a database call that does not return is cut at the call deadline, counted,
//! and the handle goes on working once the database answers again.

use std::time::{Duration, Instant};

use game_persistence::testing::TestDatabase;
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

/// Polls `value` until it passes `than`; panics after 10 s (a bound on hanging, not a
/// figure).
fn until_above(value: impl Fn() -> i64, than: i64, what: &str) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = value();
        if now > than {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: still {now}, not above {than}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Statements waiting for a lock on the id counters (PostgreSQL).
fn waiting_on_the_counters(test_db: &TestDatabase) -> i64 {
    test_db.scalar(
        "(SELECT count(*) FROM pg_locks WHERE relation = 'id_counters'::regclass \
         AND NOT granted)",
    )
}

/// The lease is renewed on a connection of its own: with every pooled connection stuck in
/// a call that does not return, renewals go on. (PostgreSQL only: SQLite has one writer,
/// and a lock that blocks every write blocks the renewal too.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_pool_does_not_starve_the_lease_renewal() {
    let Some(test_db) = TestDatabase::postgres() else {
        return;
    };
    // Calls stuck far longer than the test could take, so none is cut meanwhile.
    let deadlines = Deadlines {
        call: Duration::from_secs(600),
        ..Deadlines::default()
    };
    let db = Database::connect_with(test_db.url(), deadlines)
        .await
        .unwrap();
    let _lease = db
        .acquire_lease("busy", Duration::from_millis(600))
        .await
        .unwrap();
    let blocked = test_db.block_writes();
    // As many calls as the pool has connections (8 on PostgreSQL), each stuck on the lock.
    let stuck: Vec<_> = (0..8)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move { db.reserve_object_ids(1).await })
        })
        .collect();
    // The pool is busy once all eight wait on the lock inside the database.
    let waiting = || waiting_on_the_counters(&test_db);
    until_above(waiting, 7, "calls waiting on the lock");
    let expiry = || test_db.scalar("(SELECT expires_ms FROM lease)");
    let before = expiry();
    until_above(expiry, before, "the lease expiry");
    assert_eq!(waiting(), 8, "the pool was busy throughout");
    assert!(stuck.iter().all(|call| !call.is_finished()));
    drop(blocked);
    for call in stuck {
        call.await.unwrap().unwrap();
    }
}

/// The database gives up on a statement too, one second past the call deadline, so a call
/// the client abandoned does not go on waiting for locks (PostgreSQL's
/// `statement_timeout`; docs/persistence.md, Deadlines).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_abandons_a_cut_statement_soon_after_the_deadline() {
    let Some(test_db) = TestDatabase::postgres() else {
        return;
    };
    let deadlines = Deadlines {
        call: Duration::from_millis(300),
        ..Deadlines::default()
    };
    let db = Database::connect_with(test_db.url(), deadlines)
        .await
        .unwrap();
    let _blocked = test_db.block_writes();
    let cut = db.reserve_object_ids(1).await;
    assert!(matches!(cut, Err(StoreError::Timeout { .. })), "{cut:?}");
    // The lock is still held: only the statement's own timeout (1.3 s) ends its wait.
    let waiting = || waiting_on_the_counters(&test_db);
    let deadline = Instant::now() + Duration::from_secs(10);
    while waiting() > 0 {
        assert!(
            Instant::now() < deadline,
            "the abandoned statement still waits 10 s later"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
