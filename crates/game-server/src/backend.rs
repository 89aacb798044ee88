//! What the server needs from a repository beyond the use cases: readiness, metrics and
//! an orderly stop. Implemented for the two repositories `--repo` chooses between.

use async_trait::async_trait;
use game_domain::Repository;

use crate::metrics::Exposition;

/// A repository the server can run on.
#[async_trait]
pub trait Backend: Repository {
    /// Ok when the store answers and the game state is loaded; else why not.
    async fn check_ready(&self) -> Result<(), String>;

    /// Adds the repository's metric families (cache, flushes, locks, round trips).
    fn write_metrics(&self, out: &mut Exposition);

    /// Stops background work and writes everything pending (the final flush).
    async fn shutdown(&self) -> Result<(), String>;
}
