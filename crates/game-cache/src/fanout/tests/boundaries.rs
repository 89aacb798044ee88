//! The edges of the hub's rules: when a registration stops being trusted, and when an
//! area waiting for its opening gives up.

use super::*;

#[test]
fn a_batch_trusts_the_cells_for_two_refresh_periods_then_looks_at_every_area() {
    // The ship (1) flies east at 50 units per second from (100, 100); ticks of 250 ms,
    // so registrations hold for 500 ms. Registered at 0 around x = 100, in cell 0 only
    // (cells of 256).
    let ship = SpaceObject {
        speed: 60.0,
        ..asteroid(1, 100.0)
    };
    let snapshot = World::versioned(BIG, [ship], 0, 100).snapshot();
    let hub = hub(10, 8);
    let mut west = area(&hub, 1, 10.0);
    assert!(hub.open_area(west.id, &snapshot, 0));
    hub.refresh(
        &SpatialGrid::build(snapshot.objects(), BIG, 128.0, 0),
        &snapshot,
        0,
    );
    assert_eq!(received(&mut west.events).len(), 1, "the opening");

    // At 500 ms, exactly two periods later, the cells still hold: the batch goes by them
    // (the area is among those its cells reached), not by a look at every area.
    hub.broadcast(
        &delta(0, 1, &[asteroid(9, 130.0)], &[]),
        &snapshot,
        500,
        None,
    );
    let sent = received(&mut west.events);
    assert_eq!(sent.len(), 1, "9 is next to the ship at x = 125: {sent:?}");
    assert!(sent[0].starts_with("1:delta:"), "{}", sent[0]);
    let touched: Vec<u64> = registry::lock(&hub.routing)
        .touched
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(touched, vec![west.id], "reached through its cell");

    // At 5 s with no refresh since, the ship is at x = 350, in cell 1, where it was never
    // registered: only a look at every area finds that 8, appearing there, is its news.
    hub.broadcast(
        &delta(1, 2, &[asteroid(8, 350.0)], &[]),
        &snapshot,
        5_000,
        None,
    );
    let sent = received(&mut west.events);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].starts_with("2:delta:") && sent[0].contains(r#""upserted":[{"id":8"#),
        "{}",
        sent[0]
    );
}

#[test]
fn a_waiting_area_gives_up_on_a_whole_world_or_past_its_room() {
    let batch = |version| delta(version - 1, version, &[], &[]);
    let mut waiting = area::AreaState::new(1, 10.0);
    assert_eq!(waiting.keep(batch(1), 2), Ok(()));
    assert_eq!(waiting.keep(batch(2), 2), Ok(()));
    assert_eq!(waiting.keep(batch(3), 2), Err(area::Overflow), "room for 2");

    // A whole world cannot be replayed after an opening read before or after it.
    let full = Arc::new(SharedBatch::new(
        0,
        1,
        0,
        BIG,
        BatchChanges::Full(game_domain::views::WorldView::of(&empty_world(), 0)),
    ));
    let mut waiting = area::AreaState::new(1, 10.0);
    assert_eq!(waiting.keep(full.clone(), 8), Err(area::Overflow));

    // Once open, nothing is kept and nothing refused.
    let snapshot = World::versioned(BIG, [asteroid(1, 100.0)], 0, 100).snapshot();
    let mut open = area::AreaState::new(1, 10.0);
    let grid = SpatialGrid::build(snapshot.objects(), BIG, 128.0, 0);
    let ctx = area::AreaContext {
        world: &snapshot,
        now_ms: 0,
        margin: 1.0,
    };
    assert!(open.open(&grid, &ctx).is_some());
    assert_eq!(open.keep(full, 0), Ok(()));
}

#[test]
fn a_batch_outpaces_the_hub_only_when_it_sets_something_faster_than_seen() {
    let ship = SpaceObject {
        speed: 60.0,
        ..asteroid(1, 100.0)
    };
    let snapshot = World::versioned(BIG, [ship], 0, 100).snapshot();
    let hub = hub(10, 8);
    hub.refresh(
        &SpatialGrid::build(snapshot.objects(), BIG, 128.0, 0),
        &snapshot,
        0,
    );
    let moving = |speed| SpaceObject {
        speed,
        ..asteroid(2, 500.0)
    };
    assert!(!hub.outpaces(&delta(0, 1, &[moving(30.0)], &[])));
    assert!(!hub.outpaces(&delta(0, 1, &[moving(60.0)], &[])), "as fast");
    assert!(hub.outpaces(&delta(0, 1, &[moving(61.0)], &[])));
    let full = SharedBatch::new(
        0,
        1,
        0,
        BIG,
        BatchChanges::Full(game_domain::views::WorldView::of(&snapshot, 0)),
    );
    assert!(
        !hub.outpaces(&full),
        "a whole world reopens every area anyway"
    );
}

#[test]
fn an_area_subscribing_between_refreshes_still_gets_the_batches_before_its_opening() {
    let snapshot = World::versioned(BIG, [asteroid(1, 100.0)], 0, 100).snapshot();
    let hub = hub(10, 8);
    let mut first = area(&hub, 1, 10.0);
    assert!(hub.open_area(first.id, &snapshot, 0));
    hub.refresh(
        &SpatialGrid::build(snapshot.objects(), BIG, 128.0, 0),
        &snapshot,
        0,
    );
    assert_eq!(received(&mut first.events).len(), 1, "the opening");
    // Registrations are fresh, so this batch goes by cells; the newcomer is in none yet
    // and must keep it for its opening.
    let mut late = area(&hub, 1, 10.0);
    hub.broadcast(
        &delta(0, 1, &[asteroid(9, 105.0)], &[]),
        &snapshot,
        100,
        None,
    );
    assert!(
        received(&mut late.events).is_empty(),
        "not before its opening"
    );
    assert!(hub.open_area(late.id, &snapshot, 100));
    let opening = received(&mut late.events);
    assert_eq!(opening.len(), 2, "{opening:?}");
    assert!(opening[0].starts_with("0:snapshot:"), "{}", opening[0]);
    assert!(
        opening[1].starts_with("1:delta:") && opening[1].contains(r#""upserted":[{"id":9"#),
        "{}",
        opening[1]
    );
}

#[test]
fn a_whole_world_reopens_open_areas_and_ends_waiting_ones() {
    let snapshot = World::versioned(BIG, [asteroid(1, 100.0)], 0, 100).snapshot();
    let hub = hub(10, 8);
    let mut open = area(&hub, 1, 10.0);
    assert!(hub.open_area(open.id, &snapshot, 0));
    assert_eq!(received(&mut open.events).len(), 1, "the opening");
    let mut waiting = area(&hub, 1, 10.0);
    assert_eq!(hub.len(), 2);
    let full = SharedBatch::new(
        0,
        1,
        0,
        BIG,
        BatchChanges::Full(game_domain::views::WorldView::of(&snapshot, 0)),
    );
    hub.broadcast(&Arc::new(full), &snapshot, 0, None);
    let reopened = received(&mut open.events);
    assert_eq!(reopened.len(), 1, "{reopened:?}");
    assert!(reopened[0].contains(":snapshot:"), "{}", reopened[0]);
    assert!(received(&mut waiting.events).is_empty(), "told nothing");
    assert_eq!(hub.len(), 1, "the waiting one ended, the open one stays");
    assert!(!hub.open_area(waiting.id, &snapshot, 0), "ended");
}

#[test]
fn a_batch_faster_than_the_registrations_allow_for_looks_at_every_area() {
    // Cells of 256: 1's area in cell 0, 2's in cell 1.
    let snapshot =
        World::versioned(BIG, [asteroid(1, 100.0), asteroid(2, 300.0)], 0, 100).snapshot();
    let hub = hub(10, 8);
    let mut west = area(&hub, 1, 10.0);
    let mut east = area(&hub, 2, 10.0);
    for sub in [&west, &east] {
        assert!(hub.open_area(sub.id, &snapshot, 0));
    }
    hub.refresh(
        &SpatialGrid::build(snapshot.objects(), BIG, 128.0, 0),
        &snapshot,
        0,
    );
    for sub in [&mut west, &mut east] {
        assert_eq!(received(&mut sub.events).len(), 1, "the opening");
    }
    let touched = |hub: &FanoutHub| -> Vec<u64> {
        let routing = registry::lock(&hub.routing);
        routing.touched.iter().map(|s| s.id).collect()
    };
    // As slow as what the registrations allow for (nothing moves): by cells.
    hub.broadcast(
        &delta(0, 1, &[asteroid(9, 105.0)], &[]),
        &snapshot,
        10,
        None,
    );
    assert_eq!(received(&mut west.events).len(), 1);
    assert_eq!(touched(&hub), vec![west.id], "reached through its cell");
    // Something faster than any registration allows for, next to 2: every area is looked
    // at (2 hears of it), none through its cells (2 is not marked as reached by them).
    let fast = SpaceObject {
        speed: 600.0,
        ..asteroid(8, 305.0)
    };
    hub.broadcast(&delta(1, 2, &[fast], &[]), &snapshot, 20, None);
    assert_eq!(received(&mut east.events).len(), 1);
    assert_eq!(
        touched(&hub),
        vec![west.id],
        "no cell routing for this batch"
    );
}

#[test]
fn a_refresh_after_two_quiet_periods_looks_at_every_area() {
    // The ship (1) flies east at 50 units per second from x = 100; 3 stands at x = 400.
    // Registered at 0 in cell 0 only; by 5 s the ship is at x = 350, in cell 1, and 3 is
    // within its radius of 100. Nothing is registered in cell 1, so only a look at every
    // area (the registrations are 5 s old, past their 500 ms) finds that 3 entered.
    let ship = SpaceObject {
        speed: 60.0,
        ..asteroid(1, 100.0)
    };
    let snapshot = World::versioned(BIG, [ship, asteroid(3, 400.0)], 0, 100).snapshot();
    let hub = hub(10, 8);
    let mut west = area(&hub, 1, 100.0);
    assert!(hub.open_area(west.id, &snapshot, 0));
    let grid_at = |now_ms| SpatialGrid::build(snapshot.objects(), BIG, 128.0, now_ms);
    hub.refresh(&grid_at(0), &snapshot, 0);
    assert_eq!(received(&mut west.events).len(), 1, "the opening");
    hub.refresh(&grid_at(5_000), &snapshot, 5_000);
    let sent = received(&mut west.events);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].contains(r#""upserted":[{"id":3"#), "{}", sent[0]);
}
