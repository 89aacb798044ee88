//! Shutdown with the database link frozen (docs/persistence.md, Graceful shutdown): SIGTERM
//! gives up on the final flush at `--shutdown-flush-timeout-ms`, its batch in flight
//! included, spills, and exits; the next start applies the spill file with nothing lost.

use std::time::{Duration, Instant};

use spacewars_harness::proxy::{Proxy, upstream_of, url_through};

use crate::http::wait_ready;
use crate::process::{ServerProcess, database};
use crate::takeover::{course, navigate, register};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_a_frozen_link_spills_within_the_timeout_and_the_next_start_applies_it() {
    let Some(db) = database() else { return };
    let spill_dir = tempfile::tempdir().expect("spill directory");
    let dir = spill_dir.path().display().to_string();
    let spill_file = spill_dir.path().join("spacewars.spill");
    let upstream = upstream_of(db.url()).await.expect("the database's address");
    let proxy = Proxy::start(upstream).await.expect("proxy");
    let through = url_through(db.url(), proxy.addr()).expect("URL through the proxy");
    // Nothing is flushed on its own: the course is pending when the link freezes.
    let mut owner = ServerProcess::start_on(
        &through,
        60_000,
        &["--shutdown-flush-timeout-ms", "10000", "--spill-dir", &dir],
        &[],
    )
    .await;
    let session = register(owner.addr, "pilot").await;
    navigate(owner.addr, &session, 9, 90).await;

    proxy.freeze();
    owner.signal("TERM");
    // The final flush's batch hangs on the frozen link; it is abandoned at 10 s.
    let status = owner.wait_exit(Duration::from_secs(12)).await;
    assert!(!status.success(), "exit status {status}: {}", owner.log());
    assert!(owner.log().contains("spill"), "{}", owner.log());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&spill_file)
            .expect("spilled")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(spill_file.exists(), "spilled");
    // The abandoned transaction ends with its connection.
    drop(proxy);

    let started = Instant::now();
    let next = ServerProcess::start(&db, 60_000, &["--standby", "--spill-dir", &dir]).await;
    wait_ready(next.addr, started, Duration::from_secs(30)).await;
    assert!(
        next.log().contains("applied the spill file"),
        "{}",
        next.log()
    );
    assert!(!spill_file.exists(), "removed once applied");
    assert_eq!(course(next.addr, &session).await, (9.0, 90.0));
}
