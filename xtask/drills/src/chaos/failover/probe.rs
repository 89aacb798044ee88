//! The unavailability probe: from the signal on, a new game request (`GET /api/world`,
//! its own connection) through HAProxy every [`PROBE_EVERY`], without waiting for the
//! previous ones, until one succeeds. Requests that HAProxy holds (retrying a server that
//! just stopped) therefore do not hide the moment the next owner serves; they show up as
//! the slowest request instead.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::bail;
use tokio::task::JoinSet;

use spacewars_harness::api::Answer;
use spacewars_harness::player::Player;

/// How often a probe request starts.
pub const PROBE_EVERY: Duration = Duration::from_millis(10);

/// How long, after the first success, the requests still on their way may take to finish.
const STRAGGLERS: Duration = Duration::from_secs(12);

/// Counts of the probe's outcomes, in order of first appearance, and the slowest request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcomes {
    counts: Vec<(String, u32)>,
    /// The longest any probe request took to get its answer (or fail).
    pub slowest: Duration,
}

impl Outcomes {
    fn add(&mut self, label: String, took: Duration) {
        self.slowest = self.slowest.max(took);
        match self.counts.iter_mut().find(|(l, _)| *l == label) {
            Some((_, count)) => *count += 1,
            None => self.counts.push((label, 1)),
        }
    }
}

impl std::fmt::Display for Outcomes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .counts
            .iter()
            .map(|(l, n)| format!("{l} ×{n}"))
            .collect();
        write!(f, "{}; slowest {:.2?}", parts.join(", "), self.slowest)
    }
}

/// Probes through `proxy` with `player`'s session from now on; returns the time from
/// `since` until the first successful answer, and what all the requests got.
pub async fn probe(
    proxy: SocketAddr,
    player: Player,
    since: Instant,
    give_up: Duration,
) -> anyhow::Result<(Duration, Outcomes)> {
    let mut requests = JoinSet::new();
    let mut outcomes = Outcomes::default();
    let mut ticker = tokio::time::interval(PROBE_EVERY);
    let mut first_ok = None;
    while first_ok.is_none() {
        if since.elapsed() >= give_up {
            bail!(
                "no game request succeeded through HAProxy within {give_up:?} of the signal ({outcomes})"
            );
        }
        tokio::select! {
            _ = ticker.tick() => {
                let mut api = player.api(proxy);
                requests.spawn(async move {
                    let sent = Instant::now();
                    let label = match api.world().await {
                        Ok(Answer::Ok(_)) => "200".to_owned(),
                        Ok(Answer::Refused(status, code)) if code.is_empty() => {
                            status.as_u16().to_string()
                        }
                        Ok(Answer::Refused(status, code)) => format!("{} {code}", status.as_u16()),
                        Err(error) => error.label().to_owned(),
                    };
                    (label, sent.elapsed(), Instant::now())
                });
            }
            Some(Ok((label, took, answered))) = requests.join_next() => {
                if label == "200" {
                    first_ok = Some(answered);
                }
                outcomes.add(label, took);
            }
        }
    }
    let stragglers_until = Instant::now() + STRAGGLERS;
    while let Ok(Some(joined)) =
        tokio::time::timeout_at(stragglers_until.into(), requests.join_next()).await
    {
        if let Ok((label, took, _)) = joined {
            outcomes.add(label, took);
        }
    }
    let first_ok = first_ok.unwrap_or_else(Instant::now);
    Ok((first_ok.saturating_duration_since(since), outcomes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_counted_in_order() {
        let mut outcomes = Outcomes::default();
        outcomes.add("503".into(), Duration::from_millis(3));
        outcomes.add("no_response".into(), Duration::from_millis(40));
        outcomes.add("503".into(), Duration::from_millis(2));
        outcomes.add("200".into(), Duration::from_millis(5));
        assert_eq!(
            outcomes.to_string(),
            "503 ×2, no_response ×1, 200 ×1; slowest 40.00ms"
        );
    }
}
