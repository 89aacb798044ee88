//! JSON responses, API errors and request-body reading.
//!
//! Every error leaves the server as `{"error": "<message>", "code": "<snake_case>"}` with
//! `Content-Type: application/json`; `app_error` maps the use cases' failures to those,
//! [`bodies`] holds the success bodies whose shape is the wire's.

mod app_error;
pub(crate) mod bodies;
pub(crate) mod headers;
mod storage;

use std::time::Duration;

use http_body_util::{BodyExt, Either, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use serde::Serialize;

use crate::world_stream::EventBody;
use crate::world_stream::quota::Capped;
use serde::de::DeserializeOwned;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The body type of every response: a whole buffer, or a world event stream.
pub type Body = Either<Full<Bytes>, Capped<EventBody>>;

/// A whole-buffer body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Either::Left(Full::new(bytes.into()))
}

const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// A 200 response with `value` as JSON.
pub fn json<T: Serialize>(value: &T) -> Response<Body> {
    match to_json(value) {
        Ok(bytes) => with_json_body(StatusCode::OK, bytes),
        Err(error) => {
            tracing::error!(%error, "response serialization failed");
            ApiError::internal().into_response()
        }
    }
}

/// Serializes like the original (JavaScript) server: a float with an integral value is
/// written as an integer (`500`, not `500.0`), so clients see the numbers they always saw.
/// The engine's world events use the same printer.
pub fn to_json<T: Serialize>(value: &T) -> serde_json::Result<Vec<u8>> {
    game_cache::fanout::to_json(value)
}

/// A 200 response with `bytes`, already JSON.
pub fn json_bytes(bytes: Bytes) -> Response<Body> {
    with_json_body(StatusCode::OK, bytes)
}

fn with_json_body(status: StatusCode, bytes: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(full(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, JSON);
    response
}

/// A failed request: status, stable code and human message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable snake_case code.
    pub code: &'static str,
    /// Human-readable message.
    pub message: String,
    /// For 405: the methods the path accepts.
    pub allow: Option<&'static str>,
    /// For 429 and 503 `busy`: seconds after which a retry may succeed (`Retry-After`).
    pub retry_after_s: Option<u64>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    code: &'a str,
}

impl ApiError {
    /// An error with no `Allow` header.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            allow: None,
            retry_after_s: None,
        }
    }

    /// 404 for a path no route serves.
    pub fn not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "Not found")
    }

    /// 405 with the methods the path does accept.
    pub fn method_not_allowed(allow: &'static str) -> ApiError {
        ApiError {
            allow: Some(allow),
            ..ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "Method not allowed",
            )
        }
    }

    /// 413 for a body over [`MAX_BODY_BYTES`].
    pub fn payload_too_large() -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("Request body larger than {MAX_BODY_BYTES} bytes"),
        )
    }

    /// 400 for a body that is not JSON.
    pub fn invalid_json(detail: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("Malformed JSON: {detail}"),
        )
    }

    /// 400 for JSON of the wrong shape (types, missing or unknown fields).
    pub fn invalid_body(detail: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            format!("Invalid request body: {detail}"),
        )
    }

    /// 400 for a collect without a usable `objectId`.
    pub fn invalid_object_id() -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_object_id",
            "Missing or invalid object ID",
        )
    }

    /// 503 while the server drains for shutdown.
    pub fn shutting_down() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "Server is shutting down",
        )
    }

    /// 429 when a rate limit refused the request; retry after `retry_after` (rounded up
    /// to whole seconds, at least 1).
    pub fn rate_limited(retry_after: Duration) -> ApiError {
        let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        ApiError {
            retry_after_s: Some(seconds.max(1)),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many requests, try again later",
            )
        }
    }

    /// 503 when password hashing is saturated (its queue is full, or the request's
    /// deadline passed while it waited); retry after a second.
    pub fn busy() -> ApiError {
        ApiError {
            retry_after_s: Some(1),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "Server busy, try again shortly",
            )
        }
    }

    /// 503 for a request over the time limit. Its work goes on and completes or fails as
    /// a whole: the outcome is unknown to the client (docs/http-api.md, Retrying).
    pub fn timeout() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "Request timed out; it may still take effect",
        )
    }

    /// 503 when the storage failed.
    pub fn storage_unavailable() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "Service unavailable",
        )
    }

    /// 503 from the readiness probe.
    pub fn not_ready(reason: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            format!("Not ready: {reason}"),
        )
    }

    /// 500: a bug in the server (a handler panicked); never caused by input alone.
    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal server error",
        )
    }

    /// The JSON response.
    pub fn into_response(self) -> Response<Body> {
        let body = ErrorBody {
            error: &self.message,
            code: self.code,
        };
        let bytes = to_json(&body).unwrap_or_else(|_| {
            br#"{"error":"Internal server error","code":"internal_error"}"#.to_vec()
        });
        let mut response = with_json_body(self.status, bytes);
        if let Some(allow) = self.allow {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        if let Some(seconds) = self.retry_after_s {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Reads a request body of at most [`MAX_BODY_BYTES`], whatever `Content-Length` claims,
/// within `time_limit` (a client trickling its body must not hold a task forever).
pub async fn read_body(body: Incoming, time_limit: Duration) -> Result<Bytes, ApiError> {
    let read = tokio::time::timeout(time_limit, Limited::new(body, MAX_BODY_BYTES).collect());
    match read.await.map_err(|_elapsed| ApiError::timeout())? {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            Err(ApiError::payload_too_large())
        }
        Err(error) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            format!("Could not read the request body: {error}"),
        )),
    }
}

/// Parses a JSON object body into `T`: bad syntax (including numbers out of range such as
/// `1e999`) is `invalid_json`; anything but an object, wrong types and missing fields are
/// `invalid_body`. (Going through [`serde_json::Value`] rejects arrays, which serde would
/// otherwise accept for a struct, field by position.)
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(ApiError::invalid_json)?;
    if !value.is_object() {
        return Err(ApiError::invalid_body("expected a JSON object"));
    }
    T::deserialize(value).map_err(ApiError::invalid_body)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Speed {
        speed: f64,
    }

    fn code(result: Result<Speed, ApiError>) -> &'static str {
        result.expect_err("must fail").code
    }

    #[test]
    fn body_errors_are_classified() {
        assert_eq!(code(parse_json(b"")), "invalid_json");
        assert_eq!(code(parse_json(b"{\"speed\":")), "invalid_json");
        assert_eq!(code(parse_json(b"{\"speed\":NaN}")), "invalid_json");
        assert_eq!(code(parse_json(b"{\"speed\":1e999}")), "invalid_json");
        assert_eq!(code(parse_json(b"{\"speed\":\"5\"}")), "invalid_body");
        assert_eq!(code(parse_json(b"{}")), "invalid_body");
        assert_eq!(code(parse_json(b"[1]")), "invalid_body");
        assert_eq!(code(parse_json(b"7")), "invalid_body");
        assert!(parse_json::<Speed>(b"{\"speed\": 5}").is_ok());
    }

    #[test]
    fn integral_floats_print_as_integers_like_the_original() {
        let text = |value: f64| String::from_utf8(to_json(&value).expect("json")).expect("utf-8");
        assert_eq!(text(500.0), "500");
        assert_eq!(text(-0.0), "0");
        assert_eq!(text(-3.0), "-3");
        assert_eq!(text(1.1), "1.1");
        assert_eq!(text(1007.8239998817444), "1007.8239998817444");
        assert_eq!(text(9_007_199_254_740_992.0), "9007199254740992");
        assert_eq!(text(1e300), "1e+300");
        assert_eq!(text(f64::NAN), "null");
        let ship = serde_json::json!({"x": 250.0, "maxSpeed": 25.0, "t": 1_795_604_963_442_i64});
        assert_eq!(
            String::from_utf8(to_json(&ship).expect("json")).expect("utf-8"),
            r#"{"maxSpeed":25,"t":1795604963442,"x":250}"#
        );
    }

    use game_domain::error::AppError;

    #[test]
    fn errors_render_as_json_with_code() {
        let response = ApiError::method_not_allowed("GET").into_response();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[header::ALLOW], "GET");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let limited = ApiError::rate_limited(Duration::from_millis(12_001)).into_response();
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(limited.headers()[header::RETRY_AFTER], "13");
        let busy = ApiError::from(AppError::Busy).into_response();
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(busy.headers()[header::RETRY_AFTER], "1");
        let game: ApiError = AppError::from(game_domain::error::GameError::ObjectTooFar).into();
        assert_eq!(
            (game.status, game.code, game.message.as_str()),
            (
                StatusCode::BAD_REQUEST,
                "object_too_far",
                "Object too far away"
            )
        );
    }
}
