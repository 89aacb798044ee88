//! Spill files: written durably and privately, applied once at the next start (fenced, one
//! transaction, idempotent), refused when corrupt, forged, foreign or stale, never
//! silently dropped.

use std::time::Duration;

use game_domain::accounts::NewUser;
use game_domain::space_object::{ObjectKind, SpaceObject};
use game_persistence::WritePosition;
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

/// This database's identity and spill key.
async fn identity_and_key(db: &Database) -> (String, String) {
    let id = db.identity().await.expect("database call");
    let key = db
        .server_key(spill::SPILL_KEY_NAME)
        .await
        .expect("database call");
    (id, key)
}

/// Writes `batch` as the spill file at `path` for `db`, continuing from where `db` stands.
async fn spill_for(db: &Database, path: &std::path::Path, batch: &Batch) {
    let (id, key) = identity_and_key(db).await;
    spill::write(path, &id, key.as_bytes(), &db.write_position(), batch).expect("spill");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spill_file_is_applied_at_the_next_start_and_again_after_a_crash() {
    on_each_backend(async |t| {
        let dir = tempfile::tempdir().unwrap();
        let path = spill::path_in(dir.path());
        let batch = pending_changes(&t).await;
        let user_id = batch.users[0].id;
        let (id, key) = identity_and_key(&t.db).await;
        assert_eq!(id, t.db.identity().await.unwrap(), "stable");

        // The old process spills and "crashes" (its handle is gone, its lease expires).
        spill_for(&t.db, &path, &batch).await;
        let read = spill::read(&path, &id, key.as_bytes()).unwrap().unwrap();
        assert_eq!(read.batch, batch);
        assert_eq!(read.position, t.db.write_position());
        let written = std::fs::read(&path).unwrap();
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
        let mut upserted: Vec<SpaceObject> = batch.upserted_objects.clone();
        upserted.push(objects[0]); // the ship, untouched
        upserted.sort_by_key(|o| o.id);
        assert_eq!(objects, upserted);

        // A crash after the commit but before the removal: the same file is applied again,
        // to the same result (the database's last batch is the file's own).
        std::fs::write(&path, &written).unwrap();
        assert_eq!(spill::replay(&next, &path).await.unwrap(), Some(expected));
        assert_eq!(state(&next, user_id).await, (objects, user));
        // No file, nothing to do.
        assert_eq!(spill::replay(&next, &path).await.unwrap(), None);
    })
    .await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spill_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;

    let t = crate::common::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let path = spill::path_in(dir.path());
    // A left-over temporary file readable by all is replaced, not reused.
    std::fs::write(path.with_extension("spill.tmp"), "old").unwrap();
    spill_for(&t.db, &path, &pending_changes(&t).await).await;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_and_foreign_spill_files_stop_the_start_and_stay() {
    on_each_backend(async |t| {
        let dir = tempfile::tempdir().unwrap();
        let path = spill::path_in(dir.path());
        let batch = pending_changes(&t).await;
        let (id, key) = identity_and_key(&t.db).await;
        let before = state(&t.db, batch.users[0].id).await;
        let position = t.db.write_position();

        spill::write(&path, "another-database", key.as_bytes(), &position, &batch).unwrap();
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

        // Signed with another database's key.
        spill::write(&path, &id, b"another key", &position, &batch).unwrap();
        assert!(matches!(
            spill::replay(&t.db, &path).await,
            Err(SpillError::Forged { .. })
        ));

        spill::write(&path, &id, key.as_bytes(), &position, &batch).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, &text[..text.len() - 10]).unwrap();
        let error = spill::replay(&t.db, &path).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "spill file {} fails its MAC under this database's spill key: it was altered \
                 after it was written, or belongs to another database. It was not applied; \
                 move it aside to start without it",
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

/// Hex SHA-256 of `text`: the unkeyed checksum an attacker can always recompute.
fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_spill_file_with_a_recomputed_checksum_is_refused() {
    on_each_backend(async |t| {
        let dir = tempfile::tempdir().unwrap();
        let path = spill::path_in(dir.path());
        let batch = pending_changes(&t).await;
        let user_id = batch.users[0].id;
        let before = state(&t.db, user_id).await;
        spill_for(&t.db, &path, &batch).await;

        // 1e15 iron, and a checksum recomputed over the altered document, in both the
        // current format and the old unkeyed one.
        let text = std::fs::read_to_string(&path).unwrap();
        let json = text.splitn(3, '\n').nth(2).unwrap().trim_end();
        let forged = json.replace("\"iron\":1234.5678901234567", "\"iron\":1e15");
        assert_ne!(forged, json, "the iron is in the document");
        for magic in ["spacewars-spill v2", "spacewars-spill v1"] {
            let file = format!("{magic}\n{}\n{forged}\n", sha256_hex(&forged));
            std::fs::write(&path, file).unwrap();
            let error = spill::replay(&t.db, &path).await.unwrap_err();
            assert!(
                matches!(
                    error,
                    SpillError::Forged { .. } | SpillError::Corrupt { .. }
                ),
                "{magic}: {error:?}"
            );
            assert!(path.exists());
        }
        assert_eq!(state(&t.db, user_id).await, before, "nothing applied");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_spill_file_is_refused_once_another_process_wrote_after_it() {
    on_each_backend(async |t| {
        let dir = tempfile::tempdir().unwrap();
        let path = spill::path_in(dir.path());
        let batch = pending_changes(&t).await;
        let user_id = batch.users[0].id;
        // The old owner spills during an outage…
        spill_for(&t.db, &path, &batch).await;
        t.test_db.execute("UPDATE lease SET expires_ms = 0");

        // …another process takes over and plays on: 1e15 iron, flushed.
        let other = Database::connect(t.test_db.url()).await.unwrap();
        let lease = other.acquire_lease("other", LONG).await.unwrap();
        let mut richer = batch.users[0].clone();
        richer.iron = 1e15;
        other
            .apply_batch(Batch {
                users: vec![richer.clone()],
                ..Batch::default()
            })
            .await
            .unwrap();
        lease.release().await.unwrap();

        // The old host comes back with its old file: refused, kept, nothing rolled back.
        let back = Database::connect(t.test_db.url()).await.unwrap();
        let _lease = back.acquire_lease("back", LONG).await.unwrap();
        let error = spill::replay(&back, &path).await.unwrap_err();
        // Two batches in all: the old owner's one before it spilled, the other's one.
        assert!(
            matches!(error, SpillError::Stale { batches: 2, .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("is stale"), "{error}");
        assert!(path.exists());
        let (_, user) = state(&back, user_id).await;
        assert_eq!(user.map(|u| u.iron), Some(1e15));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spill_file_follows_its_own_batches_whose_outcome_was_unknown() {
    on_each_backend(async |t| {
        let dir = tempfile::tempdir().unwrap();
        let path = spill::path_in(dir.path());
        let batch = pending_changes(&t).await;
        let (id, key) = identity_and_key(&t.db).await;
        let position = WritePosition {
            id: "before".into(),
            in_doubt: vec!["abandoned".into()],
        };
        spill::write(&path, &id, key.as_bytes(), &position, &batch).unwrap();
        let _lease = t.db.acquire_lease("next", LONG).await.unwrap();

        // Another process's batch last: stale.
        t.test_db
            .execute("UPDATE lease SET flush_id = 'someone else'");
        assert!(matches!(
            spill::replay(&t.db, &path).await,
            Err(SpillError::Stale { .. })
        ));
        // The batch it continues from, or its own abandoned one, last: applied.
        t.test_db.execute("UPDATE lease SET flush_id = 'abandoned'");
        assert!(spill::replay(&t.db, &path).await.unwrap().is_some());
        spill::write(&path, &id, key.as_bytes(), &position, &batch).unwrap();
        t.test_db.execute("UPDATE lease SET flush_id = 'before'");
        assert!(spill::replay(&t.db, &path).await.unwrap().is_some());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_owner_cannot_apply_a_spill_file() {
    on_each_backend(async |t| {
        let dir = tempfile::tempdir().unwrap();
        let path = spill::path_in(dir.path());
        let batch = pending_changes(&t).await;
        let before = state(&t.db, batch.users[0].id).await;
        spill_for(&t.db, &path, &batch).await;

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
