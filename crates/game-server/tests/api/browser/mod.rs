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

use game_persistence::testing::TestBackend;
use game_server::RepoKind;

use crate::harness::{Setup, TestServer};
use driver::{Browser, Window};

/// A fresh server (SQLite, cached repository) and a browser for test `name` showing its
/// sign-in page; `None` (after saying "skipped") without a browser.
pub async fn start(name: &'static str, window: Window) -> Option<(TestServer, Browser)> {
    let setup = Setup {
        db: TestBackend::Sqlite,
        repo: RepoKind::Cached,
    };
    let server = setup.start().await;
    let browser = Browser::start(name, format!("http://{}", server.addr), window).await?;
    browser.open("/").await;
    browser
        .wait_for("the sign-in form", |page| page["view"] == "auth")
        .await;
    Some((server, browser))
}
