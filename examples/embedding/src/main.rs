//! Embedding the Spacewars engine without game-server: one player on a SQLite file.
//!
//! ```text
//! cargo run -p spacewars-embedding -- game.db                 # play, then shut down cleanly
//! cargo run -p spacewars-embedding -- game.db --keep-playing  # play until SIGTERM / Ctrl-C
//! cargo run -p spacewars-embedding -- game.db --drop          # play, then drop the engine
//! cargo run -p spacewars-embedding -- game.db --lease-ttl-ms 500
//! ```
//!
//! The first run registers the player `pilot` and steers its ship; every later run logs in,
//! prints the course the previous run left, and steers again (the course depends on the
//! run). With `--keep-playing` it steers every 20 ms until SIGTERM or SIGINT (`docker
//! stop`, Ctrl-C), then shuts down: the next run finds the last course it printed. With
//! `--drop` the engine is dropped without `shutdown()`: the engine says on stderr that the
//! change is lost, and the next run finds the course from before.
//!
//! A run without `--keep-playing` then subscribes to the area around its ship through the
//! engine's world fan-out (what game-server streams as Server-Sent Events) and prints the
//! course the area's opening shows.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use game_cache::engine::{Engine, EngineOptions, EngineParts, StopCause};
use game_cache::fanout::{AreaEvent, Event, FanoutHub, Follow, HubLimits};
use game_cache::password::{Argon2Hasher, Argon2Params, HashPool};
use game_cache::{CacheConfig, CachedRepo};
use game_domain::clock::SystemClock;
use game_domain::error::AppError;
use game_domain::error::GameError;
use game_domain::game::Game;
use game_domain::navigate::NavigateRequest;
use game_domain::user::UserId;

const PLAYER: &str = "pilot";
const PASSWORD: &str = "correct horse battery staple";

struct Args {
    database: String,
    drop_engine: bool,
    keep_playing: bool,
    lease_ttl: Option<Duration>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = std::env::args().skip(1);
    let mut parsed = Args {
        database: String::new(),
        drop_engine: false,
        keep_playing: false,
        lease_ttl: None,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--drop" => parsed.drop_engine = true,
            "--keep-playing" => parsed.keep_playing = true,
            "--lease-ttl-ms" => {
                let ms = args.next().context("--lease-ttl-ms needs a value")?;
                parsed.lease_ttl = Some(Duration::from_millis(ms.parse()?));
            }
            path if parsed.database.is_empty() => parsed.database = path.to_owned(),
            other => bail!("unexpected argument {other:?}"),
        }
    }
    if parsed.database.is_empty() {
        bail!(
            "usage: spacewars-embedding <sqlite-file> [--keep-playing | --drop] [--lease-ttl-ms N]"
        );
    }
    Ok(parsed)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let mut options = EngineOptions::new(&args.database, "spacewars-embedding example");
    if let Some(ttl) = args.lease_ttl {
        options.lease.ttl = ttl;
        options.lease.poll = ttl / 10;
    }
    // argon2id at the recommended cost, on one hashing thread with a queue of 16 jobs.
    let hasher = Argon2Hasher::new(Argon2Params::default(), HashPool::new(1, 16)?).await?;
    let parts = EngineParts {
        clock: Arc::new(SystemClock),
        hasher: Arc::new(hasher),
    };
    let engine = Engine::<CachedRepo>::open(options, CacheConfig::default(), parts).await?;

    // The world's changes near our ship, as the game server's streams get them.
    let limits = HubLimits {
        max_streams: 4,
        buffer: 16,
    };
    let hub = engine.fanout(limits, Duration::from_millis(250));
    if args.drop_engine {
        let played = play(engine.game(), &hub, false).await;
        hub.close_all();
        println!("dropping the engine without shutdown");
        drop(engine);
        return played;
    }
    // Play until done, SIGTERM, SIGINT or a lost lease; then the final flush and the lease
    // released, on every one of those paths.
    let game = engine.game().clone();
    let stopped = engine.run_until(play(&game, &hub, args.keep_playing)).await;
    hub.close_all();
    match &stopped.cause {
        StopCause::Signal(signal) => println!("stopped by {signal}"),
        StopCause::LeaseLost => println!("another process took the database over"),
        StopCause::Finished(_) => {}
    }
    stopped.shutdown?;
    println!("shut down cleanly");
    match stopped.cause {
        StopCause::Finished(played) => played,
        StopCause::Signal(_) | StopCause::LeaseLost => Ok(()),
    }
}

/// Logs in (registering on the first run), prints the course found, sets the next one;
/// then either prints it as the area around the ship shows it, or (with `keep_playing`)
/// sets the next one every 20 ms until stopped.
async fn play(game: &Game<CachedRepo>, hub: &FanoutHub, keep_playing: bool) -> anyhow::Result<()> {
    let token = match game.login(PLAYER, PASSWORD).await {
        Ok(token) => token,
        Err(AppError::Game(GameError::InvalidCredentials)) => {
            println!("first run: registering {PLAYER}");
            game.register(PLAYER, PASSWORD).await?.token
        }
        Err(other) => return Err(other.into()),
    };
    let user = game.authenticate(Some(&token)).await?;
    let ship = game.ship_stats(user).await?;
    println!("found course: speed {} angle {}", ship.speed, ship.angle);
    let (mut speed, mut angle) = steer(game, user, ship.speed, ship.angle).await?;
    if !keep_playing {
        return show_area(game, hub, user).await;
    }
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        (speed, angle) = steer(game, user, speed, angle).await?;
    }
}

/// Turns the ship 10 degrees further and runs it one unit faster (up to 5); prints the
/// course once the game acknowledged it.
async fn steer(
    game: &Game<CachedRepo>,
    user: UserId,
    speed: f64,
    angle: f64,
) -> anyhow::Result<(f64, f64)> {
    let next = NavigateRequest {
        speed: Some((speed + 1.0).min(5.0)),
        angle: Some((angle + 10.0) % 360.0),
    };
    let set = game.navigate(user, next).await?;
    println!("set course: speed {} angle {}", set.speed, set.angle);
    Ok((set.speed, set.angle))
}

/// Follows the area around the player's ship and prints the ship's course as the area's
/// opening (its first event) shows it.
async fn show_area(game: &Game<CachedRepo>, hub: &FanoutHub, user: UserId) -> anyhow::Result<()> {
    let ship_id = game.ship_of(user).await?;
    let mut area = hub.subscribe(
        String::new(),
        i64::MAX,
        Follow::Area {
            ship: ship_id,
            radius: 100.0,
        },
    )?;
    if !hub.open_area(area.id, &game.world_snapshot().await?, game.now_ms()) {
        bail!("the area around the ship could not be opened");
    }
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), area.events.recv())
            .await
            .context("no event from the area")?;
        if let Some(Event::Area(AreaEvent::Snapshot(snapshot))) = &event
            && let Some(ship) = snapshot.objects.iter().find(|o| o.id == ship_id)
        {
            println!("area saw: speed {} angle {}", ship.speed, ship.angle);
            return Ok(());
        }
        if event.is_none() {
            bail!("the area subscription ended");
        }
    }
}
