//! A player's copy of the world, kept up to date from full worlds and deltas
//! (docs/http-api.md, `GET /api/world?since=V` and `/api/world/events`).

use std::collections::HashMap;

use anyhow::{Context, bail};
use game_domain::space_object::{ObjectId, ObjectKind, SpaceObject};
use rand::Rng;
use serde::Deserialize;

/// Any world body the sync modes receive: a plain `GET /api/world`, a delta, or a full
/// world marked `full: true` (from `?since=` or a stream's `snapshot`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncBody {
    /// The version the body brings the client to.
    pub version: u64,
    /// `false` on a delta, `true` on a full answer to `?since=`, absent on a plain read.
    #[serde(default)]
    pub full: Option<bool>,
    /// The version a delta starts from.
    #[serde(default)]
    pub since: Option<u64>,
    /// Every object (full worlds only).
    #[serde(default)]
    pub space_objects: Option<Vec<SpaceObject>>,
    /// Objects added or changed (deltas only).
    #[serde(default)]
    pub upserted: Vec<SpaceObject>,
    /// Ids of objects that left the world (deltas only).
    #[serde(default)]
    pub removed: Vec<ObjectId>,
    /// The server's time when answering, Unix ms.
    pub current_time: i64,
}

impl SyncBody {
    /// Parses a body.
    pub fn parse(bytes: &[u8]) -> anyhow::Result<SyncBody> {
        serde_json::from_slice(bytes).context("world body does not parse")
    }
}

/// How strictly a delta's versions are checked against the copy's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Deltas form a chain: each starts at or before the copy's version (delta polls, the
    /// whole-world stream).
    Chain,
    /// Versions are not a chain (the area stream: what entered or left an area is sent
    /// at the world's version of that tick, possibly ahead of the batches sent so far);
    /// only a full world must come first.
    Loose,
}

/// What applying a body did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The copy was replaced by a full world of this many objects.
    Full(usize),
    /// A delta changed this many objects and removed this many.
    Delta {
        /// Objects added or changed.
        upserted: usize,
        /// Objects removed.
        removed: usize,
    },
}

/// The objects a player knows and the version they are as of.
#[derive(Debug, Clone, Default)]
pub struct LocalWorld {
    version: Option<u64>,
    objects: HashMap<ObjectId, SpaceObject>,
}

impl LocalWorld {
    /// The version known, `None` before the first full world (or after a failed delta).
    pub fn version(&self) -> Option<u64> {
        self.version
    }

    /// Forgets the version, so the next read asks for the whole world.
    pub fn reset(&mut self) {
        self.version = None;
    }

    /// Applies `body`. With [`Check::Chain`] a delta applies to a copy at version V when
    /// it starts at or before V (it then holds every change after V) and does not lead
    /// back before V; anything else is an error, and the copy's version is forgotten.
    pub fn apply(&mut self, body: SyncBody, check: Check) -> anyhow::Result<Applied> {
        if let Some(objects) = body.space_objects {
            if body.full == Some(false) {
                bail!("a body marked full: false has spaceObjects");
            }
            self.objects = objects.into_iter().map(|o| (o.id, o)).collect();
            self.version = Some(body.version);
            return Ok(Applied::Full(self.objects.len()));
        }
        let result = self.apply_delta(&body, check);
        if result.is_err() {
            self.reset();
        }
        result
    }

    fn apply_delta(&mut self, body: &SyncBody, check: Check) -> anyhow::Result<Applied> {
        if body.full != Some(false) {
            bail!("a world body has neither spaceObjects nor full: false");
        }
        let since = body.since.context("a delta without since")?;
        let known = self
            .version
            .context("a delta arrived before any full world")?;
        if check == Check::Chain && since > known {
            bail!("delta from version {since} but the copy is at {known}: changes missed");
        }
        if check == Check::Chain && body.version < known {
            bail!(
                "delta leads to version {} but the copy is at {known}",
                body.version
            );
        }
        for object in &body.upserted {
            self.objects.insert(object.id, *object);
        }
        for id in &body.removed {
            self.objects.remove(id);
        }
        self.version = Some(body.version.max(known));
        Ok(Applied::Delta {
            upserted: body.upserted.len(),
            removed: body.removed.len(),
        })
    }

    /// A random collectable object (anything but a ship), if one is known.
    pub fn random_collectable(&self, rng: &mut impl Rng) -> Option<ObjectId> {
        let collectable = || {
            self.objects
                .values()
                .filter(|o| o.kind != ObjectKind::PlayerShip)
        };
        let count = collectable().count();
        if count == 0 {
            return None;
        }
        collectable().nth(rng.random_range(0..count)).map(|o| o.id)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn object(id: i64, kind: &str, x: f64) -> String {
        format!(
            r#"{{"id":{id},"type":"{kind}","x":{x},"y":2,"speed":0,"angle":0,"last_position_update_ms":1}}"#
        )
    }

    fn world(version: u64, full: &str, objects: &[String]) -> SyncBody {
        let body = format!(
            r#"{{"worldSize":{{"width":500,"height":500}},"spaceObjects":[{}],"currentTime":5,"version":{version}{full}}}"#,
            objects.join(",")
        );
        SyncBody::parse(body.as_bytes()).expect("world parses")
    }

    fn delta(since: u64, version: u64, upserted: &[String], removed: &[i64]) -> SyncBody {
        let removed: Vec<String> = removed.iter().map(i64::to_string).collect();
        let body = format!(
            r#"{{"worldSize":{{"width":500,"height":500}},"version":{version},"since":{since},"full":false,"upserted":[{}],"removed":[{}],"currentTime":6}}"#,
            upserted.join(","),
            removed.join(",")
        );
        SyncBody::parse(body.as_bytes()).expect("delta parses")
    }

    #[test]
    fn full_worlds_replace_and_deltas_upsert_and_remove() {
        let mut local = LocalWorld::default();
        let first = world(
            3,
            "",
            &[object(1, "player_ship", 0.0), object(2, "asteroid", 0.0)],
        );
        assert_eq!(
            local.apply(first, Check::Chain).expect("full"),
            Applied::Full(2)
        );
        assert_eq!(local.version(), Some(3));
        let change = delta(
            3,
            5,
            &[object(2, "asteroid", 9.0), object(7, "shipwreck", 1.0)],
            &[],
        );
        assert_eq!(
            local.apply(change, Check::Chain).expect("delta"),
            Applied::Delta {
                upserted: 2,
                removed: 0
            }
        );
        assert_eq!(local.objects.get(&2).map(|o| o.x), Some(9.0));
        assert_eq!(
            local
                .apply(delta(5, 6, &[], &[7]), Check::Chain)
                .expect("removal"),
            Applied::Delta {
                upserted: 0,
                removed: 1
            }
        );
        assert_eq!((local.objects.len(), local.version()), (2, Some(6)));
        // A full answer to ?since= replaces everything.
        let full = world(9, r#","full":true"#, &[object(4, "escape_pod", 0.0)]);
        assert_eq!(
            local.apply(full, Check::Chain).expect("full again"),
            Applied::Full(1)
        );
        assert!(!local.objects.contains_key(&1));
    }

    #[test]
    fn a_delta_starting_before_the_copy_applies_and_one_after_it_is_a_gap() {
        let mut local = LocalWorld::default();
        local
            .apply(world(10, "", &[object(1, "asteroid", 0.0)]), Check::Chain)
            .expect("full");
        // A stream batch computed from 8 may arrive after a snapshot at 10.
        assert!(
            local
                .apply(
                    delta(8, 12, &[object(1, "asteroid", 3.0)], &[]),
                    Check::Chain
                )
                .is_ok()
        );
        assert_eq!(local.version(), Some(12));
        let gap = local.apply(delta(13, 14, &[], &[]), Check::Chain);
        assert!(format!("{:#}", gap.expect_err("gap")).contains("changes missed"));
        assert_eq!(local.version(), None);
        // Loose: an area tick at a version ahead of the copy applies.
        local
            .apply(world(12, "", &[object(1, "asteroid", 0.0)]), Check::Chain)
            .expect("full");
        assert!(local.apply(delta(15, 15, &[], &[1]), Check::Loose).is_ok());
        assert!(local.objects.is_empty());
        assert!(local.apply(delta(13, 14, &[], &[]), Check::Loose).is_ok());
        assert_eq!(local.version(), Some(15));
        local.reset();
        // Without a version, a delta is refused either way.
        assert!(local.apply(delta(12, 14, &[], &[]), Check::Loose).is_err());
        assert!(local.apply(delta(12, 14, &[], &[]), Check::Chain).is_err());
    }

    #[test]
    fn bodies_of_the_wrong_shape_are_refused() {
        let mut local = LocalWorld::default();
        assert!(SyncBody::parse(b"{\"version\":1}").is_err());
        let neither = SyncBody::parse(b"{\"version\":1,\"currentTime\":2}").expect("parses");
        assert!(local.apply(neither, Check::Chain).is_err());
        assert!(local.objects.is_empty());
    }

    #[test]
    fn collect_targets_are_never_ships() {
        let mut local = LocalWorld::default();
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(local.random_collectable(&mut rng), None);
        let objects = [
            object(1, "player_ship", 0.0),
            object(2, "asteroid", 0.0),
            object(3, "player_ship", 0.0),
        ];
        local
            .apply(world(1, "", &objects), Check::Chain)
            .expect("full");
        for _ in 0..20 {
            assert_eq!(local.random_collectable(&mut rng), Some(2));
        }
    }
}
