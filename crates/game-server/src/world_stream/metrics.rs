//! The world streams' figures in `/metrics` (names kept from before the hub moved into
//! the engine).

use game_cache::fanout::FanoutHub;

use crate::metrics::Exposition;

/// Writes the stream families of `hub` into `/metrics`.
pub fn write_metrics(hub: &FanoutHub, out: &mut Exposition) {
    let stats = hub.stats();
    out.gauge(
        "spacewars_world_streams_open",
        "World event streams open now.",
        stats.open,
    );
    out.counter(
        "spacewars_world_streams_opened_total",
        "World event streams opened.",
        stats.opened,
    );
    out.counter(
        "spacewars_world_streams_cut_off_total",
        "World event streams ended because their client fell too far behind.",
        stats.cut_off,
    );
    out.counter(
        "spacewars_world_stream_batches_total",
        "Batches of world changes sent (each serialised once for every stream).",
        stats.batches,
    );
    out.gauge(
        "spacewars_world_stream_version",
        "The world version of the last batch sent.",
        stats.version,
    );
}
