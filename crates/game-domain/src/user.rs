//! Players: their iron, research and the passage of time.

use serde::Serialize;

use crate::error::GameError;
use crate::space_object::ObjectId;
use crate::tech_tree::{ActiveResearch, ResearchType, TechTree};

/// Identifier of a user.
pub type UserId = i64;

/// A player's account and game state.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Unique id.
    pub id: UserId,
    /// Unique login name.
    pub username: String,
    /// Password hash in PHC string format.
    pub password_hash: String,
    /// Iron owned (fractional: income accrues per second).
    pub iron: f64,
    /// Unix seconds up to which `iron` and research are accounted.
    pub last_updated: i64,
    /// Research levels and the research in progress.
    pub tech_tree: TechTree,
    /// The player's ship.
    pub ship_id: ObjectId,
}

impl User {
    /// Accounts for the time since `last_updated`: iron income and research progress.
    ///
    /// An Iron Harvesting research that completes inside the interval earns at the old rate
    /// up to its completion and at the new rate afterwards. Nothing happens if `now_s` is not
    /// after `last_updated`.
    pub fn update_stats(&mut self, now_s: i64) {
        let elapsed = now_s - self.last_updated;
        if elapsed <= 0 {
            return;
        }
        let elapsed = elapsed as f64;
        let tree = &mut self.tech_tree;
        match tree.active_research {
            Some(active) if active.remaining_duration <= elapsed => {
                let before = active.remaining_duration.max(0.0);
                self.iron += tree.iron_per_second() * before;
                *tree.level_mut(active.kind) += 1;
                tree.active_research = None;
                self.iron += tree.iron_per_second() * (elapsed - before);
            }
            Some(ref mut active) => {
                active.remaining_duration -= elapsed;
                self.iron += tree.iron_per_second() * elapsed;
            }
            None => self.iron += tree.iron_per_second() * elapsed,
        }
        self.last_updated = now_s;
    }

    /// Starts the next level of `kind`: pays its cost and sets its duration.
    ///
    /// Callers update stats to now first, so a research that just finished is not in the way.
    pub fn trigger_research(&mut self, kind: ResearchType) -> Result<(), GameError> {
        if self.tech_tree.active_research.is_some() {
            return Err(GameError::ResearchInProgress);
        }
        let spec = kind.spec();
        let target = self.tech_tree.level(kind) + 1;
        let cost = spec.cost(target);
        if self.iron < cost {
            return Err(GameError::NotEnoughIron);
        }
        self.iron -= cost;
        self.tech_tree.active_research = Some(ActiveResearch {
            kind,
            remaining_duration: spec.duration(target),
        });
        Ok(())
    }

    /// The `user-stats` view.
    pub fn stats(&self) -> UserStats {
        UserStats {
            iron: self.iron,
            last_updated: self.last_updated,
            iron_per_second: self.tech_tree.iron_per_second(),
        }
    }
}

/// A player's iron and income.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct UserStats {
    /// Iron owned.
    pub iron: f64,
    /// Unix seconds of the last update.
    pub last_updated: i64,
    /// Current income.
    #[serde(rename = "ironPerSecond")]
    pub iron_per_second: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn player(iron: f64) -> User {
        User {
            id: 1,
            username: "p".into(),
            password_hash: String::new(),
            iron,
            last_updated: 1_000,
            tech_tree: TechTree::default(),
            ship_id: 1,
        }
    }

    #[test]
    fn iron_accrues_per_second_at_the_current_rate() {
        let mut user = player(0.0);
        user.update_stats(1_010);
        assert_eq!((user.iron, user.last_updated), (10.0, 1_010));
        user.update_stats(1_005); // the past changes nothing
        assert_eq!((user.iron, user.last_updated), (10.0, 1_010));
    }

    #[test]
    fn iron_harvesting_completing_mid_interval_splits_the_rate() {
        let mut user = player(0.0);
        user.tech_tree.active_research = Some(ActiveResearch {
            kind: ResearchType::IronHarvesting,
            remaining_duration: 4.0,
        });
        user.update_stats(1_010);
        assert!((user.iron - 10.6).abs() < 1e-12, "iron = {}", user.iron);
        assert_eq!(user.tech_tree.iron_harvesting, 2);
        assert_eq!(user.tech_tree.active_research, None);
        assert_eq!(user.last_updated, 1_010);
    }

    #[test]
    fn research_in_progress_counts_down() {
        let mut user = player(0.0);
        user.tech_tree.active_research = Some(ActiveResearch {
            kind: ResearchType::ShipSpeed,
            remaining_duration: 30.0,
        });
        user.update_stats(1_012);
        assert_eq!(
            user.tech_tree.active_research.map(|a| a.remaining_duration),
            Some(18.0)
        );
        user.update_stats(1_030);
        assert_eq!(user.tech_tree.ship_speed, 2);
        assert_eq!(user.tech_tree.active_research, None);
        assert_eq!(user.iron, 30.0);
    }

    #[test]
    fn trigger_charges_cost_and_sets_duration() {
        let mut user = player(150.0);
        user.trigger_research(ResearchType::IronHarvesting).unwrap();
        assert_eq!(user.iron, 50.0);
        assert_eq!(
            user.tech_tree.active_research,
            Some(ActiveResearch {
                kind: ResearchType::IronHarvesting,
                remaining_duration: 10.0
            })
        );
        assert_eq!(
            user.trigger_research(ResearchType::ShipSpeed),
            Err(GameError::ResearchInProgress)
        );
        assert_eq!(user.iron, 50.0);
    }

    #[test]
    fn the_next_level_costs_and_lasts_its_own_amount_and_exact_iron_is_enough() {
        // Iron harvesting at level 2 (it starts at 1): level 3 costs 100 · 2^(3 − 1 − 1) =
        // 200 iron and lasts 10 · 2 = 20 s (docs/rules.md: cost(L) = base · factor^(L − S − 1)).
        let mut user = player(200.0);
        user.tech_tree.iron_harvesting = 2;
        user.trigger_research(ResearchType::IronHarvesting)
            .expect("exactly enough iron");
        assert_eq!(user.iron, 0.0);
        assert_eq!(
            user.tech_tree.active_research,
            Some(ActiveResearch {
                kind: ResearchType::IronHarvesting,
                remaining_duration: 20.0
            })
        );
    }

    #[test]
    fn trigger_refuses_when_iron_is_short() {
        let mut user = player(499.0);
        assert_eq!(
            user.trigger_research(ResearchType::ShipSpeed),
            Err(GameError::NotEnoughIron)
        );
        assert_eq!((user.iron, user.tech_tree.active_research), (499.0, None));
    }
}
