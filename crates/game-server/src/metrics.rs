//! Metrics in the Prometheus text exposition format (version 0.0.4), written by hand.
//!
//! [`HttpMetrics`] counts requests per route and status and keeps a latency histogram per
//! route; the repository adds its own families (cache, flushes, locks, database round
//! trips) through [`Exposition`].

use std::collections::BTreeMap;
use std::fmt::{Display, Write as _};
use std::sync::Mutex;
use std::time::Duration;

/// `Content-Type` of the exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds of the latency histogram buckets, in seconds.
const LATENCY_BUCKETS_S: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// Request counters and latency histograms per route.
#[derive(Debug, Default)]
pub struct HttpMetrics {
    // One short critical section per request; never held across an await.
    routes: Mutex<BTreeMap<&'static str, RouteStats>>,
}

#[derive(Debug, Default, Clone)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    /// Non-cumulative counts per bucket; the last slot is `+Inf`.
    buckets: [u64; LATENCY_BUCKETS_S.len() + 1],
    sum_s: f64,
    count: u64,
}

impl HttpMetrics {
    /// Records one answered request.
    pub fn record(&self, route: &'static str, status: u16, latency: Duration) {
        let seconds = latency.as_secs_f64();
        let bucket = LATENCY_BUCKETS_S
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(LATENCY_BUCKETS_S.len());
        let mut routes = self
            .routes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let stats = routes.entry(route).or_default();
        *stats.by_status.entry(status).or_default() += 1;
        stats.buckets[bucket] += 1;
        stats.sum_s += seconds;
        stats.count += 1;
    }

    /// Writes the request families.
    pub fn write(&self, out: &mut Exposition) {
        let routes = self
            .routes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        out.family(
            "spacewars_http_requests_total",
            "counter",
            "HTTP requests answered, by route and status.",
        );
        for (route, stats) in &routes {
            for (status, count) in &stats.by_status {
                let status = status.to_string();
                out.sample(
                    "spacewars_http_requests_total",
                    &[("route", route), ("status", &status)],
                    count,
                );
            }
        }
        out.family(
            "spacewars_http_request_duration_seconds",
            "histogram",
            "Time from request head to response, by route.",
        );
        for (route, stats) in &routes {
            let mut cumulative = 0;
            for (i, count) in stats.buckets.iter().enumerate() {
                cumulative += count;
                let le = LATENCY_BUCKETS_S
                    .get(i)
                    .map_or_else(|| "+Inf".to_owned(), f64::to_string);
                out.sample(
                    "spacewars_http_request_duration_seconds_bucket",
                    &[("route", route), ("le", &le)],
                    cumulative,
                );
            }
            out.sample(
                "spacewars_http_request_duration_seconds_sum",
                &[("route", route)],
                stats.sum_s,
            );
            out.sample(
                "spacewars_http_request_duration_seconds_count",
                &[("route", route)],
                stats.count,
            );
        }
    }
}

/// A metrics page being written.
#[derive(Debug, Default)]
pub struct Exposition {
    text: String,
}

impl Exposition {
    /// Starts a family: its `# HELP` and `# TYPE` lines.
    pub fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    /// One sample line; label values are escaped.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (label, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{label}=\"{}\"", escape(value));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {value}");
    }

    /// A family with a single unlabelled sample.
    pub fn single(&mut self, name: &str, kind: &str, help: &str, value: impl Display) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }

    /// The page.
    pub fn finish(self) -> String {
        self.text
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_histograms() {
        let metrics = HttpMetrics::default();
        metrics.record("/api/world", 200, Duration::from_micros(300));
        metrics.record("/api/world", 200, Duration::from_millis(3));
        metrics.record("/api/world", 401, Duration::from_secs(60));
        let mut out = Exposition::default();
        metrics.write(&mut out);
        let text = out.finish();
        assert!(text.contains("# TYPE spacewars_http_requests_total counter\n"));
        assert!(
            text.contains("spacewars_http_requests_total{route=\"/api/world\",status=\"200\"} 2\n")
        );
        assert!(
            text.contains("spacewars_http_requests_total{route=\"/api/world\",status=\"401\"} 1\n")
        );
        let bucket = |le: &str| {
            format!(
                "spacewars_http_request_duration_seconds_bucket{{route=\"/api/world\",le=\"{le}\"}}"
            )
        };
        assert!(text.contains(&format!("{} 1\n", bucket("0.0005"))));
        assert!(text.contains(&format!("{} 2\n", bucket("0.005"))));
        assert!(text.contains(&format!("{} 2\n", bucket("5"))));
        assert!(text.contains(&format!("{} 3\n", bucket("+Inf"))));
        assert!(
            text.contains(
                "spacewars_http_request_duration_seconds_count{route=\"/api/world\"} 3\n"
            )
        );
    }

    #[test]
    fn label_values_are_escaped() {
        let mut out = Exposition::default();
        out.sample("m", &[("l", "a\"b\\c\nd")], 1);
        assert_eq!(out.finish(), "m{l=\"a\\\"b\\\\c\\nd\"} 1\n");
    }
}
