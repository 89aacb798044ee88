//! Which cells an edge follows: the cells its open areas cover, kept a while after they
//! stop being needed (an area moving back and forth across a border does not subscribe
//! and unsubscribe every tick), or every cell when a whole-world stream is open or the
//! areas cover more cells than the edge may subscribe to.

use std::collections::{BTreeMap, BTreeSet};

use game_domain::interest::{CellGrid, CellId};

/// What the edge should follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    /// Every cell (one wildcard subscription and the whole world).
    All,
    /// These cells.
    Cells(BTreeSet<CellId>),
}

/// The cells covered by discs of `(center, reach)`: an area's ship and its radius plus
/// margin and the distance anything may travel before the next refresh (what the hub
/// registers it under). More than `max` cells means all of them.
pub fn wanted(
    grid: &CellGrid,
    areas: impl IntoIterator<Item = ((f64, f64), f64)>,
    max: usize,
) -> Wanted {
    let mut cells = BTreeSet::new();
    for (center, reach) in areas {
        cells.extend(grid.cover(center, reach).cells());
        if cells.len() > max {
            return Wanted::All;
        }
    }
    Wanted::Cells(cells)
}

/// A change to the cells followed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    /// Cells to subscribe to and fetch.
    pub join: BTreeSet<CellId>,
    /// Cells to unsubscribe from and drop.
    pub leave: BTreeSet<CellId>,
}

/// The cells followed, with the ones no longer wanted and when they may be dropped.
#[derive(Debug, Clone, Default)]
pub struct FollowSet {
    followed: BTreeSet<CellId>,
    unwanted_since: BTreeMap<CellId, i64>,
}

impl FollowSet {
    /// Following nothing.
    pub fn new() -> FollowSet {
        FollowSet::default()
    }

    /// The cells followed.
    pub fn cells(&self) -> &BTreeSet<CellId> {
        &self.followed
    }

    /// Moves toward `wanted` at `now_ms`: cells wanted and not followed join at once;
    /// cells followed and unwanted for `hold_ms` leave (wanted again before that, they
    /// stay).
    pub fn update(&mut self, wanted: &BTreeSet<CellId>, now_ms: i64, hold_ms: i64) -> Change {
        let join: BTreeSet<CellId> = wanted.difference(&self.followed).copied().collect();
        self.followed.extend(join.iter().copied());
        self.unwanted_since.retain(|cell, _| !wanted.contains(cell));
        let mut leave = BTreeSet::new();
        for cell in self.followed.difference(wanted) {
            let since = *self.unwanted_since.entry(*cell).or_insert(now_ms);
            if now_ms.saturating_sub(since) >= hold_ms {
                leave.insert(*cell);
            }
        }
        for cell in &leave {
            self.followed.remove(cell);
            self.unwanted_since.remove(cell);
        }
        Change { join, leave }
    }

    /// Forgets every cell (after a resync of everything, or when following all).
    pub fn clear(&mut self) {
        self.followed.clear();
        self.unwanted_since.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use game_domain::geometry::WorldSize;

    use super::*;

    fn cells(list: &[u32]) -> BTreeSet<u32> {
        list.iter().copied().collect()
    }

    #[test]
    fn an_edge_wants_the_cells_its_areas_cover_and_lets_go_of_them_late() {
        let grid = CellGrid::new(
            WorldSize {
                width: 1_024.0,
                height: 1_024.0,
            },
            crate::fanout::ROUTE_CELL,
        );
        // Around (10, 10) with reach 100: columns 3 and 0, rows 3 and 0 (across the seams).
        assert_eq!(
            wanted(&grid, [((10.0, 10.0), 100.0)], 16),
            Wanted::Cells(cells(&[0, 3, 12, 15]))
        );
        assert_eq!(
            wanted(&grid, [((10.0, 10.0), 100.0), ((600.0, 600.0), 10.0)], 16),
            Wanted::Cells(cells(&[0, 3, 10, 12, 15]))
        );
        assert_eq!(wanted(&grid, [((10.0, 10.0), 100.0)], 3), Wanted::All);
        assert_eq!(wanted(&grid, [], 3), Wanted::Cells(BTreeSet::new()));
        let mut follow = FollowSet::new();
        let change = |join: &[u32], leave: &[u32]| Change {
            join: cells(join),
            leave: cells(leave),
        };
        assert_eq!(
            follow.update(&cells(&[0, 1]), 0, 2_000),
            change(&[0, 1], &[])
        );
        assert_eq!(
            follow.update(&cells(&[1, 2]), 1_000, 2_000),
            change(&[2], &[])
        );
        assert_eq!(
            follow.update(&cells(&[1, 2]), 2_999, 2_000),
            change(&[], &[])
        );
        assert_eq!(
            follow.update(&cells(&[1, 2]), 3_000, 2_000),
            change(&[], &[0])
        );
        assert_eq!(follow.cells(), &cells(&[1, 2]));
        // Unwanted, then wanted again before the hold ran out: it stays, and its hold restarts.
        assert_eq!(follow.update(&cells(&[2]), 4_000, 2_000), change(&[], &[]));
        assert_eq!(
            follow.update(&cells(&[1, 2]), 5_000, 2_000),
            change(&[], &[])
        );
        assert_eq!(follow.update(&cells(&[2]), 6_000, 2_000), change(&[], &[]));
        assert_eq!(follow.update(&cells(&[2]), 8_000, 2_000), change(&[], &[1]));
        follow.clear();
        assert!(follow.cells().is_empty());
    }
}
