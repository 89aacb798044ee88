//! `cargo xtask drills chaos`: crash drills. Players play against the release server on a fresh
//! SQLite database; the server is killed (SIGKILL) or stopped (SIGTERM) at a random moment,
//! restarted on the same database, and the invariants of [`check`] are verified through the
//! API. Cycles repeat on the same database, carrying the durable state forward.
//!
//! With `--freeze-db`, `--outage-sigterm` or `--paused-owner` it runs the database fault
//! drills of [`db_faults`] instead (or as well, with `--kill`/`--term`): PostgreSQL in a
//! throwaway schema behind a freezable [`spacewars_harness::proxy`], the link frozen for `--outage-secs`, or
//! the owner paused past its lease while a second server takes over.
//!
//! With `--failover` it runs the [`failover`] drill: an owner and standbys on PostgreSQL
//! behind HAProxy, the owner killed every cycle, takeover time and losses measured.
//!
//! With `--edges` it runs the [`edges`] drill: owner, standby, two edges fed through a NATS
//! of its own and HAProxy; owner, edges and NATS killed or restarted in turn while players
//! follow area streams on the edges, which must come back and converge to the owner's world.

pub mod check;
pub mod cycle;
pub mod db_faults;
pub mod drill;
pub mod driver;
pub mod edges;
pub mod failover;
pub mod ledger;
pub mod observe;
pub mod restart;
pub mod rig;
pub mod table;

use std::time::{Duration, Instant};

use anyhow::bail;
use game_server::Switch;
use table::{Row, Table};

use spacewars_harness::binary::server_binary;

/// Objects the demo world starts with (docs/rules.md, The demo world).
pub const DEMO_OBJECTS: usize = 9;
/// How long a stopped server may take to exit.
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(30);

/// Flags of `cargo xtask drills chaos`.
#[derive(Debug, Clone, clap::Args)]
pub struct ChaosArgs {
    /// Kill/restart cycles per drill (with --edges: rounds of every fault kind; default 3
    /// there).
    #[arg(long, default_value_t = 20)]
    pub cycles: u32,
    /// Drill with SIGKILL (the default when neither --kill nor --term is given).
    #[arg(long)]
    pub kill: bool,
    /// Drill with SIGTERM: the server must exit 0 and lose nothing acknowledged.
    #[arg(long)]
    pub term: bool,
    /// Players driving load (default 24 with --edges).
    #[arg(long, default_value_t = 8)]
    pub players: usize,
    /// The server's persist interval, ms.
    #[arg(long, default_value_t = 500)]
    pub persist_interval_ms: u64,
    /// Shortest load before the signal, ms.
    #[arg(long, default_value_t = 1_000)]
    pub min_run_ms: u64,
    /// Longest load before the signal, ms.
    #[arg(long, default_value_t = 4_000)]
    pub max_run_ms: u64,
    /// Shortest pause between a player's requests, ms.
    #[arg(long, default_value_t = 10)]
    pub min_pause_ms: u64,
    /// Longest pause between a player's requests, ms (small values leave more requests
    /// in flight at the signal, exercising the unknown-outcome check).
    #[arg(long, default_value_t = 60)]
    pub max_pause_ms: u64,
    /// Share of cycles whose signal, once the run time is up, is sent the moment a collect
    /// is in flight (collects are a small share of requests, so a plain random moment
    /// almost never lands next to one). On this machine the collect is usually answered
    /// just before the signal lands, which tests the freshest acknowledgements.
    #[arg(long, default_value_t = 0.5)]
    pub aim_at_collects: f64,
    /// Seed of the signal timing and the players' pauses (default: from the clock).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Whether the server seeds the demo user (its ship counts as an object).
    #[arg(long, value_enum, default_value_t = Switch::On)]
    pub demo_user: Switch,
    /// Give up after this many minutes in all.
    #[arg(long, default_value_t = 20)]
    pub max_minutes: u64,
    /// Database fault drill: freeze the PostgreSQL link for --outage-secs while players
    /// play; the flush must catch up after the thaw and nothing acknowledged be lost.
    #[arg(long)]
    pub freeze_db: bool,
    /// Database fault drill: SIGTERM during a frozen link; the server must spill, and the
    /// next start replay the spill file, losing nothing acknowledged.
    #[arg(long)]
    pub outage_sigterm: bool,
    /// Database fault drill: SIGSTOP the owner past its lease, start a second server,
    /// SIGCONT the first: it must write nothing and exit non-zero.
    #[arg(long)]
    pub paused_owner: bool,
    /// How long the link stays frozen in --freeze-db and --outage-sigterm, seconds.
    #[arg(long, default_value_t = 60)]
    pub outage_secs: u64,
    /// Failover drill: an owner and `--servers - 1` standbys on one PostgreSQL schema
    /// behind HAProxy; each cycle kills the owner (SIGKILL and SIGTERM alternately, or only
    /// the one of --kill / --term) and measures the takeover. Runs instead of the crash
    /// drills.
    #[arg(long)]
    pub failover: bool,
    /// Server processes in the failover drill (one owner, the rest standbys): 2 or 3.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(2..=3))]
    pub servers: u16,
    /// Keep the failover drill's logs (servers, HAProxy with its access log) even when it
    /// passes; they are kept anyway when it fails.
    #[arg(long)]
    pub keep_logs: bool,
    /// Failover drill: also cycles that SIGSTOP the owner until a standby took over, then
    /// SIGCONT it; the old owner must acknowledge nothing after its deadline.
    #[arg(long)]
    pub pause: bool,
    /// Failover drill: also cycles that freeze the owner's database link (each server
    /// reaches PostgreSQL through a proxy of its own) until a standby took over, then thaw
    /// it; the old owner must acknowledge nothing after its deadline.
    #[arg(long)]
    pub partition: bool,
    /// Edge drill: owner and standby on PostgreSQL, two edges, a NATS of its own and
    /// HAProxy from deploy/haproxy-edges.cfg; each round SIGKILLs and SIGTERMs the owner and
    /// an edge and restarts NATS, and every player's area stream (on an edge) must come back
    /// and converge to the owner's world. Runs instead of the crash drills.
    #[arg(long)]
    pub edges: bool,
    /// Edge drill: the radius of the players' area streams.
    #[arg(long, default_value_t = 300.0)]
    pub edge_radius: f64,
    /// Edge drill: the side of the square world, its ships spread over it (`--spawn
    /// spread`), so that the edges follow some cells and move them with the ships; 0: the
    /// default 500-unit world, where one area covers nearly all of it.
    #[arg(long, default_value_t = 3_000)]
    pub edge_world_side: u32,
    /// Edge drill: a player whose stream is not back and correct this many seconds after a
    /// fault is lost.
    #[arg(long, default_value_t = 30)]
    pub converge_secs: u64,
    /// `--lease-ttl-ms` of the failover and edge drills' servers.
    #[arg(long, default_value_t = 2_000)]
    pub lease_ttl_ms: u64,
    /// The local PostgreSQL server of the fault, failover and edge drills (admin URL; each
    /// drill works in a throwaway schema).
    #[arg(
        long,
        alias = "pg-url",
        env = "SPACEWARS_TEST_PG_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    pub postgres: String,
}

impl ChaosArgs {
    /// The drills' server: `binary` on the cached repository over `database_url`, with
    /// these flags' persist interval and demo user, logging at `info`.
    pub fn server_config(
        &self,
        binary: &std::path::Path,
        database_url: String,
    ) -> spacewars_harness::server_process::GameServerConfig {
        spacewars_harness::server_process::GameServerConfig {
            binary: binary.to_owned(),
            database_url,
            repo: spacewars_harness::server_process::flag_value(&game_server::RepoKind::Cached),
            persist_interval_ms: self.persist_interval_ms,
            demo_user: self.demo_user == Switch::On,
            log_level: "info".to_owned(),
        }
    }
}

/// The signal a drill sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGKILL: a crash.
    Kill,
    /// SIGTERM: a graceful shutdown.
    Term,
}

impl Signal {
    /// `KILL` or `TERM`.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Kill => "KILL",
            Signal::Term => "TERM",
        }
    }
}

/// Totals of one drill.
#[derive(Debug, Clone, Default)]
pub struct DrillSummary {
    /// Cycles completed.
    pub cycles: u32,
    /// Acknowledged collects.
    pub acks: usize,
    /// Of which lost.
    pub lost: usize,
    /// Unanswered collects.
    pub unknowns: usize,
    /// Of which applied.
    pub unknowns_applied: usize,
    /// Oldest lost acknowledgement, relative to the signal.
    pub oldest_lost: Option<Duration>,
    /// Longest restart until ready.
    pub slowest_restart: Duration,
    /// Broken invariants.
    pub violations: Vec<String>,
}

/// Runs `cargo xtask drills chaos`.
pub fn run(args: &ChaosArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.players > 0, "--players must be at least 1");
    anyhow::ensure!(
        args.min_run_ms <= args.max_run_ms,
        "--min-run-ms must not exceed --max-run-ms"
    );
    anyhow::ensure!(
        args.min_pause_ms <= args.max_pause_ms,
        "--min-pause-ms must not exceed --max-pause-ms"
    );
    let binary = server_binary()?;
    let seed = args.seed.unwrap_or_else(clock_seed);
    let faults = args.freeze_db || args.outage_sigterm || args.paused_owner;
    let signals = match (args.kill, args.term) {
        // With --failover, --kill / --term choose the failover drill's signals.
        _ if args.failover || args.edges => vec![],
        (false, false) if faults => vec![],
        (_, false) => vec![Signal::Kill],
        (false, true) => vec![Signal::Term],
        (true, true) => vec![Signal::Kill, Signal::Term],
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(args.max_minutes * 60);
    println!(
        "chaos: seed {seed} (replay with --seed {seed}); machine: {}",
        spacewars_harness::machine::describe()
    );
    let mut table = Table::default();
    if args.failover {
        let passed = runtime.block_on(failover::run(&binary, args, seed, deadline))?;
        table.add(Row::verdict("failover", usize::from(!passed)));
    }
    if args.edges {
        let outcome = runtime.block_on(edges::run(&binary, args, seed, deadline))?;
        print!("{}", edges::report::render(&outcome.rows));
        table.add(Row::verdict("edges", outcome.failures()));
    }
    for signal in signals {
        let summary = runtime.block_on(drill::drill(&binary, args, signal, seed, deadline))?;
        print_summary(signal, args, &summary);
        table.add(Row::crash(signal, &summary));
    }
    type FaultDrill = for<'a> fn(
        &'a std::path::Path,
        &'a ChaosArgs,
        u64,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = anyhow::Result<Vec<String>>> + 'a>,
    >;
    let fault_drills: [(bool, &str, FaultDrill); 3] = [
        (args.freeze_db, "freeze-db", |b, a, s| {
            Box::pin(db_faults::freeze_db(b, a, s))
        }),
        (args.outage_sigterm, "outage-sigterm", |b, a, s| {
            Box::pin(db_faults::outage_sigterm(b, a, s))
        }),
        (args.paused_owner, "paused-owner", |b, a, s| {
            Box::pin(db_faults::paused_owner(b, a, s))
        }),
    ];
    for (wanted, name, drill) in fault_drills {
        if !wanted {
            continue;
        }
        let violations = runtime.block_on(drill(&binary, args, seed))?;
        println!("SUMMARY {name}: {} violations", violations.len());
        for violation in &violations {
            println!("  VIOLATION {violation}");
        }
        table.add(Row::verdict(name, violations.len()));
    }
    print!("{}", table.render());
    if table.failed() {
        bail!("chaos drill found violations (see above)");
    }
    Ok(())
}

fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// How long before the signal a lost acknowledgement may be: 2 × interval + 1 s.
pub fn loss_bound(args: &ChaosArgs) -> Duration {
    Duration::from_millis(2 * args.persist_interval_ms + 1_000)
}

fn print_summary(signal: Signal, args: &ChaosArgs, s: &DrillSummary) {
    let bound = match signal {
        Signal::Kill => format!(
            "lost ones must have been acknowledged within {:?} of the signal",
            loss_bound(args)
        ),
        Signal::Term => "none may be lost".to_owned(),
    };
    let oldest = s.oldest_lost.map_or_else(String::new, |d| {
        format!(", the oldest acknowledged {d:.2?} before the signal")
    });
    println!(
        "SUMMARY SIG{}: {} cycles, {} players, persist interval {} ms: {} acknowledged collects, \
         {} lost{oldest} ({bound}); {} unanswered ({} applied); slowest restart {:.2?}; {} violations",
        signal.name(),
        s.cycles,
        args.players,
        args.persist_interval_ms,
        s.acks,
        s.lost,
        s.unknowns,
        s.unknowns_applied,
        s.slowest_restart,
        s.violations.len()
    );
    for violation in &s.violations {
        println!("  VIOLATION {violation}");
    }
}
