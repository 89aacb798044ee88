//! The relay between a world's owner and its edge servers (docs/world-sync.md, "Edges"),
//! without its transport: what goes over the wire and the two ends' bookkeeping, so that
//! all of it is tested without a broker. The game server carries it over NATS.
//!
//! - The **owner** ([`Publisher`]) cuts every batch of the world's changes by cell (the
//!   fan-out's grid, [`crate::fanout::ROUTE_CELL`]) into [`CellMessage`]s, each
//!   carrying the world's epoch (new at every start of an owner, so a takeover is seen),
//!   the batch's versions, how many cells the batch has, and the version of the cell's
//!   previous message (a per-cell chain). It answers snapshot requests in bounded
//!   [`SnapshotPart`]s, from the world as of its last published batch, so that a snapshot
//!   and the messages after it fit together exactly.
//! - An **edge** ([`Replica`]) rebuilds the world from a snapshot's parts and moves it
//!   forward one whole batch at a time; a message from another epoch, a batch that does
//!   not start where the replica is, or a cell whose chain skips a message, tells it to
//!   fetch a snapshot again ([`Step::Resync`]). The owner's [`Beacon`] (its epoch and last
//!   batch, at its start and every few seconds) shows a new owner, or a lost last batch,
//!   while nothing changes.
//!
//! The modules are private and their items re-exported here, one path to each: the wire
//! format and the subjects (`message`), the owner's side (`publisher`), the edge's
//! whole-world and partial replicas (`replica`, `partial`), and which cells an edge's
//! streams need (`follow`).

mod follow;
mod message;
mod partial;
mod publisher;
mod replica;

pub use follow::{Change, FollowSet, Wanted, wanted};
pub use message::{
    BatchIndex, Beacon, CellMessage, MAX_SNAPSHOT_CELLS, SessionNotice, SnapshotPart,
    SnapshotRequest, Subjects,
};
pub use partial::{JoinError, PartialReplica};
pub use publisher::{Batch, Publisher};
pub use replica::{Applied, Replica, ReplicaError, Resync, Step};

#[cfg(test)]
mod cell_world;
#[cfg(test)]
mod partial_tests;
#[cfg(test)]
mod publisher_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod wire_tests;
