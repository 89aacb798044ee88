//! A new player's whole visit in a 1280 × 900 desktop window: sign-in errors,
//! registration, the world on the canvas (each object drawn once although the view is
//! wider than the world), collecting, steering by click and by key, research (disabled
//! buttons say why; the panel fits without scrolling), the motion formula against the
//! server's, a revoked session, logging out (with a confirmation).

use fantoccini::Locator;
use fantoccini::key::Key;
use serde_json::{Value, json};

use super::driver::{Browser, Window};
use crate::client::Client;
use crate::harness::TestServer;

const USER: &str = "pilot";
const PASSWORD: &str = "pilot-secret";

/// Toroidal distance in the default 500 × 500 world.
fn distance(a: &Value, b: (f64, f64)) -> f64 {
    let d = |u: f64, v: f64| {
        let d = (u - v).abs();
        d.min(500.0 - d)
    };
    let (x, y) = (num(&a["x"]), num(&a["y"]));
    d(x, b.0).hypot(d(y, b.1))
}

fn num(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {value}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_player_plays_through_the_page() {
    let Some((server, browser)) = super::start(
        "play",
        Window::Desktop {
            width: 1280,
            height: 900,
        },
    )
    .await
    else {
        return;
    };
    browser.screenshot("1-sign-in").await;

    // A wrong password shows the server's message.
    browser.fill("#username", "a").await;
    browser.fill("#password", "wrong").await;
    browser.click("#sign-in").await;
    browser
        .wait_for_text("#auth-error", "Invalid credentials")
        .await;

    // Registering signs in and shows the world around the new ship at (250, 250).
    browser.fill("#username", USER).await;
    browser.fill("#password", PASSWORD).await;
    browser.click("#register").await;
    // The world arrives through the push stream.
    let page = browser
        .wait_for("the game view, streaming", |page| {
            page["view"] == "game" && page["syncMode"] == "stream"
        })
        .await;
    let mut api = server.client();
    assert_eq!(api.login(USER, PASSWORD).await.status, 200);
    let session = api.get("/api/session").await.json();
    assert_eq!(page["username"], USER);
    assert_eq!(page["shipId"], session["shipId"]);
    // The demo ship, the nine demo objects and the new ship; the whole small world fits.
    assert_eq!(
        (page["objectsKnown"].clone(), page["objectsDrawn"].clone()),
        (json!(11), json!(11))
    );
    // The view is wider than the 500-unit world, and still every object is drawn once.
    assert!(view_width_units(&browser).await > 500.0);
    assert_eq!(page["objectDraws"], 11);
    assert_eq!(
        (num(&page["ship"]["x"]), num(&page["ship"]["y"])),
        (250.0, 250.0)
    );
    browser.screenshot("2-game").await;

    collect_near_and_far(&browser, &mut api).await;
    steer(&browser, &mut api).await;
    research(&browser, &server, &mut api).await;
    motion_matches_the_server(&browser, &server, &mut api).await;
    sessions(&browser, &server).await;
    browser.close().await;
}

/// Clicking an object out of range says so; one in range is collected and iron rises.
async fn collect_near_and_far(browser: &Browser, api: &mut Client) {
    let world = api.get("/api/world").await.json();
    let objects = world["spaceObjects"].as_array().expect("objects").clone();
    let collectible = |o: &&Value| o["type"] != "player_ship";
    let near = objects
        .iter()
        .filter(collectible)
        .find(|o| o["type"] == "shipwreck" && distance(o, (250.0, 250.0)) < 120.0)
        .expect("a shipwreck in range of (250, 250) in the demo world");
    let far = objects
        .iter()
        .filter(collectible)
        .find(|o| distance(o, (250.0, 250.0)) > 150.0)
        .expect("an object out of range");
    let (near_id, far_id) = (
        near["id"].as_i64().expect("id"),
        far["id"].as_i64().expect("id"),
    );

    let (dx, dy) = browser.drawn_offset(far_id).await;
    browser.click_canvas(dx, dy).await;
    browser
        .wait_for("the out-of-range message", |page| {
            page["message"] == "Object too far away"
        })
        .await;

    let (dx, dy) = browser.drawn_offset(near_id).await;
    browser.click_canvas(dx, dy).await;
    let page = browser
        .wait_for("the reward message", |page| {
            page["message"].as_str().is_some_and(|m| m.starts_with('+'))
        })
        .await;
    // The new player had no iron and the server's clock stands still: iron = reward.
    let iron = num(&api.get("/api/user-stats").await.json()["iron"]);
    assert_eq!(page["message"], format!("+{iron} iron from a shipwreck"));
    assert_eq!(num(&page["iron"]), iron);
    // The counter on the page (redrawn every frame) shows it too.
    browser
        .wait_for("the iron counter", |page| {
            page["ironShown"].as_f64() >= Some(iron)
        })
        .await;
    let ids = browser
        .eval(
            "return window.spacewarsTest.positionsAt(0).map(o => o.id);",
            vec![],
        )
        .await;
    assert!(
        !ids.as_array().expect("ids").contains(&json!(near_id)),
        "collected object still known: {ids}"
    );
    browser.screenshot("3-collected").await;
}

/// A click in space, the keys and the speed slider all steer the ship.
async fn steer(browser: &Browser, api: &mut Client) {
    // A click 100 px from the ship, where nothing is drawn, steers toward it at the
    // cruising speed (the slider starts at the maximum, 25).
    let mut chosen = None;
    for (dx, dy, angle) in [
        (0.0, 100.0, 90.0),
        (100.0, 0.0, 0.0),
        (0.0, -100.0, 270.0),
        (-100.0, 0.0, 180.0),
    ] {
        let hit = browser
            .eval(
                "const c = document.getElementById('space');
                 return window.spacewarsTest.objectAt(
                     c.clientWidth / 2 + arguments[0], c.clientHeight / 2 + arguments[1]);",
                vec![json!(dx), json!(dy)],
            )
            .await;
        if hit.is_null() {
            chosen = Some((dx, dy, angle));
            break;
        }
    }
    let (dx, dy, expected) = chosen.expect("an empty point around the ship");
    browser.click_canvas(dx, dy).await;
    // The click lands on a whole pixel and the canvas centre may be a half one: the angle
    // is the one toward that point, within half a degree of the ideal.
    let ship = wait_for_ship(api, "the new course", |ship| {
        let off = (num(&ship["angle"]) - expected).abs();
        off.min(360.0 - off) < 0.5 && ship["speed"] == 25
    })
    .await;
    let angle = num(&ship["angle"]);

    // Keys on the canvas: right turns 15°, S slows by 5.
    let canvas = browser
        .client
        .find(Locator::Id("space"))
        .await
        .expect("canvas");
    canvas
        .send_keys(&Key::Right.to_string())
        .await
        .expect("right");
    let turned = (angle + 15.0) % 360.0;
    wait_for_ship(api, "the turn", |ship| num(&ship["angle"]) == turned).await;
    canvas.send_keys("s").await.expect("s");
    wait_for_ship(api, "slowing down", |ship| ship["speed"] == 20).await;

    // The slider: Home stops the ship, End is full speed again; the course stays.
    let slider = browser
        .client
        .find(Locator::Id("speed"))
        .await
        .expect("slider");
    slider
        .send_keys(&Key::Home.to_string())
        .await
        .expect("Home");
    wait_for_ship(api, "a stop", |ship| ship["speed"] == 0).await;
    slider.send_keys(&Key::End.to_string()).await.expect("End");
    wait_for_ship(api, "full speed", |ship| {
        ship["speed"] == 25 && num(&ship["angle"]) == turned
    })
    .await;
    browser.screenshot("4-steered").await;
}

/// Polls `/api/ship-stats` until `ready` holds.
async fn wait_for_ship(api: &mut Client, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let started = std::time::Instant::now();
    loop {
        let ship = api.get("/api/ship-stats").await.json();
        if ready(&ship) {
            return ship;
        }
        assert!(
            started.elapsed() < super::driver::WAIT,
            "waited for {what}: {ship}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Research: affordable ones can start, the running one counts down, the level rises.
async fn research(browser: &Browser, server: &TestServer, api: &mut Client) {
    server.advance_ms(200_000); // 200 s of income at 1 iron/s: Iron Harvesting (100) is affordable.
    browser.sync_now().await;
    let iron = num(&api.get("/api/user-stats").await.json()["iron"]);
    // Costs from docs/rules.md: 100, 500 and 5000 iron.
    let ship_speed = if iron < 500.0 {
        json!(["shipSpeed", true, "Needs 500 iron"])
    } else {
        json!(["shipSpeed", false, "Research"])
    };
    assert_eq!(
        disabled_buttons(browser).await,
        json!([
            ["IronHarvesting", false, "Research"],
            ship_speed,
            ["Afterburner", true, "Needs 5000 iron"]
        ])
    );
    browser.click("li[data-type=IronHarvesting] button").await;
    let page = browser
        .wait_for("the running research", |page| !page["research"].is_null())
        .await;
    assert_eq!(page["research"]["type"], "IronHarvesting");
    assert_eq!(page["research"]["remaining"], 10);
    let tree = api.get("/api/techtree").await.json();
    assert_eq!(
        tree["techTree"]["activeResearch"],
        json!({"type": "IronHarvesting", "remainingDuration": 10})
    );
    let text = browser.text(".active-research").await;
    assert!(text.starts_with("Researching Iron Harvesting: "), "{text}");
    assert_eq!(
        disabled_buttons(browser).await,
        json!([
            ["IronHarvesting", true, "In progress"],
            ["shipSpeed", true, "One at a time"],
            ["Afterburner", true, "One at a time"]
        ])
    );
    browser.screenshot("5-research").await;
    // Iron, ship and the three researches fit the side panel at 1280 × 900.
    let panel = browser
        .eval(
            "const p = document.querySelector('.panels'); return [p.scrollHeight, p.clientHeight];",
            vec![],
        )
        .await;
    assert_eq!(panel[0], panel[1], "the side panel scrolls: {panel}");

    server.advance_ms(10_000);
    browser.sync_now().await;
    browser
        .wait_for_text("li[data-type=IronHarvesting] dd", "2")
        .await;
    browser
        .wait_for_text(".active-research", "No research running.")
        .await;
}

/// `[[type, disabled, text]]` of the research buttons, in page order.
async fn disabled_buttons(browser: &Browser) -> Value {
    browser
        .eval(
            "return [...document.querySelectorAll('.research button')]
                 .map(b => [b.closest('li').dataset.type, b.disabled, b.textContent]);",
            vec![],
        )
        .await
}

/// How many world units the canvas shows across, by the page's scale (the collect range
/// and up to half the 500-unit world fit the shorter side: 250 units from the centre).
async fn view_width_units(browser: &Browser) -> f64 {
    let size = browser
        .eval(
            "const c = document.getElementById('space'); return [c.clientWidth, c.clientHeight];",
            vec![],
        )
        .await;
    let (width, height) = (num(&size[0]), num(&size[1]));
    let scale = width.min(height) / 2.0 / 250.0;
    width / scale
}

/// Positions the page computes from the stored states it was sent equal the server's at
/// the same instant, 20 s on (long enough for the fast objects to wrap around an edge).
async fn motion_matches_the_server(browser: &Browser, server: &TestServer, api: &mut Client) {
    let world = api.get("/api/world").await.json();
    let version = world["version"].clone();
    browser
        .wait_for("the page at the server's version", |page| {
            page["version"] == version
        })
        .await;
    let at = world["currentTime"].as_i64().expect("time") + 20_000;
    let page = browser
        .eval(
            "return window.spacewarsTest.positionsAt(arguments[0]);",
            vec![json!(at)],
        )
        .await;
    server.advance_ms(20_000);
    let world = api.get("/api/world").await.json();
    assert_eq!(world["currentTime"], at);
    let served = world["spaceObjects"].as_array().expect("objects");
    let page = page.as_array().expect("positions");
    assert_eq!(page.len(), served.len());
    for object in served {
        let mine = page
            .iter()
            .find(|p| p["id"] == object["id"])
            .unwrap_or_else(|| panic!("page lacks {object}"));
        for axis in ["x", "y"] {
            let (a, b) = (num(&mine[axis]), num(&object[axis]));
            assert!(
                (a - b).abs() <= 0.01,
                "{axis}: page {mine} vs server {object}"
            );
        }
    }
}

/// A session revoked elsewhere sends the page back to sign-in; logging out does too.
async fn sessions(browser: &Browser, server: &TestServer) {
    let cookie = browser
        .client
        .get_named_cookie("spacewars-session")
        .await
        .expect("session cookie");
    let mut elsewhere = server.client_with(Some(cookie.value().to_owned()));
    assert_eq!(elsewhere.post("/api/logout", "").await.status, 200);
    browser.sync_now().await;
    browser
        .wait_for("sign-in after revocation", |page| page["view"] == "auth")
        .await;
    browser
        .wait_for_text(
            "#auth-error",
            "Your session has ended. Please sign in again.",
        )
        .await;

    browser.fill("#username", USER).await;
    browser.fill("#password", PASSWORD).await;
    browser.click("#sign-in").await;
    browser
        .wait_for("the game again", |page| page["view"] == "game")
        .await;
    browser.click("#logout").await;
    browser
        .wait_for("sign-in after logout", |page| page["view"] == "auth")
        .await;
    browser
        .wait_for_text(
            "#auth-notice",
            "You have logged out. Sign in again to play.",
        )
        .await;
    assert_eq!(browser.text("#auth-error").await, "");
    browser.screenshot("6-signed-out").await;
}
