//! One drill: a fresh database, players, then signal / restart / check cycles.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::chaos::check::{self, Carried, CycleOutcome, Rules};
use crate::chaos::cycle::{CyclePlan, play_then_signal};
use crate::chaos::ledger::PlayerLedger;
use crate::chaos::observe::observe;
use crate::chaos::restart::restart;
use crate::chaos::{ChaosArgs, DEMO_OBJECTS, DrillSummary, EXIT_TIMEOUT, Signal, loss_bound};
use game_server::Switch;
use spacewars_harness::api::Answer;
use spacewars_harness::player;
use spacewars_harness::progress::Progress;

/// One drill on a fresh database: setup, then `args.cycles` signal/restart/check cycles.
pub async fn drill(
    binary: &Path,
    args: &ChaosArgs,
    signal: Signal,
    seed: u64,
    deadline: Instant,
) -> anyhow::Result<DrillSummary> {
    let dir = tempfile::tempdir().context("creating a temp dir")?;
    let log = dir.path().join("server.log");
    let config = args.server_config(binary, dir.path().join("chaos.db").display().to_string());
    let mut rng = StdRng::seed_from_u64(seed ^ signal as u64);
    let (mut server, _) = restart(&config, &log).await?;
    let players = player::register_many(server.addr(), "chaos", args.players).await?;
    let mut created_s = Vec::with_capacity(players.len());
    for player in &players {
        let stats = match player.api(server.addr()).user_stats().await? {
            Answer::Ok(stats) => stats,
            Answer::Refused(status, code) => bail!("user-stats: {status} {code}"),
        };
        created_s.push(stats.last_updated - stats.iron as i64);
    }
    let expected_objects = DEMO_OBJECTS + players.len() + usize::from(args.demo_user == Switch::On);
    let (observed, setup_violations) = observe(server.addr(), &players, &created_s).await?;
    let mut carried = Carried {
        credited: observed.durable.clone(),
        credited_objects: Default::default(),
        objects: observed.objects.clone(),
    };
    let mut summary = DrillSummary {
        violations: setup_violations,
        ..DrillSummary::default()
    };
    if observed.objects.len() != expected_objects {
        summary.violations.push(format!(
            "(1) the fresh world has {} objects, expected {expected_objects}",
            observed.objects.len()
        ));
    }
    let progress = Progress::bar(u64::from(args.cycles), "cycles");
    progress.set_message(format!("SIG{}", signal.name()));
    for cycle in 1..=args.cycles {
        if !summary.violations.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            summary.violations.push(format!(
                "time budget (--max-minutes {}) exhausted",
                args.max_minutes
            ));
            break;
        }
        let run_for = Duration::from_millis(rng.random_range(args.min_run_ms..=args.max_run_ms));
        let plan = CyclePlan {
            cycle,
            signal,
            run_for,
            aim_at_collect: rng.random_bool(args.aim_at_collects.clamp(0.0, 1.0)),
            seed,
            pause_ms: args.min_pause_ms..=args.max_pause_ms,
        };
        let (ledgers, signal_at, caught, exit) =
            play_then_signal(&mut server, &players, &plan).await?;
        if signal == Signal::Term && !exit.success() {
            summary.violations.push(format!(
                "cycle {cycle}: after SIGTERM the server exited with {exit}"
            ));
        }
        let (next_server, restart_took) = restart(&config, &log).await?;
        server = next_server;
        let (observed, session_violations) = observe(server.addr(), &players, &created_s).await?;
        let rules = Rules {
            expected_objects,
            signal_at,
            max_loss_age: loss_bound(args),
            graceful: signal == Signal::Term,
        };
        let outcome = check::check(&carried, &ledgers, &observed, &rules);
        progress
            .suspend(|| print_cycle(&plan, args.cycles, caught, restart_took, &outcome, &ledgers));
        progress.inc();
        summary.cycles = cycle;
        summary.acks += outcome.acks;
        summary.lost += outcome.lost_acks;
        summary.unknowns += outcome.unknowns;
        summary.unknowns_applied += outcome.unknowns_applied;
        summary.oldest_lost = summary.oldest_lost.max(outcome.oldest_lost);
        summary.slowest_restart = summary.slowest_restart.max(restart_took);
        summary.violations.extend(
            session_violations
                .into_iter()
                .chain(outcome.violations.iter().cloned())
                .map(|v| format!("cycle {cycle}: {v}")),
        );
        carried = outcome.next;
    }
    progress.finish();
    let exit = server.stop(EXIT_TIMEOUT).await?;
    if !exit.success() {
        summary
            .violations
            .push(format!("final SIGTERM: the server exited with {exit}"));
    }
    if !summary.violations.is_empty() {
        println!(
            "server log ({}), last lines:\n{}",
            log.display(),
            spacewars_harness::server_process::log_tail(&log, 15)
        );
    }
    Ok(summary)
}

fn print_cycle(
    plan: &CyclePlan,
    cycles: u32,
    caught: bool,
    restart_took: Duration,
    outcome: &CycleOutcome,
    ledgers: &[PlayerLedger],
) {
    let cycle = plan.cycle;
    let aimed = match (plan.aim_at_collect, caught) {
        (false, _) => "",
        (true, true) => " (aimed: a collect was in flight)",
        (true, false) => " (aimed, but no collect came)",
    };
    let refused: u64 = ledgers.iter().map(|l| l.refused).sum();
    let late: u64 = ledgers.iter().map(|l| l.unanswered_after_kill).sum();
    let late = if late > 0 {
        format!(" (+{late} sent after the kill, ignored)")
    } else {
        String::new()
    };
    let undecided = if outcome.undecided_acks > 0 {
        format!(
            " ({} of them zero-reward, possibly lost)",
            outcome.undecided_acks
        )
    } else {
        String::new()
    };
    let oldest = outcome.oldest_lost.map_or_else(String::new, |d| {
        format!(", oldest lost acknowledged {d:.2?} before the signal")
    });
    println!(
        "cycle {cycle:>3}/{cycles} SIG{} after {:.2?}{aimed}: {} acked collects ({} durable{undecided}, {} lost{oldest}), \
         {} unanswered ({} applied){late}, {refused} refused, {} objects, restart {:.2?}{}",
        plan.signal.name(),
        plan.run_for,
        outcome.acks,
        outcome.durable_acks,
        outcome.lost_acks,
        outcome.unknowns,
        outcome.unknowns_applied,
        outcome.next.objects.len(),
        restart_took,
        if outcome.violations.is_empty() {
            ""
        } else {
            "  VIOLATIONS"
        }
    );
}
