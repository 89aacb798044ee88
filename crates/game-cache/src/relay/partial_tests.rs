//! A replica of some cells (`PartialReplica`) against the owner's publisher.

use game_domain::space_object::SpaceObject;
use game_domain::world::WorldSnapshot;
use game_domain::world_history::Delta;

use super::cell_world::{cells, objects, rock, thing, world};
use super::*;

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
