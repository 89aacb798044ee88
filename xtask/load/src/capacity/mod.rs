//! `cargo xtask load capacity`: for each way of following the world (full polls,
//! delta polls, the interest-limited stream, the whole-world stream), signed-in players
//! acting every ~10 s are ramped up until an action's p99 exceeds the limit (100 ms) or
//! errors appear. Each step is the `--sync` measurement (`load::sync::one_mode`) on a
//! fresh server and database whose world grows with the players at a constant density,
//! with `--spawn spread` so the players start spread over the whole world; the idle
//! players' still ships keep the objects per area constant too.
//!
//! - [`ramp`]: which counts to measure; [`step`]: judging one step.
//! - [`probe`]: whether the load generator itself kept time.
//! - [`report`]: step lines, the table per mode, the target verdicts.
//! - [`cpu_targets`]: the stream's CPU per player-second against its targets.
//! - [`edges`]: `--edges N`, the streams served by edge processes fed through NATS;
//!   [`nats_tally`]: the world's messages through NATS (cells, index, beacons), counted.
//! - [`plot`]: the SVG of CPU and bytes per player against players (`--plot`).

pub mod cpu_targets;
pub mod edges;
pub mod nats_tally;
pub mod plot;
pub mod probe;
pub mod ramp;
pub mod report;
pub mod step;

use std::path::Path;
use std::time::Instant;

use crate::sync::{self, Follow, SyncMode};
use game_server::SpawnKind;
use spacewars_harness::progress::Progress;

use crate::args::{CapacityCommand, SyncArgs};
use ramp::Ramp;
use report::ModeResult;
use step::{Limits, StepRecord, Verdict};

/// The objects of the demo world every fresh server has: nine drifting objects and the
/// demo player's ship.
pub const DEMO_OBJECTS: usize = 10;

/// The ramp's own flags (`load capacity`).
#[derive(Debug, Clone, clap::Args)]
pub struct CapacityArgs {
    /// Ways of following the world to ramp, comma-separated (e.g. `full,stream`; `all`:
    /// full, delta, stream, stream-world). Full polling always goes first, so the others
    /// are also measured at its max.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "all")]
    pub follow: Vec<SyncMode>,
    /// Players of the first step.
    #[arg(long, default_value_t = 50)]
    pub start_players: usize,
    /// Players of the last step (the ramp's ceiling).
    #[arg(long, default_value_t = 6_400)]
    pub max_players: usize,
    /// Factor between steps until the first failure.
    #[arg(long, default_value_t = 2.0)]
    pub step_factor: f64,
    /// Bisection steps between the last count held and the first that failed.
    #[arg(long, default_value_t = 1)]
    pub refine: u32,
    /// Square units of world per acting player (the density: 20,000 is one player per
    /// 141 × 141 square; the world side is √(players × this)).
    #[arg(long, default_value_t = 20_000.0)]
    pub area_per_player: f64,
    /// Idle players (still ships) per acting player: they stand in for the drifting
    /// objects the server has no way to add, so objects per area stay constant.
    #[arg(long, default_value_t = 1.0)]
    pub idle_per_player: f64,
    /// A step fails when the actions' p99 exceeds this (ms).
    #[arg(long, default_value_t = 100.0)]
    pub p99_limit_ms: f64,
    /// A stream step fails when the delay of its deltas (the server's `currentTime` to
    /// read by the player) exceeds this at p99 (ms).
    #[arg(long, default_value_t = 250.0)]
    pub delay_limit_ms: f64,
    /// Draw server CPU per player-second and KiB per player-minute against players for
    /// every mode into this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<std::path::PathBuf>,
    /// Times a step that failed while the load generator, not the server, was the limit
    /// is measured again before the ramp stops.
    #[arg(long, default_value_t = 1)]
    pub retries: u32,
}

/// Players and objects per area for a given count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Density {
    /// Square units per acting player.
    pub area_per_player: f64,
    /// Idle players per acting player.
    pub idle_per_player: f64,
}

impl Density {
    /// The side of the square world for `players` (whole units).
    pub fn side(&self, players: usize) -> f64 {
        (players as f64 * self.area_per_player).sqrt().ceil()
    }

    /// The objects the world should hold for `players`: their ships, the idle players'
    /// ships, and the demo world's objects.
    pub fn objects(&self, players: usize) -> usize {
        players + (players as f64 * self.idle_per_player).round() as usize + DEMO_OBJECTS
    }

    /// Players per 10,000 square units.
    pub fn players_per_10k(&self) -> f64 {
        10_000.0 / self.area_per_player
    }

    /// Objects per 10,000 square units, leaving out the demo world's fixed ten.
    pub fn objects_per_10k(&self) -> f64 {
        self.players_per_10k() * (1.0 + self.idle_per_player)
    }
}

/// Runs the ramp of every mode and prints the steps, the table and the verdicts.
pub async fn run(binary: &Path, args: &CapacityCommand) -> anyhow::Result<()> {
    let cap = &args.capacity;
    anyhow::ensure!(
        cap.area_per_player > 0.0 && cap.idle_per_player >= 0.0,
        "--area-per-player must be positive and --idle-per-player not negative"
    );
    let density = Density {
        area_per_player: cap.area_per_player,
        idle_per_player: cap.idle_per_player,
    };
    println!(
        "load capacity: players act every ~{} ms ({:.0} % collects of a random known \
         object, the rest navigate) and follow the world as each mode says (polls every ~{} \
         ms); steps from {} players ×{} up to {}, then {} bisection step(s); a step fails at \
         action p99 > {} ms, stream delay p99 > {} ms or any error; {} s measured after {} s warm-up, each step on a \
         fresh cached server (SQLite file) with --spawn spread",
        args.acting.action_ms,
        args.acting.collect_share * 100.0,
        args.acting.poll_ms,
        cap.start_players,
        cap.step_factor,
        cap.max_players,
        cap.refine,
        cap.p99_limit_ms,
        cap.delay_limit_ms,
        args.timing.duration_secs,
        args.timing
            .warmup_secs
            .max(args.acting.poll_ms.div_ceil(1000)),
    );
    println!(
        "density: {:.2} players and {:.2} objects per 10,000 square units (the world is a \
         square of {} square units per player; objects are every ship, {} idle player(s) \
         per player whose still ships stand in for drifting objects, plus the demo world's \
         {} objects, whose 9 drifting ones are all the server has); full polls after a \
         player's first are counted, not parsed, and stream deltas after the snapshot are \
         counted with only their id and currentTime read",
        density.players_per_10k(),
        density.objects_per_10k(),
        cap.area_per_player,
        cap.idle_per_player,
        DEMO_OBJECTS,
    );
    println!(
        "pinning: {}; load generator on {} thread(s)",
        args.affinity.describe(),
        args.runner.threads()
    );
    if let Some(setup) = args.edges.setup(&args.affinity) {
        println!("edges: {}", setup.describe());
    }
    println!("machine: {}", spacewars_harness::machine::describe());
    if let Some(load) = spacewars_harness::machine::load_average() {
        println!("load average (1 min) before the run: {load:.2}");
    }
    let started = Instant::now();
    let progress = Progress::spinner();
    let mut results: Vec<ModeResult> = Vec::new();
    for follow in modes(&cap.follow) {
        let full_max = results
            .iter()
            .find(|r| r.follow == Follow::Full)
            .and_then(|r| r.held);
        let extra: Vec<usize> = full_max.into_iter().collect();
        let mut ramp = Ramp::new(
            cap.start_players,
            cap.step_factor,
            cap.max_players,
            &extra,
            cap.refine,
        );
        let mut steps = Vec::new();
        while let Some(players) = ramp.next() {
            progress.set_message(format!("{}: {players} players", follow.as_str()));
            let mut step = one_step(binary, args, density, follow, players).await;
            progress.println(format!(
                "{}  [{:.0} s]",
                report::step_line(&step),
                started.elapsed().as_secs_f64()
            ));
            // Other processes' bursts on a shared machine come and go: measure again
            // before calling the ramp off.
            for _ in 0..cap.retries {
                if !matches!(step.verdict, Verdict::NotServer(_)) {
                    break;
                }
                step = one_step(binary, args, density, follow, players).await;
                progress.println(format!(
                    "{} (again) [{:.0} s]",
                    report::step_line(&step),
                    started.elapsed().as_secs_f64()
                ));
            }
            ramp.record(players, step.verdict.held());
            if matches!(step.verdict, Verdict::NotServer(_) | Verdict::Broken(_)) {
                ramp.stop();
            }
            steps.push(step);
        }
        results.push(ModeResult {
            follow,
            held: ramp.held(),
            at_ceiling: ramp.at_ceiling(),
            steps,
        });
    }
    progress.finish();
    print!("{}", report::summary(&results));
    if let Some(path) = &cap.plot {
        plot::draw(path, &results)?;
        println!("plot: {}", path.display());
    }
    println!(
        "columns: max held = the most players whose step held; side = the world's side \
         there; cpu µs/player-s = server CPU per player-second there; KiB/pm = world bytes \
         received per player-minute (poll bodies; for streams every byte read); in the step \
         lines, delay p99 = a stream delta's server time to read, gen cores = CPU the load \
         generator used, gen lag p99 = how late its 10 ms timer woke; with --edges, srv = \
         the owner, edge cpu = each edge's CPU per player-second, ack→edge event = a \
         navigation's acknowledgement by the owner to the first delta naming the ship on \
         the player's edge stream (the edge stamps currentTime itself, so delay p99 is \
         only the edge-to-player leg); whole run {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The modes to ramp, without repeats, full polling first.
pub fn modes(follow: &[SyncMode]) -> Vec<Follow> {
    let mut modes: Vec<Follow> = Vec::new();
    for mode in follow.iter().flat_map(|m| m.follows()) {
        if !modes.contains(&mode) {
            modes.push(mode);
        }
    }
    modes.sort_by_key(|&m| m != Follow::Full);
    modes
}

/// One step: `players` following the world by `follow` on a fresh server sized for them.
async fn one_step(
    binary: &Path,
    args: &CapacityCommand,
    density: Density,
    follow: Follow,
    players: usize,
) -> StepRecord {
    let side = density.side(players);
    let step_args = SyncArgs {
        players,
        acting: args.acting.clone(),
        world_objects: Some(density.objects(players)),
        world_side: Some(side),
        spawn: SpawnKind::Spread,
        light_full_polls: true,
        light_streams: true,
        timing: args.timing.clone(),
        persist: args.persist.clone(),
        runner: args.runner.clone(),
        affinity: args.affinity.clone(),
        edges: args.edges.setup(&args.affinity),
    };
    match sync::one_mode(binary, &step_args, follow).await {
        Ok(figures) => StepRecord::judge(
            &figures,
            side,
            Limits {
                action_p99_ms: args.capacity.p99_limit_ms,
                delay_p99_ms: args.capacity.delay_limit_ms,
            },
        ),
        Err(error) => StepRecord::broken(follow, players, side, format!("{error:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_listed_once_with_full_polling_first() {
        assert_eq!(
            modes(&[SyncMode::Stream, SyncMode::Full, SyncMode::Stream]),
            [Follow::Full, Follow::Stream]
        );
        assert_eq!(modes(&[SyncMode::All, SyncMode::Delta]).len(), 4);
    }

    #[test]
    fn the_world_grows_with_the_players_at_constant_density() {
        let density = Density {
            area_per_player: 20_000.0,
            idle_per_player: 1.0,
        };
        assert_eq!(density.side(50), 1_000.0);
        assert_eq!(density.side(200), 2_000.0);
        // √(300 × 20,000) = 2449.49…, rounded up.
        assert_eq!(density.side(300), 2_450.0);
        assert_eq!(density.objects(50), 110);
        assert_eq!(
            (density.players_per_10k(), density.objects_per_10k()),
            (0.5, 1.0)
        );
        let sparse = Density {
            idle_per_player: 0.5,
            ..density
        };
        assert_eq!(sparse.objects(3), 3 + 2 + DEMO_OBJECTS);
    }
}
