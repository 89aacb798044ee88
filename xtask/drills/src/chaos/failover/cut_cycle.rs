//! The failover drill's cycle kinds, and the bookkeeping of a pause or partition cycle
//! ([`cut`](super::cut)): the check of the players' acknowledgements against the new
//! owner's world, the ledger per kind, the violations.

use std::net::SocketAddr;
use std::time::Duration;

use spacewars_harness::player::Player;
use spacewars_harness::progress::Progress;
use spacewars_harness::proxy::Proxy;

use super::FLUSH_ALLOWANCE;
use super::cut::{Cut, CutPlan, cut_owner};
use super::fleet::Fleet;
use super::report::CutKind;
use super::watch::Watcher;
use crate::chaos::check::{self, Carried, Rules};
use crate::chaos::observe::observe;
use crate::chaos::{ChaosArgs, Signal};

/// What a cycle does to the owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CycleKind {
    /// SIGKILL or SIGTERM.
    Signal(Signal),
    /// SIGSTOP/SIGCONT, or a frozen database link.
    Cut(Cut),
}

/// The cycle kinds `args` choose, in the order the cycles take turns: the signals of
/// `--kill` / `--term` (both when neither is given, none when only `--pause` or
/// `--partition` is), then pause, then partition.
pub fn kinds(args: &ChaosArgs) -> Vec<CycleKind> {
    let cuts_only = (args.pause || args.partition) && !args.kill && !args.term;
    let mut kinds = match (args.kill, args.term) {
        _ if cuts_only => vec![],
        (true, false) => vec![CycleKind::Signal(Signal::Kill)],
        (false, true) => vec![CycleKind::Signal(Signal::Term)],
        _ => vec![
            CycleKind::Signal(Signal::Kill),
            CycleKind::Signal(Signal::Term),
        ],
    };
    if args.pause {
        kinds.push(CycleKind::Cut(Cut::Pause));
    }
    if args.partition {
        kinds.push(CycleKind::Cut(Cut::Partition));
    }
    kinds
}

/// What every cut cycle shares.
pub struct Context<'a> {
    /// The drill's flags.
    pub args: &'a ChaosArgs,
    /// HAProxy, where the players play.
    pub haproxy: SocketAddr,
    /// The readiness watcher.
    pub watcher: &'a Watcher,
    /// Each slot's database proxy (partition cycles).
    pub links: &'a [Proxy],
    /// The players.
    pub players: &'a [Player],
    /// The sampler's player.
    pub sampler: &'a Player,
    /// The players' creation times.
    pub created_s: &'a [i64],
    /// Objects the world must hold.
    pub expected_objects: usize,
    /// Where the cycle lines go.
    pub progress: &'a Progress,
}

/// One cycle's own values.
pub struct Cycle {
    /// Its number, from 1.
    pub number: u32,
    /// Of how many.
    pub of: u32,
    /// The owner's slot.
    pub owner: usize,
    /// Play this long before the cut.
    pub run_for: Duration,
    /// Seed of the players' pauses.
    pub seed: u64,
    /// Give up waiting for the takeover after this long.
    pub give_up: Duration,
}

/// The ledger per cut kind.
#[derive(Debug, Default)]
pub struct Totals {
    /// The pause cycles.
    pub pause: CutKind,
    /// The partition cycles.
    pub partition: CutKind,
}

impl Totals {
    /// Prints a summary line per kind that ran.
    pub fn print(&self, args: &ChaosArgs) {
        let bound = format!(
            "lost ones must have been acknowledged at most {:?} before the cut, or after it \
             and before the owner's deadline",
            Duration::from_millis(args.persist_interval_ms) + FLUSH_ALLOWANCE,
        );
        for (kind, totals) in [(Cut::Pause, &self.pause), (Cut::Partition, &self.partition)] {
            if !totals.takeovers.unavailable.is_empty() {
                println!("{}", totals.line(kind.name(), &bound));
            }
        }
    }
}

/// Runs one cut cycle on the owner in `cycle.owner`, checks what the new owner has, and
/// restarts the old owner's slot as a standby. Returns what is durable from now on, and
/// the cycle's violations.
pub async fn run(
    context: &Context<'_>,
    fleet: &mut Fleet,
    cycle: &Cycle,
    cut: Cut,
    carried: &Carried,
    totals: &mut Totals,
) -> anyhow::Result<(Carried, Vec<String>)> {
    let args = context.args;
    let plan = CutPlan {
        cut,
        run_for: cycle.run_for,
        seed: cycle.seed,
        pause_ms: args.min_pause_ms..=args.max_pause_ms,
        give_up: cycle.give_up,
        lease_ttl: Duration::from_millis(args.lease_ttl_ms),
        servers: fleet.addrs(),
        link: context.links.get(cycle.owner),
    };
    let off = cut_owner(
        context.haproxy,
        cycle.owner,
        fleet.process(cycle.owner)?,
        context.watcher,
        context.players,
        context.sampler,
        &plan,
    )
    .await?;
    fleet.slots[cycle.owner].process = None;
    let (observed, session_violations) =
        observe(context.haproxy, context.players, context.created_s).await?;
    let rules = Rules {
        expected_objects: context.expected_objects,
        signal_at: off.cut_at,
        max_loss_age: Duration::from_millis(args.persist_interval_ms) + FLUSH_ALLOWANCE,
        graceful: false,
    };
    let outcome = check::check(carried, &off.ledgers, &observed, &rules);
    let kind = match cut {
        Cut::Pause => &mut totals.pause,
        Cut::Partition => &mut totals.partition,
    };
    kind.takeovers
        .add(off.unavailable, off.probes.slowest, &outcome);
    kind.acked_after_cut += off.acked_after_cut;
    kind.acked_after_deadline += off.acked_after_deadline;
    kind.moments += off.moments;
    kind.double += off.double;
    context.progress.println(format!(
        "cycle {:>3}/{} {} of server {} after {:.2?}: unavailable {:.2?} (probes: {}), server \
         {} took over; {} acked collects ({} lost), {} unanswered ({} applied); old owner: {} \
         writes acknowledged after the cut, {} after its deadline; {} of {} moments with two \
         acknowledging; it exited {}{}",
        cycle.number,
        cycle.of,
        cut.name(),
        cycle.owner,
        cycle.run_for,
        off.unavailable,
        off.probes,
        off.new_owner
            .map_or_else(|| "?".to_owned(), |s| s.to_string()),
        outcome.acks,
        outcome.lost_acks,
        outcome.unknowns,
        outcome.unknowns_applied,
        off.acked_after_cut,
        off.acked_after_deadline,
        off.double,
        off.moments,
        off.exit,
        if outcome.violations.is_empty() {
            ""
        } else {
            "  VIOLATIONS"
        }
    ));
    let mut violations: Vec<String> = session_violations
        .into_iter()
        .chain(outcome.violations.iter().cloned())
        .collect();
    if off.acked_after_deadline > 0 {
        violations.push(format!(
            "the old owner acknowledged {} writes after its deadline",
            off.acked_after_deadline
        ));
    }
    if off.double > 0 {
        violations.push(format!(
            "{} moments with two processes acknowledging writes",
            off.double
        ));
    }
    let violations = violations
        .into_iter()
        .map(|v| format!("cycle {}: {v}", cycle.number))
        .collect();
    fleet.start(cycle.owner).await?;
    Ok((outcome.next, violations))
}
