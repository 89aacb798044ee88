//! The engine's world fan-out: a hub fed from the engine's game, for an embedder's own
//! transport (docs/embedding.md, Following the world).

use std::sync::Arc;
use std::time::Duration;

use super::Engine;
use crate::CachedRepo;
use crate::fanout::{FanoutHub, HubLimits, feed};

impl Engine<CachedRepo> {
    /// A world fan-out hub with `limits`, areas refreshed every `tick`, fed from this
    /// engine's game by a task of its own (started here, on the current Tokio runtime;
    /// it ends when the hub is closed with [`FanoutHub::close_all`], which the embedder
    /// does before [`Engine::shutdown`]). Subscribe with [`FanoutHub::subscribe`].
    pub fn fanout(&self, limits: HubLimits, tick: Duration) -> Arc<FanoutHub> {
        let hub = Arc::new(FanoutHub::new(limits, tick));
        let versions = self.game.repo().world_versions();
        tokio::spawn(feed(self.game.clone(), hub.clone(), versions));
        hub
    }
}
