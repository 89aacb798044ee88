//! The sync players: each acts every ~10 s and follows the world by full polls, by
//! delta polls, or on the event stream, until the run's deadline.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::Method;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::sync::Follow;
use crate::sync::actor::{Actor, jitter};
use crate::sync::echo::AckEcho;
use crate::sync::sse::SseEvent;
use crate::sync::sse::SseParser;
use crate::sync::tally::{Counters, Outcome, record_us};
use crate::sync::world::{Check, LocalWorld, SyncBody};
use spacewars_harness::api::Api;
use spacewars_harness::event_stream::{self, Opened};
use spacewars_harness::player::{Player, REQUEST_TIMEOUT};

/// Route label of full polls.
pub const FULL_POLL: &str = "GET /api/world";
/// Route label of delta polls (`?since=`; the first read of a player is a full one).
pub const DELTA_POLL: &str = "GET /api/world?since=";
/// Route label of stream openings.
pub const STREAM_OPEN: &str = "GET /api/world/events";
/// The area stream (the server's default: what is near the player's ship).
pub const AREA_STREAM: &str = "/api/world/events";
/// The whole-world stream.
pub const WORLD_STREAM: &str = "/api/world/events?area=world";

/// Wait before reopening a stream that failed to open.
const REOPEN_DELAY: Duration = Duration::from_secs(1);

/// One mode's run, shared by its players.
#[derive(Debug)]
pub struct SyncRun {
    /// Server address.
    pub addr: SocketAddr,
    /// Where the streams are opened, round-robin by player (empty: on `addr`).
    pub stream_addrs: Vec<SocketAddr>,
    /// How the players follow the world.
    pub follow: Follow,
    /// Mean time between polls (full, delta); streams open spread over one such interval.
    pub poll: Duration,
    /// Mean time between actions.
    pub action_every: Duration,
    /// Share of actions that are collects.
    pub collect_share: f64,
    /// When the players start (first polls, stream openings and actions are spread over
    /// the first interval after it).
    pub start: Instant,
    /// Start of the measured window.
    pub measure_from: Instant,
    /// End of the run.
    pub until: Instant,
    /// Seed of the players' choices.
    pub seed: u64,
    /// Full polls after a player's first are counted but not parsed (its copy, used only
    /// to pick collect targets, then stays as first read).
    pub light_full_polls: bool,
    /// Stream deltas after the snapshot are counted and only their id and `currentTime`
    /// read (see [`light_delta`]); the copy then keeps the snapshot's objects.
    pub light_streams: bool,
    /// Bytes and events, read at the window's edges.
    pub counters: Counters,
}

impl SyncRun {
    /// Where player `index` opens its stream.
    fn stream_addr(&self, index: usize) -> SocketAddr {
        let edge = crate::capacity::edges::edge_of(index, self.stream_addrs.len());
        self.stream_addrs.get(edge).copied().unwrap_or(self.addr)
    }

    fn measuring(&self, at: Instant) -> bool {
        at >= self.measure_from && at < self.until
    }

    /// Upper bound on a player's ticks (a guard against a runaway loop).
    fn max_ticks(&self) -> u64 {
        let shortest = self.poll.min(self.action_every).as_secs_f64().max(0.001) * 0.8;
        let secs = self
            .until
            .saturating_duration_since(self.start)
            .as_secs_f64();
        (secs / shortest).ceil() as u64 * 2 + 4
    }
}

/// Runs one player until the deadline and returns its outcomes.
pub async fn run_player(run: Arc<SyncRun>, player: Player, index: usize) -> Outcome {
    let mut rng = StdRng::seed_from_u64(run.seed.wrapping_add(index as u64));
    match run.follow {
        Follow::Full | Follow::Delta => polling(&run, &player, &mut rng).await,
        Follow::Stream | Follow::StreamWorld => streaming(&run, &player, &mut rng, index).await,
    }
}

/// Polls the world and acts on one keep-alive connection, like the browser client.
async fn polling(run: &SyncRun, player: &Player, rng: &mut StdRng) -> Outcome {
    let mut outcome = Outcome::default();
    let mut api = player.api(run.addr);
    let mut world = LocalWorld::default();
    let mut actor = Actor::new(rng, run.start, run.action_every, run.collect_share);
    let mut next_poll = run.start + run.poll.mul_f64(rng.random_range(0.0..1.0));
    for _ in 0..run.max_ticks() {
        let due = next_poll.min(actor.next);
        if due >= run.until {
            break;
        }
        tokio::time::sleep_until(due.into()).await;
        let record = run.measuring(due);
        if record {
            record_us(&mut outcome.lateness_us, due.elapsed());
        }
        if next_poll <= actor.next {
            next_poll += jitter(rng, run.poll);
            poll(run, &mut api, &mut world, &mut outcome, record).await;
        } else {
            actor.act(&mut api, &world, rng, &mut outcome, record).await;
        }
    }
    outcome
}

async fn poll(
    run: &SyncRun,
    api: &mut Api,
    world: &mut LocalWorld,
    outcome: &mut Outcome,
    record: bool,
) {
    let (route, path) = match (run.follow, world.version()) {
        (Follow::Delta, Some(version)) => (DELTA_POLL, format!("/api/world?since={version}")),
        _ => (FULL_POLL, "/api/world".to_owned()),
    };
    let sent = Instant::now();
    let result = api.raw(Method::GET, &path, None).await;
    match &result {
        Ok(reply) if record => outcome
            .world
            .answered(route, reply.status.as_u16(), sent.elapsed()),
        Err(error) if record => outcome.world.failed(route, error),
        _ => {}
    }
    let Ok(reply) = result else { return };
    if reply.status != hyper::StatusCode::OK {
        return;
    }
    Counters::add(&run.counters.world_bytes, reply.body.len() as u64);
    Counters::add(&run.counters.world_reads, 1);
    if run.light_full_polls && run.follow == Follow::Full && world.version().is_some() {
        return;
    }
    let applied = SyncBody::parse(&reply.body).and_then(|body| world.apply(body, Check::Chain));
    if applied.is_err() {
        Counters::add(&run.counters.sync_errors, 1);
    }
}

/// Follows the event stream on its own connection and acts on another.
async fn streaming(run: &SyncRun, player: &Player, rng: &mut StdRng, index: usize) -> Outcome {
    let mut outcome = Outcome::default();
    let mut api = player.api(run.addr);
    let mut world = LocalWorld::default();
    let mut actor = Actor::new(rng, run.start, run.action_every, run.collect_share);
    let mut echo = AckEcho::new(player.ship_id);
    let (path, check) = match run.follow {
        Follow::StreamWorld => (WORLD_STREAM, Check::Chain),
        _ => (AREA_STREAM, Check::Loose),
    };
    let open_at = run.start + run.poll.mul_f64(rng.random_range(0.0..1.0));
    tokio::time::sleep_until(open_at.into()).await;
    for _ in 0..run.max_ticks() {
        if Instant::now() >= run.until {
            break;
        }
        let sent = Instant::now();
        echo.forget();
        let opened = event_stream::open(
            run.stream_addr(index),
            path,
            &player.cookie,
            world.version(),
            REQUEST_TIMEOUT,
        )
        .await;
        let record = run.measuring(sent);
        let mut events = match opened {
            Ok(Opened::Stream(events)) => {
                if record {
                    outcome.world.answered(STREAM_OPEN, 200, sent.elapsed());
                }
                Counters::add(&run.counters.stream_opens, 1);
                events
            }
            Ok(Opened::Refused(status)) => {
                if record {
                    outcome
                        .world
                        .answered(STREAM_OPEN, status.as_u16(), sent.elapsed());
                }
                pause(run, REOPEN_DELAY).await;
                continue;
            }
            Err(error) => {
                if record {
                    outcome.world.failed(STREAM_OPEN, &error);
                }
                pause(run, REOPEN_DELAY).await;
                continue;
            }
        };
        let mut parser = SseParser::default();
        loop {
            tokio::select! {
                chunk = events.next_chunk() => match chunk {
                    Ok(Some(bytes)) => {
                        Counters::add(&run.counters.world_bytes, bytes.len() as u64);
                        let events = parser.feed(&bytes);
                        let now = Instant::now();
                        for delay in events.iter().filter_map(|e| echo.on_event(e, now)) {
                            if run.measuring(now) {
                                record_us(&mut outcome.ack_to_event_us, delay);
                            }
                        }
                        let applied = events
                            .iter()
                            .all(|event| apply_event(run, &mut world, event, check, &mut outcome));
                        if !applied {
                            // The copy is lost (its version is forgotten): reopen for a
                            // fresh snapshot.
                            break;
                        }
                    }
                    // Cut off or failed: reopen from the version known.
                    Ok(None) | Err(_) => break,
                },
                () = tokio::time::sleep_until(actor.next.into()) => {
                    let due = actor.next;
                    let record = run.measuring(due);
                    if record {
                        record_us(&mut outcome.lateness_us, due.elapsed());
                    }
                    if let Some(at) = actor.act(&mut api, &world, rng, &mut outcome, record).await {
                        echo.acked(at);
                    }
                }
                () = tokio::time::sleep_until(run.until.into()) => return outcome,
            }
        }
    }
    outcome
}

async fn pause(run: &SyncRun, delay: Duration) {
    tokio::time::sleep_until((Instant::now() + delay).min(run.until).into()).await;
}

/// Applies one stream event to the copy; false when the copy is lost and the stream must
/// be reopened without a version.
fn apply_event(
    run: &SyncRun,
    world: &mut LocalWorld,
    event: &SseEvent,
    check: Check,
    outcome: &mut Outcome,
) -> bool {
    if event.name != "snapshot" && event.name != "delta" {
        return true;
    }
    Counters::add(&run.counters.world_reads, 1);
    if run.light_streams && event.name == "delta" && world.version().is_some() {
        let Some((version, current_time)) = light_delta(event) else {
            Counters::add(&run.counters.sync_errors, 1);
            world.reset();
            return false;
        };
        world.advance(version);
        record_lag(run, current_time, outcome);
        return true;
    }
    let body = match SyncBody::parse(&event.data) {
        Ok(body) => body,
        Err(_) => {
            Counters::add(&run.counters.sync_errors, 1);
            world.reset();
            return false;
        }
    };
    let current_time = body.current_time;
    if world.apply(body, check).is_err() {
        Counters::add(&run.counters.sync_errors, 1);
        return false;
    }
    if event.name == "delta" {
        record_lag(run, current_time, outcome);
    }
    true
}

/// Records a delta's delay (server time `current_time` to now) inside the window.
fn record_lag(run: &SyncRun, current_time: i64, outcome: &mut Outcome) {
    if run.measuring(Instant::now()) {
        let lag_ms = now_ms().saturating_sub(current_time).max(0);
        record_us(
            &mut outcome.event_lag_us,
            Duration::from_millis(lag_ms.unsigned_abs()),
        );
    }
}

/// A delta's version (its SSE `id`) and `currentTime`, read without parsing its JSON: the
/// server writes `"currentTime":<digits>` once per body (docs/world-sync.md). `None` when
/// either is missing.
pub fn light_delta(event: &SseEvent) -> Option<(u64, i64)> {
    let version = event.id.as_deref()?.parse().ok()?;
    const KEY: &[u8] = b"\"currentTime\":";
    // The server writes it last, so the search starts from the end.
    let at = event.data.windows(KEY.len()).rposition(|w| w == KEY)? + KEY.len();
    let digits = &event.data[at..];
    let digits = digits.trim_ascii_start();
    let end = digits
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    let current_time = std::str::from_utf8(&digits[..end]).ok()?.parse().ok()?;
    Some((version, current_time))
}

/// Unix ms now (the server on this machine uses the same clock).
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(id: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            id: id.map(str::to_owned),
            name: "delta".to_owned(),
            data: data.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_light_delta_reads_the_id_and_current_time_only() {
        let event = delta(
            Some("1796148973462001"),
            r#"{"worldSize":{"width":500,"height":500},"version":1796148973462001,"since":1796148973462000,"full":false,"upserted":[{"id":1,"type":"player_ship","x":250,"y":250,"speed":10,"angle":30,"last_position_update_ms":1796148975943}],"removed":[],"currentTime": 1796148978964}"#,
        );
        assert_eq!(light_delta(&event), Some((1796148973462001, 1796148978964)));
        let plain = delta(Some("7"), r#"{"version":7,"currentTime":1796148978964}"#);
        assert_eq!(light_delta(&plain), Some((7, 1796148978964)));
        assert_eq!(light_delta(&delta(None, r#"{"currentTime":1}"#)), None);
        assert_eq!(light_delta(&delta(Some("7"), r#"{"version":7}"#)), None);
    }
}
