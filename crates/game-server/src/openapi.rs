//! The OpenAPI 3.1 document of the HTTP API (`src/openapi.json`), served at
//! `GET /api/openapi.json`.
//!
//! The document is written by hand and kept true by the API tests: their harness checks
//! every response it receives against it (path, method, status, content type, JSON
//! schema) and fails the test on a response the document does not describe.

use hyper::Response;
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};

use crate::response::{Body, full};

/// The document, as served.
pub const DOCUMENT: &str = include_str!("openapi.json");

/// `200` with the document.
pub fn response() -> Response<Body> {
    let mut response = Response::new(full(Bytes::from_static(DOCUMENT.as_bytes())));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
