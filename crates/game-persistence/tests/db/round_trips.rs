//! Exact statement counts: a lone statement is 1; a transaction adds BEGIN and COMMIT.

use std::time::Duration;

use game_domain::accounts::{NewUser, Session};
use game_domain::geometry::WorldSize;
use game_domain::repository::Repository;
use game_domain::seed::demo_user;
use game_persistence::{Batch, DbRepo, Store};

use crate::common::on_each_backend;

const NOW: i64 = 1_800_000_000_000;

/// Statements `operation` sent through `store`.
macro_rules! trips {
    ($store:expr, $operation:expr) => {
        with_trips!($store, $operation).1
    };
}

/// `operation`'s value, and the statements it sent through `store`.
macro_rules! with_trips {
    ($store:expr, $operation:expr) => {{
        let before = $store.round_trips();
        let value = $operation;
        (value, $store.round_trips() - before)
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_operations_cost_a_known_number_of_statements() {
    on_each_backend(async |t| {
        let db = &t.db;
        assert_eq!(trips!(db, db.ping().await.unwrap()), 1);
        // BEGIN, UPDATE counter, SELECT counter, COMMIT.
        let (ship, reserve) = with_trips!(db, db.reserve_object_ids(1).await.unwrap());
        assert_eq!(reserve, 4);
        // BEGIN, UPDATE + SELECT user counter, INSERT user, INSERT ship, COMMIT.
        let new_user = NewUser::register("p".into(), "h".into(), NOW);
        let (user, create) = with_trips!(db, db.create_user(new_user, ship).await.unwrap());
        assert_eq!(create, 6);
        assert_eq!(trips!(db, db.load_user(user.id).await.unwrap()), 1);
        assert_eq!(trips!(db, db.find_user_by_name("p").await.unwrap()), 1);
        assert_eq!(trips!(db, db.load_world().await.unwrap()), 1);

        let session = Session {
            token_hash: "t".into(),
            user_id: user.id,
            created_ms: NOW,
            expires_ms: NOW + 1,
            revoked: false,
        };
        // Writes are transactions (fenced by the lease when one is held): BEGIN, the
        // statement, COMMIT.
        assert_eq!(
            trips!(db, db.insert_session(session.clone()).await.unwrap()),
            3
        );
        assert_eq!(trips!(db, db.find_session("t").await.unwrap()), 1);
        assert_eq!(trips!(db, db.revoke_session("t").await.unwrap()), 3);

        let mut ship_object = db.load_world().await.unwrap()[0];
        ship_object.x = 1.0;
        let batch = Batch {
            users: vec![user.clone()],
            upserted_objects: vec![ship_object],
            deleted_objects: vec![12345],
        };
        // BEGIN, users, objects, deletions, the write-behind position, COMMIT.
        assert_eq!(trips!(db, db.apply_batch(batch.clone()).await.unwrap()), 6);
        assert_eq!(
            trips!(db, db.apply_batch(Batch::default()).await.unwrap()),
            0
        );

        // Holding the lease adds its renewal to each batch. (The renewal task sleeps for
        // ttl/3, far longer than this test.)
        let ttl = Duration::from_secs(600);
        let (guard, acquire) = with_trips!(db, db.acquire_lease("me", ttl).await.unwrap());
        // BEGIN, SELECT lease, UPDATE lease, COMMIT.
        assert_eq!(acquire, 4);
        assert_eq!(trips!(db, db.apply_batch(batch).await.unwrap()), 7);
        // So does every other write: the UPDATE of the lease row checks and renews it.
        assert_eq!(trips!(db, db.reserve_object_ids(1).await.unwrap()), 5);
        let session = Session {
            token_hash: "u".into(),
            ..session
        };
        assert_eq!(trips!(db, db.insert_session(session).await.unwrap()), 4);
        assert_eq!(trips!(db, db.revoke_session("u").await.unwrap()), 4);
        let new_user = NewUser::register("q".into(), "h".into(), NOW);
        let ship = db.reserve_object_ids(1).await.unwrap();
        assert_eq!(trips!(db, db.create_user(new_user, ship).await.unwrap()), 7);
        // A lone UPDATE.
        assert_eq!(trips!(db, guard.release().await.unwrap()), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repository_units_of_work_cost_a_known_number_of_statements() {
    on_each_backend(async |t| {
        t.db.seed_if_empty(Some(demo_user("h".into(), NOW)), NOW)
            .await
            .unwrap();
        let db = &t.db;
        let repo = DbRepo::new(db.clone(), WorldSize::DEFAULT);
        // One SELECT each (the player with its ship is a join).
        assert_eq!(trips!(db, repo.view_world(|w| w.len()).await.unwrap()), 1);
        assert_eq!(
            trips!(db, repo.read_player(1, |u, s| (u.id, s.id)).await.unwrap()),
            1
        );
        // BEGIN, SELECT … FOR UPDATE, COMMIT; plus the UPDATE when the user changed.
        assert_eq!(trips!(db, repo.with_user(1, |_| Ok(())).await.unwrap()), 3);
        let earn = |u: &mut game_domain::user::User| {
            u.iron += 1.0;
            Ok(())
        };
        assert_eq!(trips!(db, repo.with_user(1, earn).await.unwrap()), 4);
        // A collection: BEGIN, lock user, lock ship + object, UPDATE user, DELETE object,
        // UPDATE + SELECT counter, INSERT spawn, COMMIT.
        let collect = |u: &mut game_domain::user::User, w: &mut game_domain::world::WorldTx| {
            let object = w
                .remove(8)
                .ok_or(game_domain::error::GameError::ObjectNotFound)?;
            u.iron += 10.0;
            w.spawn(game_domain::space_object::ObjectState {
                kind: object.kind,
                x: 1.0,
                y: 1.0,
                speed: 1.0,
                angle: 1.0,
                last_position_update_ms: NOW,
            });
            Ok(())
        };
        assert_eq!(
            trips!(
                db,
                repo.with_user_and_world(1, vec![8], collect).await.unwrap()
            ),
            9
        );
        // A failed rule: BEGIN, two locking SELECTs, ROLLBACK; nothing written.
        let refuse = |_: &mut game_domain::user::User, _: &mut game_domain::world::WorldTx| {
            Err::<(), _>(game_domain::error::GameError::ObjectTooFar)
        };
        assert_eq!(
            trips!(
                db,
                repo.with_user_and_world(1, vec![2], refuse)
                    .await
                    .unwrap_err()
            ),
            4
        );
    })
    .await;
}
