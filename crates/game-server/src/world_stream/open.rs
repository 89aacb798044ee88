//! Opening one stream: authenticate, choose the mode, register with the hub, send the
//! opening, answer with the streaming body.

use game_cache::fanout::{Follow, Refused};
use game_domain::accounts::hash_token;
use game_domain::views::WorldSync;
use http_body_util::Either;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

use super::body::EventBody;
use super::event;
use super::quota::Capped;
use crate::app::App;
use crate::backend::Backend;
use crate::response::bodies::{Delta, FullWorld};
use crate::response::{ApiError, Body, to_json};

/// What a stream follows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Everything in the world (`?area=world`).
    World,
    /// What is within this radius of the player's ship (the default).
    Area(f64),
}

/// The mode a query asks for: `area=world`, or `radius=<units>` (1 up to `max`), or
/// the default radius.
pub fn mode(query: Option<&str>, default: f64, max: f64) -> Result<Mode, ApiError> {
    let mut mode = Mode::Area(default);
    for pair in query.unwrap_or_default().split('&') {
        match pair.split_once('=') {
            Some(("area", "world")) => return Ok(Mode::World),
            Some(("radius", value)) => match value.parse::<f64>() {
                Ok(radius) if radius.is_finite() && (1.0..=max).contains(&radius) => {
                    mode = Mode::Area(radius);
                }
                _ => {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_radius",
                        format!("radius must be a number from 1 to {max}"),
                    ));
                }
            },
            _ => {}
        }
    }
    Ok(mode)
}

/// Answers `GET /api/world/events` for the session `token`: a whole-world stream resuming
/// after `last_event_id` when the client sent one, or an area stream (which always opens
/// with what is near now).
pub async fn open<R: Backend>(
    app: &App<R>,
    token: Option<&str>,
    mode: Mode,
    last_event_id: Option<u64>,
) -> Result<Response<Body>, ApiError> {
    let session = app.game.authenticate_session(token).await?;
    if app.game.repo().world_versions().is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "stream_unavailable",
            "This server does not stream the world (--repo db); poll /api/world instead",
        ));
    }
    // An area that holds the whole world (the default radius in the default world) is
    // served as a whole-world stream: the same shared bytes, none of the per-stream work.
    let size = app.game.repo().world_size();
    let farthest = (size.width / 2.0).hypot(size.height / 2.0);
    let mode = match mode {
        Mode::Area(radius) if radius >= farthest => Mode::World,
        other => other,
    };
    let area = match mode {
        Mode::World => None,
        Mode::Area(radius) => Some(radius),
    };
    app.game
        .repo()
        .prepare_stream(session.user_id, area)
        .await?;
    let follow = match mode {
        Mode::World => Follow::World,
        Mode::Area(radius) => Follow::Area {
            ship: app.game.ship_of(session.user_id).await?,
            radius,
        },
    };
    // Register before reading the world: every batch sent from now on starts at or
    // before the opening's version, so the client misses nothing (a whole-world body
    // skips batches the opening covers; an area stream replays them after its opening).
    let subscription = app
        .streams
        .subscribe(
            hash_token(token.unwrap_or_default()),
            session.expires_ms,
            follow,
        )
        .map_err(|refused| match refused {
            Refused::TooMany => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_streams",
                "Too many world streams are open; poll /api/world or try again later",
            ),
            Refused::Closed => ApiError::shutting_down(),
        })?;
    let mut opening = event::retry().to_vec();
    let known = match mode {
        Mode::World => {
            let (version, event) = world_opening(app, last_event_id).await?;
            opening.extend_from_slice(&event);
            version
        }
        Mode::Area(_) => {
            let world = app.game.world_snapshot().await?;
            if !app
                .streams
                .open_area(subscription.id, &world, app.game.now_ms())
            {
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "stream_ended",
                    "The stream could not start; try again",
                ));
            }
            // Area events are the stream's own: the body forwards them all.
            0
        }
    };
    // Counted against the session's and the player's caps from here (closing their oldest
    // stream if need be); the body ends when its place is taken back.
    let ticket = app
        .stream_quota
        .open(&hash_token(token.unwrap_or_default()), session.user_id);
    let body = Capped::new(
        EventBody::new(
            opening.into(),
            known,
            subscription.events,
            app.stream_write_interval,
        ),
        ticket,
    );
    let mut response = Response::new(Either::Right(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(event::CONTENT_TYPE),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Tell buffering reverse proxies (nginx) to pass events through at once.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// A whole-world stream's opening: a delta from `last_event_id` when the log still holds
/// it, else a snapshot; with the version it leads to.
async fn world_opening<R: Backend>(
    app: &App<R>,
    last_event_id: Option<u64>,
) -> Result<(u64, hyper::body::Bytes), ApiError> {
    let (version, name, json) = match last_event_id {
        Some(since) => match app.game.world_since(since).await? {
            WorldSync::Delta(delta) => (delta.version, "delta", to_json(&Delta::of(&delta))),
            WorldSync::Full(world) => (world.version, "snapshot", to_json(&FullWorld::of(&world))),
        },
        None => {
            let world = app.game.world().await?;
            (world.version, "snapshot", to_json(&FullWorld::of(&world)))
        }
    };
    let json = json.map_err(|error| {
        tracing::error!(%error, "world stream: serialisation failed");
        ApiError::internal()
    })?;
    Ok((version, event::event(version, name, &json)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_chooses_the_mode() {
        assert_eq!(mode(None, 600.0, 2_000.0), Ok(Mode::Area(600.0)));
        assert_eq!(
            mode(Some("radius=250"), 600.0, 2_000.0),
            Ok(Mode::Area(250.0))
        );
        assert_eq!(
            mode(Some("x=1&area=world"), 600.0, 2_000.0),
            Ok(Mode::World)
        );
        for bad in [
            "radius=0",
            "radius=2001",
            "radius=NaN",
            "radius=",
            "radius=inf",
        ] {
            assert_eq!(
                mode(Some(bad), 600.0, 2_000.0).map_err(|e| e.code),
                Err("invalid_radius"),
                "{bad}"
            );
        }
    }
}
