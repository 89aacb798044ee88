//! Connections the database server ends (a restart, a cut network, an administrator's
//! `pg_terminate_backend`): each pooled connection fails its next call, is dropped when it
//! comes back to the pool, and a new one replaces it. PostgreSQL only: a SQLite
//! connection is a file that nothing outside the process can close.

use std::sync::Arc;
use std::time::Duration;

use game_persistence::testing::TestDatabase;
use game_persistence::{Database, Store, StoreError, WithDeadline};

/// More calls than the pool holds connections (8 on PostgreSQL): if ended connections
/// went back to the pool, some call this late would still fail.
const CALLS_AFTER: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_whose_connections_were_ended_fails_once_per_connection_then_recovers() {
    let Some(t) = TestDatabase::postgres() else {
        return;
    };
    let db = t.connect().await;
    assert_eq!(db.load_world().await.unwrap(), vec![]);
    let ended = t.end_connections().expect("a PostgreSQL database");
    // The pool's idle connections and the lease's own.
    assert!(ended >= 2, "ended {ended} connections");
    let results: Vec<bool> = calls_in_a_row(&db).await;
    let failed = results.iter().take_while(|ok| !**ok).count();
    assert!(
        failed >= 1,
        "the first call after the end fails: {results:?}"
    );
    assert!(
        usize::try_from(ended).is_ok_and(|ended| failed < ended),
        "at most one failure per ended pool connection: {results:?}"
    );
    assert!(
        results[failed..].iter().all(|ok| *ok),
        "once a new connection is made every call succeeds: {results:?}"
    );
}

/// `CALLS_AFTER` calls one after the other: whether each succeeded.
async fn calls_in_a_row(db: &Database) -> Vec<bool> {
    let mut results = Vec::with_capacity(CALLS_AFTER);
    for _ in 0..CALLS_AFTER {
        results.push(db.load_world().await.is_ok());
    }
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_through_the_deadline_wrapper_reports_an_ended_connection() {
    let Some(t) = TestDatabase::postgres() else {
        return;
    };
    let db = t.connect().await;
    let store = WithDeadline::new(Arc::new(db.clone()), Duration::from_secs(60));
    store.ping().await.expect("the database is up");
    t.end_connections().expect("a PostgreSQL database");
    let first = store.ping().await;
    assert!(
        matches!(first, Err(StoreError::Database(_))),
        "the ping goes to the database and fails there: {first:?}"
    );
}
