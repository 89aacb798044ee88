//! The research tree: the three researches, their formulas, and a player's levels.

use serde::{Deserialize, Serialize};

/// One of the three researches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ResearchType {
    /// Raises iron income (wire name `IronHarvesting`).
    IronHarvesting,
    /// Raises base ship speed (wire name `shipSpeed`).
    #[serde(rename = "shipSpeed")]
    ShipSpeed,
    /// Multiplies ship speed (wire name `Afterburner`).
    Afterburner,
}

/// How a research's effect grows with its level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum ValueIncrease {
    /// effect(L) = base · factor^(L−1).
    Factor(f64),
    /// effect(L) = base + step · (L−1).
    Constant(f64),
}

/// The fixed description of a research: its row of the table in docs/rules.md, Research.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResearchSpec {
    /// Which research this is.
    pub kind: ResearchType,
    /// Key in the tech tree (`ironHarvesting`, …).
    pub tree_key: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Player-facing description.
    pub description: &'static str,
    /// Level every player starts at.
    pub start_level: u32,
    /// Cost in iron of the first upgrade.
    pub base_cost: f64,
    /// Duration in seconds of the first upgrade.
    pub base_duration: f64,
    /// Effect at level 1.
    pub base_value: f64,
    /// Cost and duration multiply by this per level.
    pub cost_factor: f64,
    /// How the effect grows per level.
    pub value_increase: ValueIncrease,
    /// Unit of the effect.
    pub unit: &'static str,
}

impl ResearchType {
    /// All researches, in display order.
    pub const ALL: [ResearchType; 3] = [
        ResearchType::IronHarvesting,
        ResearchType::ShipSpeed,
        ResearchType::Afterburner,
    ];

    /// The wire name, as clients send it in `trigger-research`.
    pub fn wire_name(self) -> &'static str {
        match self {
            ResearchType::IronHarvesting => "IronHarvesting",
            ResearchType::ShipSpeed => "shipSpeed",
            ResearchType::Afterburner => "Afterburner",
        }
    }

    /// Parses a wire name or, leniently, a tree key (`ironHarvesting`, `afterburner`).
    pub fn parse(name: &str) -> Option<ResearchType> {
        ResearchType::ALL
            .into_iter()
            .find(|kind| kind.wire_name() == name || kind.spec().tree_key == name)
    }

    /// The research's fixed parameters.
    pub fn spec(self) -> &'static ResearchSpec {
        match self {
            ResearchType::IronHarvesting => &IRON_HARVESTING,
            ResearchType::ShipSpeed => &SHIP_SPEED,
            ResearchType::Afterburner => &AFTERBURNER,
        }
    }
}

const IRON_HARVESTING: ResearchSpec = ResearchSpec {
    kind: ResearchType::IronHarvesting,
    tree_key: "ironHarvesting",
    name: "Iron Harvesting",
    description: "Determines how much iron is harvested per second.",
    start_level: 1,
    base_cost: 100.0,
    base_duration: 10.0,
    base_value: 1.0,
    cost_factor: 2.0,
    value_increase: ValueIncrease::Factor(1.1),
    unit: "iron/sec",
};

const SHIP_SPEED: ResearchSpec = ResearchSpec {
    kind: ResearchType::ShipSpeed,
    tree_key: "shipSpeed",
    name: "Ship Speed",
    description: "Determines how fast your ship travels.",
    start_level: 1,
    base_cost: 500.0,
    base_duration: 30.0,
    base_value: 25.0,
    cost_factor: 2.0,
    value_increase: ValueIncrease::Constant(5.0),
    unit: "units",
};

const AFTERBURNER: ResearchSpec = ResearchSpec {
    kind: ResearchType::Afterburner,
    tree_key: "afterburner",
    name: "Afterburner",
    description: "Gives the spaceship a much higher speed (% speed increase).",
    start_level: 0,
    base_cost: 5000.0,
    base_duration: 120.0,
    base_value: 100.0,
    cost_factor: 1.5,
    value_increase: ValueIncrease::Factor(1.2),
    unit: "%",
};

impl ResearchSpec {
    /// Iron cost of the upgrade that reaches `target_level`.
    pub fn cost(&self, target_level: u32) -> f64 {
        self.scaled(self.base_cost, target_level)
    }

    /// Seconds the upgrade that reaches `target_level` takes.
    pub fn duration(&self, target_level: u32) -> f64 {
        self.scaled(self.base_duration, target_level)
    }

    /// The research's effect at `level` (0 at level 0).
    pub fn effect(&self, level: u32) -> f64 {
        if level == 0 {
            return 0.0;
        }
        let steps = level - 1;
        match self.value_increase {
            ValueIncrease::Factor(factor) => self.base_value * factor.powi(steps as i32),
            ValueIncrease::Constant(step) => self.base_value + step * f64::from(steps),
        }
    }

    fn scaled(&self, base: f64, target_level: u32) -> f64 {
        if target_level <= self.start_level {
            base
        } else {
            base * self
                .cost_factor
                .powi((target_level - self.start_level - 1) as i32)
        }
    }
}

/// The research in progress.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ActiveResearch {
    /// What is being researched.
    #[serde(rename = "type")]
    pub kind: ResearchType,
    /// Seconds until it completes.
    #[serde(rename = "remainingDuration")]
    pub remaining_duration: f64,
}

/// A player's research levels and the research in progress, as sent on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TechTree {
    /// Iron Harvesting level.
    pub iron_harvesting: u32,
    /// Ship Speed level.
    pub ship_speed: u32,
    /// Afterburner level.
    pub afterburner: u32,
    /// At most one research runs at a time.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub active_research: Option<ActiveResearch>,
}

impl Default for TechTree {
    /// Every research at its start level, nothing in progress.
    fn default() -> Self {
        TechTree {
            iron_harvesting: IRON_HARVESTING.start_level,
            ship_speed: SHIP_SPEED.start_level,
            afterburner: AFTERBURNER.start_level,
            active_research: None,
        }
    }
}

impl TechTree {
    /// Current level of a research.
    pub fn level(&self, kind: ResearchType) -> u32 {
        match kind {
            ResearchType::IronHarvesting => self.iron_harvesting,
            ResearchType::ShipSpeed => self.ship_speed,
            ResearchType::Afterburner => self.afterburner,
        }
    }

    /// Mutable access to a research's level.
    pub fn level_mut(&mut self, kind: ResearchType) -> &mut u32 {
        match kind {
            ResearchType::IronHarvesting => &mut self.iron_harvesting,
            ResearchType::ShipSpeed => &mut self.ship_speed,
            ResearchType::Afterburner => &mut self.afterburner,
        }
    }

    /// Current effect of a research.
    pub fn effect(&self, kind: ResearchType) -> f64 {
        kind.spec().effect(self.level(kind))
    }

    /// Iron earned per second.
    pub fn iron_per_second(&self) -> f64 {
        self.effect(ResearchType::IronHarvesting)
    }

    /// Max ship speed: ship speed effect · (1 + afterburner % / 100).
    pub fn max_speed(&self) -> f64 {
        self.effect(ResearchType::ShipSpeed)
            * (1.0 + self.effect(ResearchType::Afterburner) / 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_and_durations_follow_the_spec_examples() {
        let iron = ResearchType::IronHarvesting.spec();
        assert_eq!((iron.cost(2), iron.duration(2)), (100.0, 10.0));
        assert_eq!((iron.cost(3), iron.duration(3)), (200.0, 20.0));
        let afterburner = ResearchType::Afterburner.spec();
        assert_eq!(
            (afterburner.cost(1), afterburner.duration(1)),
            (5000.0, 120.0)
        );
        assert_eq!(
            (afterburner.cost(2), afterburner.duration(2)),
            (7500.0, 180.0)
        );
        let speed = ResearchType::ShipSpeed.spec();
        assert_eq!((speed.cost(2), speed.duration(2)), (500.0, 30.0));
        assert_eq!((speed.cost(3), speed.duration(3)), (1000.0, 60.0));
    }

    #[test]
    fn effects_follow_the_spec_examples() {
        let iron = ResearchType::IronHarvesting.spec();
        assert_eq!(iron.effect(1), 1.0);
        assert_eq!(iron.effect(2), 1.1);
        assert_eq!(iron.effect(3), 1.2100000000000002);
        let afterburner = ResearchType::Afterburner.spec();
        assert_eq!(
            [
                afterburner.effect(0),
                afterburner.effect(1),
                afterburner.effect(2)
            ],
            [0.0, 100.0, 120.0]
        );
        let speed = ResearchType::ShipSpeed.spec();
        assert_eq!(
            [speed.effect(1), speed.effect(2), speed.effect(3)],
            [25.0, 30.0, 35.0]
        );
    }

    #[test]
    fn max_speed_of_a_new_player_and_with_afterburner() {
        let mut tree = TechTree::default();
        assert_eq!(tree.max_speed(), 25.0);
        tree.afterburner = 1;
        assert_eq!(tree.max_speed(), 50.0);
    }

    #[test]
    fn research_types_parse_wire_names_and_tree_keys() {
        assert_eq!(
            ResearchType::parse("IronHarvesting"),
            Some(ResearchType::IronHarvesting)
        );
        assert_eq!(
            ResearchType::parse("shipSpeed"),
            Some(ResearchType::ShipSpeed)
        );
        assert_eq!(
            ResearchType::parse("afterburner"),
            Some(ResearchType::Afterburner)
        );
        assert_eq!(ResearchType::parse("Warp"), None);
    }
}
