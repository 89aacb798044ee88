//! chromedriver as a child process, one Chromium session per test, and the helpers the
//! browser tests share: reading the page's test state, waiting for it, clicking the
//! canvas at a point, screenshots. It knows nothing of how the server under test runs
//! (the edge tests include it too, for a page behind the load balancer).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use fantoccini::{Client, ClientBuilder, Locator};
use game_persistence::testing::environment;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// How long a wait for the page lasts before the test fails.
pub const WAIT: Duration = Duration::from_secs(15);

/// A running chromedriver and one browser session on it; both end on drop.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    /// Where the page under test is served.
    pub base: String,
    driver: Child,
    name: &'static str,
    _profile: tempfile::TempDir,
}

/// What kind of window to open.
pub enum Window {
    /// A desktop window of this size.
    Desktop { width: u32, height: u32 },
    /// A phone: Chromium's mobile emulation at this CSS width and height.
    Phone { width: u32, height: u32 },
}

impl Browser {
    /// Starts chromedriver and a headless Chromium for test `name` against `base`
    /// (`http://127.0.0.1:port`); `None` when `SPACEWARS_TEST_CHROMEDRIVER` is not set,
    /// after failing the test (under CI or `SPACEWARS_TEST_REQUIRE_ALL=1`) or saying on
    /// stderr that the browser tests are skipped (`game_persistence::testing::environment`).
    pub async fn start(name: &'static str, base: String, window: Window) -> Option<Browser> {
        let chromedriver = environment::required_var("SPACEWARS_TEST_CHROMEDRIVER", "browser")?;
        let chromium = std::env::var("SPACEWARS_TEST_CHROMIUM")
            .unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
        let port = free_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {chromedriver}: {e}"));
        let profile = tempfile::tempdir().expect("profile dir");
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut options = json!({ "binary": chromium });
        match window {
            Window::Desktop { width, height } => {
                args.push(format!("--window-size={width},{height}"));
            }
            Window::Phone { width, height } => {
                options["mobileEmulation"] = json!({
                    "deviceMetrics": { "width": width, "height": height, "pixelRatio": 2.0, "touch": true }
                });
            }
        }
        options["args"] = json!(args);
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".to_owned(), options);
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(error) if started.elapsed() < WAIT => {
                    tracing::debug!(%error, "chromedriver not up yet");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => panic!("no browser session after {WAIT:?}: {error}"),
            }
        };
        Some(Browser {
            client,
            base,
            driver,
            name,
            _profile: profile,
        })
    }

    /// Opens the page at `path`.
    pub async fn open(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .expect("page loads");
    }

    /// Runs `body` (a function body, with `arguments`) in the page and returns its value.
    pub async fn eval(&self, body: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(body, args)
            .await
            .unwrap_or_else(|e| panic!("script {body:?} failed: {e}"))
    }

    /// The page's test state (`window.spacewarsTest.snapshot()`).
    pub async fn snapshot(&self) -> Value {
        self.eval("return window.spacewarsTest.snapshot();", vec![])
            .await
    }

    /// Waits until `ready` holds for the page's snapshot, and returns that snapshot.
    pub async fn wait_for(&self, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            let snapshot = self.snapshot().await;
            if ready(&snapshot) {
                return snapshot;
            }
            assert!(
                started.elapsed() < WAIT,
                "{}: waited {WAIT:?} for {what}; page state: {snapshot}",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Makes the page poll the server now and waits for that poll.
    pub async fn sync_now(&self) {
        self.client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 window.spacewarsTest.syncNow().then(done, done);",
                vec![],
            )
            .await
            .expect("sync");
    }

    /// The text of the element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .text()
            .await
            .expect("text")
    }

    /// Waits until the element matching `css` shows `expected`.
    pub async fn wait_for_text(&self, css: &str, expected: &str) {
        let started = Instant::now();
        loop {
            let text = self.text(css).await;
            if text == expected {
                return;
            }
            assert!(
                started.elapsed() < WAIT,
                "{}: {css} shows {text:?}, not {expected:?}",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
    }

    /// Types `text` into the (cleared) input matching `css`.
    pub async fn fill(&self, css: &str, text: &str) {
        let input = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"));
        input.clear().await.expect("clear");
        input.send_keys(text).await.expect("type");
    }

    /// Clicks the canvas at `(dx, dy)` CSS pixels from its centre (where the ship is).
    pub async fn click_canvas(&self, dx: f64, dy: f64) {
        let canvas = self
            .client
            .find(Locator::Id("space"))
            .await
            .expect("canvas");
        let mouse = MouseActions::new("mouse".to_owned())
            .then(PointerAction::MoveToElement {
                element: canvas,
                duration: None,
                x: dx.round(),
                y: dy.round(),
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
        self.client.perform_actions(mouse).await.expect("click");
        self.client.release_actions().await.expect("release");
    }

    /// Where the page drew object `id`, relative to the canvas centre, in CSS pixels.
    pub async fn drawn_offset(&self, id: i64) -> (f64, f64) {
        let point = self
            .eval(
                "const p = window.spacewarsTest.screenPointOf(arguments[0]);
                 const c = document.getElementById('space');
                 return p && [p.x - c.clientWidth / 2, p.y - c.clientHeight / 2];",
                vec![json!(id)],
            )
            .await;
        let point = point
            .as_array()
            .unwrap_or_else(|| panic!("object {id} is not drawn"));
        (point[0].as_f64().expect("x"), point[1].as_f64().expect("y"))
    }

    /// Saves a screenshot as `target/tmp/browser-screenshots/<test>-<step>.png`.
    pub async fn screenshot(&self, step: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(dir.join(format!("{}-{step}.png", self.name)), png).expect("write png");
    }
}

impl Browser {
    /// Ends the browser session (Chromium exits), then chromedriver.
    pub async fn close(mut self) {
        let client = self.client.clone();
        let _ = client.close().await;
        let _ = self.driver.kill();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The session dies with its chromedriver, which takes Chromium with it.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}
