//! One `/metrics` page: a prometheus-client [`Registry`] filled at scrape time and encoded
//! in the Prometheus text format 0.0.4.
//!
//! Values that are read from elsewhere when scraped (cache sizes, lock statistics, rate
//! limiter keys…) are registered as constants for this page only; the request metrics are
//! long-lived and registered by handle ([`Exposition::register`]).

use std::fmt::Debug;

use prometheus_client::encoding::{
    EncodeCounterValue, EncodeGaugeValue, EncodeMetric, MetricEncoder, prometheus_text,
};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::{Metric, Registry};

/// A metrics page being built.
#[derive(Debug, Default)]
pub struct Exposition {
    registry: Registry,
}

/// One label of a labelled family: `(label name, label value)`.
type Label = [(&'static str, &'static str); 1];

impl Exposition {
    /// A counter family with one sample. `name` is the exposed name, ending in `_total`.
    pub fn counter<N>(&mut self, name: &str, help: &str, value: N)
    where
        N: EncodeCounterValue + Debug + Send + Sync + 'static,
    {
        self.register(counter_name(name), help, ConstCounter::new(value));
    }

    /// A gauge family with one sample.
    pub fn gauge<N>(&mut self, name: &str, help: &str, value: N)
    where
        N: EncodeGaugeValue + Debug + Send + Sync + 'static,
    {
        self.register(name, help, ConstGauge::new(value));
    }

    /// A counter family with one sample per value of the label `label`; `name` ends in
    /// `_total`.
    pub fn counters<N>(
        &mut self,
        name: &str,
        help: &str,
        label: &'static str,
        samples: impl IntoIterator<Item = (&'static str, N)>,
    ) where
        N: EncodeCounterValue + Debug + Send + Sync + 'static,
    {
        let family = ConstFamily::new(label, samples, ConstCounter::new);
        self.register(counter_name(name), help, family);
    }

    /// A gauge family with one sample per value of the label `label`.
    pub fn gauges<N>(
        &mut self,
        name: &str,
        help: &str,
        label: &'static str,
        samples: impl IntoIterator<Item = (&'static str, N)>,
    ) where
        N: EncodeGaugeValue + Debug + Send + Sync + 'static,
    {
        let family = ConstFamily::new(label, samples, ConstGauge::new);
        self.register(name, help, family);
    }

    /// Registers any metric under `name` (without the `_total` of a counter, which the
    /// encoder adds). prometheus-client ends every help text with a full stop, so one
    /// already there is dropped.
    pub fn register(&mut self, name: &str, help: &str, metric: impl Metric) {
        let help = help.strip_suffix('.').unwrap_or(help);
        self.registry.register(name, help, metric);
    }

    /// The page.
    pub fn finish(self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// A counter's registered name: its exposed name without `_total`.
fn counter_name(name: &str) -> &str {
    debug_assert!(
        name.ends_with("_total"),
        "counter {name} must end in _total"
    );
    name.strip_suffix("_total").unwrap_or(name)
}

/// Constant samples of one family, one per value of a single label, in the given order.
#[derive(Debug)]
struct ConstFamily<M> {
    samples: Vec<(Label, M)>,
}

impl<M> ConstFamily<M> {
    fn new<N>(
        label: &'static str,
        samples: impl IntoIterator<Item = (&'static str, N)>,
        metric: impl Fn(N) -> M,
    ) -> Self {
        let samples = samples
            .into_iter()
            .map(|(value, sample)| ([(label, value)], metric(sample)))
            .collect();
        ConstFamily { samples }
    }
}

impl<M: EncodeMetric + TypedMetric> EncodeMetric for ConstFamily<M> {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        for (labels, metric) in &self.samples {
            metric.encode(encoder.encode_family(labels)?)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        M::TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_render_in_the_prometheus_text_format() {
        let mut page = Exposition::default();
        page.counter("spacewars_things_total", "Things done.", 7_u64);
        page.gauge("spacewars_level", "A level", 1.5_f64);
        page.counters(
            "spacewars_hits_total",
            "Hits, by kind.",
            "kind",
            [("user", 2_u64), ("a\"b\\c\nd", 3)],
        );
        page.gauges(
            "spacewars_waiters",
            "Waiters.",
            "level",
            [("World", 0_usize)],
        );
        assert_eq!(
            page.finish().expect("page"),
            "# HELP spacewars_things_total Things done.\n\
             # TYPE spacewars_things_total counter\n\
             spacewars_things_total 7\n\
             # HELP spacewars_level A level.\n\
             # TYPE spacewars_level gauge\n\
             spacewars_level 1.5\n\
             # HELP spacewars_hits_total Hits, by kind.\n\
             # TYPE spacewars_hits_total counter\n\
             spacewars_hits_total{kind=\"user\"} 2\n\
             spacewars_hits_total{kind=\"a\\\"b\\\\c\\nd\"} 3\n\
             # HELP spacewars_waiters Waiters.\n\
             # TYPE spacewars_waiters gauge\n\
             spacewars_waiters{level=\"World\"} 0\n"
        );
    }
}
