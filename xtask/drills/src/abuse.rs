//! `cargo xtask drills abuse`: hostile floods against the release server on loopback
//! (docs/limits.md), each bounded in requests and time, while an honest player keeps playing.
//!
//! The server runs with its defaults (argon2 cost, hashing pool, rate limits, connection
//! caps) plus `--trust-forwarded-for`, so the login flood can pose as a thousand
//! addresses (the worst case for the hashing pool: no rate limit applies). Printed: peak
//! resident memory during the login flood, the lease renewals, the honest player's p99
//! `/api/world` latency in each phase, the password guesses one client gets against one
//! account per minute, the registrations one client gets per minute, and what happened
//! to a thousand silent connections. Then the abuse-hole runs of [`holes`]: the owner's
//! success rate on a known device while guessers run, RSS growth under a flood of long
//! names, an honest client's success rate under a slow-connection flood from 40
//! addresses, one session hogging streams, and the failed-login timing gap right after a
//! restart with a higher argon2 cost.

pub mod client;
pub mod floods;
pub mod holes;
pub mod holes_report;
pub mod watch;

use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::process::Command;

use spacewars_harness::progress::Progress;
use spacewars_harness::server_process::{ServerProcess, free_local_addr};
use watch::{PHASES, Watch, quantile_ms, status_kib};

/// Flags of `cargo xtask drills abuse`.
#[derive(Debug, Clone, clap::Args)]
pub struct AbuseArgs {
    /// Logins in the login flood (unknown names, each from its own forwarded address).
    #[arg(long, default_value_t = 1_000)]
    pub logins: usize,
    /// Logins in flight at once during the flood.
    #[arg(long, default_value_t = 200)]
    pub concurrency: usize,
    /// How long one client guesses one account's password, s.
    #[arg(long, default_value_t = 60)]
    pub guess_seconds: u64,
    /// How long one client registers accounts as fast as it can, s.
    #[arg(long, default_value_t = 10)]
    pub register_seconds: u64,
    /// Silent connections opened from one address.
    #[arg(long, default_value_t = 1_030)]
    pub slow_connections: usize,
    /// How long the silent connections are held, s.
    #[arg(long, default_value_t = 8)]
    pub slow_seconds: u64,
    /// Quiet time before and after the floods, s.
    #[arg(long, default_value_t = 3)]
    pub quiet_seconds: u64,
    /// Only the abuse-hole runs (lockout, long names, slow flood from 40 addresses,
    /// stream hogging, cold-start timing), not the floods before them.
    #[arg(long)]
    pub holes_only: bool,
    /// The abuse-hole runs.
    #[command(flatten)]
    pub holes: holes_report::HolesArgs,
}

/// The honest player's address; the floods come from others.
pub const HONEST: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));

/// Runs `cargo xtask drills abuse`.
pub fn run(abuse_args: &AbuseArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        abuse_args.concurrency > 0,
        "--concurrency must be at least 1"
    );
    raise_own_open_file_limit(
        (abuse_args.slow_connections + abuse_args.concurrency)
            .max(40 * abuse_args.holes.slow_per_address)
            + 512,
    );
    let binary = spacewars_harness::binary::server_binary()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    println!(
        "drill abuse: machine: {}",
        spacewars_harness::machine::describe()
    );
    runtime.block_on(abuse(&binary, abuse_args))
}

fn raise_own_open_file_limit(needed: usize) {
    if let Ok((soft, hard)) = rlimit::getrlimit(rlimit::Resource::NOFILE)
        && soft < needed as u64
    {
        let _ = rlimit::setrlimit(rlimit::Resource::NOFILE, hard.min(needed as u64 * 2), hard);
    }
}

async fn abuse(binary: &Path, args: &AbuseArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("creating a temp dir")?;
    let db = dir.path().join("abuse.db");
    let log = dir.path().join("server.log");
    let addr = free_local_addr()?;
    let mut command = Command::new(binary);
    command
        .arg("--listen")
        .arg(addr.to_string())
        .arg("--database-url")
        .arg(&db)
        .args(["--persist-interval-ms", "1000", "--log-level", "warn"])
        .arg("--trust-forwarded-for");
    let mut server = ServerProcess::spawn(command, addr, &log, "game-server".to_owned())?;
    server
        .wait_ready("/readyz", Duration::from_secs(60))
        .await?;
    let pid = server.pid()?;
    let honest =
        client::post_credentials(HONEST, addr, "/api/register", "honest", "pw", None).await?;
    let Some(cookie) = honest.cookie else {
        bail!("the honest player could not register: {honest:?}");
    };
    if args.holes_only {
        holes_report::run(addr, pid, &args.holes).await?;
        server.stop(Duration::from_secs(30)).await?;
        return holes_report::timing(binary, args.holes.timing_rounds).await;
    }
    let watch = Watch::new();
    let watchers = [
        tokio::spawn(watch::honest_player(watch.clone(), HONEST, addr, cookie)),
        tokio::spawn(watch::memory(watch.clone(), pid)),
        tokio::spawn(watch::lease(watch.clone(), db.clone())),
    ];
    let quiet = Duration::from_secs(args.quiet_seconds);
    let load_before = spacewars_harness::machine::load_average();
    let started = Instant::now();
    let progress = Progress::spinner();
    progress.set_message("quiet before");
    tokio::time::sleep(quiet).await;
    let rss_before_kib = status_kib(pid, "VmRSS:").unwrap_or(0);

    watch.enter(1);
    progress.set_message("login flood");
    let logins = floods::logins(addr, args.logins, args.concurrency).await;
    watch.enter(2);
    progress.set_message("password guessing");
    let guesses = floods::guesses(addr, Duration::from_secs(args.guess_seconds)).await;
    watch.enter(3);
    progress.set_message("registration flood");
    let registrations =
        floods::registrations(addr, Duration::from_secs(args.register_seconds)).await;
    watch.enter(4);
    progress.set_message("slow connections");
    let slow = floods::slow_connections(
        addr,
        args.slow_connections,
        Duration::from_secs(args.slow_seconds),
    )
    .await;
    watch.enter(5);
    progress.set_message("quiet after");
    tokio::time::sleep(quiet).await;
    watch.stop();
    progress.finish();
    for watcher in watchers {
        let _ = watcher.await;
    }
    let peak_kib = status_kib(pid, "VmHWM:").unwrap_or(0);
    let load_after = spacewars_harness::machine::load_average();
    let elapsed = started.elapsed();
    holes_report::run(addr, pid, &args.holes).await?;
    let exit = server.stop(Duration::from_secs(30)).await?;
    holes_report::timing(binary, args.holes.timing_rounds).await?;

    println!(
        "server defaults: argon2 m=19456 KiB t=2 p=1, hashing threads = cores, queue 16, \
         rate limits on (login 30/min/address, 5/min/(account, address), 20/min/account, \
         register 3/min/address), \
         --trust-forwarded-for; the drill took {:.0} s; server exit: {exit}; load average \
         {} before, {} after (other processes compete for the cores: latencies are noisy)",
        elapsed.as_secs_f64(),
        load_before.map_or("-".to_owned(), |l| format!("{l:.1}")),
        load_after.map_or("-".to_owned(), |l| format!("{l:.1}")),
    );
    println!(
        "login flood: {} logins, {} at once, each from its own forwarded address, in {:.1} s: {}",
        args.logins,
        args.concurrency,
        logins.took.as_secs_f64(),
        logins.outcomes()
    );
    let phases = watch.phases();
    println!(
        "  peak RSS during the flood {:.0} MB (before it {:.0} MB; process peak VmHWM {:.0} MB)",
        phases[1].peak_rss_kib as f64 / 1024.0,
        rss_before_kib as f64 / 1024.0,
        peak_kib as f64 / 1024.0
    );
    report_lease(&watch);
    println!(
        "password guessing: one client, one account, {:.0} s: {} guesses checked = {:.1} per \
         minute; {}",
        guesses.took.as_secs_f64(),
        guesses.checked(),
        guesses.checked() as f64 * 60.0 / guesses.took.as_secs_f64(),
        guesses.outcomes()
    );
    println!(
        "registration flood: one client, {:.0} s: {} accounts = {:.1} per minute; {}",
        registrations.took.as_secs_f64(),
        registrations.count(200),
        registrations.count(200) as f64 * 60.0 / registrations.took.as_secs_f64(),
        registrations.outcomes()
    );
    println!(
        "slow connections: {} opened from one address and left silent: {} closed at once, {} \
         held until the first-request timeout, {} failed to connect",
        slow.opened + slow.failed,
        slow.closed_at_once,
        slow.opened - slow.closed_at_once,
        slow.failed
    );
    println!("honest player, GET /api/world every 100 ms from its own address:");
    for (name, record) in PHASES.iter().zip(&phases) {
        let p =
            |q| quantile_ms(&record.world_us, q).map_or("-".to_owned(), |ms| format!("{ms:.1}"));
        println!(
            "  {name:<20} {:>4} requests, p50 {:>7} ms, p99 {:>7} ms, max {:>7} ms, {} failed",
            record.world_us.len(),
            p(0.5),
            p(0.99),
            p(1.0),
            record.world_failures
        );
    }
    Ok(())
}

fn report_lease(watch: &Watch) {
    let lease = watch.lease();
    let longest_gap = lease
        .renewals
        .windows(2)
        .map(|pair| pair[1] - pair[0])
        .max()
        .unwrap_or_default();
    let on_time =
        lease.min_margin_ms.is_some_and(|m| m > 0) && longest_gap < Duration::from_secs(5);
    println!(
        "lease: {} renewals seen, longest gap between two {:.1} s (every 3.3 s when on time), \
         least time left before expiry {} (TTL 10 s), {} unreadable samples: {}",
        lease.renewals.len(),
        longest_gap.as_secs_f64(),
        lease
            .min_margin_ms
            .map_or("-".to_owned(), |ms| format!("{:.1} s", ms as f64 / 1000.0)),
        lease.failed_reads,
        if on_time { "on time" } else { "LATE" }
    );
}
