//! The web client's files over real TCP: content types, the security headers, ETag
//! revalidation, and that the API's JSON 404s and 405s are untouched.

use hyper::Method;
use hyper::header::{self, HeaderValue};

use crate::client::request;
use crate::harness::{Setup, each_setup};

async fn serves_the_client_with_strict_headers(setup: Setup) {
    let server = setup.start().await;
    let mut client = server.client();
    let page = client.get("/").await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let policy = page
        .header("content-security-policy")
        .expect("a Content-Security-Policy");
    assert_eq!(
        policy,
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    );
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(
            policy.contains(directive),
            "{directive} missing from {policy}"
        );
    }
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    let body = String::from_utf8(page.body.to_vec()).expect("utf-8");
    assert!(body.contains(r#"<script type="module" src="/js/main.js"></script>"#));
    assert!(
        !body.contains("<script>") && !body.contains("style="),
        "inline code in the page"
    );

    for (path, content_type) in [
        ("/js/main.js", "text/javascript; charset=utf-8"),
        ("/js/motion.js", "text/javascript; charset=utf-8"),
        ("/style.css", "text/css; charset=utf-8"),
        ("/favicon.svg", "image/svg+xml"),
    ] {
        let reply = client.get(path).await;
        assert_eq!(
            (reply.status, reply.header("content-type")),
            (200, Some(content_type)),
            "{path}"
        );
        assert_eq!(
            reply.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
    }

    // Revalidation: the same ETag gets 304 with no body.
    let etag = page.header("etag").expect("etag").to_owned();
    let mut revalidate = request(Method::GET, "/", None, None);
    revalidate.headers_mut().insert(
        header::IF_NONE_MATCH,
        HeaderValue::from_str(&etag).expect("etag"),
    );
    let again = client.send_request(revalidate).await;
    assert_eq!((again.status, again.body.len()), (304, 0));
    assert_eq!(again.header("etag"), Some(etag.as_str()));

    // Only GET; and everything else keeps its JSON answers.
    let post = client.post("/", "").await;
    assert_eq!(
        post.error(),
        (
            405,
            "Method not allowed".to_owned(),
            "method_not_allowed".to_owned()
        )
    );
    assert_eq!(post.header("allow"), Some("GET"));
    assert_eq!(client.get("/api/nope").await.code(), "not_found");
    assert_eq!(client.get("/index.html").await.code(), "not_found");
    assert_eq!(client.get("/js/../api/world").await.status, 404);

    // Static answers are counted under one label.
    let metrics = server.metrics().await;
    assert!(
        metrics.contains(r#"spacewars_http_requests_total{route="static",status="200"} 5"#),
        "{metrics}"
    );
}

each_setup!(serves_the_client_with_strict_headers);
