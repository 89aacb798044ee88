//! Read models that combine several domain values: what a player is shown.
//!
//! The plain ones derive `Serialize` with the field names clients know; markers that only
//! a transport needs (which answer is a delta, which is whole) are added by the server.

use serde::Serialize;

use crate::geometry::WorldSize;
use crate::space_object::{ObjectId, SpaceObject};
use crate::tech_tree::{ResearchSpec, ResearchType, TechTree, ValueIncrease};
use crate::world::WorldSnapshot;
use crate::world_history::{Delta, Version};

/// The whole world at one moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorldView {
    /// The world's dimensions.
    pub world_size: WorldSize,
    /// Every object, positioned as of `current_time`.
    pub space_objects: Vec<SpaceObject>,
    /// Unix ms the positions refer to.
    pub current_time: i64,
    /// The world version shown (0 when the repository keeps no versions).
    pub version: Version,
}

/// The changes after version `since`, when they are known: the stored states (not
/// positions at `current_time`) of the objects added or changed, and the ids removed.
/// Applied to the world as of `since`, it gives the world as of `version`.
#[derive(Debug, Clone, PartialEq)]
pub struct WorldDeltaView {
    /// The world's dimensions.
    pub world_size: WorldSize,
    /// The version these changes lead to.
    pub version: Version,
    /// The version they start from.
    pub since: Version,
    /// Objects added or changed, as stored states.
    pub upserted: Vec<SpaceObject>,
    /// Ids of objects that left the world.
    pub removed: Vec<ObjectId>,
    /// The server's time (Unix ms) when answering.
    pub current_time: i64,
}

impl WorldDeltaView {
    /// The changes alone.
    pub fn changes(&self) -> Delta {
        Delta {
            upserted: self.upserted.clone(),
            removed: self.removed.clone(),
        }
    }
}

/// The answer to "what changed since version V?".
#[derive(Debug, Clone, PartialEq)]
pub enum WorldSync {
    /// Only the changes.
    Delta(WorldDeltaView),
    /// The whole world, because V was too old or unknown.
    Full(WorldView),
}

impl WorldView {
    /// The world of `snapshot` with positions as of `now_ms`.
    pub fn of(snapshot: &WorldSnapshot, now_ms: i64) -> WorldView {
        WorldView {
            world_size: snapshot.size(),
            space_objects: snapshot.at(now_ms),
            current_time: now_ms,
            version: snapshot.version(),
        }
    }
}

/// A player's ship as of one moment, with the top speed its research allows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ShipStats {
    /// x now.
    pub x: f64,
    /// y now.
    pub y: f64,
    /// Current speed.
    pub speed: f64,
    /// Current heading.
    pub angle: f64,
    /// Max speed from research.
    #[serde(rename = "maxSpeed")]
    pub max_speed: f64,
    /// Unix ms the position refers to.
    pub last_position_update_ms: i64,
}

impl ShipStats {
    /// The ship's stats as of `now_ms`.
    pub fn of(ship: &SpaceObject, tech_tree: &TechTree, now_ms: i64, size: WorldSize) -> ShipStats {
        let ship = ship.at(now_ms, size);
        ShipStats {
            x: ship.x,
            y: ship.y,
            speed: ship.speed,
            angle: ship.angle,
            max_speed: tech_tree.max_speed(),
            last_position_update_ms: ship.last_position_update_ms,
        }
    }
}

/// A player's research tree with each research's figures now and at the next level.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TechTreeView {
    /// Levels and the active research.
    pub tech_tree: TechTree,
    /// Each research with its current and next level's figures.
    pub researches: Researches,
}

/// The three researches keyed by wire name, in display order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Researches {
    /// Iron Harvesting.
    #[serde(rename = "IronHarvesting")]
    pub iron_harvesting: ResearchView,
    /// Ship Speed.
    #[serde(rename = "shipSpeed")]
    pub ship_speed: ResearchView,
    /// Afterburner.
    #[serde(rename = "Afterburner")]
    pub afterburner: ResearchView,
}

/// One research as shown to its player.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResearchView {
    /// Wire name.
    #[serde(rename = "type")]
    pub kind: ResearchType,
    /// Display name.
    pub name: &'static str,
    /// The player's level.
    pub level: u32,
    /// Cost of the first upgrade.
    pub base_upgrade_cost: f64,
    /// Duration of the first upgrade, seconds.
    pub base_upgrade_duration: f64,
    /// Effect at level 1.
    pub base_value: f64,
    /// Cost and duration factor per level.
    pub upgrade_cost_increase: f64,
    /// Effect growth per level.
    pub base_value_increase: ValueIncrease,
    /// Player-facing description.
    pub description: &'static str,
    /// Key in the tech tree.
    pub tree_key: &'static str,
    /// Unit of the effect.
    pub unit: &'static str,
    /// Cost of the next level.
    pub next_upgrade_cost: f64,
    /// Duration of the next level, seconds.
    pub next_upgrade_duration: f64,
    /// Effect now.
    pub current_effect: f64,
    /// Effect at the next level.
    pub next_effect: f64,
}

impl ResearchView {
    fn of(spec: &ResearchSpec, level: u32) -> ResearchView {
        ResearchView {
            kind: spec.kind,
            name: spec.name,
            level,
            base_upgrade_cost: spec.base_cost,
            base_upgrade_duration: spec.base_duration,
            base_value: spec.base_value,
            upgrade_cost_increase: spec.cost_factor,
            base_value_increase: spec.value_increase,
            description: spec.description,
            tree_key: spec.tree_key,
            unit: spec.unit,
            next_upgrade_cost: spec.cost(level + 1),
            next_upgrade_duration: spec.duration(level + 1),
            current_effect: spec.effect(level),
            next_effect: spec.effect(level + 1),
        }
    }
}

impl TechTreeView {
    /// The view of a player's tree.
    pub fn of(tech_tree: &TechTree) -> TechTreeView {
        let view = |kind: ResearchType| ResearchView::of(kind.spec(), tech_tree.level(kind));
        TechTreeView {
            tech_tree: *tech_tree,
            researches: Researches {
                iron_harvesting: view(ResearchType::IronHarvesting),
                ship_speed: view(ResearchType::ShipSpeed),
                afterburner: view(ResearchType::Afterburner),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space_object::fixtures::asteroid;

    #[test]
    fn a_delta_view_gives_back_its_changes() {
        let view = WorldDeltaView {
            world_size: WorldSize::DEFAULT,
            version: 7,
            since: 5,
            upserted: vec![asteroid(3, 10.0, 20.0)],
            removed: vec![4],
            current_time: 1_000,
        };
        assert_eq!(
            view.changes(),
            Delta {
                upserted: vec![asteroid(3, 10.0, 20.0)],
                removed: vec![4],
            }
        );
    }

    #[test]
    fn a_research_view_shows_this_level_and_the_next() {
        // Iron harvesting at level 2: 1.1 iron/s now, 1.21 at level 3, which costs 200
        // iron and takes 20 s (base 100 and 10 s, doubling per level past the first).
        let tree = TechTree {
            iron_harvesting: 2,
            ..TechTree::default()
        };
        let view = TechTreeView::of(&tree).researches.iron_harvesting;
        assert_eq!(view.level, 2);
        assert_eq!(
            (view.next_upgrade_cost, view.next_upgrade_duration),
            (200.0, 20.0)
        );
        assert!((view.current_effect - 1.1).abs() < 1e-12, "{view:?}");
        assert!((view.next_effect - 1.21).abs() < 1e-12, "{view:?}");
    }
}
