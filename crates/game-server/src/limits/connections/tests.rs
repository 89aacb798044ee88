//! The caps, and eviction near the total cap.

use super::*;

fn ip(last: u8) -> IpAddr {
    [10, 0, 0, last].into()
}

#[test]
fn caps_hold_and_places_come_back() {
    // 10 in total (pressure from 9), 2 per address; every connection busy, so none can
    // be evicted.
    let caps = Arc::new(ConnectionCaps::new(10, 2));
    let mut slots = Vec::new();
    let mut busy = Vec::new();
    for n in 0..5 {
        for _ in 0..2 {
            let slot = caps.admit(ip(n)).expect("admitted");
            busy.push(slot.activity().begin());
            slots.push(slot);
        }
    }
    assert_eq!(caps.admit(ip(0)).err(), Some(Refusal::PerAddress));
    assert_eq!(caps.admit(ip(9)).err(), Some(Refusal::Total));
    slots.remove(0);
    assert_eq!(caps.open(), 9);
    assert!(caps.admit(ip(0)).is_ok());
    assert_eq!(caps.open(), 9, "the admitted slot was dropped right away");
    assert_eq!(caps.lock().by_address.len(), 5);
    assert_eq!(caps.lock().by_age.len(), 9);
}

#[test]
fn near_the_cap_the_oldest_idle_connections_are_told_to_close() {
    // 10 in total: pressure from 9 open.
    let caps = Arc::new(ConnectionCaps::new(10, 64));
    let slots: Vec<Slot> = (0..9)
        .map(|_| caps.admit(ip(1)).expect("admitted"))
        .collect();
    assert!(slots.iter().all(|slot| !slot.under_pressure()));
    // The oldest is busy: the second oldest goes.
    let _busy = slots[0].activity().begin();
    let tenth = caps.admit(ip(2)).expect("admitted");
    assert!(tenth.under_pressure());
    let closing: Vec<bool> = slots
        .iter()
        .map(|slot| slot.activity().closing.load(Ordering::SeqCst))
        .collect();
    assert_eq!(
        closing,
        [false, true, false, false, false, false, false, false, false]
    );
    assert_eq!(caps.open(), 10);
    // The evicted one does not count against the cap: an eleventh gets in, evicting
    // the next oldest idle one.
    let eleventh = caps.admit(ip(3)).expect("admitted");
    assert!(slots[2].activity().closing.load(Ordering::SeqCst));
    assert_eq!(caps.open(), 11);
    // A reprieved connection counts again.
    slots[2].reprieve();
    assert_eq!(caps.lock().counted(), 10);
    drop((tenth, eleventh));
    drop(slots);
    assert_eq!(caps.open(), 0);
    assert_eq!(caps.lock().closing, 0);
}

#[tokio::test]
async fn an_evicted_connection_hears_of_it() {
    let caps = Arc::new(ConnectionCaps::new(2, 64));
    let first = caps.admit(ip(1)).expect("admitted");
    let _second = caps.admit(ip(1)).expect("admitted");
    let activity = first.activity().clone();
    let _third = caps.admit(ip(1)).expect("admitted");
    // Told before it listened: the permit waits for it.
    activity.evicted().await;
    assert_eq!(caps.evicted.load(Ordering::Relaxed), 2);
}
