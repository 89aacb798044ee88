//! Runs the abuse-hole runs of [`super::holes`] against the drill's server (and, for the
//! timing check, against a server restarted with a higher argon2 cost) and prints their
//! figures with the targets of docs/limits.md.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use hyper::Method;
use tokio::process::Command;

use super::holes;
use super::watch::{quantile_ms, status_kib};
use spacewars_harness::server_process::{ServerProcess, free_local_addr};

/// Flags of the abuse-hole runs.
#[derive(Debug, Clone, clap::Args)]
pub struct HolesArgs {
    /// How long the owner logs in while two guessers guess, s.
    #[arg(long, default_value_t = 30)]
    pub lockout_seconds: u64,
    /// Logins with distinct 15,000-character names.
    #[arg(long, default_value_t = 7_500)]
    pub long_names: usize,
    /// Slow or non-reading connections per attacker address (40 addresses).
    #[arg(long, default_value_t = 53)]
    pub slow_per_address: usize,
    /// How long the honest client sends requests during the slow flood, s.
    #[arg(long, default_value_t = 20)]
    pub slow_flood_seconds: u64,
    /// Streams one session asks for.
    #[arg(long, default_value_t = 300)]
    pub hog_streams: usize,
    /// Failed logins of each kind in the timing check.
    #[arg(long, default_value_t = 20)]
    pub timing_rounds: usize,
}

fn source(a: u8, b: u8) -> std::net::IpAddr {
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, a, b))
}

async fn register(server: SocketAddr, from: (u8, u8), name: &str) -> anyhow::Result<String> {
    let body = serde_json::json!({"username": name, "password": "pw"}).to_string();
    let (status, code, set) = holes::exchange(
        source(from.0, from.1),
        server,
        Method::POST,
        "/api/register",
        Some(body),
        None,
    )
    .await?;
    anyhow::ensure!(status == 200, "registering {name}: {status} {code}");
    set.into_iter()
        .find(|c| c.starts_with("spacewars-session="))
        .context("no session cookie")
}

/// The runs against the drill's server `server` (process `pid`).
pub async fn run(server: SocketAddr, pid: u32, args: &HolesArgs) -> anyhow::Result<()> {
    let owner = register(server, (1, 1), "owner").await?;
    let other = register(server, (1, 4), "other").await?;

    let lockout = holes::lockout(
        server,
        "owner",
        "pw",
        Duration::from_secs(args.lockout_seconds),
    )
    .await;
    println!(
        "lockout: the owner on a known device logged in {} of {} times ({:.0} %, target 100 %) \
         while two guessers sent {} guesses, {} of them checked",
        lockout.owner_ok,
        lockout.owner_tries,
        percent(lockout.owner_ok, lockout.owner_tries),
        lockout.guesses,
        lockout.guesses_checked
    );

    let before = status_kib(pid, "VmRSS:").unwrap_or(0);
    let peak = Arc::new(AtomicU64::new(before));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        tokio::spawn(async move {
            while sampling.load(Ordering::Relaxed) {
                if let Some(rss) = status_kib(pid, "VmRSS:") {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let refused = holes::long_names(server, args.long_names, 50).await;
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.await;
    let after = status_kib(pid, "VmRSS:").unwrap_or(0);
    println!(
        "long names: {} logins with distinct 15,000-character names from 250 addresses: {} \
         refused with 400; RSS {:.0} MB before, peak {:.0} MB, {:.0} MB after: growth {:.1} MB \
         (target <= 20 MB)",
        args.long_names,
        refused,
        mb(before),
        mb(peak.load(Ordering::Relaxed)),
        mb(after),
        mb(peak.load(Ordering::Relaxed).saturating_sub(before))
    );

    let flood = holes::slow_flood(
        server,
        args.slow_per_address,
        Duration::from_secs(args.slow_flood_seconds),
    )
    .await;
    println!(
        "slow flood: 40 addresses x {} slow or non-reading connections ({} opened in all, \
         reconnecting): the honest client got {} of {} answers ({:.1} %, target >= 95 %)",
        args.slow_per_address,
        flood.opened,
        flood.honest_ok,
        flood.honest_tries,
        percent(flood.honest_ok, flood.honest_tries)
    );

    let hog = holes::hogging(server, &owner, &other, args.hog_streams).await;
    println!(
        "stream hogging: one session asked for {} streams: {} still open at the end (cap 2 \
         per session); the next player's stream: {}",
        hog.asked, hog.still_open, hog.next_player
    );
    Ok(())
}

/// The cold-start timing check: a server on a fresh database with argon2 at half the
/// default memory and one pass registers `oldhash`; restarted at the defaults, it registers
/// `current` and then answers `rounds` failed logins of each kind at once.
pub async fn timing(binary: &Path, rounds: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("creating a temp dir")?;
    let db = dir.path().join("timing.db");
    let start = |cheap: bool| -> anyhow::Result<ServerProcess> {
        let addr = free_local_addr()?;
        let mut command = Command::new(binary);
        command
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--database-url")
            .arg(&db)
            .args(["--rate-limits", "off", "--log-level", "warn"]);
        if cheap {
            command.args(["--argon2-memory-kib", "9728", "--argon2-iterations", "1"]);
        }
        ServerProcess::spawn(
            command,
            addr,
            &dir.path().join("timing.log"),
            "game-server".to_owned(),
        )
    };
    let mut cheap = start(true)?;
    cheap.wait_ready("/readyz", Duration::from_secs(60)).await?;
    register(cheap.addr(), (5, 2), "oldhash").await?;
    cheap.stop(Duration::from_secs(30)).await?;
    let mut server = start(false)?;
    server
        .wait_ready("/readyz", Duration::from_secs(60))
        .await?;
    register(server.addr(), (5, 2), "current").await?;
    let times = holes::timing(server.addr(), "oldhash", "current", rounds).await;
    server.stop(Duration::from_secs(30)).await?;
    let stats = |samples: &[f64]| {
        let micros: Vec<u64> = samples.iter().map(|ms| (ms * 1e3) as u64).collect();
        (
            quantile_ms(&micros, 0.5).unwrap_or(0.0),
            quantile_ms(&micros, 0.9).unwrap_or(0.0),
        )
    };
    let kinds = [
        ("unknown name", stats(&times.unknown)),
        ("old hash", stats(&times.old_hash)),
        ("current hash", stats(&times.current_hash)),
    ];
    let gap = |pick: fn(&(f64, f64)) -> f64| {
        let values: Vec<f64> = kinds.iter().map(|(_, s)| pick(s)).collect();
        values.iter().copied().fold(f64::MIN, f64::max)
            - values.iter().copied().fold(f64::MAX, f64::min)
    };
    println!(
        "cold-start timing: first {rounds} failed logins of each kind after a restart with a \
         higher cost (m=9728 t=1 -> m=19456 t=2): {}; gap {:.1} ms at the median, {:.1} ms at \
         p90 (target <= 10 ms)",
        kinds
            .iter()
            .map(|(kind, (p50, p90))| format!("{kind} median {p50:.1} ms p90 {p90:.1} ms"))
            .collect::<Vec<_>>()
            .join(", "),
        gap(|s| s.0),
        gap(|s| s.1)
    );
    Ok(())
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

fn mb(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
