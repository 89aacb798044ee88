//! Users, sessions and ids through the `Store` trait.

use game_domain::accounts::{NewUser, Session};
use game_domain::space_object::ObjectKind;
use game_persistence::{Database, Store, StoreError};

use crate::common::on_each_backend;

const NOW: i64 = 1_800_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_created_once_per_name_and_found_by_id_and_name() {
    on_each_backend(async |t| {
        let ship_id = t.db.reserve_object_ids(1).await.unwrap();
        let alice = NewUser::register("alice".into(), "h1".into(), NOW);
        let created = t.db.create_user(alice.clone(), ship_id).await.unwrap();
        assert_eq!(
            (created.id, created.username.as_str(), created.ship_id),
            (1, "alice", ship_id)
        );
        assert_eq!((created.iron, created.last_updated), (0.0, NOW / 1000));
        assert_eq!(t.db.load_user(1).await.unwrap(), Some(created.clone()));
        assert_eq!(
            t.db.find_user_by_name("alice").await.unwrap(),
            Some(created.clone())
        );
        // Names are found by their case-free key (docs/limits.md).
        assert_eq!(
            t.db.find_user_by_name("ALICE").await.unwrap(),
            Some(created.clone())
        );
        assert_eq!(t.db.find_user_by_name("alice2").await.unwrap(), None);
        assert_eq!(t.db.load_user(99).await.unwrap(), None);
        assert_eq!(
            t.db.load_world().await.unwrap(),
            vec![alice.ship.with_id(ship_id)]
        );
        assert_eq!(
            t.db.load_world().await.unwrap()[0].kind,
            ObjectKind::PlayerShip
        );

        // The name is taken: nothing is written, and no user id is used up.
        let other_ship = t.db.reserve_object_ids(1).await.unwrap();
        let again = t.db.create_user(alice, other_ship).await;
        assert!(
            matches!(again, Err(StoreError::UsernameTaken)),
            "{again:?} on {}",
            t.test_db.backend()
        );
        assert_eq!(t.db.load_world().await.unwrap().len(), 1);
        let bob = NewUser::register("bob".into(), "h2".into(), NOW);
        assert_eq!(t.db.create_user(bob, other_ship).await.unwrap().id, 2);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_stored_found_and_revoked() {
    on_each_backend(async |t| {
        let ship_id = t.db.reserve_object_ids(1).await.unwrap();
        let user = NewUser::register("p".into(), "h".into(), NOW);
        let user = t.db.create_user(user, ship_id).await.unwrap();
        let session = Session {
            token_hash: "ab".repeat(32),
            user_id: user.id,
            created_ms: NOW,
            expires_ms: NOW + 86_400_000,
            revoked: false,
        };
        t.db.insert_session(session.clone()).await.unwrap();
        assert_eq!(
            t.db.find_session(&session.token_hash).await.unwrap(),
            Some(session.clone())
        );
        assert_eq!(t.db.find_session("unknown").await.unwrap(), None);

        t.db.revoke_session(&session.token_hash).await.unwrap();
        let revoked = t.db.find_session(&session.token_hash).await.unwrap();
        assert_eq!(
            revoked,
            Some(Session {
                revoked: true,
                ..session
            })
        );
        // Unknown hashes are ignored.
        t.db.revoke_session("unknown").await.unwrap();

        // The periodic sweep deletes revoked and expired sessions, and only those.
        let live = |hash: &str, expires_ms: i64| Session {
            token_hash: hash.into(),
            user_id: user.id,
            created_ms: NOW,
            expires_ms,
            revoked: false,
        };
        t.db.insert_session(live("expired", NOW)).await.unwrap();
        t.db.insert_session(live("live", NOW + 1)).await.unwrap();
        assert_eq!(t.db.delete_dead_sessions(NOW).await.unwrap(), 2);
        assert_eq!(t.test_db.count("sessions"), 1);
        assert_eq!(
            t.db.find_session("live").await.unwrap(),
            Some(live("live", NOW + 1))
        );
        assert_eq!(t.db.delete_dead_sessions(NOW).await.unwrap(), 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_id_blocks_never_overlap_even_across_restarts() {
    on_each_backend(async |t| {
        let first = t.db.reserve_object_ids(5).await.unwrap();
        assert_eq!(first, 1);
        assert_eq!(t.db.reserve_object_ids(1).await.unwrap(), 6);
        assert!(t.db.reserve_object_ids(0).await.is_err());

        // Concurrent reservations get disjoint blocks.
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let db = t.db.clone();
                tokio::spawn(async move { db.reserve_object_ids(3).await.unwrap() })
            })
            .collect();
        let mut starts = Vec::new();
        for task in tasks {
            starts.push(task.await.unwrap());
        }
        starts.sort_unstable();
        assert_eq!(starts, (0..20).map(|i| 7 + 3 * i).collect::<Vec<_>>());

        // A new process continues after the last block handed out.
        drop(t.db);
        let restarted = Database::connect(t.test_db.url()).await.unwrap();
        assert_eq!(restarted.reserve_object_ids(1).await.unwrap(), 67);
    })
    .await;
}

/// Only a clash of names is `UsernameTaken`: another unique column (two players given
/// the same ship id) is a database error, and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clash_on_another_unique_column_is_not_a_taken_name() {
    on_each_backend(async |t| {
        let ship_id = t.db.reserve_object_ids(1).await.unwrap();
        let alice = NewUser::register("alice".into(), "h1".into(), NOW);
        t.db.create_user(alice, ship_id).await.unwrap();
        let bob = NewUser::register("bob".into(), "h2".into(), NOW);
        let clash = t.db.create_user(bob, ship_id).await;
        assert!(
            matches!(clash, Err(StoreError::Database(_))),
            "{clash:?} on {}",
            t.test_db.backend()
        );
        assert_eq!(t.db.find_user_by_name("bob").await.unwrap(), None);
        assert_eq!(t.test_db.count("users"), 1);
    })
    .await;
}
