//! The database fault drills' rig: a throwaway PostgreSQL schema reached through a
//! freezable [`Proxy`], the release server started on it with short deadlines, players
//! playing in phases, `/metrics` counters and table snapshots read with `psql`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::process::Command;

use crate::chaos::check::{self, Carried, Rules};
use crate::chaos::driver;
use crate::chaos::ledger::PlayerLedger;
use crate::chaos::observe::observe;
use crate::chaos::restart::lease_held;
use crate::chaos::{ChaosArgs, DEMO_OBJECTS};
use game_server::RepoKind;
use spacewars_harness::http_client::Connection;
use spacewars_harness::player::Player;
use spacewars_harness::postgres::Schema;
use spacewars_harness::proxy::Proxy;
use spacewars_harness::server_process::flag_value;
use spacewars_harness::server_process::{GameServerConfig, ServerProcess, free_local_addr};

/// How long a start may take, waiting for an expired lease included.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A throwaway schema behind a proxy, and how to start the server on it.
pub struct Rig {
    /// The proxy between the server and PostgreSQL.
    pub proxy: Proxy,
    /// Temp dir holding the logs and the spill file.
    pub dir: tempfile::TempDir,
    config: GameServerConfig,
    extra: Vec<String>,
    admin_url: String,
    schema_name: String,
    // Dropped last: the schema outlives every server.
    _schema: Schema,
}

impl Rig {
    /// Creates schema `xtask_chaos_<pid>_<label>` on `args.postgres` and a proxy to it.
    /// Servers flush every `persist_interval_ms`; `extra` flags are appended to every
    /// server's command line.
    pub async fn new(
        binary: &Path,
        args: &ChaosArgs,
        label: &str,
        persist_interval_ms: u64,
        extra: &[String],
    ) -> anyhow::Result<Rig> {
        let admin_url = args.postgres.clone();
        let (host_port, upstream) = upstream_of(&admin_url)?;
        let schema_name = format!("xtask_chaos_{}_{label}", std::process::id());
        let schema = Schema::create(&admin_url, &schema_name)?;
        let proxy = Proxy::start(upstream).await?;
        let database_url = schema
            .url()
            .replacen(&host_port, &proxy.addr().to_string(), 1);
        let dir = tempfile::tempdir().context("creating a temp dir")?;
        let mut all_extra: Vec<String> =
            vec!["--spill-dir".into(), dir.path().display().to_string()];
        all_extra.extend(extra.iter().cloned());
        Ok(Rig {
            proxy,
            config: GameServerConfig {
                binary: binary.to_owned(),
                database_url,
                repo: flag_value(&RepoKind::Cached),
                persist_interval_ms,
                demo_user: true,
                log_level: "info".to_owned(),
            },
            extra: all_extra,
            admin_url,
            schema_name,
            dir,
            _schema: schema,
        })
    }

    /// The log file `name` in the rig's dir.
    pub fn log(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Where the server writes its spill file.
    pub fn spill_file(&self) -> PathBuf {
        self.dir.path().join("spacewars.spill")
    }

    /// Starts a server logging to `log`, retrying while another process holds the lease.
    pub async fn start(&self, log: &str) -> anyhow::Result<(ServerProcess, Duration)> {
        let started = Instant::now();
        loop {
            let addr = free_local_addr()?;
            let mut command = Command::new(&self.config.binary);
            command.args(self.config.args(addr)).args(&self.extra);
            let name = format!("game-server ({log})");
            let mut server = ServerProcess::spawn(command, addr, &self.log(log), name)?;
            let remaining = START_TIMEOUT.saturating_sub(started.elapsed());
            match server.wait_ready("/readyz", remaining).await {
                Ok(()) => return Ok((server, started.elapsed())),
                Err(error) if lease_held(&error) && started.elapsed() < START_TIMEOUT => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Runs `sql` with `psql -At` directly (not through the proxy) in the schema.
    pub fn query(&self, sql: &str) -> anyhow::Result<String> {
        let sql = format!("SET search_path TO {}; {sql}", self.schema_name);
        spacewars_harness::postgres::psql_output(&self.admin_url, &sql)
    }

    /// Row count and a digest of the rows of every game table (not the lease).
    pub fn snapshot(&self) -> anyhow::Result<BTreeMap<&'static str, String>> {
        let mut tables = BTreeMap::new();
        for table in [
            "users",
            "space_objects",
            "sessions",
            "id_counters",
            "server_keys",
        ] {
            let row = self.query(&format!(
                "SELECT count(*) || ' rows, md5 ' || \
                 coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '-') FROM {table} t"
            ))?;
            tables.insert(table, row);
        }
        Ok(tables)
    }
}

/// The `host:port` text of a loopback URL and its socket address (port 5432 by default).
fn upstream_of(url: &str) -> anyhow::Result<(String, SocketAddr)> {
    let rest = url
        .split_once("://")
        .map(|(_, rest)| rest)
        .with_context(|| format!("not a URL: {url}"))?;
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default().to_owned();
    let (host, port) = match host_port.rsplit_once(':') {
        Some((host, port)) => (host, port.parse::<u16>().context("the URL's port")?),
        None => (host_port.as_str(), 5432),
    };
    let ip = match host {
        "127.0.0.1" | "localhost" => [127, 0, 0, 1],
        _ => bail!("--postgres must point at 127.0.0.1 or localhost (got {url})"),
    };
    anyhow::ensure!(
        host_port.contains(':'),
        "--postgres must name the port (e.g. 127.0.0.1:5432)"
    );
    Ok((host_port.clone(), SocketAddr::from((ip, port))))
}

/// The threads of process `pid` grouped by name and kernel wait channel, e.g.
/// `tokio-runtime-w/futex_wait_queue ×2`, to see where a process that should have exited
/// waits (Linux `/proc` only; empty elsewhere).
pub fn threads(pid: u32) -> String {
    let mut groups = BTreeMap::<String, usize>::new();
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten();
    for task in tasks.flatten() {
        let read = |file: &str| std::fs::read_to_string(task.path().join(file)).unwrap_or_default();
        let key = format!("{}/{}", read("comm").trim(), read("wchan").trim());
        *groups.entry(key).or_default() += 1;
    }
    let parts: Vec<String> = groups.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
    parts.join(", ")
}

/// Players playing until [`Playing::stop`].
pub struct Playing {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<PlayerLedger>>,
}

/// Starts every player's loop against `addr`.
pub fn play(addr: SocketAddr, players: &[Player], seed: u64, limit: Duration) -> Playing {
    let stop = Arc::new(AtomicBool::new(false));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let tasks = players
        .iter()
        .enumerate()
        .map(|(index, player)| {
            tokio::spawn(driver::drive(driver::Drive {
                index,
                player: player.clone(),
                addr,
                stop: stop.clone(),
                collects_in_flight: in_flight.clone(),
                deadline: Instant::now() + limit,
                seed: seed.wrapping_add(index as u64),
                pause_ms: 10..=60,
            }))
        })
        .collect();
    Playing { stop, tasks }
}

impl Playing {
    /// Stops the players and returns their ledgers.
    pub async fn stop(self) -> anyhow::Result<Vec<PlayerLedger>> {
        self.stop.store(true, Ordering::SeqCst);
        let mut ledgers = Vec::with_capacity(self.tasks.len());
        for task in self.tasks {
            ledgers.push(
                tokio::time::timeout(Duration::from_secs(30), task)
                    .await
                    .context("a player did not stop")??,
            );
        }
        Ok(ledgers)
    }
}

/// One phase's totals over all players: acknowledged and refused collects, other requests,
/// unanswered collects.
pub fn phase_figures(ledgers: &[PlayerLedger]) -> String {
    let acks: usize = ledgers.iter().map(|l| l.acks.len()).sum();
    let refused: u64 = ledgers.iter().map(|l| l.refused).sum();
    let other: u64 = ledgers.iter().map(|l| l.other_requests).sum();
    let unknown = ledgers.iter().filter(|l| l.unknown.is_some()).count();
    format!(
        "{acks} collects acknowledged, {refused} refused, {unknown} unanswered, {other} other requests"
    )
}

/// Joins each player's phases in order (an unanswered collect is kept only from the last
/// phase: the check wants it after every ack). Returns the ledgers and how many earlier
/// unanswered collects were dropped.
pub fn merge(phases: &[Vec<PlayerLedger>]) -> (Vec<PlayerLedger>, usize) {
    let players = phases.first().map_or(0, Vec::len);
    let mut merged = vec![PlayerLedger::default(); players];
    let mut dropped = 0;
    for phase in phases {
        for (into, ledger) in merged.iter_mut().zip(phase) {
            if into.unknown.take().is_some() {
                dropped += 1;
            }
            into.acks.extend(ledger.acks.iter().copied());
            into.refused += ledger.refused;
            into.other_requests += ledger.other_requests;
            into.unknown = ledger.unknown;
        }
    }
    (merged, dropped)
}

/// What the players' accounts and the world look like at the start, to check against.
pub struct Baseline {
    carried: Carried,
    created_s: Vec<i64>,
    expected_objects: usize,
}

/// Reads the baseline through the API of a freshly started server.
pub async fn baseline(addr: SocketAddr, players: &[Player]) -> anyhow::Result<Baseline> {
    let mut created_s = Vec::with_capacity(players.len());
    for player in players {
        match player.api(addr).user_stats().await? {
            spacewars_harness::api::Answer::Ok(stats) => {
                created_s.push(stats.last_updated - stats.iron as i64)
            }
            spacewars_harness::api::Answer::Refused(status, code) => {
                bail!("user-stats: {status} {code}")
            }
        }
    }
    let (observed, violations) = observe(addr, players, &created_s).await?;
    anyhow::ensure!(violations.is_empty(), "fresh world: {violations:?}");
    Ok(Baseline {
        carried: Carried {
            credited: observed.durable.clone(),
            credited_objects: Default::default(),
            objects: observed.objects,
        },
        created_s,
        expected_objects: DEMO_OBJECTS + players.len() + 1,
    })
}

/// Checks through a restarted server's API (which loaded everything from the database)
/// that every acknowledged collect in `ledgers` is durable. Returns the check's outcome.
pub async fn check_nothing_lost(
    addr: SocketAddr,
    players: &[Player],
    base: &Baseline,
    ledgers: &[PlayerLedger],
) -> anyhow::Result<check::CycleOutcome> {
    let (observed, session_violations) = observe(addr, players, &base.created_s).await?;
    let rules = Rules {
        expected_objects: base.expected_objects,
        signal_at: Instant::now(),
        max_loss_age: Duration::from_secs(24 * 3600),
        graceful: true,
    };
    let mut outcome = check::check(&base.carried, ledgers, &observed, &rules);
    outcome.violations.extend(session_violations);
    Ok(outcome)
}

/// The server's counters that matter here, from `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counters {
    /// `spacewars_flushes_total`.
    pub flushes: f64,
    /// `spacewars_flush_failures_total`.
    pub flush_failures: f64,
    /// `spacewars_db_timeouts_total`.
    pub db_timeouts: f64,
    /// `spacewars_dirty_users` + `spacewars_dirty_objects`: changes not yet written.
    pub dirty: f64,
    /// `spacewars_reserved_object_ids`.
    pub reserved_ids: f64,
    /// `spacewars_id_exhaustions_total`.
    pub id_exhaustions: f64,
}

/// Scrapes `/metrics` of the server at `addr`.
pub async fn counters(addr: SocketAddr) -> anyhow::Result<Counters> {
    let mut conn = Connection::new(addr, Duration::from_secs(5));
    let text = spacewars_harness::metrics::scrape(&mut conn).await?;
    Ok(Counters {
        flushes: sample(&text, "spacewars_flushes_total"),
        flush_failures: sample(&text, "spacewars_flush_failures_total"),
        db_timeouts: sample(&text, "spacewars_db_timeouts_total"),
        dirty: sample(&text, "spacewars_dirty_users") + sample(&text, "spacewars_dirty_objects"),
        reserved_ids: sample(&text, "spacewars_reserved_object_ids"),
        id_exhaustions: sample(&text, "spacewars_id_exhaustions_total"),
    })
}

/// The sum of the samples of metric `name` (0 if absent).
fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with([' ', '{']))
        })
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upstream_comes_from_the_admin_url() {
        let (text, addr) = upstream_of("postgres://postgres@127.0.0.1:5432/test").expect("url");
        assert_eq!(text, "127.0.0.1:5432");
        assert_eq!(addr, "127.0.0.1:5432".parse().expect("addr"));
        assert!(upstream_of("postgres://postgres@db.example:5432/test").is_err());
        assert!(upstream_of("postgres://postgres@127.0.0.1/test").is_err());
    }

    #[test]
    fn samples_are_summed_by_exact_name() {
        let text = "# TYPE spacewars_flushes_total counter\nspacewars_flushes_total 7\n\
                    spacewars_flush_failures_total 3\nspacewars_db_timeouts_total{kind=\"a\"} 2\n\
                    spacewars_db_timeouts_total{kind=\"b\"} 1\n";
        assert_eq!(sample(text, "spacewars_flushes_total"), 7.0);
        assert_eq!(sample(text, "spacewars_flush_failures_total"), 3.0);
        assert_eq!(sample(text, "spacewars_db_timeouts_total"), 3.0);
        assert_eq!(sample(text, "spacewars_flush"), 0.0);
    }
}
