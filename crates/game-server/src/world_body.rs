//! The body of `GET /api/world`, serialised once per world version and millisecond on
//! each worker thread.
//!
//! Every player gets the same answer: the world as of the current millisecond. Under
//! load many requests fall in the same millisecond, and serialising the world was the
//! largest part of a request's CPU (BENCHMARKS.md, Compare). On a repository that keeps
//! world versions (every change advances the version), the version and the millisecond
//! determine the body, so each worker thread keeps the last body it made and answers the
//! same question again with those bytes. Thread-local: no lock or shared cache line
//! between requests. A repository without versions (`--repo db`) serialises every time.

use std::cell::RefCell;
use std::sync::{Arc, Weak};

use game_domain::views::WorldView;
use hyper::Response;
use hyper::body::Bytes;

use crate::app::App;
use crate::backend::Backend;
use crate::response::{ApiError, Body, json, json_bytes, to_json};
use crate::shutdown::Lifecycle;

/// The last body a thread made, and for which server, version and millisecond.
struct Last {
    /// The server it belongs to, by its [`Lifecycle`] (several servers can run in one
    /// process, as in the tests). The weak reference keeps the allocation, so its
    /// address is not reused while this entry lives.
    server: Weak<Lifecycle>,
    version: u64,
    now_ms: i64,
    body: Bytes,
}

thread_local! {
    static LAST: RefCell<Option<Last>> = const { RefCell::new(None) };
}

/// Answers `GET /api/world` (without `since`).
pub async fn answer<R: Backend>(app: &App<R>) -> Result<Response<Body>, ApiError> {
    let game = &app.game;
    let snapshot = game.world_snapshot().await?;
    let now_ms = game.now_ms();
    if !game.repo().keeps_versions() {
        return Ok(json(&WorldView::of(&snapshot, now_ms)));
    }
    let version = snapshot.version();
    let server = Arc::as_ptr(&app.lifecycle);
    let cached = LAST.with_borrow(|last| {
        last.as_ref()
            .filter(|last| {
                std::ptr::eq(last.server.as_ptr(), server)
                    && last.version == version
                    && last.now_ms == now_ms
            })
            .map(|last| last.body.clone())
    });
    if let Some(body) = cached {
        return Ok(json_bytes(body));
    }
    let body = match to_json(&WorldView::of(&snapshot, now_ms)) {
        Ok(bytes) => Bytes::from(bytes),
        Err(error) => {
            tracing::error!(%error, "response serialization failed");
            return Err(ApiError::internal());
        }
    };
    LAST.with_borrow_mut(|last| {
        *last = Some(Last {
            server: Arc::downgrade(&app.lifecycle),
            version,
            now_ms,
            body: body.clone(),
        });
    });
    Ok(json_bytes(body))
}
