//! A batch of world changes cut by cell: the unit of fan-out. Each [`CellBatch`] holds the
//! changes one cell saw in one batch, so it goes only to the subscribers registered in
//! that cell (and, later, only to the machines that follow that cell).

use std::collections::BTreeMap;

use super::cells::{CellGrid, CellId};
use crate::space_object::{ObjectId, SpaceObject};
use crate::world_history::{Delta, Version};

/// The changes of one cell in one batch leading from `since` to `version`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CellBatch {
    /// The cell.
    pub cell: CellId,
    /// The version the batch starts from.
    pub since: Version,
    /// The version it leads to.
    pub version: Version,
    /// Objects added or changed whose position at the batch's instant, before or after
    /// the change, lies in the cell; stored states, in id order.
    pub upserted: Vec<SpaceObject>,
    /// Objects removed whose last position lies in (or, for a moving object, may lie in)
    /// the cell; in id order.
    pub removed: Vec<ObjectId>,
}

/// A batch cut into cells.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CellBatches {
    /// The cells that saw something, in cell order.
    pub cells: Vec<CellBatch>,
    /// Removed objects whose last state was not known (they appeared after the previous
    /// state the caller had): nobody can be placed for them, so they go to every area.
    pub unplaced: Vec<ObjectId>,
}

/// Where the changed objects were: the previous stored states the caller knows, and how
/// far an object may have drifted from where its previous state puts it.
pub struct Previous<F> {
    /// The previous stored state of an object, if known.
    pub state: F,
    /// How far a removed object may be from the position its previous state gives at the
    /// batch's instant (it may have changed course since); 0 when the states are current.
    pub drift: f64,
}

impl CellBatches {
    /// Cuts `changes` (leading from `since` to `version`) by cell at `now_ms`: an upsert
    /// goes to the cell of its new position and to the cell of the position its previous
    /// state gives (they differ when the object crossed a border or jumped); a removal to
    /// the cells within `drift` of where its previous state puts it.
    pub fn split<F>(
        grid: &CellGrid,
        since: Version,
        version: Version,
        changes: &Delta,
        now_ms: i64,
        previous: &Previous<F>,
    ) -> CellBatches
    where
        F: Fn(ObjectId) -> Option<SpaceObject>,
    {
        let size = grid.size();
        let mut cells: BTreeMap<CellId, CellBatch> = BTreeMap::new();
        let mut touched: Vec<(CellId, usize)> = Vec::new();
        for (index, object) in changes.upserted.iter().enumerate() {
            let new = grid.cell_of(object.position_at(now_ms, size));
            touched.push((new, index));
            if let Some(old) = (previous.state)(object.id) {
                let old = grid.cell_of(old.position_at(now_ms, size));
                if old != new {
                    touched.push((old, index));
                }
            }
        }
        touched.sort_unstable();
        for (cell, index) in touched {
            entry(&mut cells, cell, since, version)
                .upserted
                .push(changes.upserted[index]);
        }
        let mut unplaced = Vec::new();
        for id in &changes.removed {
            let Some(old) = (previous.state)(*id) else {
                unplaced.push(*id);
                continue;
            };
            let rect = grid.cover(old.position_at(now_ms, size), previous.drift);
            for cell in rect.cells() {
                entry(&mut cells, cell, since, version).removed.push(*id);
            }
        }
        CellBatches {
            cells: cells.into_values().collect(),
            unplaced,
        }
    }

    /// True when no cell saw anything and nothing is unplaced.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty() && self.unplaced.is_empty()
    }
}

fn entry(
    cells: &mut BTreeMap<CellId, CellBatch>,
    cell: CellId,
    since: Version,
    version: Version,
) -> &mut CellBatch {
    cells.entry(cell).or_insert_with(|| CellBatch {
        cell,
        since,
        version,
        ..CellBatch::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::WorldSize;
    use crate::space_object::fixtures::asteroid as at;

    const SIZE: WorldSize = WorldSize {
        width: 1_000.0,
        height: 600.0,
    };

    #[test]
    fn a_change_crossing_a_border_goes_to_both_cells() {
        let grid = CellGrid::new(SIZE, 100.0);
        let before = [at(1, 95.0, 50.0), at(2, 450.0, 450.0), at(3, 10.0, 10.0)];
        let previous = Previous {
            state: |id: ObjectId| before.iter().find(|o| o.id == id).copied(),
            drift: 0.0,
        };
        let changes = Delta {
            // 1 moved from cell 0 to cell 1; 4 is new in cell 59.
            upserted: vec![at(1, 105.0, 50.0), at(4, 990.0, 590.0)],
            // 2 was in cell 44; 9 is unknown.
            removed: vec![2, 9],
        };
        let split = CellBatches::split(&grid, 7, 8, &changes, 0, &previous);
        let cell = |cell, upserted: Vec<SpaceObject>, removed: Vec<ObjectId>| CellBatch {
            cell,
            since: 7,
            version: 8,
            upserted,
            removed,
        };
        assert_eq!(
            split,
            CellBatches {
                cells: vec![
                    cell(0, vec![at(1, 105.0, 50.0)], vec![]),
                    cell(1, vec![at(1, 105.0, 50.0)], vec![]),
                    cell(44, vec![], vec![2]),
                    cell(59, vec![at(4, 990.0, 590.0)], vec![]),
                ],
                unplaced: vec![9],
            }
        );
        assert!(!split.is_empty());
    }

    #[test]
    fn a_removal_that_may_have_drifted_goes_to_every_cell_it_may_be_in() {
        let grid = CellGrid::new(SIZE, 100.0);
        let before = at(2, 150.0, 150.0);
        let previous = Previous {
            state: |_| Some(before),
            drift: 60.0,
        };
        let changes = Delta {
            upserted: vec![],
            removed: vec![2],
        };
        let split = CellBatches::split(&grid, 0, 1, &changes, 0, &previous);
        let cells: Vec<CellId> = split.cells.iter().map(|c| c.cell).collect();
        // 150 ± 61 spans columns 0 to 2 and rows 0 to 2.
        assert_eq!(cells, vec![0, 1, 2, 10, 11, 12, 20, 21, 22]);
        assert!(split.cells.iter().all(|c| c.removed == vec![2]));
        assert!(CellBatches::default().is_empty());
    }
}
