//! Counting database round-trips around a measurement, net of background work.
//!
//! The counter also ticks without any request (lease renewals every few seconds, id-block
//! reservations), so a measurement can be preceded by an idle window of the same length
//! whose count is subtracted. Two equally long windows can still differ by one periodic
//! tick, so a net count up to one idle tick per window is background, not requests.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use spacewars_harness::http_client::Connection;
use spacewars_harness::metrics::scrape_round_trips;
use spacewars_harness::player::REQUEST_TIMEOUT;

/// Round-trips during a measurement and during the idle window before it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoundTrips {
    /// Counter increase while the load ran.
    pub during: f64,
    /// Counter increase in an equally long idle window (0 if none was taken).
    pub idle: f64,
    /// How many measurement windows were added up.
    pub windows: u32,
}

impl RoundTrips {
    /// Round-trips attributable to the requests (never below 0).
    pub fn net(&self) -> f64 {
        (self.during - self.idle).max(0.0)
    }

    /// Net round-trips per request.
    pub fn per_request(&self, requests: u64) -> f64 {
        self.net() / requests.max(1) as f64
    }

    /// How much of `net` can still be background: one idle tick (the idle count per
    /// window, at least 1) per window.
    pub fn background_tolerance(&self) -> f64 {
        let windows = f64::from(self.windows.max(1));
        windows * (self.idle / windows).ceil().max(1.0)
    }

    /// True if the requests caused no round-trip beyond what background work explains.
    pub fn none_from_requests(&self) -> bool {
        self.net() <= self.background_tolerance()
    }

    /// `during − idle = net` for reports.
    pub fn describe(&self, requests: u64) -> String {
        format!(
            "{} during load − {} in idle windows as long = {} (background tolerance {}) over \
             {requests} requests = {:.5} per request",
            self.during,
            self.idle,
            self.net(),
            self.background_tolerance(),
            self.per_request(requests)
        )
    }
}

/// Runs `work` and counts the round-trips it caused: an idle window of `idle` first (none
/// if zero), then the counter read before and after `work`. `None` if the server exposes
/// no round-trips counter.
pub async fn around<T>(
    addr: SocketAddr,
    idle: Duration,
    work: impl Future<Output = T>,
) -> (T, Option<RoundTrips>) {
    let mut metrics = Connection::new(addr, REQUEST_TIMEOUT);
    let start = scrape_round_trips(&mut metrics).await.ok();
    let idle_count = match start {
        Some(start) if !idle.is_zero() => {
            tokio::time::sleep(idle).await;
            scrape_round_trips(&mut metrics)
                .await
                .ok()
                .map(|end| (end, end - start))
        }
        Some(start) => Some((start, 0.0)),
        None => None,
    };
    let result = work.await;
    let after = scrape_round_trips(&mut metrics).await.ok();
    let counted = idle_count
        .zip(after)
        .map(|((before, idle), after)| RoundTrips {
            during: after - before,
            idle,
            windows: 1,
        });
    (result, counted)
}

/// Both counts of two measurements together.
impl std::ops::Add for RoundTrips {
    type Output = RoundTrips;

    fn add(self, other: RoundTrips) -> RoundTrips {
        RoundTrips {
            during: self.during + other.during,
            idle: self.idle + other.idle,
            windows: self.windows + other.windows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn background_is_subtracted_and_never_goes_negative() {
        let rt = RoundTrips {
            during: 7.0,
            idle: 4.0,
            windows: 1,
        };
        assert_eq!(rt.net(), 3.0);
        assert_eq!(rt.per_request(1_000), 0.003);
        assert!(rt.none_from_requests(), "3 ≤ one idle tick of 4");
        let quiet = RoundTrips {
            during: 2.0,
            idle: 4.0,
            windows: 1,
        };
        assert_eq!(quiet.net(), 0.0);
        assert!(
            quiet
                .describe(10)
                .contains("= 0 (background tolerance 4) over 10 requests")
        );
    }

    #[test]
    fn one_extra_tick_per_window_is_background_more_is_not() {
        let lucky = RoundTrips {
            during: 1.0,
            idle: 0.0,
            windows: 1,
        };
        assert!(lucky.none_from_requests());
        let three_rounds = lucky
            + lucky
            + RoundTrips {
                during: 3.0,
                idle: 2.0,
                windows: 1,
            };
        assert_eq!((three_rounds.net(), three_rounds.windows), (3.0, 3));
        assert!(three_rounds.none_from_requests());
        let per_request = RoundTrips {
            during: 640.0,
            idle: 1.0,
            windows: 1,
        };
        assert!(!per_request.none_from_requests());
    }
}
