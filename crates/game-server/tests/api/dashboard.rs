//! The Grafana dashboard (`deploy/grafana/spacewars.json`) plots only what the server
//! exports: every metric name in its queries is one a real server's `/metrics` lists.

use std::collections::BTreeSet;

use game_server::RepoKind;
use serde_json::Value;

use crate::harness::Setup;
use game_persistence::testing::TestBackend;

const DASHBOARD: &str = include_str!("../../../../deploy/grafana/spacewars.json");

/// The `spacewars_…` names in a PromQL expression.
fn metric_names_in(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = expr;
    while let Some(start) = rest.find("spacewars_") {
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.insert(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

/// Every query of the dashboard: the panels' `expr` and the variables' `definition`.
fn queries(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            for (key, field) in fields {
                match (key.as_str(), field) {
                    ("expr" | "definition", Value::String(query)) => out.push(query.clone()),
                    _ => queries(field, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| queries(item, out)),
        _ => {}
    }
}

#[test]
fn metric_names_are_read_out_of_promql() {
    let names = metric_names_in(
        "sum by (kind) (rate(spacewars_cache_hits_total{instance=~\"$i\"}[5m])) \
         / spacewars_cache_users",
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["spacewars_cache_hits_total", "spacewars_cache_users"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_on_the_dashboard_is_in_metrics() {
    let setup = Setup {
        db: TestBackend::Sqlite,
        repo: RepoKind::Cached,
    };
    let server = setup.start().await;
    let mut client = server.client();
    // One answered request, so the request counters and latency histogram have samples.
    assert_eq!(client.get("/api/session").await.status, 200);
    let reply = client.get("/metrics").await;
    assert_eq!(reply.status, 200);
    let page = String::from_utf8_lossy(&reply.body).into_owned();
    // Sample names, as queries use them (`…_total`, a histogram's `…_bucket`).
    let exported: BTreeSet<&str> = page
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split(['{', ' ']).next())
        .collect();

    let dashboard: Value = serde_json::from_str(DASHBOARD).expect("the dashboard is JSON");
    let mut all = Vec::new();
    queries(&dashboard, &mut all);
    let used: BTreeSet<String> = all.iter().flat_map(|q| metric_names_in(q)).collect();
    assert!(!used.is_empty(), "the dashboard has no queries");
    let missing: Vec<&String> = used
        .iter()
        .filter(|name| !exported.contains(name.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "on the dashboard but not in /metrics: {missing:?}"
    );
}
