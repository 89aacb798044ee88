//! The page on a 360 px wide phone: no sideways scrolling, the canvas across the whole
//! width, "Log out" on one line beside a long name; and a page that recovers by itself
//! when the server restarts.

use serde_json::{Value, json};

use super::driver::{Browser, Window};

/// A name of 30 characters (the limit is 32): long enough to crowd the header.
const LONG_NAME: &str = "Commander_of_the_Outer_Rim_007";

/// `[scrollWidth, innerWidth]`: equal when nothing sticks out sideways.
async fn widths(browser: &Browser) -> Value {
    browser
        .eval(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_plays_without_sideways_scrolling_and_survives_a_restart() {
    let Some((server, browser)) = super::start(
        "phone",
        Window::Phone {
            width: 360,
            height: 740,
        },
    )
    .await
    else {
        return;
    };
    assert_eq!(widths(&browser).await, json!([360, 360]));
    browser.screenshot("1-sign-in").await;

    browser.fill("#username", LONG_NAME).await;
    browser.fill("#password", "a phone password").await;
    browser.click("#register").await;
    // The demo ship, the nine demo objects and the new ship, each drawn once.
    let page = browser
        .wait_for("the game view", |page| {
            page["view"] == "game" && page["objectsDrawn"] == 11
        })
        .await;
    assert_eq!(page["username"], LONG_NAME);
    assert_eq!(page["objectDraws"], 11);
    assert_eq!(widths(&browser).await, json!([360, 360]));
    // The long name gives way; "Log out" stays on one line, inside the screen.
    let logout = browser
        .eval(
            "const b = document.getElementById('logout');
             const r = document.createRange(); r.selectNodeContents(b);
             return [r.getClientRects().length, b.getBoundingClientRect().right <= 360];",
            vec![],
        )
        .await;
    assert_eq!(logout, json!([1, true]));
    let canvas = browser
        .eval(
            "const c = document.getElementById('space'); return [c.clientWidth, c.width];",
            vec![],
        )
        .await;
    // Full width, drawn at the phone's pixel ratio of 2.
    assert_eq!(canvas, json!([360, 720]));
    browser.screenshot("2-game").await;

    // The server goes away: the page says so and keeps trying; it comes back on the same
    // address and the page carries on with the same (durable) session.
    let stopped = server.stop_for_restart().await;
    browser.sync_now().await;
    browser
        .wait_for("the lost connection", |page| page["connected"] == false)
        .await;
    browser.screenshot("3-reconnecting").await;
    let server = stopped.start_again().await;
    browser.sync_now().await;
    browser
        .wait_for("the connection back", |page| {
            page["connected"] == true && page["view"] == "game"
        })
        .await;
    drop(server);
    browser.close().await;
}
