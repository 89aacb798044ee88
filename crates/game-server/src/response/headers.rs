//! Headers every answer gets: `X-Content-Type-Options: nosniff` (no browser guesses a JSON
//! error into a script), and `Cache-Control: no-store` under `/api/`, whose answers depend
//! on the session (the OpenAPI document apart, which does not).

use hyper::Response;
use hyper::header::{self, HeaderValue};

/// True for a path whose answers must not be stored by any cache.
pub fn wants_no_store(path: &str) -> bool {
    path.starts_with("/api/") && path != "/api/openapi.json"
}

/// `response` with the headers of the module docs (`no_store` from [`wants_no_store`]).
pub fn api_headers<B>(no_store: bool, mut response: Response<B>) -> Response<B> {
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if no_store {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_answers_are_not_stored_and_never_sniffed() {
        for (path, no_store) in [
            ("/api/session", true),
            ("/api/world/events", true),
            ("/api/nope", true),
            ("/api/openapi.json", false),
            ("/healthz", false),
            ("/", false),
        ] {
            assert_eq!(wants_no_store(path), no_store, "{path}");
            let response = api_headers(no_store, Response::new(()));
            assert_eq!(response.headers()["x-content-type-options"], "nosniff");
            assert_eq!(
                response.headers().get("cache-control").is_some(),
                no_store,
                "{path}"
            );
        }
    }
}
