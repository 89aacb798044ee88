//! Metrics through the `prometheus-client` crate, exposed in the Prometheus text format
//! (version 0.0.4) at `/metrics` (docs/operations.md).
//!
//! [`HttpMetrics`] counts requests per route and status and keeps a latency histogram per
//! route. The route set is fixed, so each route's handles are resolved once (the first
//! time the route answers with a status) and a request only does atomic adds: no lock is
//! shared by requests. The repository, the limits and the streams add the figures they
//! read at scrape time through [`Exposition`].

mod exposition;
mod histogram;

use std::sync::OnceLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

pub use exposition::Exposition;
pub use histogram::LatencyHistogram;
pub use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

use crate::router::Route;
use crate::web;

/// What a request is counted under: its route, a static file, or nothing matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteLabel {
    /// A route of the API or of operations.
    Route(Route),
    /// One of the web client's files (one label for all of them).
    Static,
    /// A path nothing serves.
    Unmatched,
}

impl RouteLabel {
    /// How many labels there are.
    const COUNT: usize = Route::ALL.len() + 2;

    /// The label of a request for `path`.
    pub fn of_path(path: &str) -> RouteLabel {
        match Route::from_path(path) {
            Some(route) => RouteLabel::Route(route),
            None if web::find(path).is_some() => RouteLabel::Static,
            None => RouteLabel::Unmatched,
        }
    }

    /// The `route` label's value.
    pub fn as_str(self) -> &'static str {
        match self {
            RouteLabel::Route(route) => route.path(),
            RouteLabel::Static => web::METRICS_LABEL,
            RouteLabel::Unmatched => "unmatched",
        }
    }

    /// Its slot among the per-route handles (`Route::ALL` is in declaration order).
    fn index(self) -> usize {
        match self {
            RouteLabel::Route(route) => route as usize,
            RouteLabel::Static => Route::ALL.len(),
            RouteLabel::Unmatched => Route::ALL.len() + 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct DurationLabels {
    route: &'static str,
}

/// Statuses with a pre-resolved counter per route: 200 to 599. Anything else (hyper
/// never answers with it) goes through the family's lock.
const FIRST_STATUS: u16 = 200;
const STATUS_SLOTS: usize = 400;

/// One route's handles, each resolved from its family the first time it is needed (so
/// the page shows only what happened, as before) and used lock-free after that.
#[derive(Debug)]
struct RouteHandles {
    by_status: Box<[OnceLock<Counter>]>,
    latency: OnceLock<LatencyHistogram>,
}

/// Request counters and latency histograms per route.
#[derive(Debug)]
pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    durations: Family<DurationLabels, LatencyHistogram>,
    routes: Box<[RouteHandles]>,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        let routes = (0..RouteLabel::COUNT)
            .map(|_| RouteHandles {
                by_status: (0..STATUS_SLOTS).map(|_| OnceLock::new()).collect(),
                latency: OnceLock::new(),
            })
            .collect();
        HttpMetrics {
            requests: Family::default(),
            durations: Family::default(),
            routes,
        }
    }
}

impl HttpMetrics {
    /// Records one answered request.
    pub fn record(&self, route: RouteLabel, status: u16, latency: Duration) {
        let handles = &self.routes[route.index()];
        let labels = || RequestLabels {
            route: route.as_str(),
            status,
        };
        let slot = usize::from(status.wrapping_sub(FIRST_STATUS));
        match handles.by_status.get(slot) {
            Some(counter) => counter
                .get_or_init(|| self.requests.get_or_create_owned(&labels()))
                .inc(),
            None => self.requests.get_or_create(&labels()).inc(),
        };
        handles
            .latency
            .get_or_init(|| {
                self.durations.get_or_create_owned(&DurationLabels {
                    route: route.as_str(),
                })
            })
            .observe(latency);
    }

    /// Adds the request families to `out`.
    pub fn write(&self, out: &mut Exposition) {
        out.register(
            "spacewars_http_requests",
            "HTTP requests answered, by route and status.",
            self.requests.clone(),
        );
        out.register(
            "spacewars_http_request_duration_seconds",
            "Time from request head to response, by route.",
            self.durations.clone(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_have_one_slot_each() {
        let mut labels: Vec<RouteLabel> = Route::ALL.into_iter().map(RouteLabel::Route).collect();
        labels.extend([RouteLabel::Static, RouteLabel::Unmatched]);
        let slots: Vec<usize> = labels.iter().map(|label| label.index()).collect();
        assert_eq!(slots, (0..RouteLabel::COUNT).collect::<Vec<_>>());
        assert_eq!(
            RouteLabel::of_path("/api/world"),
            RouteLabel::Route(Route::World)
        );
        assert_eq!(RouteLabel::of_path("/style.css"), RouteLabel::Static);
        assert_eq!(RouteLabel::of_path("/nope"), RouteLabel::Unmatched);
    }

    #[test]
    fn renders_counters_and_cumulative_histograms() {
        let metrics = HttpMetrics::default();
        let world = RouteLabel::Route(Route::World);
        metrics.record(world, 200, Duration::from_micros(300));
        metrics.record(world, 200, Duration::from_millis(3));
        metrics.record(world, 401, Duration::from_secs(60));
        metrics.record(RouteLabel::Unmatched, 999, Duration::from_millis(1));
        let mut out = Exposition::default();
        metrics.write(&mut out);
        let text = out.finish().expect("page");
        let lines: Vec<&str> = text.lines().collect();
        for expected in [
            "# HELP spacewars_http_requests_total HTTP requests answered, by route and status.",
            "# TYPE spacewars_http_requests_total counter",
            "spacewars_http_requests_total{route=\"/api/world\",status=\"200\"} 2",
            "spacewars_http_requests_total{route=\"/api/world\",status=\"401\"} 1",
            "spacewars_http_requests_total{route=\"unmatched\",status=\"999\"} 1",
            "# TYPE spacewars_http_request_duration_seconds histogram",
            "spacewars_http_request_duration_seconds_bucket{route=\"/api/world\",le=\"0.0005\"} 1",
            "spacewars_http_request_duration_seconds_bucket{route=\"/api/world\",le=\"0.001\"} 1",
            "spacewars_http_request_duration_seconds_bucket{route=\"/api/world\",le=\"0.005\"} 2",
            "spacewars_http_request_duration_seconds_bucket{route=\"/api/world\",le=\"5\"} 2",
            "spacewars_http_request_duration_seconds_bucket{route=\"/api/world\",le=\"+Inf\"} 3",
            "spacewars_http_request_duration_seconds_sum{route=\"/api/world\"} 60.0033",
            "spacewars_http_request_duration_seconds_count{route=\"/api/world\"} 3",
        ] {
            assert!(lines.contains(&expected), "{expected} missing in\n{text}");
        }
        // Thirteen buckets, a sum and a count for each of the two routes seen, nothing
        // for the others.
        let histogram_lines = lines
            .iter()
            .filter(|line| line.starts_with("spacewars_http_request_duration_seconds_"))
            .count();
        assert_eq!(histogram_lines, 2 * 15, "{text}");
        assert!(!text.contains("/api/login"), "{text}");
    }
}
