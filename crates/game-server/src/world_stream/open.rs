//! Opening one stream: authenticate, register with the hub, compute the opening event,
//! answer with the streaming body.

use game_domain::accounts::hash_token;
use game_domain::views::WorldSync;
use http_body_util::Either;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

use super::body::EventBody;
use super::event;
use super::hub::Refused;
use crate::app::App;
use crate::backend::Backend;
use crate::response::{ApiError, Body, to_json};

/// Answers `GET /api/world/events` for the session `token`, resuming after `last_event_id`
/// when the client sent one.
pub async fn open<R: Backend>(
    app: &App<R>,
    token: Option<&str>,
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
    // Register before reading the world: every batch sent from now on starts at or
    // before the opening's version, so the client misses nothing (batches the opening
    // already covers are skipped by the body).
    let queue = app
        .streams
        .subscribe(hash_token(token.unwrap_or_default()), session.expires_ms)
        .map_err(|refused| match refused {
            Refused::TooMany => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_streams",
                "Too many world streams are open; poll /api/world or try again later",
            ),
            Refused::Closed => ApiError::shutting_down(),
        })?;
    let (version, name, json) = match last_event_id {
        Some(since) => match app.game.world_since(since).await? {
            WorldSync::Delta(delta) => (delta.version, "delta", to_json(&delta)),
            WorldSync::Full(world) => (world.version, "snapshot", to_json(&world)),
        },
        None => {
            let mut world = app.game.world().await?;
            world.full = Some(true);
            (world.version, "snapshot", to_json(&world))
        }
    };
    let json = json.map_err(|error| {
        tracing::error!(%error, "world stream: serialisation failed");
        ApiError::internal()
    })?;
    let mut opening = event::retry().to_vec();
    opening.extend_from_slice(&event::event(version, name, &json));
    let body = EventBody::new(opening.into(), version, queue);
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
