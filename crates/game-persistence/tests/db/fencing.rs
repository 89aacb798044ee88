//! Every write is fenced (docs/persistence.md, One owner): an owner that was paused while
//! another process took the lease over writes nothing when it resumes, on either backend.

use std::time::Duration;

use game_domain::accounts::{NewUser, Session};
use game_domain::seed::demo_user;
use game_persistence::{Database, LeaseGuard, Store, StoreError};

use crate::common::{TestDb, on_each_backend};

/// Far longer than any test: the stale owner's renewal task never runs in one.
const LONG: Duration = Duration::from_secs(600);
const NOW: i64 = 1_800_000_000_000;

/// A stale owner: it took the lease, was "paused" (its renewal task sleeps for ttl/3), its
/// lease expired and a new owner took it over. The stale owner does not know yet.
struct Takeover {
    stale: Database,
    stale_guard: LeaseGuard,
    _new: Database,
    new_guard: LeaseGuard,
}

async fn takeover(t: &TestDb) -> Takeover {
    let stale = Database::connect(t.test_db.url())
        .await
        .expect("database call");
    let stale_guard = stale
        .acquire_lease("stale", LONG)
        .await
        .expect("database call");
    // The pause outlasted the lease: it expired.
    t.test_db.execute("UPDATE lease SET expires_ms = 0");
    let new = Database::connect(t.test_db.url())
        .await
        .expect("database call");
    let new_guard = new.acquire_lease("new", LONG).await.expect("database call");
    assert!(!stale_guard.is_lost());
    Takeover {
        stale,
        stale_guard,
        _new: new,
        new_guard,
    }
}

/// What a stale write could change: rows of every table and both id counters.
fn fingerprint(t: &TestDb) -> [i64; 5] {
    [
        t.test_db.count("users"),
        t.test_db.count("space_objects"),
        t.test_db.count("sessions"),
        t.test_db
            .scalar("(SELECT next_id FROM id_counters WHERE name = 'users')"),
        t.test_db
            .scalar("(SELECT next_id FROM id_counters WHERE name = 'space_objects')"),
    ]
}

fn session(token_hash: &str, user_id: i64) -> Session {
    Session {
        token_hash: token_hash.into(),
        user_id,
        created_ms: NOW,
        expires_ms: NOW + 1_000,
        revoked: false,
    }
}

/// Asserts `write` (run by the stale owner) is refused in the database and changes nothing,
/// and that the stale owner knows it lost the lease afterwards.
async fn refused<T: std::fmt::Debug>(
    t: &TestDb,
    what: &str,
    write: impl AsyncFnOnce(&Database) -> Result<T, StoreError>,
) {
    let takeover = takeover(t).await;
    let before = fingerprint(t);
    let result = write(&takeover.stale).await;
    assert!(
        matches!(result, Err(StoreError::LeaseLost)),
        "{what} on {}: {result:?}",
        t.test_db.backend()
    );
    assert_eq!(fingerprint(t), before, "{what} on {}", t.test_db.backend());
    assert!(takeover.stale_guard.is_lost(), "{what}");
    assert!(!takeover.new_guard.is_lost(), "{what}");
    assert_eq!(
        t.test_db
            .scalar("(SELECT count(*) FROM lease WHERE owner = 'new')"),
        1,
        "{what}"
    );
    // Free the lease for the next case.
    takeover.new_guard.release().await.expect("database call");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_owners_writes_are_refused_and_change_nothing() {
    on_each_backend(async |t| {
        // A player and a live session exist, written before any lease was taken.
        let ship = t.db.reserve_object_ids(1).await.unwrap();
        let user =
            t.db.create_user(NewUser::register("p".into(), "h".into(), NOW), ship)
                .await
                .unwrap();
        t.db.insert_session(session("live", user.id)).await.unwrap();

        refused(&t, "registration", async |db| {
            db.create_user(NewUser::register("late".into(), "h".into(), NOW), 500)
                .await
        })
        .await;
        refused(&t, "session insert", async |db| {
            db.insert_session(session("late", user.id)).await
        })
        .await;
        refused(&t, "session revoke", async |db| {
            db.revoke_session("live").await
        })
        .await;
        refused(&t, "id reservation", async |db| {
            db.reserve_object_ids(1_000).await
        })
        .await;
        refused(&t, "session sweep", async |db| {
            db.delete_dead_sessions(NOW + 10_000).await
        })
        .await;
        // The live session was neither revoked nor swept.
        assert_eq!(
            t.test_db.scalar(
                "(SELECT count(*) FROM sessions WHERE token_hash = 'live' AND NOT revoked)"
            ),
            1
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_owner_does_not_seed_an_empty_database() {
    on_each_backend(async |t| {
        refused(&t, "seed", async |db| {
            db.seed_if_empty(Some(demo_user("h".into(), NOW)), NOW)
                .await
        })
        .await;
        assert_eq!(t.test_db.count("space_objects"), 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_the_loss_is_known_writes_are_refused_without_a_round_trip() {
    on_each_backend(async |t| {
        let takeover = takeover(&t).await;
        let db = &takeover.stale;
        assert!(matches!(
            db.reserve_object_ids(1).await,
            Err(StoreError::LeaseLost)
        ));
        let before = db.round_trips();
        assert!(matches!(
            db.insert_session(session("x", 1)).await,
            Err(StoreError::LeaseLost)
        ));
        assert_eq!(db.round_trips(), before);
    })
    .await;
}
