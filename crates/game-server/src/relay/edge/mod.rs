//! An edge server (`--edge --nats URL`): no lease, no writes; the event streams served
//! from a replica of the owner's world, of the cells its area streams need or of all of
//! it ([`link`]), sessions checked against the database
//! ([`repo`]); every other path answers 421 `edge_only_streams` (the balancer sends those
//! to the owner).
//!
//! - [`repo`]: the repository over the replica and the database.
//! - [`demand`]: what a stream about to open asks of the link, the wait, the answer.
//! - [`link`]: following the owner through NATS, round by round.
//! - [`follower`]: following only the cells the open areas need.
//! - [`following`]: what a round follows, the whole world or some cells.
//! - [`cells`]: the link's cell subscriptions (per cell, or the wildcard).
//! - [`fetch`]: asking the owner for a snapshot.

pub mod cells;
pub mod demand;
pub mod fetch;
pub mod follower;
pub mod following;
pub mod link;
pub mod repo;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use game_cache::password::Argon2Hasher;
use game_domain::game::Game;
use game_domain::rng::GameRng;
use game_persistence::{Database, LeaseStatus};

use crate::app::{App, Dependencies};
use crate::config::Config;
use crate::error::ServerError;
use crate::known_device::KnownDevices;
use crate::limits::Limits;
use crate::relay::RelayError;
use crate::serve::{Listeners, serve};
use crate::session::SessionKeys;

use repo::EdgeRepo;

/// An edge ready to serve: its handlers' state and its NATS link.
pub struct Edge {
    app: Arc<App<EdgeRepo>>,
    client: async_nats::Client,
    connected: tokio::sync::watch::Receiver<bool>,
    demands: tokio::sync::mpsc::Receiver<demand::Demand>,
    config: Config,
}

impl Edge {
    /// Connects to the database (sessions and the cookie keys, read only) and to NATS
    /// (in the background: an edge starts, not ready, while NATS is away).
    pub async fn start(
        config: &Config,
        deps: &Dependencies,
        limits: Arc<Limits>,
        hasher: Arc<Argon2Hasher>,
    ) -> Result<Edge, ServerError> {
        let relay = config.relay.clone();
        let url = relay.nats.clone().unwrap_or_default();
        let db = Database::connect_with(&config.database_url, config.storage.deadlines())
            .await
            .map_err(RelayError::Database)?;
        let session = db
            .server_key("session")
            .await
            .map_err(RelayError::Database)?;
        let device = db
            .server_key("device")
            .await
            .map_err(RelayError::Database)?;
        let sessions = SessionKeys::new(session.as_bytes()).map_err(ServerError::SessionKey)?;
        let devices = KnownDevices::new(device.as_bytes()).map_err(ServerError::SessionKey)?;
        let (demanded, demands) = tokio::sync::mpsc::channel(demand::DEMAND_QUEUE);
        let repo = EdgeRepo::new(db, config.world_size()?, demanded);
        let rng = deps
            .rng_seed
            .map_or_else(GameRng::from_os, GameRng::from_seed);
        let game = Arc::new(Game::new(repo, deps.clock.clone(), rng, hasher));
        let mut app = App::new(
            game,
            LeaseStatus::unleased(),
            config,
            limits,
            sessions,
            devices,
        );
        app.edge = true;
        let (client, connected) = crate::relay::connect(&url, relay.relay_buffer).await?;
        Ok(Edge {
            app: Arc::new(app),
            client,
            connected,
            demands,
            config: config.clone(),
        })
    }

    /// Follows the owner and serves until `shutdown` resolves, then drains.
    pub async fn serve(
        self,
        listeners: Listeners,
        shutdown: impl Future<Output = ()>,
        grace: Duration,
    ) -> Result<(), ServerError> {
        let relay = self.config.relay.clone();
        let subjects = relay.subjects().map_err(RelayError::from)?;
        let sweeper = self.app.limits.spawn_sweeper();
        let link = tokio::spawn(link::follow(
            self.app.clone(),
            self.client.clone(),
            self.connected.clone(),
            subjects,
            relay,
            self.demands,
        ));
        serve(listeners, self.app, shutdown, grace).await;
        link.abort();
        sweeper.abort();
        tracing::info!("edge stopped");
        Ok(())
    }
}
