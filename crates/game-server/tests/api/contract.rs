//! The OpenAPI document: it is served, it lists exactly the routes the server has, and the
//! check every test's responses go through ([`crate::openapi`]) does reject responses
//! that leave it.

use game_server::RepoKind;
use game_server::contract;
use hyper::Method;
use serde_json::{Value, json};

use crate::client::Reply;
use crate::harness::Setup;
use crate::openapi::Contract;
use game_persistence::testing::TestBackend;

const SETUP: Setup = Setup {
    db: TestBackend::Sqlite,
    repo: RepoKind::Cached,
};

fn served() -> Contract {
    Contract::parse(contract::OPENAPI)
}

/// The same document with `change` applied.
fn changed(change: impl FnOnce(&mut Value)) -> Contract {
    let mut document = served().document().clone();
    change(&mut document);
    Contract::parse(&document.to_string())
}

fn check(contract: &Contract, method: Method, uri: &str, reply: &Reply) -> Result<(), String> {
    contract.check(&method, uri, reply.status, &reply.headers, &reply.body)
}

#[test]
fn the_document_lists_exactly_the_routes_and_files_the_server_serves() {
    let contract = served();
    let paths = contract.document()["paths"]
        .as_object()
        .expect("paths")
        .clone();
    let routes: Vec<(Method, &str)> = contract::routes().collect();
    let web_files: Vec<&str> = contract::web_files().collect();
    for (method, path) in &routes {
        let method = method.as_str().to_lowercase();
        assert!(
            paths
                .get(*path)
                .is_some_and(|item| item.get(&method).is_some()),
            "{method} {path} is not in the document"
        );
    }
    let mut documented = 0;
    for (path, item) in &paths {
        let operations: Vec<&String> = item.as_object().expect("path item").keys().collect();
        match routes.iter().find(|(_, route)| route == path) {
            Some((method, _)) => {
                assert_eq!(operations, [&method.as_str().to_lowercase()], "{path}");
            }
            None if path == "/js/{module}" => {
                let modules = item["get"]["parameters"][0]["schema"]["enum"]
                    .as_array()
                    .expect("module names");
                let served: Vec<Value> = web_files
                    .iter()
                    .filter_map(|file| file.strip_prefix("/js/"))
                    .map(Value::from)
                    .collect();
                assert_eq!(modules, &served);
            }
            None => {
                assert!(
                    web_files.contains(&path.as_str()),
                    "{path} is documented but not served"
                );
                assert_eq!(operations, ["get"], "{path}");
            }
        }
        documented += 1;
    }
    // The routes, the page, its style sheet, its icon and the script template.
    assert_eq!(documented, routes.len() + 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_served_without_a_session() {
    let server = SETUP.start().await;
    let reply = server.client().get("/api/openapi.json").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(&reply.json(), served().document());
    assert_eq!(reply.json()["openapi"], "3.1.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_rejects_what_the_document_does_not_describe() {
    let server = SETUP.start().await;
    let mut demo = server.demo().await;
    let stats = demo.get("/api/user-stats").await;
    let contract = served();
    assert_eq!(
        check(&contract, Method::GET, "/api/user-stats", &stats),
        Ok(())
    );

    // A field of the wrong type in the schema.
    let wrong_type = changed(|doc| {
        doc["components"]["schemas"]["UserStats"]["properties"]["iron"] = json!({"type": "string"});
    });
    let error = check(&wrong_type, Method::GET, "/api/user-stats", &stats).expect_err("type");
    assert!(error.contains("\"string\""), "{error}");
    assert!(error.contains("/iron"), "{error}");

    // A field the schema does not know.
    let mut extra = stats.clone();
    let mut body = stats.json();
    body["bonus"] = json!(1);
    extra.body = body.to_string().into();
    let error = check(&contract, Method::GET, "/api/user-stats", &extra).expect_err("extra");
    assert!(error.contains("bonus"), "{error}");

    // A status the operation does not list.
    let anonymous = server.client().get("/api/user-stats").await;
    assert_eq!(anonymous.status, 401);
    let no_401 = changed(|doc| {
        let responses = &mut doc["paths"]["/api/user-stats"]["get"]["responses"];
        responses.as_object_mut().expect("responses").remove("401");
    });
    let error = check(&no_401, Method::GET, "/api/user-stats", &anonymous).expect_err("401");
    assert!(error.contains("status 401 is not documented"), "{error}");

    // An error code the document does not list.
    let mut unknown_code = anonymous.clone();
    unknown_code.body = json!({"error": "Nope", "code": "nope"}).to_string().into();
    let error = check(&contract, Method::GET, "/api/user-stats", &unknown_code).expect_err("code");
    assert!(error.contains("nope"), "{error}");

    // A path nothing documents may only be a 404 (or 503), and a documented path asked
    // with another method only a 405.
    assert!(check(&contract, Method::GET, "/api/nope", &stats).is_err());
    let not_found = server.client().get("/api/nope").await;
    assert_eq!(
        check(&contract, Method::GET, "/api/nope", &not_found),
        Ok(())
    );
    let wrong_method = server.client().post("/api/user-stats", "{}").await;
    assert_eq!(wrong_method.status, 405);
    assert!(check(&contract, Method::GET, "/api/user-stats", &wrong_method).is_err());

    // A required header missing.
    let mut no_allow = wrong_method.clone();
    no_allow.headers.remove("allow");
    let error = check(&contract, Method::POST, "/api/user-stats", &no_allow).expect_err("no Allow");
    assert!(error.contains("required header Allow"), "{error}");
}
