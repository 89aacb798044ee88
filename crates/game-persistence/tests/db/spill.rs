//! Spill files: written durably, applied once at the next start (fenced, one transaction,
//! idempotent), refused when corrupt or foreign, never silently dropped.

use std::time::Duration;

use game_domain::accounts::NewUser;
use game_domain::space_object::{ObjectKind, SpaceObject};
use game_persistence::spill::{self, Replayed, SpillError};
use game_persistence::{Batch, Database, Store, StoreError};

use crate::common::{TestDb, on_each_backend};

const LONG: Duration = Duration::from_secs(600);
const NOW: i64 = 1_800_000_000_000;

fn object(id: i64, x: f64) -> SpaceObject {
    SpaceObject {
        id,
        kind: ObjectKind::Asteroid,
        x,
        y: 0.1 + 0.2,
        speed: 1.0 / 3.0,
        angle: 359.999_999_999_9,
        last_position_update_ms: NOW,
    }
}

/// A user and two objects in the database; the batch a failed final flush left: the user
/// richer (a value JSON must carry exactly), one object moved, one removed, one spawned.
async fn pending_changes(t: &TestDb) -> Batch {
    let first = t.db.reserve_object_ids(4).await.expect("database call");
    let mut user =
        t.db.create_user(NewUser::register("p".into(), "h".into(), NOW), first)
            .await
            .expect("database call");
    t.db.apply_batch(Batch {
        upserted_objects: vec![object(first + 1, 1.0), object(first + 2, 2.0)],
        ..Batch::default()
    })
    .await
    .expect("database call");
    user.iron = 1_234.567_890_123_456_7;
    user.tech_tree.ship_speed = 3;
    Batch {
        users: vec![user],
        upserted_objects: vec![
            object(first + 1, 42.000_000_000_000_01),
            object(first + 3, 3.0),
        ],
        deleted_objects: vec![first + 2],
    }
}

async fn state(db: &Database, user: i64) -> (Vec<SpaceObject>, Option<game_domain::user::User>) {
    let mut objects = db.load_world().await.expect("database call");
    objects.sort_by_key(|o| o.id);
    (objects, db.load_user(user).await.expect("database call"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spill_file_is_applied_at_the_next_start_and_again_after_a_crash() {
    on_each_backend(async |t| {
        let dir = tempfile::tempdir().unwrap();
        let path = spill::path_in(dir.path());
        let batch = pending_changes(&t).await;
        let user_id = batch.users[0].id;
        let id = t.db.identity().await.unwrap();
        assert_eq!(id, t.db.identity().await.unwrap(), "stable");

        // The old process spills and "crashes" (its handle is gone, its lease expires).
        spill::write(&path, &id, &batch).unwrap();
        assert_eq!(spill::read(&path, &id).unwrap(), Some(batch.clone()));
        t.test_db.execute("UPDATE lease SET expires_ms = 0");

        let next = Database::connect(t.test_db.url()).await.unwrap();
        let _lease = next.acquire_lease("next", LONG).await.unwrap();
        let expected = Replayed {
            users: 1,
            upserted_objects: 2,
            deleted_objects: 1,
        };
        assert_eq!(spill::replay(&next, &path).await.unwrap(), Some(expected));
        assert!(!path.exists(), "removed once applied");
        let (objects, user) = state(&next, user_id).await;
        assert_eq!(user.as_ref(), Some(&batch.users[0]));
        let mut written: Vec<SpaceObject> = batch.upserted_objects.clone();
        written.push(objects[0]); // the ship, untouched
        written.sort_by_key(|o| o.id);
        assert_eq!(objects, written);

        // A crash after the commit but before the removal: the file is applied again, to
        // the same result.
        spill::write(&path, &id, &batch).unwrap();
        assert_eq!(spill::replay(&next, &path).await.unwrap(), Some(expected));
        assert_eq!(state(&next, user_id).await, (objects, user));
        // No file, nothing to do.
        assert_eq!(spill::replay(&next, &path).await.unwrap(), None);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_and_foreign_spill_files_stop_the_start_and_stay() {
    on_each_backend(async |t| {
        let dir = tempfile::tempdir().unwrap();
        let path = spill::path_in(dir.path());
        let batch = pending_changes(&t).await;
        let id = t.db.identity().await.unwrap();
        let before = state(&t.db, batch.users[0].id).await;

        spill::write(&path, "another-database", &batch).unwrap();
        let error = spill::replay(&t.db, &path).await.unwrap_err();
        assert!(
            matches!(&error, SpillError::Foreign { found, expected, .. }
            if found == "another-database" && *expected == id),
            "{error:?}"
        );
        assert!(
            error
                .to_string()
                .contains("belongs to database another-database")
        );

        spill::write(&path, &id, &batch).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, &text[..text.len() - 10]).unwrap();
        let error = spill::replay(&t.db, &path).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "spill file {} is corrupt (checksum mismatch); it holds changes that were \
                 never written to the database: move it aside to start without them",
                path.display()
            )
        );
        std::fs::write(&path, "hello\n").unwrap();
        assert!(matches!(
            spill::replay(&t.db, &path).await,
            Err(SpillError::Corrupt { reason, .. }) if reason == "incomplete"
        ));
        assert!(path.exists(), "never dropped");
        assert_eq!(
            state(&t.db, batch.users[0].id).await,
            before,
            "nothing applied"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_owner_cannot_apply_a_spill_file() {
    on_each_backend(async |t| {
        let dir = tempfile::tempdir().unwrap();
        let path = spill::path_in(dir.path());
        let batch = pending_changes(&t).await;
        let id = t.db.identity().await.unwrap();
        let before = state(&t.db, batch.users[0].id).await;
        spill::write(&path, &id, &batch).unwrap();

        let stale = Database::connect(t.test_db.url()).await.unwrap();
        let _stale_lease = stale.acquire_lease("stale", LONG).await.unwrap();
        t.test_db
            .execute("UPDATE lease SET owner = 'thief', token = 'stolen', expires_ms = 9e15");
        let error = spill::replay(&stale, &path).await.unwrap_err();
        assert!(
            matches!(
                error,
                SpillError::Apply {
                    source: StoreError::LeaseLost,
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(path.exists());
        assert_eq!(state(&t.db, batch.users[0].id).await, before);
    })
    .await;
}
