//! The cells the world is cut into for fan-out: which cell a point lies in, which cells a
//! disc covers. A subscriber registers in the cells its area covers; a change goes to the
//! subscribers of the cells it touches ([`super::cell_batch`]).

use crate::geometry::{WorldSize, wrap};

/// A cell of a [`CellGrid`]: `row * columns + column`.
pub type CellId = u32;

/// At most this many cells along an axis (a huge world with few subscribers then has
/// more subscribers per cell, never more cells).
const MAX_CELLS_PER_AXIS: u32 = 1_024;

/// A uniform grid of cells over the toroidal world.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellGrid {
    size: WorldSize,
    cols: u32,
    rows: u32,
    cell_w: f64,
    cell_h: f64,
}

/// The cells a disc covers: a rectangle of `cols` × `rows` cells from (`col`, `row`),
/// wrapping at the world's edges. Equal rectangles cover equal cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellRect {
    col: u32,
    row: u32,
    cols: u32,
    rows: u32,
    grid_cols: u32,
    grid_rows: u32,
}

impl CellGrid {
    /// A grid over a world of `size` with cells about `cell` units wide (at least one
    /// unit, at most 1,024 cells along an axis, at least one).
    pub fn new(size: WorldSize, cell: f64) -> CellGrid {
        let axis = |extent: f64| {
            let n = (extent / cell.max(1.0)).floor();
            (n as u32).clamp(1, MAX_CELLS_PER_AXIS)
        };
        let (cols, rows) = (axis(size.width), axis(size.height));
        CellGrid {
            size,
            cols,
            rows,
            cell_w: size.width / f64::from(cols),
            cell_h: size.height / f64::from(rows),
        }
    }

    /// The world it covers.
    pub fn size(&self) -> WorldSize {
        self.size
    }

    /// Columns and rows.
    pub fn dimensions(&self) -> (u32, u32) {
        (self.cols, self.rows)
    }

    /// The cell holding a point (wrapped into the world first).
    pub fn cell_of(&self, (x, y): (f64, f64)) -> CellId {
        let col = ((wrap(x, self.size.width) / self.cell_w) as u32).min(self.cols - 1);
        let row = ((wrap(y, self.size.height) / self.cell_h) as u32).min(self.rows - 1);
        row * self.cols + col
    }

    /// The cells that hold every point within toroidal distance `radius` of `center`
    /// (a rectangle of cells around the disc, never more than the whole grid).
    pub fn cover(&self, (x, y): (f64, f64), radius: f64) -> CellRect {
        // One unit more absorbs rounding at cell borders.
        let reach = radius.max(0.0) + 1.0;
        let span = |v: f64, extent: f64, cell: f64, count: u32| {
            let v = wrap(v, extent);
            let first = ((v - reach) / cell).floor();
            let last = ((v + reach) / cell).floor();
            let len = (last - first + 1.0).min(f64::from(count)) as u32;
            let start = (first as i64).rem_euclid(i64::from(count)) as u32;
            (start, len)
        };
        let (col, cols) = span(x, self.size.width, self.cell_w, self.cols);
        let (row, rows) = span(y, self.size.height, self.cell_h, self.rows);
        CellRect {
            col,
            row,
            cols,
            rows,
            grid_cols: self.cols,
            grid_rows: self.rows,
        }
    }
}

impl CellRect {
    /// Every cell of the rectangle, each once.
    pub fn cells(&self) -> impl Iterator<Item = CellId> + '_ {
        (0..self.rows).flat_map(move |dr| {
            let row = (self.row + dr) % self.grid_rows;
            (0..self.cols).map(move |dc| row * self.grid_cols + (self.col + dc) % self.grid_cols)
        })
    }

    /// How many cells it holds.
    pub fn len(&self) -> usize {
        self.cols as usize * self.rows as usize
    }

    /// True when it holds no cell (never, for a rectangle from [`CellGrid::cover`]).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when `cell` is one of its cells.
    pub fn contains(&self, cell: CellId) -> bool {
        let (col, row) = (cell % self.grid_cols, cell / self.grid_cols);
        let offset = |v: u32, start: u32, count: u32| (v + count - start) % count;
        offset(col, self.col, self.grid_cols) < self.cols
            && offset(row, self.row, self.grid_rows) < self.rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZE: WorldSize = WorldSize {
        width: 1_000.0,
        height: 600.0,
    };

    fn sorted(rect: &CellRect) -> Vec<CellId> {
        let mut cells: Vec<CellId> = rect.cells().collect();
        cells.sort_unstable();
        cells
    }

    #[test]
    fn points_fall_in_their_cell_and_wrap() {
        // 1000 / 100 = 10 columns, 600 / 100 = 6 rows.
        let grid = CellGrid::new(SIZE, 100.0);
        assert_eq!(grid.dimensions(), (10, 6));
        assert_eq!(grid.cell_of((0.0, 0.0)), 0);
        assert_eq!(grid.cell_of((150.0, 250.0)), 21);
        assert_eq!(grid.cell_of((999.9, 599.9)), 59);
        assert_eq!(grid.cell_of((-1.0, 601.0)), 9);
        assert_eq!(CellGrid::new(SIZE, 5_000.0).dimensions(), (1, 1));
        assert_eq!(CellGrid::new(SIZE, 0.0).dimensions(), (1_000, 600));
    }

    #[test]
    fn a_cover_reaches_one_unit_past_the_radius() {
        let grid = CellGrid::new(SIZE, 100.0);
        // Radius 49.5 around (50, 50) ends 0.5 short of the cell's borders; with the
        // rounding unit it reaches past them, into the 3 × 3 cells around.
        let rect = grid.cover((50.0, 50.0), 49.5);
        assert_eq!(sorted(&rect), vec![0, 1, 9, 10, 11, 19, 50, 51, 59]);
        assert_eq!(rect.len(), 9);
        assert!(!rect.is_empty());
    }

    #[test]
    fn a_disc_covers_the_cells_around_it_across_the_seams() {
        let grid = CellGrid::new(SIZE, 100.0);
        // Around (50, 50) with radius 30 (31 with the rounding unit): x from 19 to 81,
        // y the same: one cell.
        assert_eq!(sorted(&grid.cover((50.0, 50.0), 30.0)), vec![0]);
        // Radius 60: x from -11 to 111 wraps to column 9 and reaches column 1; rows 5, 0, 1.
        let rect = grid.cover((50.0, 50.0), 60.0);
        assert_eq!(rect.len(), 9);
        assert_eq!(sorted(&rect), vec![0, 1, 9, 10, 11, 19, 50, 51, 59]);
        assert!(rect.contains(59) && rect.contains(11) && !rect.contains(2));
        assert!(!rect.contains(20) && !rect.contains(40));
        // A disc wider than the world covers every cell once.
        let all = grid.cover((500.0, 300.0), 5_000.0);
        assert_eq!(sorted(&all), (0..60).collect::<Vec<_>>());
        assert!((0..60).all(|cell| all.contains(cell)));
    }

    #[test]
    fn every_point_of_a_disc_lies_in_a_covered_cell() {
        let grid = CellGrid::new(SIZE, 70.0);
        let center = (980.0, 20.0);
        let rect = grid.cover(center, 150.0);
        for step in 0..3_600 {
            let angle = f64::from(step) / 10.0;
            for r in [0.0, 75.0, 149.9, 150.0] {
                let point = (
                    center.0 + r * angle.to_radians().cos(),
                    center.1 + r * angle.to_radians().sin(),
                );
                assert!(rect.contains(grid.cell_of(point)), "{point:?}");
            }
        }
    }
}
