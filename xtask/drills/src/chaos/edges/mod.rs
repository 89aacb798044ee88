//! `cargo xtask drills chaos --edges`: the edge chaos drill (docs/operations.md, Edges).
//!
//! An owner and a standby (`--nats URL --world NAME`, on a throwaway PostgreSQL schema),
//! two edges (`--edge`), a `nats-server` of the drill's own and HAProxy configured from
//! the shipped `deploy/haproxy-edges.cfg`. Every player keeps an area stream open through
//! HAProxy (so on an edge), reopening it as the web client does, and steers and collects
//! through HAProxy (so on the owner). Each round injects every [`Fault`] once: SIGKILL and
//! SIGTERM of the owner (the standby takes over, the old owner comes back as the standby),
//! of an edge (restarted), and a NATS restart. After each fault [`measure`] notes when
//! every player's stream is live again and shows its ship as the owner has it, then checks
//! whole areas at rest. A player that never gets there within `--converge-secs` is lost;
//! the drill fails on any.
//!
//! - [`view`]: a player's area from its stream, and the comparison with the owner's world.
//! - [`follower`]: the stream kept open; [`steer`]: the writes.
//! - [`nats`], [`balancer`], [`fault`]: the processes and the faults.
//! - [`measure`]: watching a cycle; [`report`]: figures and table.

pub mod balancer;
pub mod fault;
pub mod follower;
pub mod measure;
pub mod nats;
pub mod report;
pub mod steer;
pub mod view;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hyper::StatusCode;
use tokio::task::JoinHandle;

use crate::chaos::ChaosArgs;
use crate::chaos::failover::fleet::Fleet;
use fault::{Rig, wait_status};
use measure::{Watch, Watched};
use report::{Fault, Totals};
use spacewars_harness::player;
use spacewars_harness::postgres::Schema;
use spacewars_harness::server_process::free_local_addr;
use steer::{Quiet, Writes};

/// How long the first owner and the edges may take to become ready.
const FIRST_START: Duration = Duration::from_secs(60);

/// How long players play between faults (and before the first), ms.
const BETWEEN_FAULTS_MS: std::ops::RangeInclusive<u64> = 2_000..=4_000;

/// A player's pause between writes, ms: a write every few seconds.
const WRITE_PAUSE_MS: std::ops::RangeInclusive<u64> = 1_500..=3_500;

/// What the drill found.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The table's rows, per fault kind.
    pub rows: Vec<(Fault, Totals)>,
    /// Broken promises outside the rows (stream events that did not apply).
    pub violations: Vec<String>,
}

impl Outcome {
    /// Kinds that failed plus the other violations: 0 when the drill passed.
    pub fn failures(&self) -> usize {
        self.rows.iter().filter(|(_, t)| !t.passed()).count() + self.violations.len()
    }
}

/// Runs the drill.
pub async fn run(
    binary: &Path,
    args: &ChaosArgs,
    seed: u64,
    deadline: Instant,
) -> anyhow::Result<Outcome> {
    // The server's own bounds (docs/world-sync.md: radius 1 to --max-interest-radius,
    // 2000 by default), checked here so that a bad flag is not reported as lost streams.
    anyhow::ensure!(
        (1.0..=2_000.0).contains(&args.edge_radius),
        "--edge-radius must be from 1 to 2000"
    );
    anyhow::ensure!(
        args.converge_secs >= 1,
        "--converge-secs must be at least 1"
    );
    anyhow::ensure!(
        args.lease_ttl_ms >= 300,
        "--lease-ttl-ms must be at least 300"
    );
    let schema_name = format!("xtask_edges_{}", std::process::id());
    let schema = Schema::create(&args.postgres, &schema_name)?;
    let dir = tempfile::tempdir().context("creating a temp dir")?;
    println!("edges: PostgreSQL schema {schema_name}");
    let result = drill(binary, args, seed, deadline, &schema, dir.path()).await;
    let failed = result.as_ref().map_or(true, |o| o.failures() > 0);
    if failed || args.keep_logs {
        let kept = dir.keep();
        println!("edges: logs kept in {}", kept.display());
    }
    result
}

async fn drill(
    binary: &Path,
    args: &ChaosArgs,
    seed: u64,
    deadline: Instant,
    schema: &Schema,
    dir: &Path,
) -> anyhow::Result<Outcome> {
    let nats = nats::OwnNats::start(dir).await?;
    let world = format!("edges-drill-{}", std::process::id());
    let config = args.server_config(binary, schema.url());
    let relay = ["--nats".to_owned(), nats.url(), "--world".to_owned(), world];
    let mut game_extra = vec![
        "--lease-ttl-ms".to_owned(),
        args.lease_ttl_ms.to_string(),
        "--spill-dir".to_owned(),
        dir.display().to_string(),
    ];
    game_extra.extend(relay.iter().cloned());
    if args.edge_world_side > 0 {
        let side = args.edge_world_side.to_string();
        for flag in [
            "--world-width",
            &side,
            "--world-height",
            &side,
            "--spawn",
            "spread",
        ] {
            game_extra.push(flag.to_owned());
        }
    }
    let mut rig = Rig {
        game: Fleet::new(config.clone(), game_extra, dir, 2)?,
        edges: Fleet::new(config, relay.to_vec(), dir, 2)?.as_edges(),
        nats,
    };
    rig.game.start(0).await?;
    rig.game
        .process(0)?
        .wait_ready("/readyz", FIRST_START)
        .await?;
    rig.game.start(1).await?;
    for edge in 0..2 {
        rig.edges.start(edge).await?;
        wait_status(rig.edges.addrs()[edge], StatusCode::OK, FIRST_START).await?;
    }
    let listen = free_local_addr()?;
    let haproxy = balancer::start(dir, listen, &rig.game.addrs(), &rig.edges.addrs()).await?;
    println!(
        "edges: owner + standby (lease TTL {} ms, persist interval {} ms) on PostgreSQL, 2 \
         edges, own nats-server at {}, HAProxy on {listen} (config from \
         deploy/haproxy-edges.cfg); {} players with area streams of radius {} in a world {}; \
         logs in {}",
        args.lease_ttl_ms,
        args.persist_interval_ms,
        rig.nats.url(),
        args.players,
        args.edge_radius,
        match args.edge_world_side {
            0 => "of the default size".to_owned(),
            side => format!("{side} units wide, ships spread"),
        },
        dir.display()
    );
    let players = player::register_many(listen, "edges", args.players).await?;
    let epoch = Instant::now();
    let quiet = Arc::new(Quiet::default());
    let path = format!("/api/world/events?radius={}", args.edge_radius);
    let mut tasks: Vec<JoinHandle<()>> = Vec::new();
    let watched: Vec<Watched> = players
        .iter()
        .enumerate()
        .map(|(index, p)| {
            let stream = Arc::new(follower::Stream::default());
            let writes = Arc::new(Writes::new(epoch));
            tasks.push(tokio::spawn(follower::follow(
                listen,
                path.clone(),
                p.cookie.clone(),
                stream.clone(),
            )));
            tasks.push(tokio::spawn(steer::steer(
                listen,
                p.clone(),
                stream.clone(),
                writes.clone(),
                quiet.clone(),
                WRITE_PAUSE_MS,
                seed.wrapping_add(index as u64),
            )));
            Watched {
                player: p.clone(),
                stream,
                writes,
            }
        })
        .collect();
    let mut watch = Watch {
        reader: players.first().context("no players")?.api(listen),
        players: &watched,
        radius: args.edge_radius,
        deadline: Duration::from_secs(args.converge_secs),
        quiet: &quiet,
    };
    let result = rounds(args, seed, deadline, &mut rig, &mut watch).await;
    for task in &tasks {
        task.abort();
    }
    let writes: (u64, u64) = watched.iter().fold((0, 0), |(a, f), w| {
        (
            a + w.writes.acked.load(Ordering::SeqCst),
            f + w.writes.failed.load(Ordering::SeqCst),
        )
    });
    let bad_events: u64 = watched.iter().map(|w| w.stream.bad_events()).sum();
    println!(
        "edges: {} writes acknowledged, {} refused or unanswered; {bad_events} stream events \
         that did not apply",
        writes.0, writes.1
    );
    let (lines, _) = rig.edges.stop_all(None, crate::chaos::EXIT_TIMEOUT).await;
    let owner = fault::ready_slot(&rig.game.addrs()).await;
    let (more, _) = rig.game.stop_all(owner, crate::chaos::EXIT_TIMEOUT).await;
    for line in lines.iter().chain(&more) {
        println!("edges: stopped {line}");
    }
    if let Err(error) = haproxy.stop(crate::chaos::EXIT_TIMEOUT).await {
        println!("edges: stopping haproxy: {error:#}");
    }
    let rows = result?;
    let mut violations = Vec::new();
    if bad_events > 0 {
        // The client could not follow the protocol: the stream is wrong whatever it shows.
        violations.push(format!("{bad_events} stream events did not apply"));
    }
    for violation in &violations {
        println!("  VIOLATION {violation}");
    }
    Ok(Outcome { rows, violations })
}

/// `--cycles` rounds of every fault kind; the totals per kind.
async fn rounds(
    args: &ChaosArgs,
    seed: u64,
    deadline: Instant,
    rig: &mut Rig,
    watch: &mut Watch<'_>,
) -> anyhow::Result<Vec<(Fault, Totals)>> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0xed9e);
    let mut totals: Vec<(Fault, Totals)> =
        Fault::ALL.iter().map(|f| (*f, Totals::default())).collect();
    for round in 1..=args.cycles {
        for (fault, kind_totals) in totals.iter_mut() {
            if Instant::now() >= deadline {
                print!("{}", report::render(&totals));
                bail!(
                    "time budget (--max-minutes {}) exhausted in round {round}",
                    args.max_minutes
                );
            }
            let play = Duration::from_millis(rng.random_range(BETWEEN_FAULTS_MS));
            tokio::time::sleep(play).await;
            let recovered = AtomicBool::new(false);
            let fault_at = Instant::now();
            let inject = async {
                let done = fault::inject(*fault, rig).await;
                recovered.store(true, Ordering::SeqCst);
                done
            };
            let (done, cycle) = tokio::join!(inject, watch.cycle(fault_at, &recovered));
            let what = done.with_context(|| format!("round {round}: {}", fault.name()))?;
            println!(
                "round {round}/{} {}: {what}; {} stream connections broken ({} ended), {} reopens \
                 refused, all back and correct after {}, {} lost",
                args.cycles,
                fault.name(),
                cycle.broken,
                cycle.ended,
                cycle.refused,
                cycle
                    .all_back()
                    .map_or_else(|| "never".to_owned(), |d| format!("{d:.2?}")),
                cycle.lost()
            );
            for note in &cycle.notes {
                println!("  LOST {note}");
            }
            kind_totals.add(&cycle);
        }
    }
    Ok(totals)
}
