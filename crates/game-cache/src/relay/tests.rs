//! The relay's two ends together, without a transport: every message the owner cuts
//! reaches the replica (or some are lost, or another owner takes over).

use game_domain::geometry::WorldSize;
use game_domain::space_object::{ObjectId, ObjectKind, SpaceObject};
use game_domain::world::WorldSnapshot;
use game_domain::world_history::Delta;

use super::*;

/// 4 × 2 cells of 256 units.
const SIZE: WorldSize = WorldSize {
    width: 1_024.0,
    height: 512.0,
};

fn rock(id: ObjectId, x: f64, y: f64) -> SpaceObject {
    SpaceObject {
        id,
        kind: ObjectKind::Asteroid,
        x,
        y,
        speed: 0.0,
        angle: 0.0,
        last_position_update_ms: 0,
    }
}

fn world(version: u64, objects: &[SpaceObject]) -> WorldSnapshot {
    WorldSnapshot::replica(SIZE, version, objects.iter().copied())
}

/// The three rocks most tests move: rock 3 stays at (300, 300) in cell (1, 1).
fn three_rocks(version: u64, first: (f64, f64), second: (f64, f64)) -> WorldSnapshot {
    world(
        version,
        &[
            rock(1, first.0, first.1),
            rock(2, second.0, second.1),
            rock(3, 300.0, 300.0),
        ],
    )
}

/// The messages of the publisher's next batch (none when nothing changed).
fn cut(publisher: &mut Publisher, world: WorldSnapshot, now_ms: i64) -> Vec<CellMessage> {
    publisher
        .next(world, now_ms)
        .map_or_else(Vec::new, |b| b.messages)
}

fn objects(world: &WorldSnapshot) -> Vec<SpaceObject> {
    world.objects().copied().collect()
}

/// The owner at version 5 with rocks in cells 0, 1 and 5, and its edge's replica.
fn owner_and_edge() -> (Publisher, Replica) {
    let start = three_rocks(5, (10.0, 10.0), (300.0, 10.0));
    let publisher = Publisher::new(77, start, 1_000);
    let replica = Replica::from_parts(publisher.snapshot(2, None)).expect("a whole snapshot");
    (publisher, replica)
}

#[test]
fn a_snapshot_comes_in_bounded_parts_and_rebuilds_the_world() {
    let (publisher, replica) = owner_and_edge();
    let parts = publisher.snapshot(2, None);
    assert_eq!(
        parts
            .iter()
            .map(|p| (p.part, p.parts, p.objects.len(), p.version))
            .collect::<Vec<_>>(),
        vec![(0, 2, 2, 5), (1, 2, 1, 5)]
    );
    assert_eq!(replica.epoch(), 77);
    assert_eq!(replica.world().version(), 5);
    assert_eq!(
        objects(replica.world()),
        vec![
            rock(1, 10.0, 10.0),
            rock(2, 300.0, 10.0),
            rock(3, 300.0, 300.0)
        ]
    );
    let mut shuffled = parts.clone();
    shuffled.reverse();
    assert_eq!(
        Replica::from_parts(shuffled).map(|r| r.world().version()),
        Ok(5)
    );
    assert_eq!(
        Replica::from_parts(parts[..1].to_vec()).map(|r| r.epoch()),
        Err(ReplicaError::Mismatched)
    );
    assert_eq!(
        Replica::from_parts(Vec::new()).map(|r| r.epoch()),
        Err(ReplicaError::Empty)
    );
}

#[test]
fn a_batch_is_cut_by_cell_and_applied_whole() {
    let (mut publisher, mut replica) = owner_and_edge();
    // Rock 1 jumps from cell 0 to cell 1, rock 3 leaves, rock 4 appears in cell 7.
    let next = world(
        9,
        &[
            rock(1, 260.0, 10.0),
            rock(2, 300.0, 10.0),
            rock(4, 900.0, 400.0),
        ],
    );
    let messages = cut(&mut publisher, next, 2_000);
    assert_eq!(
        messages
            .iter()
            .map(|m| (m.cell, m.since, m.version, m.prev, m.parts))
            .collect::<Vec<_>>(),
        vec![
            (0, 5, 9, 0, 4),
            (1, 5, 9, 0, 4),
            (5, 5, 9, 0, 4),
            (7, 5, 9, 0, 4)
        ]
    );
    let steps: Vec<Step> = messages.into_iter().map(|m| replica.receive(m)).collect();
    assert_eq!(steps[..3], [Step::Waiting, Step::Waiting, Step::Waiting]);
    assert_eq!(
        steps[3],
        Step::Applied(Applied {
            since: 5,
            version: 9,
            at_ms: 2_000,
            delta: Delta {
                upserted: vec![rock(1, 260.0, 10.0), rock(4, 900.0, 400.0)],
                removed: vec![3],
            },
        })
    );
    assert_eq!(replica.world().version(), 9);
    assert_eq!(
        objects(replica.world()),
        vec![
            rock(1, 260.0, 10.0),
            rock(2, 300.0, 10.0),
            rock(4, 900.0, 400.0)
        ]
    );
    // The next batch chains on: cell 1's previous message is batch 1's.
    let again = cut(
        &mut publisher,
        world(
            10,
            &[
                rock(1, 270.0, 10.0),
                rock(2, 300.0, 10.0),
                rock(4, 900.0, 400.0),
            ],
        ),
        3_000,
    );
    assert_eq!(
        again
            .iter()
            .map(|m| (m.cell, m.since, m.prev))
            .collect::<Vec<_>>(),
        vec![(1, 9, 1)]
    );
    assert!(matches!(
        replica.receive(again[0].clone()),
        Step::Applied(_)
    ));
    assert_eq!(replica.receive(again[0].clone()), Step::Old);
}

#[test]
fn a_snapshot_taken_between_batches_fits_the_next_batch() {
    let (mut publisher, _) = owner_and_edge();
    let first = cut(
        &mut publisher,
        three_rocks(6, (20.0, 10.0), (300.0, 10.0)),
        2_000,
    );
    assert_eq!(first.len(), 1);
    let mut late = Replica::from_parts(publisher.snapshot(100, None)).expect("a whole snapshot");
    assert_eq!(late.world().version(), 6);
    assert_eq!(late.receive(first[0].clone()), Step::Old);
    let second = cut(
        &mut publisher,
        three_rocks(7, (30.0, 10.0), (300.0, 10.0)),
        3_000,
    );
    assert_eq!((second[0].cell, second[0].seq, second[0].prev), (0, 2, 1));
    assert!(matches!(late.receive(second[0].clone()), Step::Applied(_)));
    assert_eq!(objects(late.world())[0], rock(1, 30.0, 10.0));
}

#[test]
fn a_lost_message_or_a_new_epoch_asks_for_a_snapshot() {
    let (mut publisher, mut replica) = owner_and_edge();
    let lost = cut(
        &mut publisher,
        three_rocks(6, (20.0, 10.0), (300.0, 10.0)),
        2_000,
    );
    assert_eq!(lost.len(), 1);
    let next = cut(
        &mut publisher,
        three_rocks(8, (20.0, 10.0), (310.0, 10.0)),
        3_000,
    );
    assert_eq!(
        replica.receive(next[0].clone()),
        Step::Resync(Resync::Batch { at: 5, since: 6 })
    );
    // A batch whose first cell was lost: the second cell's chain says so too, but the
    // batch is seen first as not starting where the replica is.
    let mut cell_gap = next[0].clone();
    cell_gap.since = 5;
    cell_gap.seq = 1;
    cell_gap.prev = 1;
    assert_eq!(
        replica.receive(cell_gap),
        Step::Resync(Resync::Cell {
            cell: 1,
            known: 0,
            prev: 1
        })
    );
    let successor = Publisher::new(78, world(8, &[]), 4_000);
    let mut theirs = successor.snapshot(10, None);
    assert_eq!(theirs.len(), 1);
    let mut message = next[0].clone();
    message.epoch = 78;
    assert_eq!(
        replica.receive(message),
        Step::Resync(Resync::Epoch {
            ours: 77,
            theirs: 78
        })
    );
    let fresh = Replica::from_parts(theirs.split_off(0)).expect("a whole snapshot");
    assert_eq!(
        (fresh.epoch(), fresh.world().version(), fresh.world().len()),
        (78, 8, 0)
    );
}

#[test]
fn a_batch_interrupted_by_the_next_one_asks_for_a_snapshot() {
    let (mut publisher, mut replica) = owner_and_edge();
    let two_cells = cut(
        &mut publisher,
        three_rocks(6, (20.0, 10.0), (310.0, 10.0)),
        2_000,
    );
    assert_eq!(two_cells.len(), 2);
    let next = cut(
        &mut publisher,
        three_rocks(7, (30.0, 10.0), (310.0, 10.0)),
        3_000,
    );
    assert_eq!(replica.receive(two_cells[0].clone()), Step::Waiting);
    assert_eq!(
        replica.receive(next[0].clone()),
        Step::Resync(Resync::Batch { at: 5, since: 6 })
    );
}

#[test]
fn the_beacon_shows_a_new_owner_or_a_lost_last_batch_while_nothing_changes() {
    let (mut publisher, mut replica) = owner_and_edge();
    assert_eq!(
        replica.beacon(Beacon {
            epoch: 77,
            version: 5
        }),
        None
    );
    // Batch 6 is lost; the next beacon names it, and one later it is still missing.
    let lost = cut(
        &mut publisher,
        three_rocks(6, (20.0, 10.0), (300.0, 10.0)),
        2_000,
    );
    assert_eq!(lost.len(), 1);
    assert_eq!(
        replica.beacon(Beacon {
            epoch: 77,
            version: 6
        }),
        None
    );
    assert_eq!(
        replica.beacon(Beacon {
            epoch: 77,
            version: 6
        }),
        Some(Resync::Behind {
            at: 5,
            announced: 6
        })
    );
    // A beacon that overtook its batch: the batch arrives before the next beacon.
    let mut fresh = Replica::from_parts(publisher.snapshot(10, None)).expect("a whole snapshot");
    let next = cut(
        &mut publisher,
        three_rocks(7, (30.0, 10.0), (300.0, 10.0)),
        3_000,
    );
    assert_eq!(
        fresh.beacon(Beacon {
            epoch: 77,
            version: 7
        }),
        None
    );
    assert!(matches!(fresh.receive(next[0].clone()), Step::Applied(_)));
    assert_eq!(
        fresh.beacon(Beacon {
            epoch: 77,
            version: 7
        }),
        None
    );
    assert_eq!(
        fresh.beacon(Beacon {
            epoch: 78,
            version: 1
        }),
        Some(Resync::Epoch {
            ours: 77,
            theirs: 78
        })
    );
}

#[test]
fn nothing_changed_publishes_nothing() {
    let (mut publisher, _) = owner_and_edge();
    let same = three_rocks(9, (10.0, 10.0), (300.0, 10.0));
    assert_eq!(publisher.next(same, 2_000), None);
    assert_eq!(publisher.version(), 5, "the next batch still starts at 5");
}
