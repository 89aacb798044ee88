//! What one round of the edge's link follows, the whole world or some cells, and the
//! replica's steps either way, as the link's loop needs them.

use game_cache::relay::{Applied, BatchIndex, Beacon, CellMessage, Replica, Step};
use game_domain::world::WorldSnapshot;

use super::cells::CellSubscriptions;
use super::follower::CellFollower;

/// What a round follows.
pub enum Following {
    /// The whole world, through the wildcard.
    Whole(Replica, CellSubscriptions),
    /// Some cells.
    Cells(CellFollower),
}

impl Following {
    /// The round's world.
    pub fn world(&self) -> &WorldSnapshot {
        match self {
            Following::Whole(replica, _) => replica.world(),
            Following::Cells(follower) => follower.world(),
        }
    }

    /// Takes a cell's message: the batches it completed, or why to fetch again.
    pub fn receive(&mut self, message: CellMessage) -> Result<Vec<Applied>, String> {
        match self {
            Following::Whole(replica, _) => match replica.receive(message) {
                Step::Applied(applied) => Ok(vec![applied]),
                Step::Resync(resync) => Err(format!("{resync:?}")),
                Step::Waiting | Step::Old | Step::Quiet => Ok(Vec::new()),
            },
            Following::Cells(follower) => follower
                .replica()
                .receive(message)
                .map_err(|r| format!("{r:?}")),
        }
    }

    /// Takes a batch index (only a round following some cells needs it).
    pub fn index(&mut self, index: BatchIndex) -> Result<Vec<Applied>, String> {
        match self {
            Following::Cells(follower) => follower
                .replica()
                .index(index)
                .map_err(|r| format!("{r:?}")),
            Following::Whole(..) => Ok(Vec::new()),
        }
    }

    /// Takes the owner's beacon: why to fetch again, if it says so.
    pub fn beacon(&mut self, beacon: Beacon) -> Option<String> {
        let resync = match self {
            Following::Whole(replica, _) => replica.beacon(beacon),
            Following::Cells(follower) => follower.replica().beacon(beacon),
        };
        resync.map(|resync| format!("{resync:?}"))
    }
}
