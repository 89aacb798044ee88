//! What a subscriber receives: whole-world batches (shared by every whole-world
//! subscriber), its own area events (assembled from the batch's shared object JSON) and
//! keep-alives. A transport frames them; the JSON is the same for every transport.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use game_domain::geometry::WorldSize;
use game_domain::space_object::{ObjectId, SpaceObject};
use game_domain::views::WorldView;
use game_domain::world_history::Version;

use super::json::{self, DeltaHeader, SnapshotBody};

/// A changed object: its stored state and its JSON, made once per batch and shared by
/// every event that carries it.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// The stored state.
    pub object: SpaceObject,
    /// Its JSON (`{"id":…,"type":…,…}`).
    pub json: Bytes,
}

impl Encoded {
    /// `object` with its JSON.
    pub fn new(object: SpaceObject) -> Encoded {
        Encoded {
            json: json::fragment(&object),
            object,
        }
    }
}

/// What a batch carries.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchChanges {
    /// The changes: objects added or changed (in id order) and ids removed (in id order).
    Delta {
        /// Added or changed, as stored states.
        upserted: Vec<Encoded>,
        /// Removed.
        removed: Vec<ObjectId>,
    },
    /// The whole world, positioned at the batch's time: the change log could not say what
    /// changed since the last batch.
    Full(WorldView),
}

/// One batch of commits, from `since` to `version`, shared by every subscriber.
#[derive(Debug)]
pub struct SharedBatch {
    /// The version the batch starts from.
    pub since: Version,
    /// The version it leads to.
    pub version: Version,
    /// The server's time when it was gathered (Unix ms).
    pub current_time: i64,
    /// The world's dimensions.
    pub world_size: WorldSize,
    /// The changes.
    pub changes: BatchChanges,
    json: OnceLock<Bytes>,
    framed: OnceLock<Bytes>,
}

impl SharedBatch {
    /// A batch; each object's JSON is made here, once.
    pub fn new(
        since: Version,
        version: Version,
        current_time: i64,
        world_size: WorldSize,
        changes: BatchChanges,
    ) -> SharedBatch {
        SharedBatch {
            since,
            version,
            current_time,
            world_size,
            changes,
            json: OnceLock::new(),
            framed: OnceLock::new(),
        }
    }

    /// `delta` or `snapshot` (a whole world).
    pub fn name(&self) -> &'static str {
        match self.changes {
            BatchChanges::Delta { .. } => "delta",
            BatchChanges::Full(_) => "snapshot",
        }
    }

    /// The batch's JSON for whole-world subscribers (made once, on first use).
    pub fn json(&self) -> &Bytes {
        self.json.get_or_init(|| {
            let mut out = Vec::with_capacity(4096);
            match &self.changes {
                BatchChanges::Delta { upserted, removed } => json::write_delta(
                    &mut out,
                    &self.header(self.since),
                    upserted.iter().map(|e| &e.json),
                    removed,
                ),
                BatchChanges::Full(world) => {
                    let body = SnapshotBody {
                        world_size: world.world_size,
                        space_objects: &world.space_objects,
                        current_time: world.current_time,
                        version: world.version,
                        full: true,
                        radius: None,
                    };
                    if json::write_json(&mut out, &body).is_err() {
                        out.clear();
                    }
                }
            }
            Bytes::from(out)
        })
    }

    /// The batch as a transport frames it for whole-world subscribers, made by `frame` for
    /// the first of them and shared by the rest (a server uses one framing).
    pub fn framed(&self, frame: impl FnOnce(&SharedBatch) -> Bytes) -> Bytes {
        self.framed.get_or_init(|| frame(self)).clone()
    }

    /// The changed object `id` with its JSON, if the batch changed it.
    pub fn upserted(&self, id: ObjectId) -> Option<&Encoded> {
        match &self.changes {
            BatchChanges::Delta { upserted, .. } => upserted
                .binary_search_by_key(&id, |e| e.object.id)
                .ok()
                .map(|i| &upserted[i]),
            BatchChanges::Full(_) => None,
        }
    }

    pub(crate) fn header(&self, since: Version) -> DeltaHeader {
        DeltaHeader {
            world_size: self.world_size,
            version: self.version,
            since,
            current_time: self.current_time,
        }
    }
}

/// The opening of an area subscription: the stored states within its radius and margin.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaSnapshot {
    /// The world's dimensions.
    pub world_size: WorldSize,
    /// The objects near the ship, as stored states, in id order.
    pub objects: Vec<SpaceObject>,
    /// The server's time (Unix ms).
    pub current_time: i64,
    /// The version shown.
    pub version: Version,
    /// The radius followed.
    pub radius: f64,
}

/// An area's share of a batch, or what entered and left it at a refresh.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaDelta {
    /// The version the changes start from.
    pub since: Version,
    /// The version they lead to.
    pub version: Version,
    /// The server's time (Unix ms).
    pub current_time: i64,
    /// The world's dimensions.
    pub world_size: WorldSize,
    /// Objects changed or entered, in id order, with their (shared) JSON.
    pub upserted: Vec<Encoded>,
    /// Objects removed or left, in id order.
    pub removed: Vec<ObjectId>,
}

/// An event of one area subscriber.
#[derive(Debug, Clone, PartialEq)]
pub enum AreaEvent {
    /// Start over from what is near now.
    Snapshot(AreaSnapshot),
    /// Apply these changes.
    Delta(AreaDelta),
}

impl AreaEvent {
    /// The version the subscriber knows after applying it.
    pub fn version(&self) -> Version {
        match self {
            AreaEvent::Snapshot(s) => s.version,
            AreaEvent::Delta(d) => d.version,
        }
    }

    /// `snapshot` or `delta`.
    pub fn name(&self) -> &'static str {
        match self {
            AreaEvent::Snapshot(_) => "snapshot",
            AreaEvent::Delta(_) => "delta",
        }
    }

    /// Appends its JSON to `out` (shared object JSON copied in, nothing re-encoded).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            AreaEvent::Snapshot(s) => {
                let body = SnapshotBody {
                    world_size: s.world_size,
                    space_objects: &s.objects,
                    current_time: s.current_time,
                    version: s.version,
                    full: true,
                    radius: Some(s.radius),
                };
                if json::write_json(out, &body).is_err() {
                    out.extend_from_slice(b"null");
                }
            }
            AreaEvent::Delta(d) => {
                let header = DeltaHeader {
                    world_size: d.world_size,
                    version: d.version,
                    since: d.since,
                    current_time: d.current_time,
                };
                json::write_delta(out, &header, d.upserted.iter().map(|e| &e.json), &d.removed);
            }
        }
    }
}

/// What the hub queues for a subscriber.
#[derive(Debug, Clone)]
pub enum Event {
    /// A whole-world batch (the same for every whole-world subscriber). One that leads to
    /// a version the subscriber's opening already covered can be skipped.
    World(Arc<SharedBatch>),
    /// An event of this area subscriber alone.
    Area(AreaEvent),
    /// Nothing happened for a while: a transport may keep its connection alive.
    Heartbeat,
    /// The subscription ends now, for this reason (e.g. `relay_lost`: an edge lost its
    /// owner's feed); nothing follows.
    Ended(&'static str),
}
