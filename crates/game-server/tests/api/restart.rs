//! The real binary as a child process: play, SIGTERM, exit 0, restart on the same database,
//! state intact; a second process on the same database is refused naming the owner.

use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use game_domain::geometry::WorldSize;
use game_server::RepoKind;
use serde_json::{Value, json};
use spacewars_harness::server_process::{ServerProcess, flag_value};

use crate::client::Client;
use crate::harness::{Setup, each_setup};

each_setup!(
    binary_restarts_with_state_intact_after_sigterm,
    accounts_survive_a_sigkill,
);

/// A running `game-server` process (the harness's process runner).
struct Process {
    inner: ServerProcess,
}

fn args(url: &str, repo: RepoKind) -> Vec<String> {
    let repo = flag_value(&repo);
    [
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        url,
        "--repo",
        &repo,
        "--argon2-memory-kib",
        "256",
        "--argon2-iterations",
        "1",
        "--rate-limits",
        "off",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

fn command(url: &str, repo: RepoKind) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_game-server"));
    command
        .args(args(url, repo))
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

impl Process {
    /// Starts the binary and waits for its "listening" line.
    async fn start(url: &str, repo: RepoKind) -> Process {
        Process::start_with(url, repo, &[]).await
    }

    /// Starts the binary with `extra` flags and waits for its "listening" line.
    async fn start_with(url: &str, repo: RepoKind, extra: &[&str]) -> Process {
        let mut command = tokio::process::Command::from(command(url, repo));
        command.args(extra).kill_on_drop(true);
        let inner =
            ServerProcess::spawn_listening(command, "game-server".into(), Duration::from_secs(60))
                .await
                .unwrap_or_else(|e| panic!("{e:#}"));
        Process { inner }
    }

    /// Sends SIGKILL (a crash: no final flush, the lease left to expire) and waits for
    /// the exit.
    async fn kill(mut self) {
        self.inner.signal("KILL").expect("kill -KILL");
        self.inner
            .wait_exit(Duration::from_secs(30))
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
    }

    fn client(&self, session: Option<String>) -> Client {
        let mut client = Client::new(self.inner.addr());
        client.session = session;
        client
    }

    /// Sends SIGTERM and waits for the exit.
    async fn terminate(mut self) -> (ExitStatus, String) {
        self.inner.signal("TERM").expect("kill -TERM");
        let status = self
            .inner
            .wait_exit(Duration::from_secs(30))
            .await
            .unwrap_or_else(|e| panic!("{e:#}: {}", self.inner.log()));
        (status, self.inner.log())
    }
}

fn number(value: &Value, key: &str) -> f64 {
    value[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} in {value}"))
}

/// Collects some object within reach of the ship, retrying while objects drift.
async fn collect_something(client: &mut Client) -> i64 {
    let size = WorldSize::DEFAULT;
    for _ in 0..100 {
        let world = client.get("/api/world").await.json();
        let objects = world["spaceObjects"].as_array().expect("objects").clone();
        let ship = objects
            .iter()
            .find(|o| o["id"] == json!(1))
            .expect("ship 1");
        let ship_at = (number(ship, "x"), number(ship, "y"));
        let nearest = objects
            .iter()
            .filter(|o| o["type"] != json!("player_ship"))
            .map(|o| (size.distance(ship_at, (number(o, "x"), number(o, "y"))), o))
            .min_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((distance, object)) = nearest
            && distance < 115.0
        {
            let id = object["id"].as_i64().expect("id");
            let reply = client
                .post_json("/api/collect", json!({"objectId": id}))
                .await;
            if reply.status == 200 {
                return id;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no object came within reach");
}

async fn binary_restarts_with_state_intact_after_sigterm(setup: Setup) {
    let db = setup
        .db
        .fresh_database()
        .expect("each setup checks `available` first");
    let first = Process::start(db.url(), setup.repo).await;
    let mut newcomer = first.client(None);
    newcomer.register("newcomer").await;
    let mut player = first.client(None);
    assert_eq!(player.login("a", "a").await.status, 200);
    let mut other = first.client(None);
    assert_eq!(other.login("a", "a").await.status, 200);

    let collected = collect_something(&mut player).await;
    let reply = player
        .post_json("/api/navigate", json!({"speed": 5, "angle": 30}))
        .await;
    assert_eq!(reply.status, 200);
    let logged_out = other.session.clone();
    assert_eq!(other.post("/api/logout", "").await.status, 200);

    // A second process on the same database refuses to start, naming the owner.
    let refused = command(db.url(), setup.repo)
        .output()
        .expect("run second server");
    assert!(!refused.status.success(), "the second server started");
    let mut stderr = String::from_utf8_lossy(&refused.stderr).into_owned();
    stderr.push_str(&String::from_utf8_lossy(&refused.stdout));
    assert!(
        stderr.contains("in use by another server process"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "game-server pid {}",
            first.inner.pid().expect("pid")
        )),
        "{stderr}"
    );

    let stats_before = player.get("/api/user-stats").await.json();
    let ship_before = player.get("/api/ship-stats").await.json();
    let (status, log) = first.terminate().await;
    assert_eq!(status.code(), Some(0), "exit status; output:\n{log}");
    assert!(log.contains("stopped cleanly"), "{log}");

    let second = Process::start(db.url(), setup.repo).await;
    let mut player = second.client(player.session);
    let stats = player.get("/api/user-stats").await.json();
    let elapsed_s = number(&stats, "last_updated") - number(&stats_before, "last_updated");
    let expected_iron = number(&stats_before, "iron") + elapsed_s * number(&stats, "ironPerSecond");
    assert!(
        (number(&stats, "iron") - expected_iron).abs() < 1e-6,
        "before {stats_before}, after {stats}"
    );
    assert!(number(&stats_before, "iron") >= 1050.0, "{stats_before}");

    let ship = player.get("/api/ship-stats").await.json();
    assert_eq!(
        (number(&ship, "speed"), number(&ship, "angle")),
        (5.0, 30.0)
    );
    let dt_ms =
        number(&ship, "last_position_update_ms") - number(&ship_before, "last_position_update_ms");
    let travelled = 5.0 * dt_ms / 60_000.0 * 50.0;
    let size = WorldSize::DEFAULT;
    let expected = (
        game_domain::geometry::wrap(
            number(&ship_before, "x") + 30f64.to_radians().cos() * travelled,
            size.width,
        ),
        game_domain::geometry::wrap(
            number(&ship_before, "y") + 30f64.to_radians().sin() * travelled,
            size.height,
        ),
    );
    let off = size.distance(expected, (number(&ship, "x"), number(&ship, "y")));
    assert!(
        off < 1e-6,
        "ship before {ship_before}, after {ship}, expected {expected:?}"
    );

    let world = player.get("/api/world").await.json();
    let objects = world["spaceObjects"].as_array().expect("objects");
    assert!(objects.iter().all(|o| o["id"] != json!(collected)));
    // Nine objects (one collected, one spawned) and two ships.
    assert_eq!(objects.len(), 11);

    let mut newcomer = second.client(newcomer.session);
    assert_eq!(
        newcomer.get("/api/session").await.json()["username"],
        json!("newcomer")
    );
    assert_eq!(
        second
            .client(None)
            .login("newcomer", "pw-newcomer")
            .await
            .status,
        200
    );

    let mut other = second.client(logged_out);
    assert_eq!(other.get("/api/world").await.status, 401);
    assert_eq!(
        other.get("/api/session").await.json(),
        json!({"loggedIn": false})
    );

    let (status, log) = second.terminate().await;
    assert_eq!(status.code(), Some(0), "exit status; output:\n{log}");
}

/// docs/persistence.md, promise 1: account operations are written through, so a player
/// who registered exists after a crash and a logged-out session never comes back, though
/// nothing was ever written behind (a persist interval of an hour).
async fn accounts_survive_a_sigkill(setup: Setup) {
    let db = setup
        .db
        .fresh_database()
        .expect("each setup checks `available` first");
    let crash_prone = ["--persist-interval-ms", "3600000", "--lease-ttl-ms", "300"];
    let first = Process::start_with(db.url(), setup.repo, &crash_prone).await;
    let mut newcomer = first.client(None);
    newcomer.register("newcomer").await;
    let mut other = first.client(None);
    assert_eq!(other.login("a", "a").await.status, 200);
    let logged_out = other.session.clone();
    assert_eq!(other.post("/api/logout", "").await.status, 200);
    first.kill().await;

    // The crashed process's lease expires (300 ms after its last renewal); until then a
    // new process would refuse to start.
    let expiry = "(SELECT COALESCE(MAX(expires_ms), 0) FROM lease)";
    let deadline = Instant::now() + Duration::from_secs(30);
    while unix_ms() <= db.scalar(expiry) {
        assert!(Instant::now() < deadline, "the lease never expired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let second = Process::start(db.url(), setup.repo).await;
    let mut newcomer = second.client(newcomer.session);
    assert_eq!(
        newcomer.get("/api/session").await.json()["username"],
        json!("newcomer")
    );
    let mut other = second.client(logged_out);
    assert_eq!(other.get("/api/world").await.status, 401);
    let (status, log) = second.terminate().await;
    assert_eq!(status.code(), Some(0), "exit status; output:\n{log}");
}

/// Now as Unix milliseconds, as the lease's expiry is stored.
fn unix_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970");
    i64::try_from(since_epoch.as_millis()).expect("ms")
}
