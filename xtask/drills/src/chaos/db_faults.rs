//! The database fault drills of `drills chaos` (`--freeze-db`, `--outage-sigterm`,
//! `--paused-owner`): the release server on a throwaway PostgreSQL schema reached through
//! a freezable [`spacewars_harness::proxy::Proxy`]. Each prints its figures and returns its
//! violations (empty when every promise held).

use std::path::Path;
use std::time::{Duration, Instant};

use spacewars_harness::api::{Answer, Api};
use spacewars_harness::http_client::Connection;
use spacewars_harness::player::{self, PASSWORD, REQUEST_TIMEOUT};
use spacewars_harness::server_process::{log_tail, send_signal};

use crate::chaos::rig::{self, Rig, baseline, check_nothing_lost, counters, merge};
use crate::chaos::rig::{phase_figures, play};
use crate::chaos::{ChaosArgs, EXIT_TIMEOUT};

/// Play before the fault, so there is something flushed and something pending.
const WARM_UP: Duration = Duration::from_secs(3);
/// The lease's lifetime (docs/persistence.md, One owner).
const LEASE_TTL: Duration = Duration::from_secs(10);
/// The paused owner's persist interval: long, so that it has unwritten changes when paused.
const PAUSED_PERSIST_MS: u64 = 5_000;
/// How long the paused owner's players play before the pause.
const PAUSED_PLAY: Duration = Duration::from_secs(8);
/// How long the flush may take to catch up after a thaw (back-off is at most 30 s, a batch
/// at most `--db-batch-timeout-ms`).
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(90);

/// Deadlines short enough for a drill: a call 2 s, a batch 5 s, a connect 2 s, a grace of
/// 2 s at shutdown, and the final flush retried for `flush_timeout`.
fn deadline_flags(flush_timeout: Duration) -> Vec<String> {
    [
        ("--db-call-timeout-ms", "2000".to_owned()),
        ("--db-batch-timeout-ms", "5000".to_owned()),
        ("--db-connect-timeout-ms", "2000".to_owned()),
        ("--shutdown-grace-ms", "2000".to_owned()),
        (
            "--shutdown-flush-timeout-ms",
            flush_timeout.as_millis().to_string(),
        ),
    ]
    .into_iter()
    .flat_map(|(flag, value)| [flag.to_owned(), value])
    .collect()
}

/// A frozen link for `--outage-secs`: players keep playing, flush failures and timeouts
/// rise, the flush catches up after the thaw; a clean stop and a restart lose nothing.
pub async fn freeze_db(binary: &Path, args: &ChaosArgs, seed: u64) -> anyhow::Result<Vec<String>> {
    let outage = Duration::from_secs(args.outage_secs);
    let rig = Rig::new(
        binary,
        args,
        "freeze",
        args.persist_interval_ms,
        &deadline_flags(Duration::from_secs(60)),
    )
    .await?;
    let (server, _) = rig.start("server.log").await?;
    let players = player::register_many(server.addr(), "freeze", args.players).await?;
    let base = baseline(server.addr(), &players).await?;
    let limit = outage + CATCH_UP_TIMEOUT + Duration::from_secs(60);
    let warm = play(server.addr(), &players, seed, limit);
    tokio::time::sleep(WARM_UP).await;
    let warm = warm.stop().await?;
    let before = counters(server.addr()).await?;
    let frozen_play = play(server.addr(), &players, seed ^ 1, limit);
    rig.proxy.freeze();
    let frozen_at = Instant::now();
    tokio::time::sleep(outage).await;
    let frozen = frozen_play.stop().await?;
    let during = counters(server.addr()).await?;
    let after_play = play(server.addr(), &players, seed ^ 2, limit);
    rig.proxy.thaw();
    let thawed_at = Instant::now();
    let mut caught_up = None;
    while thawed_at.elapsed() < CATCH_UP_TIMEOUT {
        if counters(server.addr()).await?.flushes > during.flushes {
            caught_up = Some(thawed_at.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let after = after_play.stop().await?;
    let end = counters(server.addr()).await?;
    let exit = server.stop(EXIT_TIMEOUT).await?;
    let (restarted, _) = rig.start("server.log").await?;
    let (ledgers, dropped) = merge(&[warm.clone(), frozen.clone(), after.clone()]);
    let outcome = check_nothing_lost(restarted.addr(), &players, &base, &ledgers).await?;
    let final_exit = restarted.stop(EXIT_TIMEOUT).await?;

    println!(
        "freeze-db: {} players, link frozen {:.1?}, {} connections through the proxy",
        args.players,
        thawed_at - frozen_at,
        rig.proxy.accepted()
    );
    println!("  warm-up {WARM_UP:?}: {}", phase_figures(&warm));
    println!("  frozen:     {}", phase_figures(&frozen));
    println!("  after thaw: {}", phase_figures(&after));
    println!(
        "  /metrics flush failures {} -> {} (frozen) -> {}, db timeouts {} -> {} -> {}, \
         flushes {} -> {} -> {}",
        before.flush_failures,
        during.flush_failures,
        end.flush_failures,
        before.db_timeouts,
        during.db_timeouts,
        end.db_timeouts,
        before.flushes,
        during.flushes,
        end.flushes
    );
    println!(
        "  unwritten changes {} before, {} at the end of the freeze, {} at the end; reserved ids \
         {} at the end of the freeze, id exhaustions {}",
        before.dirty, during.dirty, end.dirty, during.reserved_ids, during.id_exhaustions
    );
    println!(
        "  first successful flush {} after the thaw; stop: {exit}; after restart: {} acknowledged, \
         {} lost, {dropped} mid-drill unanswered collects; second stop: {final_exit}",
        caught_up.map_or("NEVER (within 90 s)".to_owned(), |d| format!("{d:.1?}")),
        outcome.acks,
        outcome.lost_acks
    );
    let mut violations = outcome.violations;
    if during.flush_failures <= before.flush_failures {
        violations.push("no flush failure counted while frozen".into());
    }
    if caught_up.is_none() {
        violations.push("the flush did not catch up after the thaw".into());
    }
    if !exit.success() || !final_exit.success() {
        violations.push(format!("clean stops exited {exit} and {final_exit}"));
    }
    if frozen.iter().map(|l| l.acks.len()).sum::<usize>() == 0 {
        violations.push("no collect acknowledged while frozen".into());
    }
    Ok(violations)
}

/// SIGTERM during an outage: the server spills and exits non-zero; after the thaw the next
/// start replays the spill file; nothing acknowledged is lost.
pub async fn outage_sigterm(
    binary: &Path,
    args: &ChaosArgs,
    seed: u64,
) -> anyhow::Result<Vec<String>> {
    let outage = Duration::from_secs(args.outage_secs);
    let flush_timeout = (outage / 3).max(Duration::from_secs(1));
    let rig = Rig::new(
        binary,
        args,
        "spill",
        args.persist_interval_ms,
        &deadline_flags(flush_timeout),
    )
    .await?;
    let (mut server, _) = rig.start("server.log").await?;
    let players = player::register_many(server.addr(), "spill", args.players).await?;
    let base = baseline(server.addr(), &players).await?;
    let limit = outage * 2 + Duration::from_secs(60);
    let warm = play(server.addr(), &players, seed, limit);
    tokio::time::sleep(WARM_UP).await;
    let warm = warm.stop().await?;
    let frozen_play = play(server.addr(), &players, seed ^ 1, limit);
    rig.proxy.freeze();
    let frozen_at = Instant::now();
    tokio::time::sleep(flush_timeout).await;
    let frozen = frozen_play.stop().await?;
    let pending = counters(server.addr()).await?;
    server.signal("TERM")?;
    let term_at = Instant::now();
    let exit = server
        .wait_exit(flush_timeout + Duration::from_secs(30))
        .await;
    let mut exit_took = term_at.elapsed();
    let log = log_tail(&rig.log("server.log"), 400);
    let spill_line = log
        .lines()
        .rev()
        .find(|line| line.contains("spill file"))
        .unwrap_or("(no line names the spill file)")
        .to_owned();
    let spilled = rig.spill_file().exists();
    let mut violations = Vec::new();
    let exit = match exit {
        Ok(status) => {
            tokio::time::sleep(outage.saturating_sub(frozen_at.elapsed())).await;
            rig.proxy.thaw();
            status.to_string()
        }
        Err(error) => {
            // Still running: see whether the thaw lets it go, then kill it.
            violations.push(format!("after SIGTERM: {error:#}"));
            println!(
                "  HUNG after SIGTERM; threads: {}; last lines: {}",
                rig::threads(server.pid()?),
                log_tail(&rig.log("server.log"), 3)
            );
            tokio::time::sleep(outage.saturating_sub(frozen_at.elapsed())).await;
            rig.proxy.thaw();
            let thawed_at = Instant::now();
            match server.wait_exit(Duration::from_secs(30)).await {
                Ok(status) => {
                    exit_took = term_at.elapsed();
                    format!("{status} {:.1?} after the thaw", thawed_at.elapsed())
                }
                Err(_) => {
                    server.signal("KILL")?;
                    format!("{} (killed)", server.wait_exit(EXIT_TIMEOUT).await?)
                }
            }
        }
    };
    let frozen_for = frozen_at.elapsed();
    let (restarted, restart_took) = rig.start("restart.log").await?;
    let replayed = log_tail(&rig.log("restart.log"), 200).contains("applied the spill file");
    let (ledgers, dropped) = merge(&[warm.clone(), frozen.clone()]);
    let outcome = check_nothing_lost(restarted.addr(), &players, &base, &ledgers).await?;
    let final_exit = restarted.stop(EXIT_TIMEOUT).await?;

    println!(
        "outage-sigterm: {} players, link frozen {frozen_for:.1?}, SIGTERM {:.1?} into it, \
         --shutdown-flush-timeout-ms {}",
        args.players,
        term_at - frozen_at,
        flush_timeout.as_millis()
    );
    println!("  warm-up {WARM_UP:?}: {}", phase_figures(&warm));
    println!("  frozen:  {}", phase_figures(&frozen));
    println!(
        "  at SIGTERM: {} unwritten changes, {} flush failures, {} db timeouts; exit after {exit_took:.1?}: {exit}; \
         spill file present: {spilled}",
        pending.dirty, pending.flush_failures, pending.db_timeouts
    );
    println!("  log: {}", spill_line.trim());
    println!(
        "  restart after the thaw ready in {restart_took:.1?}, replay logged: {replayed}, spill \
         file left: {}; {} acknowledged, {} lost, {dropped} mid-drill unanswered; stop: \
         {final_exit}",
        rig.spill_file().exists(),
        outcome.acks,
        outcome.lost_acks
    );
    violations.extend(outcome.violations);
    if exit == "exit status: 0" {
        violations.push("the server exited 0 although the database was unreachable".into());
    }
    if !spilled || !spill_line.contains(&rig.spill_file().display().to_string()) {
        violations.push("no spill file, or the log does not name it".into());
    }
    if !replayed || rig.spill_file().exists() {
        violations.push("the restart did not apply and remove the spill file".into());
    }
    if !final_exit.success() {
        violations.push(format!("the final stop exited {final_exit}"));
    }
    Ok(violations)
}

/// A paused owner: SIGSTOP it, let its lease expire, start a second server (it takes
/// over), SIGCONT the first: it must write nothing and exit non-zero.
pub async fn paused_owner(
    binary: &Path,
    args: &ChaosArgs,
    seed: u64,
) -> anyhow::Result<Vec<String>> {
    let rig = Rig::new(
        binary,
        args,
        "paused",
        PAUSED_PERSIST_MS,
        &deadline_flags(Duration::from_secs(30)),
    )
    .await?;
    let (mut first, _) = rig.start("first.log").await?;
    let players = player::register_many(first.addr(), "paused", args.players).await?;
    let playing = play(first.addr(), &players, seed, Duration::from_secs(60));
    tokio::time::sleep(PAUSED_PLAY).await;
    let pending = counters(first.addr()).await?;
    let pid = first.pid()?;
    // Paused amid play: the requests in flight hang until the player gives up.
    send_signal(pid, "STOP")?;
    let played = playing.stop().await?;
    let stopped_at = Instant::now();
    tokio::time::sleep(LEASE_TTL + Duration::from_secs(2)).await;
    let (second, takeover) = rig.start("second.log").await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = rig.snapshot()?;
    send_signal(pid, "CONT")?;
    let resumed_at = Instant::now();
    let paused_for = resumed_at - stopped_at;
    // Ask the resumed owner for writes at once: registrations and a collect.
    let mut answers = Vec::new();
    for i in 0..3 {
        let mut api = Api::new(Connection::new(first.addr(), REQUEST_TIMEOUT));
        answers.push(describe(api.register(&format!("late-{i}"), PASSWORD).await));
    }
    let mut api = players[0].api(first.addr());
    let world_answer = api.world().await;
    let target = match &world_answer {
        Ok(Answer::Ok(world)) => world
            .space_objects
            .iter()
            .map(|o| o.id)
            .find(|id| *id != players[0].ship_id),
        _ => None,
    };
    if let Some(id) = target {
        answers.push(describe(api.collect(id).await));
    }
    let exit = first.wait_exit(Duration::from_secs(60)).await;
    let exit_took = resumed_at.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rig.snapshot()?;
    let late_users = rig.query("SELECT count(*) FROM users WHERE username LIKE 'late-%'")?;
    let second_ready = ready(second.addr()).await;
    let second_exit = second.stop(EXIT_TIMEOUT).await?;
    let first_log = log_tail(&rig.log("first.log"), 400);
    let lease_line = first_log
        .lines()
        .rev()
        .find(|line| line.contains("lease"))
        .unwrap_or("(no line mentions the lease)")
        .to_owned();

    println!(
        "paused-owner: {} players, persist interval {PAUSED_PERSIST_MS} ms; {}; {} unwritten \
         changes just before SIGSTOP; owner paused {paused_for:.1?}; second server took over in \
         {takeover:.1?}",
        args.players,
        phase_figures(&played),
        pending.dirty
    );
    println!("  resumed owner answered: {}", answers.join(", "));
    let exit_text = match &exit {
        Ok(status) => status.to_string(),
        Err(error) => format!("{error:#}"),
    };
    println!(
        "  resumed owner exit after {exit_took:.1?}: {exit_text}; log: {}",
        lease_line.trim()
    );
    let mut violations = Vec::new();
    for (table, was) in &before {
        let now = after.get(table).map_or("?", String::as_str);
        let same = was == now;
        println!(
            "  {table}: {was}{}",
            if same {
                " (unchanged)".to_owned()
            } else {
                format!(" -> {now} CHANGED")
            }
        );
        if !same {
            violations.push(format!("{table} changed after the paused owner resumed"));
        }
    }
    println!(
        "  'late-*' users in the database: {late_users}; second server /readyz 200: {second_ready}; second stop: {second_exit}"
    );
    match exit {
        Ok(status) if !status.success() => {}
        Ok(status) => violations.push(format!("the resumed owner exited {status}")),
        Err(error) => violations.push(format!("the resumed owner: {error:#}")),
    }
    if late_users != "0" {
        violations.push(format!(
            "{late_users} registrations of the resumed owner committed"
        ));
    }
    if !second_ready {
        violations.push("the second server is no longer ready".into());
    }
    Ok(violations)
}

/// `200`, or the status and code, or the transport error's label.
fn describe<T>(
    answer: Result<Answer<T>, spacewars_harness::http_client::TransportError>,
) -> String {
    match answer {
        Ok(Answer::Ok(_)) => "200".to_owned(),
        Ok(Answer::Refused(status, code)) => format!("{} {code}", status.as_u16()),
        Err(error) => error.label().to_owned(),
    }
}

/// True if `/readyz` answers 200.
async fn ready(addr: std::net::SocketAddr) -> bool {
    let mut conn = Connection::new(addr, Duration::from_secs(5));
    matches!(
        conn.request(hyper::Method::GET, "/readyz", None).await,
        Ok(reply) if reply.status == hyper::StatusCode::OK
    )
}
