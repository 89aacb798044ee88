//! `load --compare`: the same closed loop on `--repo cached`, `--repo db` and a minimal
//! hyper server (this machine's ceiling), in one run, judged against the issue's targets.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use hyper::{Method, StatusCode};
use tokio::process::Command;

use crate::http_client::Connection;
use crate::load::cpu::CoresUsed;
use crate::load::generator::{self, Measured, Players};
use crate::load::report::{ms, outcome_counts};
use crate::load::round_trips::{self, RoundTrips};
use crate::load::{LoadArgs, closed_loop_counting, fresh_database, idle_window, start_server};
use crate::player::{self, REQUEST_TIMEOUT};
use crate::server_process::{Repo, ServerProcess, free_local_addr};

/// Players doing mixed gameplay while round-trips are counted on the cached server.
const MIX_PLAYERS: usize = 8;
/// Mean time between a mixing player's ticks.
const MIX_POLL: Duration = Duration::from_millis(25);

/// One target's closed-loop figures.
#[derive(Debug, Clone)]
pub struct TargetFigures {
    /// `cached`, `db` or `minimal`.
    pub name: &'static str,
    /// Requests started in the measured window.
    pub requests: u64,
    /// Requests per second.
    pub rps: f64,
    /// Latency quantiles and maximum, µs.
    pub p50_us: u64,
    /// 90th percentile, µs.
    pub p90_us: u64,
    /// 99th percentile, µs.
    pub p99_us: u64,
    /// Maximum, µs.
    pub max_us: u64,
    /// 5xx and unanswered requests.
    pub failures: u64,
    /// Statuses and transport errors, for the table.
    pub outcomes: String,
    /// Database round-trips counted around the measurement, if the target has them.
    pub round_trips: Option<RoundTrips>,
    /// Cores the load generator and the server used while measuring.
    pub cores: CoresUsed,
}

impl TargetFigures {
    fn of(
        name: &'static str,
        measured: &Measured,
        round_trips: Option<RoundTrips>,
    ) -> TargetFigures {
        let total = measured.recorder.total();
        let requests = total.attempts();
        TargetFigures {
            name,
            requests,
            rps: requests as f64 / measured.elapsed.as_secs_f64().max(1e-9),
            p50_us: total.quantile_us(0.50),
            p90_us: total.quantile_us(0.90),
            p99_us: total.quantile_us(0.99),
            max_us: total.latency_us.max(),
            failures: total.failures(),
            outcomes: outcome_counts(&total),
            round_trips,
            cores: measured.cores,
        }
    }

    /// Server CPU time per request, µs (cores used × 10⁶ / requests per second).
    pub fn server_us_per_request(&self) -> f64 {
        self.cores.server * 1e6 / self.rps.max(1e-9)
    }

    /// Net round-trips per request.
    pub fn round_trips_per_request(&self) -> Option<f64> {
        self.round_trips.map(|rt| rt.per_request(self.requests))
    }
}

/// Round-trips counted during mixed gameplay on the cached server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MixRoundTrips {
    /// Counted round-trips.
    pub round_trips: RoundTrips,
    /// Gameplay requests sent meanwhile.
    pub requests: u64,
}

/// Below this many net round-trips per gameplay request, the request path is taken to
/// cause none: the idle window removes background work only up to one lease renewal.
pub const ROUND_TRIP_RESOLUTION: f64 = 0.001;

/// One target of the issue, judged.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// What is measured.
    pub label: &'static str,
    /// The measured value, formatted.
    pub measured: String,
    /// The target, formatted.
    pub target: &'static str,
    /// Whether it was met.
    pub passed: bool,
}

/// Everything one comparison measured.
#[derive(Debug, Clone)]
pub struct CompareOutcome {
    /// Each round's cached, db, minimal.
    pub rounds: Vec<[TargetFigures; 3]>,
    /// cached, db, minimal: the medians over the rounds.
    pub targets: Vec<TargetFigures>,
    /// Mixed-gameplay round-trips on cached.
    pub mix: Option<MixRoundTrips>,
    /// One-minute load average before the run.
    pub load_before: Option<f64>,
    /// The issue's targets.
    pub verdicts: Vec<Verdict>,
}

impl CompareOutcome {
    /// True when every target passed.
    pub fn all_passed(&self) -> bool {
        self.verdicts.iter().all(|v| v.passed)
    }
}

/// Judges the issue's four targets.
pub fn verdicts(
    cached: &TargetFigures,
    db: &TargetFigures,
    minimal: &TargetFigures,
    mix: Option<MixRoundTrips>,
) -> Vec<Verdict> {
    let vs_db = cached.rps / db.rps.max(1e-9);
    let vs_minimal = cached.rps / minimal.rps.max(1e-9);
    let p99_ratio = cached.p99_us as f64 / (minimal.p99_us.max(1)) as f64;
    let world_rt = cached.round_trips_per_request();
    let mix_rt = mix.map(|m| m.round_trips.per_request(m.requests));
    let round_trips_zero = world_rt.is_some_and(|rt| rt < ROUND_TRIP_RESOLUTION)
        && mix_rt.is_some_and(|rt| rt < ROUND_TRIP_RESOLUTION);
    vec![
        Verdict {
            label: "cached / db requests/s",
            measured: format!("{vs_db:.1}×"),
            target: "≥ 20×",
            passed: vs_db >= 20.0,
        },
        Verdict {
            label: "cached / minimal requests/s",
            measured: format!("{:.0} %", vs_minimal * 100.0),
            target: "≥ 50 %",
            passed: vs_minimal >= 0.5,
        },
        Verdict {
            label: "cached p99 / minimal p99",
            measured: format!("{p99_ratio:.2}×"),
            target: "≤ 2×",
            passed: p99_ratio <= 2.0,
        },
        Verdict {
            label: "DB round-trips per gameplay request (cached)",
            measured: match (world_rt, mix_rt) {
                (Some(w), Some(m)) => format!("world {w:.5}, mixed {m:.5}"),
                _ => "not exposed in /metrics".to_owned(),
            },
            target: "0 (< 0.001)",
            passed: round_trips_zero,
        },
    ]
}

/// Prints the comparison table, ratios and verdicts.
pub fn render(outcome: &CompareOutcome, args: &LoadArgs) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "compare: closed loop GET /api/world, {} connections, {} s measured per target \
         (+{} s warm-up), load generator on {} thread(s) sharing the machine with the server; \
         database: {}",
        args.connections,
        args.duration_secs,
        args.warmup_secs,
        args.client_threads,
        if args.postgres.is_some() {
            "PostgreSQL (local)"
        } else {
            "SQLite file"
        }
    );
    let _ = writeln!(out, "machine: {}", crate::machine::describe());
    if let Some(load) = outcome.load_before {
        let _ = writeln!(out, "load average (1 min) before the run: {load:.2}");
        if load > 1.0 {
            let _ = writeln!(
                out,
                "note: other processes were using the cores; figures are noisy"
            );
        }
    }
    let _ = writeln!(
        out,
        "{:<14} {:>9} {:>10} {:>8} {:>8} {:>8} {:>9} {:>8} {:>8} {:>8} {:>11}  outcomes",
        "target",
        "requests",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "rt/req",
        "cli cpu",
        "srv cpu",
        "srv µs/req"
    );
    let per_round = outcome.rounds.len() > 1;
    let rows = outcome
        .rounds
        .iter()
        .enumerate()
        .filter(|_| per_round)
        .flat_map(|(i, round)| round.iter().map(move |t| (format!("r{} ", i + 1), t)))
        .chain(outcome.targets.iter().map(|t| {
            let label = if per_round { "median " } else { "" };
            (label.to_owned(), t)
        }));
    for (label, t) in rows {
        let name = format!("{label}{}", t.name);
        let rt = t
            .round_trips_per_request()
            .map_or_else(|| "-".to_owned(), |rt| format!("{rt:.4}"));
        let _ = writeln!(
            out,
            "{:<14} {:>9} {:>10.0} {:>8} {:>8} {:>8} {:>9} {:>8} {:>8.2} {:>8.2} {:>11.1}  {}",
            name,
            t.requests,
            t.rps,
            ms(t.p50_us),
            ms(t.p90_us),
            ms(t.p99_us),
            ms(t.max_us),
            rt,
            t.cores.client,
            t.cores.server,
            t.server_us_per_request(),
            t.outcomes
        );
    }
    for v in &outcome.verdicts {
        let _ = writeln!(
            out,
            "{:<46} {:<40} target {:<7} {}",
            v.label,
            v.measured,
            v.target,
            if v.passed { "PASS" } else { "MISS" }
        );
    }
    for t in &outcome.targets {
        if let Some(rt) = t.round_trips {
            let _ = writeln!(
                out,
                "round-trips on {} (GET /api/world): {}",
                t.name,
                rt.describe(t.requests)
            );
        }
    }
    if let Some(mix) = outcome.mix {
        let _ = writeln!(
            out,
            "round-trips on cached (mixed gameplay: world, user-stats, navigate, collect): {}",
            mix.round_trips.describe(mix.requests)
        );
    }
    let client_limit = 0.9 * args.client_threads.max(1) as f64;
    for t in outcome
        .targets
        .iter()
        .filter(|t| t.cores.client >= client_limit)
    {
        let _ = writeln!(
            out,
            "note: on {} the load generator was saturated ({:.2} cores for {} thread(s)): \
             its requests/s are the client's ceiling, the server could do more",
            t.name, t.cores.client, args.client_threads
        );
    }
    for t in outcome.targets.iter().filter(|t| t.failures > 0) {
        let _ = writeln!(
            out,
            "note: {} had {} failed requests (5xx or unanswered)",
            t.name, t.failures
        );
    }
    out
}

/// Runs the three targets one after another (`--rounds` times, interleaved), prints the
/// table and judges the medians.
pub async fn run(binary: &Path, args: &LoadArgs) -> anyhow::Result<CompareOutcome> {
    let load_before = crate::machine::load_average();
    let dir = tempfile::tempdir().context("creating a temp dir")?;
    let mut rounds: Vec<[TargetFigures; 3]> = Vec::new();
    let mut mix: Option<MixRoundTrips> = None;
    for round in 1..=args.rounds.max(1) {
        let (cached, world_body, round_mix) =
            game_target(binary, dir.path(), Repo::Cached, round, args).await?;
        let (db, _, _) = game_target(binary, dir.path(), Repo::Db, round, args).await?;
        let minimal = minimal_target(dir.path(), &world_body, args).await?;
        eprintln!(
            "round {round}: cached {:.0} req/s, db {:.0} req/s, minimal {:.0} req/s",
            cached.rps, db.rps, minimal.rps
        );
        mix = match (mix, round_mix) {
            (Some(a), Some(b)) => Some(MixRoundTrips {
                round_trips: RoundTrips {
                    during: a.round_trips.during + b.round_trips.during,
                    idle: a.round_trips.idle + b.round_trips.idle,
                },
                requests: a.requests + b.requests,
            }),
            (a, b) => a.or(b),
        };
        rounds.push([cached, db, minimal]);
    }
    let targets: Vec<TargetFigures> = (0..3)
        .map(|i| median(rounds.iter().map(|r| &r[i]).collect()))
        .collect();
    let verdicts = verdicts(&targets[0], &targets[1], &targets[2], mix);
    let outcome = CompareOutcome {
        rounds,
        targets,
        mix,
        load_before,
        verdicts,
    };
    print!("{}", render(&outcome, args));
    Ok(outcome)
}

/// One target's figures over several rounds: each figure's median (the upper one of an
/// even count), counts and round-trips summed.
pub fn median(rounds: Vec<&TargetFigures>) -> TargetFigures {
    fn mid<T: Copy + PartialOrd>(mut values: Vec<T>) -> T {
        values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        values[values.len() / 2]
    }
    let first = rounds[0];
    if rounds.len() == 1 {
        return first.clone();
    }
    let round_trips = rounds
        .iter()
        .map(|r| r.round_trips)
        .collect::<Option<Vec<_>>>()
        .map(|all| RoundTrips {
            during: all.iter().map(|r| r.during).sum(),
            idle: all.iter().map(|r| r.idle).sum(),
        });
    TargetFigures {
        name: first.name,
        requests: rounds.iter().map(|r| r.requests).sum(),
        rps: mid(rounds.iter().map(|r| r.rps).collect()),
        p50_us: mid(rounds.iter().map(|r| r.p50_us).collect()),
        p90_us: mid(rounds.iter().map(|r| r.p90_us).collect()),
        p99_us: mid(rounds.iter().map(|r| r.p99_us).collect()),
        max_us: rounds.iter().map(|r| r.max_us).max().unwrap_or(0),
        failures: rounds.iter().map(|r| r.failures).sum(),
        outcomes: format!("{} rounds", rounds.len()),
        round_trips,
        cores: CoresUsed {
            client: mid(rounds.iter().map(|r| r.cores.client).collect()),
            server: mid(rounds.iter().map(|r| r.cores.server).collect()),
        },
    }
}

/// One game server target: closed loop (and, on cached, the mixed gameplay phase).
async fn game_target(
    binary: &Path,
    dir: &Path,
    repo: Repo,
    round: usize,
    args: &LoadArgs,
) -> anyhow::Result<(TargetFigures, Vec<u8>, Option<MixRoundTrips>)> {
    let label = format!("{}_r{round}", repo.as_str());
    let (database_url, _schema) = fresh_database(dir, &label, args.postgres.as_deref())?;
    let server = start_server(binary, dir, repo, database_url, args.persist_interval_ms).await?;
    let result = game_target_load(server.addr(), server.pid().ok(), repo, args).await;
    let exit = server.stop(Duration::from_secs(30)).await;
    let (measured, round_trips, body, mix) = result?;
    exit?;
    Ok((
        TargetFigures::of(repo.as_str(), &measured, round_trips),
        body,
        mix,
    ))
}

async fn game_target_load(
    addr: SocketAddr,
    server_pid: Option<u32>,
    repo: Repo,
    args: &LoadArgs,
) -> anyhow::Result<(Measured, Option<RoundTrips>, Vec<u8>, Option<MixRoundTrips>)> {
    let hammer = player::register(addr, "hammer").await?;
    let mut conn = Connection::new(addr, REQUEST_TIMEOUT);
    conn.set_cookie(Some(hammer.cookie.clone()));
    let world = conn.request(Method::GET, "/api/world", None).await?;
    anyhow::ensure!(
        world.status == StatusCode::OK,
        "GET /api/world answered {}",
        world.status
    );
    let idle = idle_window(repo, Duration::from_secs(args.duration_secs));
    let (measured, round_trips) =
        closed_loop_counting(addr, server_pid, Some(hammer.cookie.clone()), args, idle).await;
    let mix = if repo == Repo::Cached {
        let players = player::register_many(addr, "mixer", MIX_PLAYERS).await?;
        let mix_duration = Duration::from_secs(args.mix_secs);
        let load = Players {
            addr,
            players,
            poll: MIX_POLL,
            duration: mix_duration,
            seed: args.seed,
        };
        let (mixed, counted) =
            round_trips::around(addr, mix_duration, generator::players(&load)).await;
        counted.map(|round_trips| MixRoundTrips {
            round_trips,
            requests: mixed.recorder.total().attempts(),
        })
    } else {
        None
    };
    Ok((measured, round_trips, world.body.to_vec(), mix))
}

/// The minimal server (this binary's hidden `minimal-server` task) answering `body`.
async fn minimal_target(dir: &Path, body: &[u8], args: &LoadArgs) -> anyhow::Result<TargetFigures> {
    let body_file = dir.join("world.json");
    std::fs::write(&body_file, body)?;
    let addr = free_local_addr()?;
    let mut command = Command::new(std::env::current_exe()?);
    command
        .arg("minimal-server")
        .arg("--listen")
        .arg(addr.to_string())
        .arg("--body-file")
        .arg(&body_file)
        .arg("--max-seconds")
        .arg((args.warmup_secs + args.duration_secs + 120).to_string());
    let mut server = ServerProcess::spawn(
        command,
        addr,
        &dir.join("minimal.log"),
        "minimal-server".to_owned(),
    )?;
    server
        .wait_ready("/healthz", Duration::from_secs(30))
        .await?;
    let pid = server.pid().ok();
    let (measured, _) = closed_loop_counting(addr, pid, None, args, Duration::ZERO).await;
    server.stop(Duration::from_secs(10)).await?;
    Ok(TargetFigures::of("minimal", &measured, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(name: &'static str, rps: f64, p99_us: u64, rt: Option<f64>) -> TargetFigures {
        let round_trips = rt.map(|during| RoundTrips { during, idle: 0.0 });
        TargetFigures {
            name,
            requests: 1,
            rps,
            p50_us: 1,
            p90_us: 1,
            p99_us,
            max_us: 1,
            failures: 0,
            outcomes: String::new(),
            round_trips,
            cores: CoresUsed::default(),
        }
    }

    #[test]
    fn rounds_are_summarised_by_their_medians() {
        let a = figures("cached", 100.0, 9, Some(2.0));
        let b = figures("cached", 300.0, 1, Some(0.0));
        let c = figures("cached", 200.0, 5, Some(1.0));
        let m = median(vec![&a, &b, &c]);
        assert_eq!((m.rps, m.p99_us, m.requests), (200.0, 5, 3));
        assert_eq!(m.round_trips.map(|rt| rt.during), Some(3.0));
        assert_eq!(median(vec![&a]).rps, 100.0);
    }

    #[test]
    fn verdicts_apply_the_issue_targets() {
        let mix = Some(MixRoundTrips {
            round_trips: RoundTrips {
                during: 3.0,
                idle: 3.0,
            },
            requests: 500,
        });
        let cached = figures("cached", 30_000.0, 3_000, Some(0.0));
        let db = figures("db", 1_000.0, 50_000, Some(4_000.0));
        let minimal = figures("minimal", 50_000.0, 2_000, None);
        let all = verdicts(&cached, &db, &minimal, mix);
        assert!(all.iter().all(|v| v.passed), "{all:?}");

        let slow = figures("cached", 19_000.0, 5_000, Some(0.0));
        let missed: Vec<_> = verdicts(&slow, &db, &minimal, mix)
            .into_iter()
            .filter(|v| !v.passed)
            .map(|v| v.label)
            .collect();
        assert_eq!(
            missed,
            [
                "cached / db requests/s",
                "cached / minimal requests/s",
                "cached p99 / minimal p99"
            ]
        );

        let chatty = Some(MixRoundTrips {
            round_trips: RoundTrips {
                during: 6.0,
                idle: 3.0,
            },
            requests: 500,
        });
        assert!(!verdicts(&cached, &db, &minimal, chatty)[3].passed);
        assert!(!verdicts(&cached, &db, &minimal, None)[3].passed);
    }
}
