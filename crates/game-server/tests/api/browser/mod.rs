//! Browser tests: the web client served by the real server, driven in real headless
//! Chromium through chromedriver (WebDriver, via `fantoccini`).
//!
//! They run when `SPACEWARS_TEST_CHROMEDRIVER` names a chromedriver binary (`.ci/run`
//! installs Debian's `chromium` and `chromium-driver` and sets it); otherwise they fail
//! under CI or `SPACEWARS_TEST_REQUIRE_ALL=1` and skip loudly elsewhere. Screenshots of
//! each step go to `target/tmp/browser-screenshots/`.
//!
//! The page exposes a read-only `window.spacewarsTest` (copies of its state, positions it
//! computes), which is how these tests see what the canvas shows.

mod driver;
mod phone;
mod play;
