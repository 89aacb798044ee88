//! The two load shapes: a closed loop hammering one route, and polling players.
//!
//! Every virtual client owns one keep-alive connection. Both loops stop by themselves at
//! their deadline or their request budget, whichever comes first.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hyper::Method;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::cpu::CoresUsed;
use crate::report::Recorder;
use spacewars_harness::aim::{COLLECT_ATTEMPT_RANGE, heading, nearest_collectable, ship_position};
use spacewars_harness::api::{Answer, Api, decode};
use spacewars_harness::http_client::{Connection, Reply, TransportError};
use spacewars_harness::player::{Player, REQUEST_TIMEOUT};

/// A closed loop: `connections` clients each send the next request as soon as the last
/// one is answered.
#[derive(Debug, Clone)]
pub struct ClosedLoop {
    /// Server address.
    pub addr: SocketAddr,
    /// Cookie sent with every request.
    pub cookie: Option<String>,
    /// Route to request (GET).
    pub path: &'static str,
    /// Concurrent connections.
    pub connections: usize,
    /// Unrecorded time before measuring.
    pub warmup: Duration,
    /// Measured time.
    pub duration: Duration,
    /// Upper bound on requests over the whole run (all connections).
    pub max_requests: u64,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Outcomes of requests started inside the measured window.
    pub recorder: Recorder,
    /// Length of the measured window.
    pub elapsed: Duration,
    /// Cores the client and the server used meanwhile (filled in by the caller).
    pub cores: CoresUsed,
}

/// Route label of the closed loop's requests.
pub const WORLD_ROUTE: &str = "GET /api/world";

/// Runs a closed loop: `warmup` unrecorded, then `duration` measured.
pub async fn closed_loop(load: &ClosedLoop) -> Measured {
    let start = Instant::now();
    let measure_from = start + load.warmup;
    let measure_until = measure_from + load.duration;
    let per_connection = (load.max_requests / load.connections.max(1) as u64).max(1);
    let tasks: Vec<_> = (0..load.connections)
        .map(|_| {
            let load = load.clone();
            tokio::spawn(async move {
                let mut conn = Connection::new(load.addr, REQUEST_TIMEOUT);
                conn.set_cookie(load.cookie.clone());
                let mut recorder = Recorder::default();
                for _ in 0..per_connection {
                    let sent = Instant::now();
                    if sent >= measure_until {
                        break;
                    }
                    let result = conn.request(Method::GET, load.path, None).await;
                    if sent >= measure_from {
                        record(&mut recorder, WORLD_ROUTE, sent, &result);
                    }
                }
                recorder
            })
        })
        .collect();
    let mut recorder = Recorder::default();
    for task in tasks {
        if let Ok(part) = task.await {
            recorder.merge(&part);
        }
    }
    let finished = Instant::now().min(measure_until);
    Measured {
        recorder,
        elapsed: finished.saturating_duration_since(measure_from),
        cores: CoresUsed::default(),
    }
}

fn record(
    recorder: &mut Recorder,
    route: &'static str,
    sent: Instant,
    result: &Result<Reply, TransportError>,
) {
    match result {
        Ok(reply) => recorder.answered(route, reply.status.as_u16(), sent.elapsed()),
        Err(error) => recorder.failed(route, error),
    }
}

/// Players polling like the browser client: every `poll` (±20 %) a world read, then a mix
/// of user-stats, collect (when something is in range) and navigate.
#[derive(Debug, Clone)]
pub struct Players {
    /// Server address.
    pub addr: SocketAddr,
    /// Logged-in players, one connection each.
    pub players: Vec<Player>,
    /// Mean time between a player's polls.
    pub poll: Duration,
    /// How long to run.
    pub duration: Duration,
    /// Seed of the jitter and the choices.
    pub seed: u64,
}

/// Runs the players' loops until `duration` has passed.
pub async fn players(load: &Players) -> Measured {
    let start = Instant::now();
    let until = start + load.duration;
    // A player polls at most every 0.8 × poll; the budget only guards against a runaway.
    let max_ticks =
        (load.duration.as_secs_f64() / (load.poll.as_secs_f64() * 0.8)).ceil() as u64 + 1;
    let tasks: Vec<_> = load
        .players
        .iter()
        .enumerate()
        .map(|(i, player)| {
            let mut api = player.api(load.addr);
            let ship_id = player.ship_id;
            let poll = load.poll;
            let mut rng = StdRng::seed_from_u64(load.seed.wrapping_add(i as u64));
            tokio::spawn(async move {
                let mut recorder = Recorder::default();
                // Spread the players over the first poll interval.
                let mut next = start + poll.mul_f64(rng.random_range(0.0..1.0));
                for _ in 0..max_ticks {
                    if next >= until {
                        break;
                    }
                    tokio::time::sleep_until(next.into()).await;
                    player_tick(&mut api, ship_id, &mut rng, &mut recorder).await;
                    next += poll.mul_f64(rng.random_range(0.8..1.2));
                }
                recorder
            })
        })
        .collect();
    let mut recorder = Recorder::default();
    for task in tasks {
        if let Ok(part) = task.await {
            recorder.merge(&part);
        }
    }
    Measured {
        recorder,
        elapsed: start.elapsed(),
        cores: CoresUsed::default(),
    }
}

async fn player_tick(api: &mut Api, ship_id: i64, rng: &mut StdRng, recorder: &mut Recorder) {
    let sent = Instant::now();
    let result = api.raw(Method::GET, "/api/world", None).await;
    record(recorder, WORLD_ROUTE, sent, &result);
    let world = match result.as_ref().map(decode) {
        Ok(Answer::Ok(world)) => Some(world),
        _ => None,
    };
    if rng.random_bool(0.5) {
        let sent = Instant::now();
        let result = api.raw(Method::GET, "/api/user-stats", None).await;
        record(recorder, "GET /api/user-stats", sent, &result);
    }
    let Some(world) = world else { return };
    let Some((target, distance)) = nearest_collectable(&world, ship_id) else {
        return;
    };
    if distance <= COLLECT_ATTEMPT_RANGE {
        if rng.random_bool(0.5) {
            let body = format!("{{\"objectId\":{}}}", target.id);
            let sent = Instant::now();
            let result = api
                .raw(Method::POST, "/api/collect", Some(body.as_bytes()))
                .await;
            record(recorder, "POST /api/collect", sent, &result);
        }
    } else if rng.random_bool(0.5)
        && let Some(from) = ship_position(&world, ship_id)
    {
        let to = target.position_at(world.current_time, world.world_size);
        let angle = heading(world.world_size, from, to);
        let speed = rng.random_range(5.0..25.0);
        let body = format!("{{\"speed\":{speed},\"angle\":{angle}}}");
        let sent = Instant::now();
        let result = api
            .raw(Method::POST, "/api/navigate", Some(body.as_bytes()))
            .await;
        record(recorder, "POST /api/navigate", sent, &result);
    }
}
