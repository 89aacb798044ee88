//! Reading the server's `/metrics` (Prometheus text format).

use hyper::{Method, StatusCode};

use crate::http_client::Connection;

/// The database round-trips counter: the sum of every sample whose metric name contains
/// `round_trips`, or `None` if the text has no such metric.
pub fn round_trips(text: &str) -> Option<f64> {
    let mut found = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        let name = &line[..name_end];
        if !name.contains("round_trips") || name.ends_with("_created") {
            continue;
        }
        // The value follows the labels (if any); an optional timestamp may follow it.
        let rest = match line[name_end..].rfind('}') {
            Some(close) => &line[name_end + close + 1..],
            None => &line[name_end..],
        };
        if let Some(value) = rest
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
        {
            *found.get_or_insert(0.0) += value;
        }
    }
    found
}

/// The text of `/metrics`, read over `conn`.
pub async fn scrape(conn: &mut Connection) -> anyhow::Result<String> {
    let reply = conn
        .request(Method::GET, "/metrics", None)
        .await
        .map_err(|e| anyhow::anyhow!("GET /metrics: {e}"))?;
    anyhow::ensure!(
        reply.status == StatusCode::OK,
        "GET /metrics answered {}",
        reply.status
    );
    Ok(String::from_utf8_lossy(&reply.body).into_owned())
}

/// Scrapes `/metrics` and returns the round-trips counter.
pub async fn scrape_round_trips(conn: &mut Connection) -> anyhow::Result<f64> {
    let text = scrape(conn).await?;
    round_trips(&text).ok_or_else(|| anyhow::anyhow!("/metrics has no metric named *round_trips*"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_every_round_trips_sample() {
        let text = "\
# HELP spacewars_db_round_trips_total Statements sent to the database.
# TYPE spacewars_db_round_trips_total counter
spacewars_db_round_trips_total{kind=\"read\"} 12
spacewars_db_round_trips_total{kind=\"write\"} 30 1700000000000
spacewars_db_round_trips_created 1700000000
spacewars_requests_total{route=\"/api/world\"} 999
";
        assert_eq!(round_trips(text), Some(42.0));
        assert_eq!(round_trips("db_round_trips 7\n"), Some(7.0));
        assert_eq!(round_trips("requests_total 3\n"), None);
    }
}
