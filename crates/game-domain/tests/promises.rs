//! Values the docs promise, pinned as literals, and the one clock that is not injected.
//!
//! Added for the mutation run (docs/test-strength.md): the rest of this crate's suite
//! injects a `ManualClock` and never reads these directly, so a change to them passed.

use std::time::{SystemTime, UNIX_EPOCH};

use game_domain::clock::{Clock, SystemClock, set_wall_clock_offset_ms};
use game_domain::game::SESSION_TTL_MS;

/// docs/operations.md: "sessions last 24 hours".
#[test]
fn a_session_lasts_24_hours() {
    assert_eq!(SESSION_TTL_MS, 86_400_000);
}

/// The wall clock in Unix ms, read with std for comparison.
fn wall_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the host clock is after 1970");
    i64::try_from(since_epoch.as_millis()).expect("fits in i64 ms")
}

/// `SystemClock` reads the wall clock, shifted by the process-wide test offset. The only
/// test in this binary that touches the offset, so no other test sees it set.
#[test]
fn system_clock_reads_the_wall_clock_plus_the_offset() {
    let before = wall_ms();
    let now = SystemClock.now_ms();
    let after = wall_ms();
    assert!(
        (before..=after).contains(&now),
        "{before} <= {now} <= {after}"
    );

    set_wall_clock_offset_ms(-3_600_000);
    let before = wall_ms() - 3_600_000;
    let shifted = SystemClock.now_ms();
    let after = wall_ms() - 3_600_000;
    set_wall_clock_offset_ms(0);
    assert!(
        (before..=after).contains(&shifted),
        "{before} <= {shifted} <= {after}"
    );
}
