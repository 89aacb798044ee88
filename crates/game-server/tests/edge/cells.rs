//! What the owner publishes for receivers that follow some cells, seen on the real NATS
//! from a real owner: a batch index before its cells' messages, the arrival of a ship
//! that drifts into another cell, and the snapshot of a cell set.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use game_cache::fanout::ROUTE_CELL;
use game_cache::relay::{BatchIndex, CellMessage, SnapshotPart, SnapshotRequest, Subjects};
use game_domain::geometry::WorldSize;
use game_domain::interest::CellGrid;
use game_domain::space_object::ObjectId;
use game_persistence::testing::TestDatabase;
use tokio::time::Instant;

use crate::http::wait_status;
use crate::nats::{shared, unique_world};
use crate::relay::{SPREAD_4000, navigate, register, ship_of, start};

const SIZE: WorldSize = WorldSize {
    width: 4_000.0,
    height: 4_000.0,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_indexes_its_batches_publishes_arrivals_and_answers_cell_sets() {
    let Some(nats) = shared() else { return };
    let db = TestDatabase::sqlite();
    let world = unique_world("cells");
    let owner = start(&db, &nats, &world, false, &SPREAD_4000).await;
    wait_status(owner.addr(), "/readyz", 200).await;
    let client = async_nats::connect(nats.as_str()).await.expect("NATS");
    let subjects = Subjects::new(&world).expect("a valid world name");
    let mut index = client.subscribe(subjects.batch()).await.expect("index");
    let mut cells = client.subscribe(subjects.all_cells()).await.expect("cells");
    client.flush().await.expect("subscribed");
    let cookie = register(owner.addr(), "driftpilot").await;
    let ship = ObjectId::try_from(ship_of(owner.addr(), &cookie).await).expect("an id");
    // 1,000 units a minute along +x: it crosses a 256-unit cell within 16 s.
    navigate(owner.addr(), &cookie, 0.0, 20.0).await;

    let grid = CellGrid::new(SIZE, ROUTE_CELL);
    let mut indexed: Vec<BatchIndex> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let arrival = loop {
        let message = tokio::select! {
            // The index first: what is in its subscription was published before any
            // cell message read after it.
            biased;
            Some(next) = index.next() => {
                indexed.push(serde_json::from_slice(&next.payload).expect("an index"));
                continue;
            }
            Some(next) = cells.next() => next,
            () = tokio::time::sleep_until(deadline) => panic!("no arrival of ship {ship}"),
        };
        let message: CellMessage = serde_json::from_slice(&message.payload).expect("a cell");
        let its_index = indexed
            .iter()
            .find(|i| i.seq == message.seq)
            .unwrap_or_else(|| panic!("batch {} came before its index", message.seq));
        assert!(its_index.cells.contains(&message.cell));
        assert_eq!(
            (its_index.since, its_index.version, its_index.at_ms),
            (message.since, message.version, message.at_ms)
        );
        if message.arrived.iter().any(|o| o.id == ship) {
            break message;
        }
    };
    let drifted = arrival
        .arrived
        .iter()
        .find(|o| o.id == ship)
        .copied()
        .expect("the ship");
    assert_eq!((drifted.speed, drifted.angle), (20.0, 0.0));
    assert!(
        !arrival.upserted.iter().any(|o| o.id == ship),
        "unchanged: an arrival, not a change"
    );
    assert_eq!(
        grid.cell_of(drifted.position_at(arrival.at_ms, SIZE)),
        arrival.cell,
        "published to the cell it drifted into"
    );

    // The snapshot of that cell: the objects whose last published cell it is, and its
    // last batch.
    let wanted = [arrival.cell];
    let parts = ask(&client, &subjects, Some(wanted.to_vec())).await;
    let whole = ask(&client, &subjects, None).await;
    let ids = |parts: &[SnapshotPart]| -> BTreeSet<ObjectId> {
        parts
            .iter()
            .flat_map(|p| p.objects.iter().map(|o| o.id))
            .collect()
    };
    let last = parts.last().expect("a part");
    assert_eq!(last.cells.len(), 1);
    assert_eq!(last.cells[0].0, arrival.cell);
    assert!(last.cells[0].1 >= arrival.seq);
    let subset = ids(&parts);
    assert!(subset.contains(&ship), "{subset:?}");
    // The objects standing still: exactly the whole world's that stand in that cell.
    let still_in = |parts: &[SnapshotPart], all: bool| -> BTreeSet<ObjectId> {
        parts
            .iter()
            .flat_map(|p| p.objects.iter())
            .filter(|o| o.speed == 0.0 && (!all || grid.cell_of((o.x, o.y)) == arrival.cell))
            .map(|o| o.id)
            .collect()
    };
    assert_eq!(still_in(&parts, false), still_in(&whole, true));
    assert!(ids(&whole).len() > subset.len());
}

/// Asks the owner for a snapshot (of `cells`, or of the whole world) and gathers it.
async fn ask(
    client: &async_nats::Client,
    subjects: &Subjects,
    cells: Option<Vec<u32>>,
) -> Vec<SnapshotPart> {
    let inbox = client.new_inbox();
    let mut answers = client.subscribe(inbox.clone()).await.expect("inbox");
    let request = serde_json::to_vec(&SnapshotRequest {
        part_size: 1_000,
        cells,
        objects: None,
    })
    .expect("JSON");
    client
        .publish_with_reply(subjects.snapshot(), inbox, Bytes::from(request))
        .await
        .expect("asked");
    let mut parts = Vec::new();
    loop {
        let answer = tokio::time::timeout(crate::http::PATIENCE, answers.next())
            .await
            .expect("an answer in time")
            .expect("a part");
        let part: SnapshotPart = serde_json::from_slice(&answer.payload).expect("a part");
        let count = part.parts as usize;
        parts.push(part);
        if parts.len() == count {
            return parts;
        }
    }
}
