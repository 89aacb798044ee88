//! One handler per endpoint, each thin: parse the request, call a use case of
//! [`game_domain::game::Game`], answer JSON. Rules and their errors live in the domain.

use game_domain::accounts::hash_token;
use game_domain::error::{AppError, GameError};
use game_domain::space_object::ObjectId;
use game_domain::tech_tree::ResearchType;
use game_domain::user::UserId;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{HeaderMap, Request, Response};
use serde::Deserialize;

use crate::account_handlers;
use crate::app::App;
use crate::backend::Backend;
use crate::metrics::{self, Exposition};
use crate::response::bodies::{
    Collected, NavigateBody, Navigated, Probe, SUCCESS, SessionBody, Sync,
};
use crate::response::{ApiError, Body, full, json, parse_json, read_body};
use crate::router::Route;
use crate::session;
use crate::world_stream;

/// `{type}` of trigger-research.
#[derive(Debug, Deserialize)]
struct ResearchBody {
    #[serde(rename = "type")]
    kind: String,
}

/// `{objectId}` of collect; checked by hand for the original's error message.
#[derive(Debug, Deserialize)]
struct CollectBody {
    #[serde(rename = "objectId")]
    object_id: Option<serde_json::Value>,
}

/// Answers one routed request.
pub async fn handle<R: Backend>(
    app: &App<R>,
    route: Route,
    request: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let game = &app.game;
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    match route {
        Route::Register => account_handlers::register(app, &parts, body).await,
        Route::Login => account_handlers::login(app, &parts, body).await,
        Route::Logout => {
            if let Some(token) = app.sessions.token(headers) {
                game.logout(token).await?;
                app.streams.close_session(&hash_token(token));
                // Edges end that session's streams too (a full queue drops the notice:
                // those streams then end at the session's expiry).
                if let Some(notices) = &app.session_notices
                    && notices.try_send(hash_token(token)).is_err()
                {
                    tracing::warn!("relay: a logout could not be queued for the edges");
                }
            }
            Ok(with_cookie(
                json(&SUCCESS),
                session::clear_cookie(app.secure_cookies),
            ))
        }
        Route::Session => {
            let session = game.session(app.sessions.token(headers)).await?;
            Ok(json(&SessionBody::of(&session)))
        }
        Route::World => {
            authenticate(app, headers).await?;
            match since(parts.uri.query())? {
                Some(version) => Ok(json(&Sync::of(&game.world_since(version).await?))),
                None => crate::world_body::answer(app).await,
            }
        }
        Route::WorldEvents => {
            let last_event_id = headers
                .get("last-event-id")
                .and_then(|value| value.to_str().ok());
            let (radius, max_radius) = app.interest_radius;
            let mode = world_stream::open::mode(parts.uri.query(), radius, max_radius)?;
            world_stream::open::open(
                app,
                app.sessions.token(headers),
                mode,
                world_stream::event::last_event_id(last_event_id),
            )
            .await
        }
        Route::UserStats => {
            let user = authenticate(app, headers).await?;
            Ok(json(&game.user_stats(user).await?))
        }
        Route::ShipStats => {
            let user = authenticate(app, headers).await?;
            Ok(json(&game.ship_stats(user).await?))
        }
        Route::TechTree => {
            let user = authenticate(app, headers).await?;
            Ok(json(&game.tech_tree(user).await?))
        }
        Route::TriggerResearch => {
            let user = authenticate(app, headers).await?;
            let research: ResearchBody = parse_json(&read_body(body, app.request_timeout).await?)?;
            // The wire name is the client's: an unknown one is a 400, like the rules say.
            let kind = ResearchType::parse(&research.kind)
                .ok_or(AppError::Game(GameError::InvalidResearchType))?;
            game.trigger_research(user, kind).await?;
            Ok(json(&SUCCESS))
        }
        Route::Navigate => {
            let user = authenticate(app, headers).await?;
            let request: NavigateBody = parse_json(&read_body(body, app.request_timeout).await?)?;
            let outcome = game.navigate(user, request.into()).await?;
            Ok(json(&Navigated::from(outcome)))
        }
        Route::Collect => {
            let user = authenticate(app, headers).await?;
            let collect: CollectBody = parse_json(&read_body(body, app.request_timeout).await?)?;
            let object_id = object_id(collect.object_id)?;
            let outcome = game.collect(user, object_id).await?;
            Ok(json(&Collected::from(outcome)))
        }
        Route::Healthz => Ok(json(&Probe { status: "ok" })),
        Route::Readyz => {
            if app.lifecycle.is_shutting_down() {
                return Err(ApiError::not_ready("shutting down"));
            }
            app.lease
                .check()
                .map_err(|error| ApiError::lease_refused(&error))?;
            game.repo()
                .check_ready()
                .await
                .map_err(ApiError::not_ready)?;
            Ok(json(&Probe { status: "ready" }))
        }
        Route::Metrics => metrics_page(app),
        Route::OpenApi => Ok(crate::openapi::response()),
    }
}

async fn authenticate<R: Backend>(app: &App<R>, headers: &HeaderMap) -> Result<UserId, ApiError> {
    Ok(app.game.authenticate(app.sessions.token(headers)).await?)
}

/// The `since` query parameter of `/api/world`: absent, or a whole number.
fn since(query: Option<&str>) -> Result<Option<u64>, ApiError> {
    let Some(value) = query
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("since="))
    else {
        return Ok(None);
    };
    value.parse().map(Some).map_err(|_| {
        ApiError::new(
            hyper::StatusCode::BAD_REQUEST,
            "invalid_since",
            "since must be a world version (a whole number)",
        )
    })
}

/// An integer `objectId`; anything else (absent, null, float, string) is the original's
/// "Missing or invalid object ID".
fn object_id(value: Option<serde_json::Value>) -> Result<ObjectId, ApiError> {
    value
        .as_ref()
        .and_then(serde_json::Value::as_i64)
        .ok_or_else(ApiError::invalid_object_id)
}

fn with_cookie(mut response: Response<Body>, cookie: HeaderValue) -> Response<Body> {
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}

fn metrics_page<R: Backend>(app: &App<R>) -> Result<Response<Body>, ApiError> {
    let mut out = Exposition::default();
    app.http_metrics.write(&mut out);
    out.gauge(
        "spacewars_http_requests_in_flight",
        "Requests being handled now.",
        app.lifecycle.in_flight(),
    );
    app.game.repo().write_metrics(&mut out);
    app.limits.write_metrics(&mut out);
    world_stream::metrics::write_metrics(&app.streams, &mut out);
    out.gauge(
        "spacewars_lease_current",
        "1 while this process holds the database lease within its own deadline, else 0 \
         (game requests are answered 503 lease_expired or lease_lost).",
        i64::from(app.lease.check().is_ok()),
    );
    app.stream_quota.write_metrics(&mut out);
    out.counter(
        "spacewars_session_forged_total",
        "Session cookies refused before any lookup: not shaped like one, or a bad MAC.",
        app.sessions.forged(),
    );
    let page = out.finish().map_err(|error| {
        tracing::error!(%error, "encoding the metrics page failed");
        ApiError::internal()
    })?;
    let mut response = Response::new(full(page));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(metrics::CONTENT_TYPE),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn object_ids_must_be_integers() {
        assert_eq!(object_id(Some(json!(7))), Ok(7));
        assert_eq!(object_id(Some(json!(-3))), Ok(-3));
        for bad in [
            json!(null),
            json!(7.5),
            json!("7"),
            json!([7]),
            json!(u64::MAX),
        ] {
            assert_eq!(
                object_id(Some(bad)).expect_err("invalid").code,
                "invalid_object_id"
            );
        }
        assert!(object_id(None).is_err());
    }
}
