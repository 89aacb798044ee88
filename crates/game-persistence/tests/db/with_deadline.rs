//! `WithDeadline` over a real database: a call that does not return within the wrapper's
//! deadline is cut and counted by the wrapper, on top of the inner store's own count.
//!
//! Added for the mutation run (docs/test-strength.md): the deadline tests cut calls with
//! `Database`'s own deadline, so a wrapper that never counted passed.

use std::sync::Arc;
use std::time::Duration;

use game_domain::accounts::{NewUser, Session};
use game_domain::space_object::SpaceObject;
use game_domain::user::User;
use game_persistence::{Batch, Database, Deadlines, Store, StoreError, WithDeadline};

use crate::common::on_each_backend;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wrapper_cuts_and_counts_a_call_that_does_not_return() {
    on_each_backend(async |t| {
        // The inner handle's own deadline is the tests' minute, so only the wrapper's
        // 300 ms can cut the call.
        let deadline = Duration::from_millis(300);
        let store = WithDeadline::new(Arc::new(t.db.clone()), deadline);
        assert_eq!(store.timeouts(), 0);
        let lock = t.test_db.block_writes();
        let cut = store.reserve_object_ids(1).await;
        assert!(
            matches!(cut, Err(StoreError::Timeout { after }) if after == deadline),
            "{cut:?} on {}",
            t.test_db.backend()
        );
        assert_eq!((store.timeouts(), t.db.timeouts()), (1, 0));
        drop(lock);
        // Once the database answers again, calls through the wrapper go through.
        assert_eq!(store.load_world().await.unwrap(), vec![]);
        assert_eq!(store.timeouts(), 1);
    })
    .await;
}

/// The wrapper's count adds the inner store's: a call cut by the inner handle's own
/// deadline counts there, and the wrapper reports it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wrapper_adds_the_inner_stores_timeouts_to_its_own() {
    on_each_backend(async |t| {
        let deadlines = Deadlines {
            call: Duration::from_millis(300),
            ..Deadlines::default()
        };
        let inner = Database::connect_with(t.test_db.url(), deadlines)
            .await
            .unwrap();
        let store = WithDeadline::new(Arc::new(inner.clone()), Duration::from_secs(60));
        let lock = t.test_db.block_writes();
        let cut = store.reserve_object_ids(1).await;
        assert!(matches!(cut, Err(StoreError::Timeout { .. })), "{cut:?}");
        drop(lock);
        assert_eq!((inner.timeouts(), store.timeouts()), (1, 1));
    })
    .await;
}

/// `db` behind a wrapper whose deadline (a minute) never cuts a call here, and a player
/// `p` made through it.
async fn wrapper_with_player(db: &Database) -> (WithDeadline, User) {
    let store = WithDeadline::new(Arc::new(db.clone()), Duration::from_secs(60));
    let ship_id = store.reserve_object_ids(1).await.expect("an id");
    let user = NewUser::register("p".into(), "h".into(), 1_000);
    let user = store.create_user(user, ship_id).await.expect("a player");
    (store, user)
}

/// Reads and writes pass through the wrapper: a user read back, a batch written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_and_batches_pass_through_the_wrapper() {
    on_each_backend(async |t| {
        let (store, user) = wrapper_with_player(&t.db).await;
        assert_eq!(store.load_user(user.id).await.unwrap(), Some(user.clone()));
        assert_eq!(
            store.find_user_by_name("p").await.unwrap(),
            Some(user.clone())
        );
        // The wrapper reports the inner store's statements, which these calls made.
        assert!(store.round_trips() > 0);
        assert_eq!(store.round_trips(), t.db.round_trips());
        let moved = SpaceObject {
            x: 40.0,
            ..t.db.load_world().await.unwrap()[0]
        };
        store
            .apply_batch(Batch {
                upserted_objects: vec![moved],
                ..Batch::default()
            })
            .await
            .unwrap();
        assert_eq!(t.db.load_world().await.unwrap(), vec![moved]);
        assert_eq!(store.load_world().await.unwrap(), vec![moved]);
    })
    .await;
}

/// Sessions pass through the wrapper both ways: stored, found, revoked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_pass_through_the_wrapper() {
    on_each_backend(async |t| {
        let (store, user) = wrapper_with_player(&t.db).await;
        let session = Session {
            token_hash: "cd".repeat(32),
            user_id: user.id,
            created_ms: 1_000,
            expires_ms: 86_401_000,
            revoked: false,
        };
        store.insert_session(session.clone()).await.unwrap();
        assert_eq!(
            store.find_session(&session.token_hash).await.unwrap(),
            Some(session.clone())
        );
        store.revoke_session(&session.token_hash).await.unwrap();
        // Revoked in the database itself, not only as the wrapper reports it.
        assert_eq!(
            t.db.find_session(&session.token_hash).await.unwrap(),
            Some(Session {
                revoked: true,
                ..session
            })
        );
    })
    .await;
}
