//! The database misbehaving at shutdown: what the final flush cannot write goes to the
//! spill file, and the next start applies it before serving (docs/persistence.md,
//! Graceful shutdown).

use std::path::Path;

use game_cache::engine::ShutdownError;
use game_server::{Config, RepoKind, ServerError};
use serde_json::json;

use crate::harness::Setup;
use game_persistence::testing::TestBackend;

/// Short deadlines, and the spill file in `dir`.
fn quick_spill(dir: &Path) -> impl Fn(&mut Config) {
    let dir = dir.to_owned();
    move |config: &mut Config| {
        config.storage.db_call_timeout_ms = 200;
        config.storage.shutdown_flush_timeout_ms = 600;
        config.storage.spill_dir = Some(dir.clone());
    }
}

async fn shutdown_with_the_database_down_spills_and_the_next_start_applies_it(db: TestBackend) {
    let dir = tempfile::tempdir().expect("spill dir");
    let spill = dir.path().join("spacewars.spill");
    let setup = Setup {
        db,
        repo: RepoKind::Cached,
    };
    let server = setup.start_with(quick_spill(dir.path())).await;
    // Acknowledged play that only the cache holds (the persist interval is 30 s).
    let mut demo = server.demo().await;
    let steer = json!({"speed": 10, "angle": 90});
    assert_eq!(demo.post_json("/api/navigate", steer).await.status, 200);
    let research = json!({"type": "IronHarvesting"});
    assert_eq!(
        demo.post_json("/api/trigger-research", research)
            .await
            .status,
        200
    );
    let ship = demo.get("/api/ship-stats").await.json();
    let stats = demo.get("/api/user-stats").await.json();
    let token = demo.session.clone();

    // The database stops taking writes; SIGTERM.
    let database = server.database();
    let blocked = database.block_writes();
    let (stopped_with, stopped) = server.stop_any().await;
    let message = match stopped_with {
        Err(ServerError::Shutdown(shutdown @ ShutdownError::Spilled { .. })) => {
            shutdown.to_string()
        }
        other => panic!("expected a failed final flush, got {other:?}"),
    };
    assert_eq!(
        message,
        format!(
            "final flush failed; the 2 pending changes were saved to the spill file {} \
             (fsynced) and are applied at the next start on this database",
            spill.display()
        )
    );
    assert!(spill.exists());

    // The database is back; the stopped server's lease is gone. Freed with its token, not
    // only made expired: the stopped server's last renewal, abandoned at its deadline while
    // the writes were blocked, may still commit once they are not, and a renewal by the
    // same token would make an only-expired lease current again (as it must for an owner
    // whose database came back; tests/db/lease.rs) and this start would find it held.
    drop(blocked);
    database.execute("UPDATE lease SET expires_ms = 0, token = ''");
    let server = stopped.start_again_with(quick_spill(dir.path())).await;
    assert!(!spill.exists(), "applied and removed");
    let mut demo = server.client_with(token);
    assert_eq!(demo.get("/api/ship-stats").await.json(), ship);
    assert_eq!(demo.get("/api/user-stats").await.json(), stats);
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_shutdown_spills_and_the_next_start_applies_it() {
    shutdown_with_the_database_down_spills_and_the_next_start_applies_it(TestBackend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_shutdown_spills_and_the_next_start_applies_it() {
    shutdown_with_the_database_down_spills_and_the_next_start_applies_it(TestBackend::Postgres)
        .await;
}
