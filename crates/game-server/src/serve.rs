//! The HTTP/1.1 connection loop and what wraps every request: admission while shutting
//! down, routing, the time limit, metrics and the access log line.
//!
//! Shutdown runs in two phases once the shutdown future resolves:
//! 1. the listener closes and
//!    [`Lifecycle::start_shutdown`](crate::shutdown::Lifecycle::start_shutdown) turns
//!    every new request, including those on open keep-alive connections, into 503
//!    `shutting_down` (`Connection: close`); requests already running finish (bounded by
//!    the grace period);
//! 2. every connection is told to close (idle ones close at once).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};

use crate::app::App;
use crate::backend::Backend;
use crate::config::Config;
use crate::error::ServerError;
use crate::handlers;
use crate::limits::busy_body::BusyBody;
use crate::limits::client::RequestInfo;
use crate::limits::connections::{Activity, Slot};
use crate::limits::stall::StallTimeout;
use crate::metrics::RouteLabel;
use crate::response::{ApiError, Body, MAX_BODY_BYTES, headers};
use crate::router;
use crate::shutdown::InFlight;
use crate::web;

/// How long idle connections get to close in phase 2.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// The sockets the server accepts on.
#[derive(Debug)]
pub struct Listeners {
    /// Game traffic (and every route), under the connection caps.
    pub game: TcpListener,
    /// `--ops-listen`: `/healthz`, `/readyz` and `/metrics` only, outside the caps.
    pub ops: Option<TcpListener>,
}

/// Serves `listeners` until `shutdown` resolves, then drains (see the module docs).
pub async fn serve<R: Backend>(
    listeners: Listeners,
    app: Arc<App<R>>,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) {
    let Listeners {
        game: listener,
        ops,
    } = listeners;
    let connections = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Over a cap: closed at once, before hyper sees it.
                    let Ok(slot) = app.limits.connections.admit(peer.ip()) else {
                        drop(stream);
                        continue;
                    };
                    spawn_connection(stream, peer, &app, &connections, Some(slot));
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Ok((stream, peer)) = accept_ops(ops.as_ref()) => {
                spawn_connection(stream, peer, &app, &connections, None);
            }
            () = &mut shutdown => break,
        }
    }
    // Refusing starts before the listener closes: a client that sees the port closed
    // must find its open keep-alive connections refusing too (the accept loop has ended,
    // so nothing new is taken meanwhile).
    app.lifecycle.start_shutdown();
    drop(ops);
    drop(listener);
    // Event streams never finish on their own: end them now, so their connections close
    // with the others instead of holding the drain.
    app.streams.close_all();
    tracing::info!(
        in_flight = app.lifecycle.in_flight(),
        "shutting down: listener closed, draining requests"
    );
    if tokio::time::timeout(grace, app.lifecycle.drained())
        .await
        .is_err()
    {
        tracing::warn!(
            in_flight = app.lifecycle.in_flight(),
            grace_ms = grace.as_millis(),
            "requests still running after the grace period"
        );
    }
    if tokio::time::timeout(CLOSE_TIMEOUT, connections.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not close in time");
    }
}

/// Binds the game listener (`--listen`) and the operations listener (`--ops-listen`).
pub(crate) async fn bind_listeners(config: &Config) -> Result<Listeners, ServerError> {
    let game = TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
    let ops = match config.limits.ops_listen {
        Some(addr) => {
            let ops = TcpListener::bind(addr)
                .await
                .map_err(|source| ServerError::Bind { addr, source })?;
            if let Ok(ops_addr) = ops.local_addr() {
                tracing::info!(%ops_addr, "operations endpoints listening");
            }
            Some(ops)
        }
        None => None,
    };
    Ok(Listeners { game, ops })
}

/// Accepts on the operations listener; never resolves without one.
async fn accept_ops(ops: Option<&TcpListener>) -> std::io::Result<(TcpStream, SocketAddr)> {
    match ops {
        Some(listener) => listener.accept().await,
        None => std::future::pending().await,
    }
}

/// Serves one connection in its own task. `slot` is its place under the connection caps
/// (`None` on the operations listener, which serves only the operations routes). A
/// connection must send its first request head within the first-request timeout (shorter
/// when it came in near the cap); later heads, and idle keep-alive time, get the
/// keep-alive timeout. It is closed when the caps evict it while idle, and when its client
/// reads nothing of an answer for the write stall timeout.
fn spawn_connection<R: Backend>(
    stream: TcpStream,
    peer: SocketAddr,
    app: &Arc<App<R>>,
    connections: &GracefulShutdown,
    slot: Option<Slot>,
) {
    let _ = stream.set_nodelay(true);
    let ops_only = slot.is_none();
    let activity = slot.as_ref().map(|slot| slot.activity().clone());
    let first_seen = Arc::new(AtomicBool::new(false));
    let seen = first_seen.clone();
    let service_app = app.clone();
    let service = service_fn(move |mut request: Request<hyper::body::Incoming>| {
        seen.store(true, Ordering::Relaxed);
        // Busy from the head until the answer is sent: eviction leaves it alone.
        let busy = activity.as_ref().map(Activity::begin);
        let app = service_app.clone();
        request.extensions_mut().insert(RequestInfo {
            peer,
            started: Instant::now(),
        });
        let no_store = headers::wants_no_store(request.uri().path());
        async move {
            let response = if ops_only && !is_ops_path(request.uri().path()) {
                ApiError::not_found().into_response()
            } else {
                answer(app, request).await
            };
            let response = headers::api_headers(no_store, response);
            Ok::<_, Infallible>(response.map(|body| BusyBody::new(body, busy)))
        }
    });
    let io = StallTimeout::new(stream, app.limits.write_stall_timeout);
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(app.limits.keep_alive_timeout)
        .serve_connection(TokioIo::new(io), service);
    let connection = connections.watch(connection);
    let under_pressure = slot.as_ref().is_some_and(Slot::under_pressure);
    let first_request_timeout = app.limits.first_request_timeout_for(under_pressure);
    tokio::spawn(async move {
        let no_first_request = async {
            tokio::time::sleep(first_request_timeout).await;
            if first_seen.load(Ordering::Relaxed) {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            ended = connection => if let Err(error) = ended {
                tracing::debug!(%error, "connection ended with an error");
            },
            () = no_first_request => tracing::debug!(%peer, "closed: no request head in time"),
            () = evicted(slot.as_ref()) => tracing::debug!(%peer, "closed: idle near the connection cap"),
        }
        drop(slot);
    });
}

/// Resolves when the caps evict the connection of `slot` while it is idle (an eviction
/// that finds it answering a request is forgiven); never without a slot.
pub(crate) async fn evicted(slot: Option<&Slot>) {
    let Some(slot) = slot else {
        return std::future::pending().await;
    };
    loop {
        slot.activity().evicted().await;
        if slot.activity().is_idle() {
            return;
        }
        slot.reprieve();
    }
}

fn is_ops_path(path: &str) -> bool {
    matches!(
        router::Route::from_path(path),
        Some(router::Route::Healthz | router::Route::Readyz | router::Route::Metrics)
    )
}

/// Answers one request; never fails (every error becomes a JSON response).
async fn answer<R: Backend>(
    app: Arc<App<R>>,
    request: Request<hyper::body::Incoming>,
) -> Response<Body> {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path();
    let label = RouteLabel::of_path(path);
    // A process that lost the lease, or is past its own deadline, writes nothing more:
    // refuse game requests at once instead of answering from memory what may never be
    // saved. (Units of work ask again once their locks are held.)
    let refused = match app.lease.check() {
        Err(error) if !is_ops_path(path) => Some(ApiError::lease_refused(&error)),
        _ => None,
    };
    let response = match refused {
        Some(error) => closing(error.into_response()),
        None => match app.lifecycle.begin() {
            None => closing(ApiError::shutting_down().into_response()),
            Some(in_flight) => dispatch(app.clone(), request, in_flight).await,
        },
    };
    let status = response.status().as_u16();
    let latency = started.elapsed();
    app.http_metrics.record(label, status, latency);
    tracing::info!(
        method = %method,
        route = label.as_str(),
        status,
        latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    response
}

async fn dispatch<R: Backend>(
    app: Arc<App<R>>,
    request: Request<hyper::body::Incoming>,
    in_flight: InFlight,
) -> Response<Body> {
    if app.edge && !crate::relay::config::edge_serves(request.uri().path()) {
        return ApiError::new(
            hyper::StatusCode::MISDIRECTED_REQUEST,
            "edge_only_streams",
            "This edge server only serves /api/world/events; send other requests to the owner",
        )
        .into_response();
    }
    if let Some(asset) = web::find(request.uri().path()) {
        return web::respond(asset, request.method(), request.headers());
    }
    let route = match router::route(request.method(), request.uri().path()) {
        Ok(route) => route,
        Err(error) => return error.into_response(),
    };
    if declared_length(&request).is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return ApiError::payload_too_large().into_response();
    }
    let timeout = app.request_timeout;
    // The handler runs in its own task: a timed-out request finishes its unit of work
    // instead of being cancelled half-way, a panic is contained, and the in-flight guard
    // lives until the work is really done, so the drain waits for it.
    let task = tokio::spawn(async move {
        let _in_flight = in_flight;
        handlers::handle(&app, route, request).await
    });
    match tokio::time::timeout(timeout, task).await {
        Ok(Ok(Ok(response))) => response,
        Ok(Ok(Err(error))) => error.into_response(),
        Ok(Err(join_error)) => {
            tracing::error!(error = %join_error, route = route.path(), "handler panicked");
            ApiError::internal().into_response()
        }
        Err(_) => ApiError::timeout().into_response(),
    }
}

/// `response` with `Connection: close`: this process is going away.
fn closing(mut response: Response<Body>) -> Response<Body> {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn declared_length<B>(request: &Request<B>) -> Option<u64> {
    request
        .headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}
