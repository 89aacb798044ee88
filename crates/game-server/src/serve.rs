//! The HTTP/1.1 connection loop and what wraps every request: admission while shutting
//! down, routing, the time limit, metrics and the access log line.
//!
//! Shutdown runs in two phases once the shutdown future resolves:
//! 1. the listener closes and
//!    [`Lifecycle::start_shutdown`](crate::shutdown::Lifecycle::start_shutdown) turns every
//!    new request, including those on open keep-alive connections, into 503 `shutting_down`
//!    (`Connection: close`); requests already running finish (bounded by the grace period);
//! 2. every connection is told to close (idle ones close at once).

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::app::App;
use crate::backend::Backend;
use crate::handlers;
use crate::response::{ApiError, Body, MAX_BODY_BYTES};
use crate::router;
use crate::shutdown::InFlight;
use crate::web;

/// How long a client may take to send a request head.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long idle connections get to close in phase 2.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Metrics label of requests that matched no route.
const UNMATCHED: &str = "unmatched";

/// Serves `listener` until `shutdown` resolves, then drains (see the module docs).
pub async fn serve<R: Backend>(
    listener: TcpListener,
    app: Arc<App<R>>,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) {
    let connections = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let _ = stream.set_nodelay(true);
                    let app = app.clone();
                    let service = service_fn(move |request| {
                        let app = app.clone();
                        async move { Ok::<_, Infallible>(answer(app, request).await) }
                    });
                    let connection = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(HEADER_READ_TIMEOUT)
                        .serve_connection(TokioIo::new(stream), service);
                    let connection = connections.watch(connection);
                    tokio::spawn(async move {
                        if let Err(error) = connection.await {
                            tracing::debug!(%error, "connection ended with an error");
                        }
                    });
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    app.lifecycle.start_shutdown();
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

/// Answers one request; never fails (every error becomes a JSON response).
async fn answer<R: Backend>(
    app: Arc<App<R>>,
    request: Request<hyper::body::Incoming>,
) -> Response<Body> {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path();
    let path_label = router::Route::from_path(path)
        .map(|route| route.path())
        .or_else(|| web::find(path).map(|_| web::METRICS_LABEL))
        .unwrap_or(UNMATCHED);
    let response = match app.lifecycle.begin() {
        None => {
            let mut response = ApiError::shutting_down().into_response();
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
        Some(in_flight) => dispatch(app.clone(), request, in_flight).await,
    };
    let status = response.status().as_u16();
    let latency = started.elapsed();
    app.http_metrics.record(path_label, status, latency);
    tracing::info!(
        method = %method,
        route = path_label,
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
