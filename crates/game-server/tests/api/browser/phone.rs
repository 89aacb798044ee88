//! The page on a 360 px wide phone: no sideways scrolling, the canvas across the whole
//! width; and a page that recovers by itself when the server restarts.

use serde_json::{Value, json};

use super::driver::{Browser, Window};

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
    let Some((server, browser)) = super::driver::start(
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

    browser.fill("#username", "a").await;
    browser.fill("#password", "a").await;
    browser.click("#sign-in").await;
    let page = browser
        .wait_for("the game view", |page| {
            page["view"] == "game" && page["objectsDrawn"] == 10
        })
        .await;
    assert_eq!(page["username"], "a");
    assert_eq!(widths(&browser).await, json!([360, 360]));
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
