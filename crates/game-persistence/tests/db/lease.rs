//! The one-owner lease: refusal, takeover after expiry, loss, release.

use std::sync::Arc;
use std::time::Duration;

use game_domain::accounts::NewUser;
use game_domain::geometry::WorldSize;
use game_domain::repository::Repository;
use game_domain::space_object::{ObjectKind, SpaceObject};
use game_persistence::testing::TestDatabase;
use game_persistence::{
    Batch, Database, DbRepo, Deadlines, LeaseStatus, Store, StoreError, WithDeadline,
};

use crate::common::{on_each_backend, storage_error};

const LONG: Duration = Duration::from_secs(600);
const SHORT: Duration = Duration::from_millis(300);

fn one_object_batch() -> Batch {
    Batch {
        upserted_objects: vec![SpaceObject {
            id: 1_000,
            kind: ObjectKind::Asteroid,
            x: 1.0,
            y: 2.0,
            speed: 3.0,
            angle: 4.0,
            last_position_update_ms: 5,
        }],
        ..Batch::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_owner_is_refused_with_the_first_ones_name() {
    on_each_backend(async |t| {
        let guard = t.db.acquire_lease("server-a@host1", LONG).await.unwrap();
        assert_eq!(guard.owner(), "server-a@host1");
        let other = Database::connect(t.test_db.url()).await.unwrap();
        let refused = other.acquire_lease("server-b@host2", LONG).await;
        let Err(error) = refused else {
            panic!("second owner accepted on {}", t.test_db.backend())
        };
        assert!(
            matches!(&error, StoreError::LeaseHeld { owner, .. } if owner == "server-a@host1"),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(message.contains("server-a@host1"), "{message}");
        assert!(message.contains("stop it first"), "{message}");
        // The holder keeps writing.
        t.db.apply_batch(one_object_batch()).await.unwrap();
        assert!(!guard.is_lost());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lease_is_taken_over_and_the_old_owner_stops_writing() {
    on_each_backend(async |t| {
        let ship = t.db.reserve_object_ids(1).await.unwrap();
        let user = NewUser::register("p".into(), "h".into(), 0);
        let user = t.db.create_user(user, ship).await.unwrap();

        // The first owner "crashes": its guard stops renewing. Its lease is refused to
        // another owner until it expires, which the test makes happen by moving the expiry
        // into the past (waiting out a short lease would race a loaded machine).
        drop(t.db.acquire_lease("old", LONG).await.unwrap());
        let new_db = Database::connect(t.test_db.url()).await.unwrap();
        assert!(matches!(
            new_db.acquire_lease("new", LONG).await,
            Err(StoreError::LeaseHeld { .. })
        ));
        t.test_db
            .execute("UPDATE lease SET expires_ms = 1000 WHERE owner = 'old'");
        let new_guard = new_db.acquire_lease("new", LONG).await.unwrap();

        // The old process wakes up: its batch is fenced off in the database…
        let lost = t.db.apply_batch(one_object_batch()).await;
        assert!(
            matches!(lost, Err(StoreError::LeaseLost)),
            "{lost:?} on {}",
            t.test_db.backend()
        );
        // …and from then on it refuses every write without asking.
        let repo = DbRepo::new(t.db.clone(), WorldSize::DEFAULT);
        let write = repo.with_user(user.id, |u| {
            u.iron += 1.0;
            Ok(())
        });
        assert!(matches!(storage_error(write.await), StoreError::LeaseLost));
        assert!(matches!(
            t.db.reserve_object_ids(1).await,
            Err(StoreError::LeaseLost)
        ));
        // Reads still work; the user's ship is all there is.
        assert_eq!(t.db.load_world().await.unwrap().len(), 1);

        // The new owner writes.
        new_db.apply_batch(one_object_batch()).await.unwrap();
        assert!(!new_guard.is_lost());
        assert_eq!(t.db.load_world().await.unwrap().len(), 2);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_notices_when_its_lease_is_taken() {
    on_each_backend(async |t| {
        let guard = t.db.acquire_lease("victim", SHORT).await.unwrap();
        let status = guard.status();
        assert!(!status.is_lost());
        t.test_db
            .execute("UPDATE lease SET owner = 'thief', token = 'stolen', expires_ms = 9e15");
        tokio::time::timeout(Duration::from_secs(5), guard.lost())
            .await
            .expect("the renewal task should notice within ttl/3");
        assert!(guard.is_lost());
        // A status handed out before the loss sees it too (the engine and the streams
        // hold statuses, not the guard).
        assert!(status.is_lost());
        assert!(matches!(status.check(), Err(StoreError::LeaseLost)));
        // A store wrapped in a deadline says so too.
        let wrapped = WithDeadline::new(Arc::new(t.db.clone()), Duration::from_secs(60));
        assert!(matches!(wrapped.lease_check(), Err(StoreError::LeaseLost)));
        assert!(matches!(
            t.db.apply_batch(one_object_batch()).await,
            Err(StoreError::LeaseLost)
        ));
        assert_eq!(
            t.test_db.count("space_objects"),
            0,
            "on {}",
            t.test_db.backend()
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_released_lease_is_free_at_once() {
    on_each_backend(async |t| {
        let guard = t.db.acquire_lease("a", LONG).await.unwrap();
        let other = Database::connect(t.test_db.url()).await.unwrap();
        assert!(other.acquire_lease("b", LONG).await.is_err());
        guard.release().await.unwrap();
        let taken = other.acquire_lease("b", LONG).await.unwrap();
        assert_eq!(taken.owner(), "b");
        // The releasing process no longer writes.
        assert!(matches!(
            t.db.apply_batch(one_object_batch()).await,
            Err(StoreError::LeaseLost)
        ));
        other.apply_batch(one_object_batch()).await.unwrap();
    })
    .await;
}

/// Two servers starting together on a fresh database: both migrate without error (one
/// after the other, under the database-wide lock), and exactly one gets the lease; the
/// other is told who holds it.
async fn simultaneous_start(test_db: TestDatabase) {
    let url = test_db.url().to_owned();
    let (a, b) = tokio::join!(Database::connect(&url), Database::connect(&url));
    let (a, b) = (a.expect("database call"), b.expect("database call"));
    assert_eq!(test_db.count("users"), 0);
    let (lease_a, lease_b) = tokio::join!(a.acquire_lease("a", LONG), b.acquire_lease("b", LONG));
    let (winner, loser) = match (lease_a, lease_b) {
        (Ok(_), Err(error)) => ("a", error),
        (Err(error), Ok(_)) => ("b", error),
        other => panic!("expected exactly one lease, got {other:?}"),
    };
    assert!(
        matches!(&loser, StoreError::LeaseHeld { owner, .. } if owner == winner),
        "{loser:?} on {}",
        test_db.backend()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_starting_together_migrate_once_and_one_gets_the_lease() {
    for _ in 0..3 {
        simultaneous_start(TestDatabase::sqlite()).await;
        if let Some(postgres) = TestDatabase::postgres() {
            simultaneous_start(postgres).await;
        }
    }
}

/// An owner whose renewals cannot get through (SQLite's write lock held elsewhere, as a
/// frozen database would) passes its own deadline without losing the lease, answers
/// `LeaseExpired` meanwhile, and is current again once a renewal is confirmed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_that_cannot_renew_is_past_its_deadline_until_a_renewal_succeeds() {
    let test_db = TestDatabase::sqlite();
    let deadlines = Deadlines {
        call: Duration::from_millis(200),
        ..Deadlines::default()
    };
    let db = Database::connect_with(test_db.url(), deadlines)
        .await
        .unwrap();
    let ttl = Duration::from_millis(600);
    let before = std::time::Instant::now();
    let guard = db.acquire_lease("owner", ttl).await.unwrap();
    let after = std::time::Instant::now();
    let status = guard.status();
    // Sent between `before` and `after`: valid until then + 600 ms − 60 ms.
    let margin = game_persistence::safety_margin(ttl);
    assert_eq!(margin, Duration::from_millis(60));
    assert!(status.valid_until() >= before + ttl - margin);
    assert!(status.valid_until() <= after + ttl - margin);
    assert!(status.check().is_ok());
    assert!(db.lease_check().is_ok());

    let blocked = test_db.block_writes();
    tokio::time::timeout(Duration::from_secs(10), status.expired())
        .await
        .expect("the deadline passes while renewals cannot get through");
    assert!(matches!(status.check(), Err(StoreError::LeaseExpired)));
    assert!(matches!(db.lease_check(), Err(StoreError::LeaseExpired)));
    assert!(!status.is_lost(), "nobody else took it");

    drop(blocked);
    tokio::time::timeout(Duration::from_secs(10), status.current_again())
        .await
        .expect("a renewal gets through once the lock is gone");
    assert!(status.check().is_ok());
    assert!(!guard.is_lost());
}

/// The expiry is the database's: a lease whose expiry lies ahead on the database's clock
/// is held whatever the process clocks say, and one whose expiry has passed there is free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn takeover_follows_the_database_clock() {
    on_each_backend(async |t| {
        let db_now = match t.test_db.backend() {
            game_persistence::testing::TestBackend::Sqlite => {
                "CAST((julianday('now') - 2440587.5) * 86400000.0 AS BIGINT)"
            }
            game_persistence::testing::TestBackend::Postgres => {
                "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
            }
        };
        drop(t.db.acquire_lease("first", LONG).await.unwrap());
        // Written on the database's clock: within a TTL of its now.
        let left = t
            .test_db
            .scalar(&format!("(SELECT expires_ms - {db_now} FROM lease)"));
        assert!((0..=600_000).contains(&left), "{left} ms left");

        let other = Database::connect(t.test_db.url()).await.unwrap();
        t.test_db
            .execute(&format!("UPDATE lease SET expires_ms = {db_now} + 60000"));
        assert!(matches!(
            other.acquire_lease("second", LONG).await,
            Err(StoreError::LeaseHeld { .. })
        ));
        t.test_db
            .execute(&format!("UPDATE lease SET expires_ms = {db_now} - 1"));
        other.acquire_lease("second", LONG).await.unwrap();
    })
    .await;
}

/// A lease row deleted by hand is recreated by the next owner, and holds as any other:
/// a second owner is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_lease_row_is_recreated_by_its_next_owner() {
    on_each_backend(async |t| {
        t.test_db.execute("DELETE FROM lease");
        assert_eq!(t.test_db.count("lease"), 0);
        let _guard = t.db.acquire_lease("server-a@host1", LONG).await.unwrap();
        assert_eq!(t.test_db.count("lease"), 1, "on {}", t.test_db.backend());
        let other = Database::connect(t.test_db.url()).await.unwrap();
        let refused = other.acquire_lease("server-b@host2", LONG).await;
        assert!(
            matches!(&refused, Err(StoreError::LeaseHeld { owner, .. }) if owner == "server-a@host1"),
            "{refused:?}"
        );
    })
    .await;
}

/// A guard dropped without `release` stops renewing: the lease runs out after its TTL and
/// the next owner takes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_guard_stops_renewing_so_the_lease_runs_out() {
    on_each_backend(async |t| {
        drop(t.db.acquire_lease("gone", SHORT).await.unwrap());
        let other = Database::connect(t.test_db.url()).await.unwrap();
        let started = std::time::Instant::now();
        loop {
            match other.acquire_lease("next", LONG).await {
                Ok(guard) => break assert_eq!(guard.owner(), "next"),
                Err(StoreError::LeaseHeld { .. }) => {
                    // Renewed every 100 ms while renewing: 10 s is far past any TTL.
                    assert!(
                        started.elapsed() < Duration::from_secs(10),
                        "still renewed on {}",
                        t.test_db.backend()
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(error) => panic!("{error:?}"),
            }
        }
    })
    .await;
}

/// An edge holds no lease: its status is never lost and never past a deadline (its
/// deadline lies a century ahead), so it never stops serving for want of a lease.
#[tokio::test]
async fn an_unleased_status_is_never_lost_or_expired() {
    let status = LeaseStatus::unleased();
    assert!(status.check().is_ok());
    assert!(!status.is_lost());
    let fifty_years = Duration::from_secs(50 * 365 * 24 * 3_600);
    assert!(status.valid_until() > std::time::Instant::now() + fifty_years);
    // Neither future resolves (they would end an edge's streams).
    assert!(
        tokio::time::timeout(Duration::from_millis(200), status.lost())
            .await
            .is_err()
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(200), status.expired())
            .await
            .is_err()
    );
}

/// A process that takes the lease learns where the write-behind history stands: the id
/// of the last batch the previous owner wrote, with nothing of its own in doubt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taking_the_lease_learns_the_last_batch_written() {
    on_each_backend(async |t| {
        let guard = t.db.acquire_lease("first", SHORT).await.unwrap();
        t.db.apply_batch(one_object_batch()).await.unwrap();
        let written = t.db.write_position();
        assert_eq!(written.in_doubt, Vec::<String>::new());
        assert_eq!(written.id.len(), 32, "{written:?}");
        guard.release().await.unwrap();

        let next = Database::connect(t.test_db.url()).await.unwrap();
        assert_eq!(next.write_position().id, "");
        let _guard = next.acquire_lease("next", SHORT).await.unwrap();
        assert_eq!(next.write_position(), written);
    })
    .await;
}
