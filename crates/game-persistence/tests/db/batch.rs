//! The write-behind batch: everything or nothing, in chunks.

use game_domain::space_object::{ObjectKind, SpaceObject};
use game_domain::tech_tree::{ActiveResearch, ResearchType, TechTree};
use game_domain::user::User;
use game_persistence::testing::{TestBackend, TestDatabase};
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

/// Records every row written to `users` and `space_objects`, in the order the database
/// wrote them, in a table `write_log` (row triggers; `seq` counts up).
fn log_row_writes(test_db: &TestDatabase) {
    match test_db.backend() {
        TestBackend::Sqlite => {
            let mut sql =
                "CREATE TABLE write_log (seq INTEGER PRIMARY KEY, tbl TEXT NOT NULL, id BIGINT NOT NULL);"
                    .to_owned();
            for table in ["users", "space_objects"] {
                for event in ["INSERT", "UPDATE"] {
                    sql.push_str(&format!(
                        "CREATE TRIGGER log_{table}_{event} AFTER {event} ON {table} BEGIN \
                         INSERT INTO write_log (tbl, id) VALUES ('{table}', NEW.id); END;"
                    ));
                }
            }
            test_db.execute(&sql);
        }
        TestBackend::Postgres => test_db.execute(
            "CREATE TABLE write_log (seq BIGSERIAL PRIMARY KEY, tbl TEXT NOT NULL, id BIGINT NOT NULL);
             CREATE FUNCTION log_write() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN INSERT INTO write_log (tbl, id) VALUES (TG_TABLE_NAME, NEW.id); RETURN NULL; END $$;
             CREATE TRIGGER log_users AFTER INSERT OR UPDATE ON users
                 FOR EACH ROW EXECUTE FUNCTION log_write();
             CREATE TRIGGER log_objects AFTER INSERT OR UPDATE ON space_objects
                 FOR EACH ROW EXECUTE FUNCTION log_write();",
        ),
    }
}

/// docs/persistence.md, promise 2: rows are written in key order (so concurrent writers
/// never deadlock in the database), whatever order the batch lists them in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_writes_rows_in_key_order() {
    on_each_backend(async |t| {
        log_row_writes(&t.test_db);
        let inserted = Batch {
            users: [5, 2, 9, 1].map(user).to_vec(),
            upserted_objects: [30, 10, 20].map(object).to_vec(),
            deleted_objects: vec![],
        };
        t.db.apply_batch(inserted).await.unwrap();
        let updated = Batch {
            users: [9, 1, 5].map(user).to_vec(),
            upserted_objects: [20, 10].map(object).to_vec(),
            deleted_objects: vec![],
        };
        t.db.apply_batch(updated).await.unwrap();
        let backend = t.test_db.backend();
        assert_eq!(t.test_db.count("write_log"), 12, "on {backend}");
        // Pairs of writes to one table in one batch (the first is seq 1 to 7) whose ids
        // are out of order: none.
        let out_of_order = "(SELECT count(*) FROM write_log a JOIN write_log b \
             ON a.tbl = b.tbl AND (a.seq <= 7) = (b.seq <= 7) AND a.seq < b.seq AND a.id > b.id)";
        assert_eq!(t.test_db.scalar(out_of_order), 0, "on {backend}");
        // Users before objects in each batch: users 1, 2, 5, 9, objects 10, 20, 30, then
        // users 1, 5, 9, objects 10, 20 (checked as the sum of id × position).
        let weighted = "(SELECT CAST(SUM(id * seq) AS BIGINT) FROM write_log)";
        let expected = [1, 2, 5, 9, 10, 20, 30, 1, 5, 9, 10, 20]
            .iter()
            .zip(1..)
            .map(|(id, seq)| id * seq)
            .sum::<i64>();
        assert_eq!(t.test_db.scalar(weighted), expected, "on {backend}");
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

/// A batch refused before its COMMIT certainly did not commit: it is not in doubt. One
/// whose COMMIT was sent and failed may have committed (the answer could have been
/// lost): it stays in doubt, so that a spill file may follow it. PostgreSQL only: a
/// deferred constraint trigger is the one way to make a COMMIT itself fail on demand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_refused_at_its_commit_stays_in_doubt_and_one_refused_before_does_not() {
    let Some(test_db) = TestDatabase::postgres() else {
        return;
    };
    let db = test_db.connect().await;
    let written = Batch {
        users: vec![user(1), user(2)],
        ..Batch::default()
    };
    db.apply_batch(written).await.unwrap();
    let committed = db.write_position();
    assert_eq!(committed.in_doubt, Vec::<String>::new());

    // Refused by its second statement (user 3 takes user 1's ship): before the COMMIT.
    let clash = Batch {
        users: vec![User {
            ship_id: user(1).ship_id,
            ..user(3)
        }],
        ..Batch::default()
    };
    let refused = db.apply_batch(clash).await;
    assert!(
        matches!(refused, Err(StoreError::Database(_))),
        "{refused:?}"
    );
    assert_eq!(db.write_position(), committed);

    // Refused by the COMMIT itself.
    test_db.execute(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
           $$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$; \
         CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT OR UPDATE ON users \
           DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse();",
    );
    let at_commit = db
        .apply_batch(Batch {
            users: vec![user(4)],
            ..Batch::default()
        })
        .await;
    assert!(
        matches!(at_commit, Err(StoreError::Database(_))),
        "{at_commit:?}"
    );
    let position = db.write_position();
    assert_eq!(position.id, committed.id);
    assert_eq!(position.in_doubt.len(), 1, "{position:?}");
    assert_eq!(test_db.count("users"), 2);
}
