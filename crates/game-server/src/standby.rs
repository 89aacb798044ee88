//! What a standby (`--standby`) answers while another process owns the database:
//! `/healthz` 200 (the process is alive), everything else 503 `standby`, `/readyz`
//! included, so a load balancer that routes by `/readyz` sends it nothing.
//!
//! The standby phase ends when its start-up work (waiting for the lease, loading the
//! world) finishes: from then on the listeners accept for the real server, and the
//! standby-phase connections are told to close after their current answer.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use serde::Serialize;
use tokio::net::TcpStream;

use crate::limits::Limits;
use crate::limits::connections::Slot;
use crate::response::{ApiError, Body, headers, json};
use crate::router::Route;
use crate::serve::{Listeners, evicted};

/// How long standby-phase connections get to close once the server took over.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Serialize)]
struct Status {
    status: &'static str,
}

/// Answers as a standby on `listeners` until `work` finishes, and returns its output.
pub(crate) async fn stand_by<T>(
    listeners: &Listeners,
    limits: &Limits,
    work: impl Future<Output = T>,
) -> T {
    let connections = GracefulShutdown::new();
    tokio::pin!(work);
    let output = loop {
        tokio::select! {
            output = &mut work => break output,
            accepted = listeners.game.accept() => match accepted {
                Ok((stream, peer)) => {
                    if let Ok(slot) = limits.connections.admit(peer.ip()) {
                        spawn_connection(stream, limits, &connections, Some(slot));
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Ok((stream, _)) = accept_ops(listeners) => {
                spawn_connection(stream, limits, &connections, None);
            }
        }
    };
    // Not awaited here: taking over must not wait for a slow client to hang up.
    tokio::spawn(async move {
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, connections.shutdown()).await;
    });
    output
}

async fn accept_ops(listeners: &Listeners) -> std::io::Result<(TcpStream, std::net::SocketAddr)> {
    match &listeners.ops {
        Some(listener) => listener.accept().await,
        None => std::future::pending().await,
    }
}

fn spawn_connection(
    stream: TcpStream,
    limits: &Limits,
    connections: &GracefulShutdown,
    slot: Option<Slot>,
) {
    let _ = stream.set_nodelay(true);
    let service = service_fn(|request: Request<hyper::body::Incoming>| async move {
        let path = request.uri().path();
        Ok::<_, Infallible>(headers::api_headers(
            headers::wants_no_store(path),
            answer(path),
        ))
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.keep_alive_timeout)
        .serve_connection(TokioIo::new(stream), service);
    let connection = connections.watch(connection);
    tokio::spawn(async move {
        tokio::select! {
            ended = connection => if let Err(error) = ended {
                tracing::debug!(%error, "standby connection ended with an error");
            },
            () = evicted(slot.as_ref()) => {}
        }
        drop(slot);
    });
}

/// The standby's answer to a request for `path`.
fn answer(path: &str) -> Response<Body> {
    match Route::from_path(path) {
        Some(Route::Healthz) => json(&Status { status: "ok" }),
        _ => ApiError::standby().into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_healthz_is_answered_by_a_standby() {
        assert_eq!(answer("/healthz").status(), 200);
        for path in [
            "/readyz",
            "/metrics",
            "/api/world",
            "/api/login",
            "/",
            "/nope",
        ] {
            let response = answer(path);
            assert_eq!(response.status(), 503, "{path}");
            assert_eq!(response.headers()["retry-after"], "1", "{path}");
        }
    }
}
