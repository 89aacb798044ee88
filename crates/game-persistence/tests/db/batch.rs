//! The write-behind batch: everything or nothing, in chunks.

use game_domain::space_object::{ObjectKind, SpaceObject};
use game_domain::tech_tree::{ActiveResearch, ResearchType, TechTree};
use game_domain::user::User;
use game_persistence::{Batch, Store, StoreError};

use crate::common::on_each_backend;

const NOW: i64 = 1_800_000_000_000;

fn user(id: i64) -> User {
    User {
        id,
        username: format!("u{id}"),
        password_hash: "h".into(),
        iron: id as f64 / 4.0,
        last_updated: NOW / 1000,
        tech_tree: TechTree::default(),
        ship_id: 1_000_000 + id,
    }
}

fn object(id: i64) -> SpaceObject {
    SpaceObject {
        id,
        kind: ObjectKind::Asteroid,
        x: (id % 500) as f64,
        y: 1.5,
        speed: 5.0,
        angle: (id % 360) as f64,
        last_position_update_ms: NOW,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_upserts_and_deletes() {
    on_each_backend(async |t| {
        let first = Batch {
            users: vec![user(2), user(1)],
            upserted_objects: vec![object(3), object(1), object(2)],
            deleted_objects: vec![],
        };
        t.db.apply_batch(first).await.unwrap();

        let mut researching = user(1);
        researching.iron = 42.5;
        researching.tech_tree = TechTree {
            iron_harvesting: 3,
            ship_speed: 2,
            afterburner: 1,
            active_research: Some(ActiveResearch {
                kind: ResearchType::Afterburner,
                remaining_duration: 179.5,
            }),
        };
        let moved = SpaceObject {
            x: 499.25,
            angle: 359.5,
            ..object(2)
        };
        let second = Batch {
            users: vec![researching.clone()],
            // Of two versions of one object, the later one wins.
            upserted_objects: vec![object(2), moved, object(4)],
            deleted_objects: vec![3, 3, 77],
        };
        t.db.apply_batch(second).await.unwrap();
        assert_eq!(t.db.load_user(1).await.unwrap(), Some(researching.clone()));
        assert_eq!(t.db.load_user(2).await.unwrap(), Some(user(2)));
        assert_eq!(
            t.db.load_world().await.unwrap(),
            vec![object(1), moved, object(4)],
            "on {}",
            t.test_db.backend()
        );

        // The research finished: the columns go back to NULL.
        let finished = User {
            tech_tree: TechTree {
                active_research: None,
                ..researching.tech_tree
            },
            ..researching
        };
        let third = Batch {
            users: vec![finished.clone()],
            ..Batch::default()
        };
        t.db.apply_batch(third).await.unwrap();
        assert_eq!(t.db.load_user(1).await.unwrap(), Some(finished));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_batch_is_written_in_chunks() {
    on_each_backend(async |t| {
        let batch = Batch {
            users: (1..=5_000).map(user).collect(),
            upserted_objects: (1..=6_000).map(object).collect(),
            deleted_objects: vec![],
        };
        t.db.apply_batch(batch).await.unwrap();
        assert_eq!(
            (t.test_db.count("users"), t.test_db.count("space_objects")),
            (5_000, 6_000)
        );

        let before = t.db.round_trips();
        let batch = Batch {
            users: (1..=5_000).rev().map(user).collect(),
            upserted_objects: (1..=6_000).map(object).collect(),
            deleted_objects: (1..=10).collect(),
        };
        t.db.apply_batch(batch).await.unwrap();
        // BEGIN, users in 2 chunks (2 978 rows each at most), objects in 2 (4 680),
        // deletions in 1, the write-behind position, COMMIT.
        assert_eq!(t.db.round_trips() - before, 8, "on {}", t.test_db.backend());
        assert_eq!(
            (t.test_db.count("users"), t.test_db.count("space_objects")),
            (5_000, 5_990)
        );
        assert_eq!(t.db.load_user(4_321).await.unwrap(), Some(user(4_321)));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_failing_midway_writes_nothing() {
    on_each_backend(async |t| {
        let setup = Batch {
            users: vec![user(1)],
            upserted_objects: (1..=5).map(object).collect(),
            deleted_objects: vec![],
        };
        t.db.apply_batch(setup).await.unwrap();
        let world = t.db.load_world().await.unwrap();

        // Users are written first, then objects; the last object breaks the angle check.
        let mut rich = user(1);
        rich.iron = 1e9;
        let invalid = SpaceObject {
            angle: 400.0,
            ..object(9)
        };
        let failing = Batch {
            users: vec![rich, user(2)],
            upserted_objects: vec![
                object(8),
                invalid,
                SpaceObject {
                    x: 7.0,
                    ..object(1)
                },
            ],
            deleted_objects: vec![2, 3],
        };
        let result = t.db.apply_batch(failing).await;
        assert!(
            matches!(result, Err(StoreError::Database(_))),
            "{result:?} on {}",
            t.test_db.backend()
        );
        assert_eq!(t.db.load_user(1).await.unwrap(), Some(user(1)));
        assert_eq!(t.db.load_user(2).await.unwrap(), None);
        assert_eq!(t.db.load_world().await.unwrap(), world);

        // The store is still usable afterwards.
        let ok = Batch {
            users: vec![user(2)],
            ..Batch::default()
        };
        t.db.apply_batch(ok).await.unwrap();
        assert_eq!(t.db.load_user(2).await.unwrap(), Some(user(2)));
    })
    .await;
}
