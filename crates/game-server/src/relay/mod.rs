//! The NATS relay (docs/world-sync.md, "Edges"): an owner started with `--nats URL`
//! publishes its world's batches by cell and answers snapshot requests ([`owner`]); a
//! server started with `--edge` holds no lease, writes nothing, and serves the event
//! streams from a replica it keeps at the owner's versions: of the cells its area
//! streams need, or of the whole world while it must ([`edge`]). The messages and
//! both ends' bookkeeping are the engine's ([`game_cache::relay`]); this module only
//! carries them over NATS with the official client, `async-nats`.
//!
//! - [`config`]: the flags (always built: a build without the `nats` feature refuses them).
//! - [`owner`]: publishing and answering, on the owner.
//! - [`edge`]: the edge's repository, its link to NATS, and its start.

pub mod config;
#[cfg(feature = "nats")]
pub mod edge;
#[cfg(feature = "nats")]
pub mod owner;

#[cfg(feature = "nats")]
pub use link::{RelayError, connect};

#[cfg(feature = "nats")]
mod link {
    use std::time::Duration;

    use tokio::sync::watch;

    /// Why the relay could not start.
    #[derive(Debug, thiserror::Error)]
    pub enum RelayError {
        /// The NATS URL or options were refused.
        #[error("connecting to NATS")]
        Connect(#[source] async_nats::ConnectError),
        /// A subscription was refused.
        #[error("subscribing on NATS")]
        Subscribe(#[source] async_nats::SubscribeError),
        /// The database (sessions, the session key) could not be read.
        #[error("reading the database")]
        Database(#[source] game_persistence::StoreError),
        /// A flag out of range.
        #[error(transparent)]
        Config(#[from] super::config::RelayConfigError),
    }

    /// Connects to `url`, retrying in the background while it is unreachable (the start
    /// never waits for NATS), with subscriptions holding at most `buffer` messages.
    /// `connected` follows the link: true while it is up.
    pub async fn connect(
        url: &str,
        buffer: usize,
    ) -> Result<(async_nats::Client, watch::Receiver<bool>), RelayError> {
        let (up, connected) = watch::channel(false);
        let client = async_nats::ConnectOptions::new()
            .subscription_capacity(buffer)
            .retry_on_initial_connect()
            // Quick to come back after a restart of NATS; no more than one try a second.
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis(
                    u64::try_from(attempts)
                        .unwrap_or(u64::MAX)
                        .saturating_mul(100)
                        .min(1_000),
                )
            })
            .event_callback(move |event| {
                let up = up.clone();
                async move {
                    match event {
                        async_nats::Event::Connected => {
                            up.send_replace(true);
                        }
                        async_nats::Event::Disconnected | async_nats::Event::Closed => {
                            up.send_replace(false);
                        }
                        other => tracing::warn!(event = %other, "NATS"),
                    }
                }
            })
            .connect(url)
            .await
            .map_err(RelayError::Connect)?;
        Ok((client, connected))
    }
}
