//! The HTTP contract, for client authors and for the test suite that keeps it true: the
//! OpenAPI 3.1 document served at `/api/openapi.json`, and what the server really routes
//! (so a test can fail when the two part).

/// The OpenAPI 3.1 document of the API, as served.
pub const OPENAPI: &str = crate::openapi::DOCUMENT;

/// Every API route as `(method, path)`, in the router's order.
pub fn routes() -> impl Iterator<Item = (hyper::Method, &'static str)> {
    crate::router::Route::ALL
        .into_iter()
        .map(|route| (route.method(), route.path()))
}

/// The paths of the web client's files served at `/`.
pub fn web_files() -> impl Iterator<Item = &'static str> {
    crate::web::ASSETS.iter().map(|asset| asset.path)
}
