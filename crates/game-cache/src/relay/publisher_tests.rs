//! The publisher's arrivals and snapshots of a cell set.

use super::cell_world::{message, objects, rock, thing, world};
use super::*;
use game_domain::space_object::ObjectId;

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
                speed: 12.0,
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

#[test]
fn the_index_carries_the_fastest_speed_published_and_a_ship_can_be_located() {
    let ship = thing(1, 250.0, 10.0, 12.0, 0.0);
    let mut publisher = Publisher::new(77, world(5, &[ship, rock(2, 300.0, 300.0)]), 0);
    let fast = thing(2, 300.0, 300.0, 40.0, 90.0);
    let batch = publisher
        .next(world(6, &[ship, fast]), 1_000)
        .expect("rock 2 speeds up");
    assert_eq!(batch.index.speed, 40.0);
    let slow = thing(2, 300.0, 300.0, 5.0, 90.0);
    let batch = publisher
        .next(world(7, &[ship, slow]), 2_000)
        .expect("rock 2 slows down");
    assert_eq!(batch.index.speed, 40.0, "the speed only grows");
    assert_eq!(
        publisher.locate(&[9, 1]),
        SnapshotPart {
            epoch: 77,
            seq: 2,
            version: 7,
            size: super::cell_world::SIZE,
            part: 0,
            parts: 1,
            objects: vec![ship],
            cells: Vec::new(),
        }
    );
    let many: Vec<ObjectId> = vec![1; 5_000];
    assert_eq!(publisher.locate(&many).objects.len(), MAX_SNAPSHOT_CELLS);
}

#[test]
fn a_removal_reaches_every_cell_within_two_units_of_where_the_still_object_was() {
    // Cell borders at x = 256. Still rocks travel nothing: the removal's reach is one
    // unit of drift and the grid's one unit for rounding. 3 is 1.5 from the border (both
    // cells hear of its removal), 4 is 3 from it (only its own cell).
    let start = world(5, &[rock(3, 254.5, 10.0), rock(4, 253.0, 300.0)]);
    let mut publisher = Publisher::new(77, start, 0);
    assert_eq!(
        (publisher.epoch(), publisher.seq(), publisher.columns()),
        (77, 0, 2)
    );
    let batch = publisher.next(world(6, &[]), 1_000).expect("both removed");
    let removals: Vec<(u32, Vec<ObjectId>)> = batch
        .messages
        .iter()
        .map(|m| (m.cell, m.removed.clone()))
        .collect();
    assert_eq!(removals, vec![(0, vec![3]), (1, vec![3]), (2, vec![4])]);
    assert_eq!((publisher.seq(), publisher.version()), (1, 6));
}
