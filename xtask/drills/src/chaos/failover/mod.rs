//! `cargo xtask drills chaos --failover`: the failover drill (docs/operations.md, Failover).
//!
//! The release server runs `--servers` times (2–3 processes, every one started with
//! `--standby`, so one owns the lease and the others wait) on a fresh PostgreSQL schema,
//! behind HAProxy configured from the shipped `deploy/haproxy.cfg`. Players play through
//! HAProxy. Each cycle kills the owner at a random moment (SIGKILL or SIGTERM), measures
//! the unavailability (from the signal until a game request through HAProxy succeeds
//! again), checks through the new owner — which has just loaded the world from the
//! database — that every acknowledged collect survived (SIGTERM) or that only recent ones
//! were lost (SIGKILL), and restarts the killed process as a standby. A watcher polls every
//! process's `/readyz` throughout and counts the moments with two processes ready. At the
//! end the players play once more, every process stops cleanly, and a fresh server checks
//! the last acknowledgements against the database.

pub mod cut;
pub mod cut_cycle;
pub mod fleet;
pub mod haproxy;
pub mod last;
pub mod probe;
pub mod report;
pub mod takeover;
pub mod watch;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::chaos::check::{self, Carried, Rules};
use crate::chaos::observe::observe;
use crate::chaos::{ChaosArgs, DEMO_OBJECTS, EXIT_TIMEOUT, Signal};
use cut_cycle::CycleKind;
use fleet::Fleet;
use game_server::Switch;
use report::Kind;
use spacewars_harness::api::Answer;
use spacewars_harness::player::{self, Player};
use spacewars_harness::postgres::Schema;
use spacewars_harness::progress::Progress;
use spacewars_harness::proxy::{Proxy, upstream_of, url_through};
use spacewars_harness::server_process::{GameServerConfig, free_local_addr};
use takeover::Plan;
use watch::Watcher;

/// What a flush may add to the loss window of a crash: a lost collect may have been
/// acknowledged one persist interval plus this long before SIGKILL (the flush that was
/// in progress, docs/persistence.md, promise 6).
pub(crate) const FLUSH_ALLOWANCE: Duration = Duration::from_millis(250);

/// How long the first owner may take to become ready.
const FIRST_START: Duration = Duration::from_secs(60);

/// Runs the drill; true when every promise held.
pub async fn run(
    binary: &Path,
    args: &ChaosArgs,
    seed: u64,
    deadline: Instant,
) -> anyhow::Result<bool> {
    anyhow::ensure!(
        args.lease_ttl_ms >= 300,
        "--lease-ttl-ms must be at least 300"
    );
    let haproxy_binary = haproxy::ensure_installed()?;
    let schema_name = format!("xtask_failover_{}", std::process::id());
    let schema = Schema::create(&args.postgres, &schema_name)?;
    let dir = tempfile::tempdir().context("creating a temp dir")?;
    let config = args.server_config(binary, schema.url());
    let extra = vec![
        "--lease-ttl-ms".to_owned(),
        args.lease_ttl_ms.to_string(),
        "--spill-dir".to_owned(),
        dir.path().display().to_string(),
    ];
    let mut fleet = Fleet::new(config.clone(), extra, dir.path(), usize::from(args.servers))?;
    // For the partition cycles every server reaches the database through a proxy of its
    // own, so that only the owner's link is frozen.
    let mut links = Vec::new();
    if args.partition {
        let upstream = upstream_of(&schema.url()).await?;
        for _ in 0..fleet.slots.len() {
            links.push(Proxy::start(upstream).await?);
        }
        let urls = links
            .iter()
            .map(|link| url_through(&schema.url(), link.addr()))
            .collect::<anyhow::Result<_>>()?;
        fleet.set_database_urls(urls);
    }
    fleet.start(0).await?;
    fleet.process(0)?.wait_ready("/readyz", FIRST_START).await?;
    for index in 1..fleet.slots.len() {
        fleet.start(index).await?;
    }
    let listen = free_local_addr()?;
    let proxy = haproxy::start(&haproxy_binary, dir.path(), listen, &fleet.addrs()).await?;
    let watcher = Watcher::start(fleet.addrs());
    println!(
        "failover: {} servers (one owner, {} standbys) on PostgreSQL schema {}, lease TTL {} ms, \
         persist interval {} ms, behind HAProxy on {listen} (config from deploy/haproxy.cfg); \
         {} players; logs in {}",
        fleet.slots.len(),
        fleet.slots.len() - 1,
        schema_name,
        args.lease_ttl_ms,
        args.persist_interval_ms,
        args.players,
        dir.path().display()
    );
    let result = cycles(
        args, seed, deadline, &mut fleet, listen, &watcher, &config, &links,
    )
    .await;
    let seen = watcher.stop().await;
    let proxy_exit = proxy.stop(EXIT_TIMEOUT).await;
    let mut violations = match result {
        Ok(violations) => violations,
        Err(error) => {
            // Keep the logs for the post-mortem: the temp dir is removed on drop.
            let kept = dir.keep();
            println!("failover: logs kept in {}", kept.display());
            return Err(error);
        }
    };
    println!(
        "SUMMARY failover: {} readiness sweeps of {} servers every {:?}: {} with two processes \
         ready{}",
        seen.sweeps,
        fleet.slots.len(),
        watch::SWEEP_EVERY,
        seen.double,
        if seen.double_examples.is_empty() {
            String::new()
        } else {
            format!(" (at {:?})", seen.double_examples)
        }
    );
    if seen.double > 0 {
        violations.push(format!("{} moments with two processes ready", seen.double));
    }
    if let Err(error) = proxy_exit {
        println!("failover: stopping haproxy: {error:#}");
    }
    for violation in &violations {
        println!("  VIOLATION {violation}");
    }
    if !violations.is_empty() || args.keep_logs {
        let kept = dir.keep();
        println!("failover: logs kept in {}", kept.display());
    }
    Ok(violations.is_empty())
}

/// The setup after the servers are up, the cycles, and the final check. Returns the
/// broken promises.
#[allow(clippy::too_many_arguments)] // the drill's parts, each used once
async fn cycles(
    args: &ChaosArgs,
    seed: u64,
    deadline: Instant,
    fleet: &mut Fleet,
    proxy: std::net::SocketAddr,
    watcher: &Watcher,
    config: &GameServerConfig,
    links: &[Proxy],
) -> anyhow::Result<Vec<String>> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x0fa1_10e5);
    let players = player::register_many(proxy, "failover", args.players).await?;
    let created_s = created(proxy, &players).await?;
    let kinds = cut_cycle::kinds(args);
    let cuts = kinds.iter().any(|kind| matches!(kind, CycleKind::Cut(_)));
    // The pause and partition cycles' sampler steers a ship of its own.
    let sampler = match cuts {
        true => Some(player::register(proxy, "failover-sampler").await?),
        false => None,
    };
    let expected_objects = DEMO_OBJECTS
        + players.len()
        + usize::from(sampler.is_some())
        + usize::from(args.demo_user == Switch::On);
    let (observed, mut violations) = observe(proxy, &players, &created_s).await?;
    let mut carried = Carried {
        credited: observed.durable.clone(),
        credited_objects: Default::default(),
        objects: observed.objects.clone(),
    };
    let (mut kills, mut terms) = (Kind::default(), Kind::default());
    let mut cut_totals = cut_cycle::Totals::default();
    let give_up = Duration::from_millis(args.lease_ttl_ms) + Duration::from_secs(60);
    let progress = Progress::bar(u64::from(args.cycles), "failover cycles");
    for cycle in 1..=args.cycles {
        if !violations.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            violations.push(format!(
                "time budget (--max-minutes {}) exhausted",
                args.max_minutes
            ));
            break;
        }
        let owner = watcher
            .sole_ready(Duration::from_secs(30))
            .await
            .context("no single server is ready")?;
        let signal = match kinds[(cycle as usize - 1) % kinds.len()] {
            CycleKind::Signal(signal) => signal,
            CycleKind::Cut(cut) => {
                let sampler = sampler.as_ref().context("no sampler")?;
                let cycle_at = cut_cycle::Cycle {
                    number: cycle,
                    of: args.cycles,
                    owner,
                    run_for: Duration::from_millis(
                        rng.random_range(args.min_run_ms..=args.max_run_ms),
                    ),
                    seed: seed.wrapping_add(u64::from(cycle) * 1_000),
                    give_up,
                };
                let context = cut_cycle::Context {
                    args,
                    haproxy: proxy,
                    watcher,
                    links,
                    players: &players,
                    sampler,
                    created_s: &created_s,
                    expected_objects,
                    progress: &progress,
                };
                let (next, cycle_violations) =
                    cut_cycle::run(&context, fleet, &cycle_at, cut, &carried, &mut cut_totals)
                        .await?;
                carried = next;
                violations.extend(cycle_violations);
                progress.inc();
                continue;
            }
        };
        let plan = Plan {
            signal,
            run_for: Duration::from_millis(rng.random_range(args.min_run_ms..=args.max_run_ms)),
            seed: seed.wrapping_add(u64::from(cycle) * 1_000),
            pause_ms: args.min_pause_ms..=args.max_pause_ms,
            give_up,
        };
        let killed = takeover::kill_owner(proxy, fleet.process(owner)?, &players, &plan).await?;
        fleet.slots[owner].process = None;
        let new_owner = watcher.sole_ready(Duration::from_secs(10)).await;
        let (observed, session_violations) = observe(proxy, &players, &created_s).await?;
        let rules = Rules {
            expected_objects,
            signal_at: killed.signal_at,
            max_loss_age: Duration::from_millis(args.persist_interval_ms) + FLUSH_ALLOWANCE,
            graceful: plan.signal == Signal::Term,
        };
        let outcome = check::check(&carried, &killed.ledgers, &observed, &rules);
        let kind = match plan.signal {
            Signal::Kill => &mut kills,
            Signal::Term => &mut terms,
        };
        kind.add(killed.unavailable, killed.probes.slowest, &outcome);
        let refused: u64 = killed.ledgers.iter().map(|l| l.refused).sum();
        progress.println(format!(
            "cycle {cycle:>3}/{} SIG{} to server {owner} after {:.2?}: unavailable {:.2?} \
             (probes: {}), server {} took over; {} acked collects ({} lost), {} unanswered ({} \
             applied), {refused} refused; old owner exited after {:.2?}: {}{}",
            args.cycles,
            plan.signal.name(),
            plan.run_for,
            killed.unavailable,
            killed.probes,
            new_owner.map_or_else(|| "?".to_owned(), |s| s.to_string()),
            outcome.acks,
            outcome.lost_acks,
            outcome.unknowns,
            outcome.unknowns_applied,
            killed.exited_after,
            killed.exit,
            if outcome.violations.is_empty() {
                ""
            } else {
                "  VIOLATIONS"
            }
        ));
        progress.inc();
        if plan.signal == Signal::Term && !killed.exit.success() {
            violations.push(format!(
                "cycle {cycle}: after SIGTERM the owner exited with {}",
                killed.exit
            ));
        }
        violations.extend(
            session_violations
                .into_iter()
                .chain(outcome.violations.iter().cloned())
                .map(|v| format!("cycle {cycle}: {v}")),
        );
        carried = outcome.next;
        fleet.start(owner).await?;
    }
    progress.finish();
    let bound = format!(
        "lost ones must have been acknowledged within {:?} of the signal: one persist interval + {:?}",
        Duration::from_millis(args.persist_interval_ms) + FLUSH_ALLOWANCE,
        FLUSH_ALLOWANCE
    );
    if !kills.unavailable.is_empty() {
        println!("{}", kills.line(Signal::Kill, &bound));
    }
    if !terms.unavailable.is_empty() {
        println!("{}", terms.line(Signal::Term, "none may be lost"));
    }
    cut_totals.print(args);
    if violations.is_empty() {
        let owner = watcher
            .sole_ready(Duration::from_secs(30))
            .await
            .context("no single server is ready at the end")?;
        let log = fleet.log(fleet.slots.len());
        let end = last::End {
            proxy,
            players: &players,
            created_s: &created_s,
            carried: &carried,
            expected_objects,
            config,
            log: &log,
            seed: seed.wrapping_add(u64::from(args.cycles + 1) * 1_000),
        };
        violations.extend(last::finish(&end, fleet, owner).await?);
    }
    Ok(violations)
}

/// Each player's creation time in Unix seconds (`last_updated − iron` before it earned
/// anything but its start-up iron at 1 iron/s).
async fn created(proxy: std::net::SocketAddr, players: &[Player]) -> anyhow::Result<Vec<i64>> {
    let mut created_s = Vec::with_capacity(players.len());
    for player in players {
        match player.api(proxy).user_stats().await? {
            Answer::Ok(stats) => created_s.push(stats.last_updated - stats.iron as i64),
            Answer::Refused(status, code) => bail!("user-stats: {status} {code}"),
        }
    }
    Ok(created_s)
}
