//! The NATS the tests use: the shared one (`SPACEWARS_TEST_NATS_URL`), or a `nats-server`
//! of a test's own, on a port of its own, that it can kill and start again.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use game_persistence::testing::environment;
use tokio::process::{Child, Command};
use tokio::time::Instant;

/// The shared NATS's URL, or `None` after a loud skip (a failure under CI).
pub fn shared() -> Option<String> {
    environment::required_var("SPACEWARS_TEST_NATS_URL", "NATS")
}

/// A world name no other test (or earlier run) publishes on.
pub fn unique_world(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{test}-{}-{nanos}", std::process::id())
}

/// A `nats-server` of the test's own (no JetStream), on a fixed free port so that it
/// can be started again where the clients look for it.
pub struct OwnNats {
    addr: SocketAddr,
    child: Option<Child>,
}

impl OwnNats {
    /// Starts one, or `None` after a loud skip when `nats-server` is not installed.
    pub async fn start() -> Option<OwnNats> {
        if which("nats-server").is_none() {
            environment::missing("NATS", "nats-server is not installed");
            return None;
        }
        let addr = spacewars_harness::server_process::free_local_addr().expect("a free port");
        let mut nats = OwnNats { addr, child: None };
        nats.restart().await;
        Some(nats)
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("nats://{}", self.addr)
    }

    /// SIGKILLs it.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("kill nats-server");
        }
    }

    /// Starts it (again) on its port and waits until it accepts connections.
    pub async fn restart(&mut self) {
        let child = Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &self.addr.port().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("starting nats-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(self.addr).await.is_err() {
            assert!(Instant::now() < deadline, "nats-server never listened");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|path| path.is_file())
    })
}
