//! `POST /api/register` and `POST /api/login`: the two endpoints that cost a password hash.
//!
//! Each first reads the body and checks the name by the username rules, so a name that
//! breaks them (a 15,000-character one included) is refused with 400 before any rate
//! limiter counts it; then the rate limits; then a place in the hashing pool; then the use
//! case. A success sets the session cookie and the known-device cookie (docs/limits.md).

use std::net::IpAddr;
use std::time::Instant;

use game_cache::password::{Reservation, with_deadline};
use game_domain::error::{AppError, GameError};
use game_domain::username::{login_name, new_username, username_key};
use hyper::Response;
use hyper::body::Incoming;
use hyper::header;
use hyper::http::request::Parts;
use serde::Deserialize;

use crate::app::App;
use crate::backend::Backend;
use crate::limits::client::RequestInfo;
use crate::limits::rate::{LoginAttempt, RateLimited};
use crate::response::bodies::SUCCESS;
use crate::response::{ApiError, Body, json, parse_json, read_body};

/// `{username, password}` of register and login.
#[derive(Debug, Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

/// Registers a player and signs it in.
pub async fn register<R: Backend>(
    app: &App<R>,
    parts: &Parts,
    body: Incoming,
) -> Result<Response<Body>, ApiError> {
    let credentials: Credentials = parse_json(&read_body(body, app.request_timeout).await?)?;
    let name = new_username(&credentials.username).map_err(refused_name)?;
    app.limits
        .rates
        .check_register(client_address(app, parts))
        .map_err(limited)?;
    let reservation = reserve_hashing(app)?;
    let register = app.game.register(&name, &credentials.password);
    let registered = with_deadline(deadline(app, parts), Some(reservation), register).await?;
    Ok(signed_in(
        app,
        &registered.token,
        &username_key(&name),
        None,
    ))
}

/// Checks credentials and signs the player in.
pub async fn login<R: Backend>(
    app: &App<R>,
    parts: &Parts,
    body: Incoming,
) -> Result<Response<Body>, ApiError> {
    let credentials: Credentials = parse_json(&read_body(body, app.request_timeout).await?)?;
    let name = login_name(&credentials.username).map_err(refused_name)?;
    let name_key = username_key(&name);
    let rates = &app.limits.rates;
    let device = app.devices.recognise(&parts.headers, &name_key);
    rates
        .check_login(LoginAttempt {
            address: client_address(app, parts),
            account: rates.account(&name_key),
            device: device.map(|id| rates.device(id)),
        })
        .map_err(limited)?;
    let reservation = reserve_hashing(app)?;
    let login = app.game.login(&name, &credentials.password);
    let token = with_deadline(deadline(app, parts), Some(reservation), login).await?;
    Ok(signed_in(app, &token, &name_key, device))
}

/// 200 with the session cookie, then the known-device cookie for the account `name_key`
/// (the device keeps its id, or gets a fresh random one).
fn signed_in<R>(app: &App<R>, token: &str, name_key: &str, device: Option<u128>) -> Response<Body> {
    let mut response = json(&SUCCESS);
    let headers = response.headers_mut();
    headers.insert(
        header::SET_COOKIE,
        app.sessions.set_cookie(token, app.secure_cookies),
    );
    let device = device.unwrap_or_else(|| app.devices.new_id());
    headers.append(
        header::SET_COOKIE,
        app.devices.set_cookie(device, name_key, app.secure_cookies),
    );
    response
}

/// The client address the rate limits count by.
fn client_address<R>(app: &App<R>, parts: &Parts) -> IpAddr {
    let peer = parts
        .extensions
        .get::<RequestInfo>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |info| info.peer.ip());
    app.limits.client_address(&parts.headers, peer)
}

/// When the request's time is up: its start plus the request timeout.
fn deadline<R>(app: &App<R>, parts: &Parts) -> Instant {
    let started = parts
        .extensions
        .get::<RequestInfo>()
        .map_or_else(Instant::now, |info| info.started);
    started + app.request_timeout
}

/// A place in the hashing pool, taken before the request does any other work.
fn reserve_hashing<R>(app: &App<R>) -> Result<Reservation, ApiError> {
    app.limits.hash_pool.reserve().map_err(|_| ApiError::busy())
}

/// 400 with the username rule's code.
fn refused_name(error: GameError) -> ApiError {
    AppError::from(error).into()
}

fn limited(refused: RateLimited) -> ApiError {
    ApiError::rate_limited(refused.retry_after)
}
