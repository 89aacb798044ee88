//! Arrivals, snapshots of a cell set and a replica of some cells, in a world of 2 × 2
//! cells of 256 units: 0 and 1 on top, 2 and 3 below.

use std::collections::BTreeSet;

use game_domain::geometry::WorldSize;
use game_domain::space_object::{ObjectId, ObjectKind, SpaceObject};
use game_domain::world::WorldSnapshot;
use game_domain::world_history::Delta;

use super::*;

const SIZE: WorldSize = WorldSize {
    width: 512.0,
    height: 512.0,
};

/// Something at (x, y) at time 0 moving at `speed` (12: 10 units a second) toward
/// `angle` degrees (0: +x, 90: +y).
fn thing(id: ObjectId, x: f64, y: f64, speed: f64, angle: f64) -> SpaceObject {
    SpaceObject {
        id,
        kind: ObjectKind::Asteroid,
        x,
        y,
        speed,
        angle,
        last_position_update_ms: 0,
    }
}

fn rock(id: ObjectId, x: f64, y: f64) -> SpaceObject {
    thing(id, x, y, 0.0, 0.0)
}

fn world(version: u64, objects: &[SpaceObject]) -> WorldSnapshot {
    WorldSnapshot::replica(SIZE, version, objects.iter().copied())
}

fn objects(world: &WorldSnapshot) -> Vec<SpaceObject> {
    world.objects().copied().collect()
}

fn cells(list: &[u32]) -> BTreeSet<u32> {
    list.iter().copied().collect()
}

fn message(seq: u64, cell: u32, since: u64, version: u64, at_ms: i64) -> CellMessage {
    CellMessage {
        epoch: 77,
        cell,
        seq,
        since,
        version,
        prev: 0,
        parts: 1,
        at_ms,
        upserted: Vec::new(),
        removed: Vec::new(),
        arrived: Vec::new(),
    }
}

#[test]
fn an_object_drifting_into_another_cell_is_published_there_once() {
    // Ship 1 goes right from x = 250 (cell 0) and crosses x = 256 at 600 ms.
    let ship = thing(1, 250.0, 10.0, 12.0, 0.0);
    let start = world(5, &[ship, rock(2, 300.0, 300.0)]);
    let mut publisher = Publisher::new(77, start, 0);
    let mut whole = Replica::from_parts(publisher.snapshot(10, None)).expect("a snapshot");
    assert_eq!(publisher.arrivals(500), None, "still in cell 0");
    let batch = publisher.arrivals(1_000).expect("it crossed");
    let mut arrival = message(1, 1, 5, 5, 1_000);
    arrival.arrived = vec![ship];
    assert_eq!(
        batch,
        Batch {
            index: BatchIndex {
                epoch: 77,
                seq: 1,
                since: 5,
                version: 5,
                at_ms: 1_000,
                cells: vec![1],
            },
            messages: vec![arrival.clone()],
        }
    );
    assert_eq!(publisher.arrivals(2_000), None, "published once");
    assert_eq!(publisher.arrivals(20_000), None, "x = 450 is still cell 1");
    assert_eq!((publisher.seq(), publisher.version()), (1, 5));
    // A whole-world replica has the ship already: nothing changes for it.
    assert_eq!(whole.receive(arrival), Step::Quiet);
    assert_eq!(objects(whole.world()), vec![ship, rock(2, 300.0, 300.0)]);
    // The next real batch chains on cell 1 (its previous message is batch 1).
    let moved = world(6, &[ship, rock(2, 300.0, 10.0)]);
    let next = publisher.next(moved, 21_000).expect("rock 2 moved");
    assert_eq!(next.index.cells, vec![1, 3]);
    assert_eq!(
        next.messages
            .iter()
            .map(|m| (m.cell, m.seq, m.prev))
            .collect::<Vec<_>>(),
        vec![(1, 2, 1), (3, 2, 0)]
    );
    assert_eq!(whole.receive(next.messages[0].clone()), Step::Waiting);
    assert!(matches!(
        whole.receive(next.messages[1].clone()),
        Step::Applied(_)
    ));
}

#[test]
fn a_batch_carries_the_arrivals_of_its_tick_apart_from_its_changes() {
    let ship = thing(1, 250.0, 10.0, 12.0, 0.0);
    let mut publisher = Publisher::new(77, world(5, &[ship, rock(2, 300.0, 300.0)]), 0);
    let batch = publisher
        .next(world(6, &[ship, rock(2, 310.0, 300.0)]), 1_000)
        .expect("rock 2 moved");
    let mut to_one = message(1, 1, 5, 6, 1_000);
    to_one.parts = 2;
    to_one.arrived = vec![ship];
    let mut to_three = message(1, 3, 5, 6, 1_000);
    to_three.parts = 2;
    to_three.upserted = vec![rock(2, 310.0, 300.0)];
    assert_eq!(batch.messages, vec![to_one, to_three]);
    assert_eq!(publisher.arrivals(1_500), None);
}

#[test]
fn a_snapshot_of_a_cell_set_holds_those_cells_only() {
    let ship = thing(1, 250.0, 10.0, 12.0, 0.0);
    let start = world(
        5,
        &[
            ship,
            rock(2, 300.0, 10.0),
            rock(3, 10.0, 300.0),
            rock(4, 300.0, 300.0),
        ],
    );
    let mut publisher = Publisher::new(77, start, 0);
    let moved = world(
        6,
        &[
            ship,
            rock(2, 310.0, 10.0),
            rock(3, 10.0, 300.0),
            rock(4, 310.0, 300.0),
        ],
    );
    publisher.next(moved, 1_000).expect("rocks 2 and 4 moved");
    // The ship's home is now cell 1 (it arrived there in batch 1).
    let parts = publisher.snapshot(2, Some(&[1, 2]));
    assert_eq!(
        parts
            .iter()
            .map(|p| (
                p.seq,
                p.version,
                p.part,
                p.parts,
                p.objects.clone(),
                p.cells.clone()
            ))
            .collect::<Vec<_>>(),
        vec![
            (1, 6, 0, 2, vec![ship, rock(2, 310.0, 10.0)], vec![]),
            (1, 6, 1, 2, vec![rock(3, 10.0, 300.0)], vec![(1, 1)]),
        ]
    );
    let whole = publisher.snapshot(10, None);
    assert_eq!(whole.len(), 1);
    assert_eq!(whole[0].objects.len(), 4);
    assert_eq!(whole[0].cells, vec![(1, 1), (3, 1)]);
}

/// The owner and an edge that follows cells 0 and 1: ship 1 heads down from cell 0 into
/// cell 2 (at 600 ms), rock 2 sits in cell 1, rocks 3 and 4 in cells 3 and 2.
fn owner_and_top_row() -> (Publisher, PartialReplica, SpaceObject) {
    let ship = thing(1, 10.0, 250.0, 12.0, 90.0);
    let start = world(
        5,
        &[
            ship,
            rock(2, 300.0, 10.0),
            rock(3, 300.0, 300.0),
            rock(4, 10.0, 300.0),
        ],
    );
    let publisher = Publisher::new(77, start, 0);
    let top = cells(&[0, 1]);
    let replica = PartialReplica::from_parts(publisher.snapshot(10, Some(&[0, 1])), &top)
        .expect("a snapshot");
    (publisher, replica, ship)
}

#[test]
fn a_replica_of_two_cells_applies_theirs_ignores_others_and_drops_what_drifts_out() {
    let (mut publisher, mut replica, ship) = owner_and_top_row();
    assert_eq!(objects(replica.world()), vec![ship, rock(2, 300.0, 10.0)]);
    let moved = world(
        6,
        &[
            ship,
            rock(2, 310.0, 10.0),
            rock(3, 320.0, 300.0),
            rock(4, 10.0, 300.0),
        ],
    );
    let batch = publisher.next(moved, 500).expect("rocks 2 and 3 moved");
    assert_eq!(batch.index.cells, vec![1, 3]);
    assert_eq!(replica.index(batch.index), Ok(vec![]), "cell 1 is missing");
    assert_eq!(replica.receive(batch.messages[1].clone()), Ok(vec![]));
    assert_eq!(
        replica.receive(batch.messages[0].clone()),
        Ok(vec![Applied {
            since: 5,
            version: 6,
            at_ms: 500,
            delta: Delta {
                upserted: vec![rock(2, 310.0, 10.0)],
                removed: vec![],
            },
        }])
    );
    assert_eq!(objects(replica.world()), vec![ship, rock(2, 310.0, 10.0)]);
    // The ship drifts into cell 2: a batch of arrivals the replica needs nothing of, and
    // after which the ship is outside every cell it follows.
    let arrivals = publisher.arrivals(1_000).expect("the ship crossed");
    assert_eq!(arrivals.index.cells, vec![2]);
    assert_eq!(
        replica.index(arrivals.index),
        Ok(vec![Applied {
            since: 6,
            version: 6,
            at_ms: 1_000,
            delta: Delta::default(),
        }])
    );
    assert_eq!(objects(replica.world()), vec![rock(2, 310.0, 10.0)]);
    assert_eq!(replica.seq(), 2);
    // Batch 3's message for cell 1 is lost: batch 4's shows the gap in cell 1's chain.
    let step = |x: f64| {
        world(
            0,
            &[
                ship,
                rock(2, x, 10.0),
                rock(3, 320.0, 300.0),
                rock(4, 10.0, 300.0),
            ],
        )
    };
    let lost = publisher
        .next(with_version(step(320.0), 7), 1_500)
        .expect("moved");
    let after = publisher
        .next(with_version(step(330.0), 8), 2_000)
        .expect("moved");
    assert_eq!(replica.index(lost.index), Ok(vec![]));
    assert_eq!(replica.index(after.index), Ok(vec![]));
    assert_eq!(
        replica.receive(after.messages[0].clone()),
        Err(Resync::Cell {
            cell: 1,
            known: 1,
            prev: 3
        })
    );
}

fn with_version(snapshot: WorldSnapshot, version: u64) -> WorldSnapshot {
    WorldSnapshot::replica(snapshot.size(), version, snapshot.objects().copied())
}

#[test]
fn an_object_drifting_into_a_followed_cell_arrives() {
    // An edge that follows the bottom row learns of the ship when it drifts into cell 2.
    let (mut publisher, mut replica, ship) = owner_and_top_row();
    let bottom = cells(&[2, 3]);
    let mut below = PartialReplica::from_parts(publisher.snapshot(10, Some(&[2, 3])), &bottom)
        .expect("a snapshot");
    assert_eq!(
        objects(below.world()),
        vec![rock(3, 300.0, 300.0), rock(4, 10.0, 300.0)]
    );
    let arrivals = publisher.arrivals(1_000).expect("the ship crossed");
    assert_eq!(
        replica.index(arrivals.index.clone()).map(|a| a.len()),
        Ok(1)
    );
    assert_eq!(below.index(arrivals.index), Ok(vec![]), "cell 2 is missing");
    let applied = below
        .receive(arrivals.messages[0].clone())
        .expect("in order");
    assert_eq!(applied.len(), 1);
    assert_eq!(
        applied[0].delta,
        Delta::default(),
        "an arrival is no change"
    );
    assert_eq!(
        objects(below.world()),
        vec![ship, rock(3, 300.0, 300.0), rock(4, 10.0, 300.0)]
    );
}

#[test]
fn cells_join_from_their_snapshot_and_leave_with_their_objects() {
    let (mut publisher, mut replica, ship) = owner_and_top_row();
    let moved = world(
        6,
        &[
            ship,
            rock(2, 310.0, 10.0),
            rock(3, 320.0, 300.0),
            rock(4, 10.0, 300.0),
        ],
    );
    let batch = publisher.next(moved, 500).expect("rocks 2 and 3 moved");
    // Cell 3 joins from a snapshot at batch 1, before the replica applied batch 1.
    let three = cells(&[3]);
    replica
        .join(publisher.snapshot(10, Some(&[3])), &three)
        .expect("the same epoch, not older");
    assert_eq!(
        objects(replica.world()).len(),
        2,
        "rock 3 waits for batch 1"
    );
    assert_eq!(replica.index(batch.index), Ok(vec![]));
    // Cell 3's message of batch 1 is in the snapshot: not needed, ignored.
    assert_eq!(replica.receive(batch.messages[1].clone()), Ok(vec![]));
    let applied = replica.receive(batch.messages[0].clone()).expect("applied");
    assert_eq!(applied.len(), 1);
    assert_eq!(
        objects(replica.world()),
        vec![ship, rock(2, 310.0, 10.0), rock(3, 320.0, 300.0)]
    );
    assert_eq!(replica.cells().collect::<Vec<_>>(), vec![0, 1, 3]);
    // A snapshot older than the replica cannot join.
    let mut late = publisher.snapshot(10, Some(&[2]));
    for part in &mut late {
        part.seq = 0;
    }
    assert_eq!(
        replica.join(late, &cells(&[2])),
        Err(JoinError::Stale {
            snapshot: 0,
            replica: 1
        })
    );
    replica.leave(&cells(&[1]), 500);
    assert_eq!(objects(replica.world()), vec![ship, rock(3, 320.0, 300.0)]);
    assert_eq!(replica.cells().collect::<Vec<_>>(), vec![0, 3]);
}

#[test]
fn a_gap_in_the_index_or_another_epoch_asks_for_a_snapshot() {
    let (mut publisher, mut replica, _) = owner_and_top_row();
    publisher.arrivals(1_000).expect("the ship crossed");
    let second = publisher
        .next(
            world(
                6,
                &[
                    thing(1, 10.0, 250.0, 12.0, 90.0),
                    rock(2, 310.0, 10.0),
                    rock(3, 300.0, 300.0),
                    rock(4, 10.0, 300.0),
                ],
            ),
            1_500,
        )
        .expect("rock 2 moved");
    assert_eq!(
        replica.index(second.index.clone()),
        Err(Resync::Index {
            expected: 1,
            got: 2
        })
    );
    let mut other = second.messages[0].clone();
    other.epoch = 78;
    assert_eq!(
        replica.receive(other),
        Err(Resync::Epoch {
            ours: 77,
            theirs: 78
        })
    );
}

#[test]
fn an_edge_wants_the_cells_its_areas_cover_and_lets_go_of_them_late() {
    let grid = game_domain::interest::CellGrid::new(
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
