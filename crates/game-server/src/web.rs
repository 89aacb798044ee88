//! The web client: static files compiled into the binary and served at `/`.
//!
//! The client is plain HTML, CSS and JavaScript modules under `crates/game-server/web/`
//! (no framework, no build step), embedded with `include_bytes!`, so the server binary is
//! all a deployment needs. Every answer carries a strict Content-Security-Policy (only the
//! server's own scripts, styles and connections; no inline code; no framing), `nosniff`
//! and a strong `ETag`; a matching `If-None-Match` gets 304 without a body.

use std::sync::LazyLock;

use hyper::body::Bytes;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Response, StatusCode};
use sha2::{Digest, Sha256};

use crate::response::{ApiError, Body, full};

/// The policy every static answer carries: nothing but this origin's own files and API,
/// no inline script or style, no plugins, no framing, forms post only here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Metrics label of every static answer (one label, not one per file).
pub const METRICS_LABEL: &str = "static";

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// The path it is served at.
    pub path: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes.
    pub body: &'static [u8],
}

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// Declares the embedded files: `path => file under web/, content type`.
macro_rules! assets {
    ($($path:literal => $file:literal, $type:ident;)*) => {
        /// Every embedded file.
        pub static ASSETS: &[Asset] = &[$(Asset {
            path: $path,
            content_type: $type,
            body: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/", $file)),
        }),*];
    };
}

assets! {
    "/" => "index.html", HTML;
    "/style.css" => "style.css", CSS;
    "/favicon.svg" => "favicon.svg", SVG;
    "/js/main.js" => "js/main.js", JS;
    "/js/api.js" => "js/api.js", JS;
    "/js/motion.js" => "js/motion.js", JS;
    "/js/state.js" => "js/state.js", JS;
    "/js/sync.js" => "js/sync.js", JS;
    "/js/render.js" => "js/render.js", JS;
    "/js/controls.js" => "js/controls.js", JS;
    "/js/panels.js" => "js/panels.js", JS;
    "/js/research.js" => "js/research.js", JS;
    "/js/auth.js" => "js/auth.js", JS;
}

/// Strong ETags, computed once: the first 16 bytes of each file's SHA-256, in hex.
static ETAGS: LazyLock<Vec<HeaderValue>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|asset| {
            let digest = Sha256::digest(asset.body);
            let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
            HeaderValue::from_str(&format!("\"{hex}\"")).unwrap_or(HeaderValue::from_static("\"\""))
        })
        .collect()
});

/// The index of the embedded file served at `path`, if any.
pub fn find(path: &str) -> Option<usize> {
    ASSETS.iter().position(|asset| asset.path == path)
}

/// Answers a request for the embedded file at `index` (from [`find`]): 200 with the file,
/// 304 when `If-None-Match` names its ETag, 405 for a method other than GET.
pub fn respond(index: usize, method: &Method, headers: &HeaderMap) -> Response<Body> {
    if *method != Method::GET {
        return ApiError::method_not_allowed("GET").into_response();
    }
    let (Some(asset), Some(etag)) = (ASSETS.get(index), ETAGS.get(index)) else {
        return ApiError::not_found().into_response();
    };
    let unchanged = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| tag.trim() == "*" || tag.trim().as_bytes() == etag.as_bytes());
    let mut response = if unchanged {
        let mut response = Response::new(full(Bytes::new()));
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else {
        let mut response = Response::new(full(Bytes::from_static(asset.body)));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
        response
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, etag.clone());
    // Revalidate on every load: a new server version is picked up at once, and an
    // unchanged file costs a 304.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str, if_none_match: Option<&str>) -> Response<Body> {
        let mut headers = HeaderMap::new();
        if let Some(tag) = if_none_match {
            headers.insert(
                header::IF_NONE_MATCH,
                HeaderValue::from_str(tag).expect("tag"),
            );
        }
        respond(find(path).expect("asset"), &Method::GET, &headers)
    }

    #[test]
    fn every_file_is_embedded_with_its_type() {
        assert_eq!(find("/").map(|i| ASSETS[i].content_type), Some(HTML));
        assert_eq!(
            find("/js/main.js").map(|i| ASSETS[i].content_type),
            Some(JS)
        );
        assert_eq!(
            find("/style.css").map(|i| ASSETS[i].content_type),
            Some(CSS)
        );
        assert_eq!(find("/index.html"), None);
        assert_eq!(find("/api/world"), None);
        for asset in ASSETS {
            assert!(!asset.body.is_empty(), "{} is empty", asset.path);
        }
    }

    #[test]
    fn a_matching_etag_gets_304_and_another_gets_the_file() {
        let first = get("/", None);
        assert_eq!(first.status(), StatusCode::OK);
        let etag = first.headers()[header::ETAG]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert_eq!(etag.len(), 34, "quoted 32 hex digits: {etag}");
        assert_eq!(get("/", Some(&etag)).status(), StatusCode::NOT_MODIFIED);
        assert_eq!(
            get("/", Some(&format!("\"x\", {etag}"))).status(),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(get("/", Some("\"other\"")).status(), StatusCode::OK);
        let css_etag = get("/style.css", None).headers()[header::ETAG].clone();
        assert_ne!(css_etag.as_bytes(), etag.as_bytes());
    }

    #[test]
    fn only_get_is_allowed() {
        let response = respond(0, &Method::POST, &HeaderMap::new());
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[header::ALLOW], "GET");
    }
}
