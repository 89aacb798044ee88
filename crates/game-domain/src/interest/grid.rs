//! A uniform grid over the toroidal world: which objects are near a point, without
//! looking at the whole world.

use crate::geometry::WorldSize;
use crate::space_object::{ObjectId, SpaceObject};

/// Object positions at one instant, bucketed into square-ish cells that wrap at the
/// world's edges.
#[derive(Debug, Clone)]
pub struct SpatialGrid {
    size: WorldSize,
    cols: usize,
    rows: usize,
    cell_w: f64,
    cell_h: f64,
    cells: Vec<Vec<(ObjectId, f64, f64)>>,
}

/// At most this many cells along an axis (keeps the grid small for huge worlds with few
/// objects; a query then looks at more objects per cell, never at more cells).
const MAX_CELLS_PER_AXIS: usize = 1_024;

impl SpatialGrid {
    /// The grid of `objects` positioned at `now_ms`, with cells about `cell` units wide.
    pub fn build<'a>(
        objects: impl IntoIterator<Item = &'a SpaceObject>,
        size: WorldSize,
        cell: f64,
        now_ms: i64,
    ) -> SpatialGrid {
        let axis = |extent: f64| {
            let n = (extent / cell.max(1.0)).floor();
            (n as usize).clamp(1, MAX_CELLS_PER_AXIS)
        };
        let (cols, rows) = (axis(size.width), axis(size.height));
        let mut grid = SpatialGrid {
            size,
            cols,
            rows,
            cell_w: size.width / cols as f64,
            cell_h: size.height / rows as f64,
            cells: vec![Vec::new(); cols * rows],
        };
        for object in objects {
            let (x, y) = object.position_at(now_ms, size);
            let index = grid.index(grid.col(x), grid.row(y));
            grid.cells[index].push((object.id, x, y));
        }
        grid
    }

    fn col(&self, x: f64) -> usize {
        ((x / self.cell_w) as usize).min(self.cols - 1)
    }

    fn row(&self, y: f64) -> usize {
        ((y / self.cell_h) as usize).min(self.rows - 1)
    }

    fn index(&self, col: usize, row: usize) -> usize {
        row * self.cols + col
    }

    /// Columns and rows of cells.
    pub fn dimensions(&self) -> (usize, usize) {
        (self.cols, self.rows)
    }

    /// The cell (column, row) holding a point (wrapped into the world first).
    pub fn cell_of(&self, (x, y): (f64, f64)) -> (usize, usize) {
        (
            self.col(crate::geometry::wrap(x, self.size.width)),
            self.row(crate::geometry::wrap(y, self.size.height)),
        )
    }

    /// The ids of the objects within toroidal distance `radius` of `center`, in no
    /// particular order, each once.
    pub fn within(&self, center: (f64, f64), radius: f64) -> Vec<ObjectId> {
        let mut found = Vec::new();
        self.within_into(center, radius, &mut found);
        found
    }

    /// [`SpatialGrid::within`] appended to `found`: an area refresh reuses one buffer
    /// instead of allocating per query (it runs for every subscriber on every tick).
    pub fn within_into(&self, center: (f64, f64), radius: f64, found: &mut Vec<ObjectId>) {
        let span = |reach: f64, cell: f64, count: usize| {
            // Cells from -k to +k around the centre's cell; never more than the axis holds,
            // so a wrapped cell is not visited twice. ceil(reach / cell) cells would do;
            // one more absorbs rounding at cell borders.
            let k = (reach / cell).ceil() as isize + 1;
            let first = -k;
            let last = (2 * k + 1).min(count as isize) + first - 1;
            first..=last
        };
        let (c0, r0) = self.cell_of(center);
        let (c0, r0) = (c0 as isize, r0 as isize);
        for dr in span(radius, self.cell_h, self.rows) {
            let row = (r0 + dr).rem_euclid(self.rows as isize) as usize;
            for dc in span(radius, self.cell_w, self.cols) {
                let col = (c0 + dc).rem_euclid(self.cols as isize) as usize;
                for &(id, x, y) in &self.cells[self.index(col, row)] {
                    if self.size.distance(center, (x, y)) <= radius {
                        found.push(id);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space_object::fixtures::asteroid as at;

    fn sorted(mut ids: Vec<ObjectId>) -> Vec<ObjectId> {
        ids.sort_unstable();
        ids
    }

    #[test]
    fn finds_exactly_the_objects_in_the_disk_across_the_seams() {
        let size = WorldSize {
            width: 1_000.0,
            height: 600.0,
        };
        let objects = [
            at(1, 10.0, 10.0),
            at(2, 990.0, 590.0), // across both seams from (10, 10): distance 28.3
            at(3, 50.0, 10.0),   // distance 40
            at(4, 500.0, 300.0),
            at(5, 10.0, 45.0), // distance 35
        ];
        let grid = SpatialGrid::build(&objects, size, 25.0, 0);
        assert_eq!(sorted(grid.within((10.0, 10.0), 36.0)), vec![1, 2, 5]);
        assert_eq!(sorted(grid.within((10.0, 10.0), 40.0)), vec![1, 2, 3, 5]);
        assert_eq!(grid.within((500.0, 300.0), 0.0), vec![4]);
        // A radius wider than the world finds everything once.
        assert_eq!(
            sorted(grid.within((0.0, 0.0), 5_000.0)),
            vec![1, 2, 3, 4, 5]
        );
    }

    #[test]
    fn cells_divide_the_world_evenly_and_wrap() {
        let size = WorldSize {
            width: 1_000.0,
            height: 600.0,
        };
        let grid = SpatialGrid::build([], size, 30.0, 0);
        // 1000 / 30 = 33 columns of 30.3 units; 600 / 30 = 20 rows of 30.
        assert_eq!(grid.dimensions(), (33, 20));
        assert_eq!(grid.cell_of((0.0, 0.0)), (0, 0));
        assert_eq!(grid.cell_of((30.2, 29.9)), (0, 0));
        assert_eq!(grid.cell_of((30.4, 30.0)), (1, 1));
        assert_eq!(grid.cell_of((999.9, 599.9)), (32, 19));
        assert_eq!(grid.cell_of((-1.0, 601.0)), (32, 0));
        // A cell never smaller than a unit, and never fewer than one per axis.
        assert_eq!(
            SpatialGrid::build([], size, 0.0, 0).dimensions(),
            (1_000, 600)
        );
        assert_eq!(
            SpatialGrid::build([], size, 5_000.0, 0).dimensions(),
            (1, 1)
        );
    }

    #[test]
    fn positions_are_taken_at_the_given_time() {
        let moving = SpaceObject {
            speed: 60.0, // 50 units per second
            ..at(7, 100.0, 100.0)
        };
        let grid = SpatialGrid::build([&moving], WorldSize::DEFAULT, 50.0, 2_000);
        assert_eq!(grid.within((200.0, 100.0), 1.0), vec![7]);
        assert_eq!(grid.within((100.0, 100.0), 50.0), Vec::<ObjectId>::new());
    }
}
