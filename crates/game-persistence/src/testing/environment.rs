//! What a test does when part of its environment (PostgreSQL, a browser) is missing: it
//! fails where every test must run (`CI`, or [`REQUIRE_ALL_VAR`]`=1`, which `.ci/run`
//! sets), and elsewhere it skips and says so on stderr, once per test binary and missing
//! part, past the test runner's output capture (which hides what a passing test prints).

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Mutex;

/// Set to `1` to make a test whose environment is missing fail instead of skipping.
pub const REQUIRE_ALL_VAR: &str = "SPACEWARS_TEST_REQUIRE_ALL";

/// The parts already reported as missing by this test binary.
static REPORTED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// True when every test must run: `CI` is set (to anything but an empty string, `0` or
/// `false`, as CI services set it) or [`REQUIRE_ALL_VAR`] is `1`.
pub fn require_all() -> bool {
    let ci = std::env::var("CI").is_ok_and(|ci| !matches!(ci.as_str(), "" | "0" | "false"));
    ci || std::env::var(REQUIRE_ALL_VAR).is_ok_and(|value| value == "1")
}

/// The value of the variable `var`, which the tests of `part` (e.g. "PostgreSQL") need;
/// when it is not set, [`missing`] decides: a panic, or `None` after saying so.
#[track_caller]
pub fn required_var(var: &str, part: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Some(value),
        _ => {
            missing(part, &format!("{var} is not set"));
            None
        }
    }
}

/// Reports that `part` of the test environment is missing, for `reason`: panics when
/// [`require_all`], else writes one line to stderr (the first time per binary and part)
/// and returns, so the caller skips.
#[track_caller]
pub fn missing(part: &str, reason: &str) {
    if require_all() {
        panic!(
            "{part} tests cannot run: {reason}, and CI or {REQUIRE_ALL_VAR}=1 requires every \
             test to run"
        );
    }
    let first = REPORTED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(part.to_owned());
    if first {
        let binary = std::env::args().next().unwrap_or_default();
        // `io::stderr` directly, not `eprintln!`: the test runner captures the macros'
        // output and shows it only for failing tests.
        let _ = writeln!(
            std::io::stderr().lock(),
            "SKIPPING {part} tests in {binary}: {reason} (they pass empty here; set \
             {REQUIRE_ALL_VAR}=1 to make them fail)"
        );
    }
}
