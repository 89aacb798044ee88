//! Many clients at once: an object is collected exactly once, its iron credited once.

use serde_json::json;

use crate::client::Client;
use crate::harness::{Setup, each_setup};

each_setup!(
    many_players_collecting_one_object_one_wins,
    one_player_collecting_one_object_concurrently_wins_once,
);

const CLIENTS: usize = 16;

async fn many_players_collecting_one_object_one_wins(setup: Setup) {
    let server = setup.start().await;
    let mut players = Vec::new();
    for i in 0..CLIENTS {
        let mut client = server.client();
        client.register(&format!("racer{i}")).await;
        players.push(client);
    }
    // Every new ship sits at (250, 250), within reach of shipwreck 8 at (350, 200).
    let replies = collect_all(players.clone(), 8).await;
    let winners: Vec<usize> = (0..CLIENTS).filter(|i| replies[*i].0 == 200).collect();
    assert_eq!(winners.len(), 1, "{replies:?}");
    for (status, code, _) in &replies {
        assert!(
            *status == 200 || (*status == 404 && code == "object_not_found"),
            "{replies:?}"
        );
    }
    let reward = replies[winners[0]].2;
    for (i, player) in players.iter_mut().enumerate() {
        let iron = player.get("/api/user-stats").await.json()["iron"].as_f64();
        let expected = if i == winners[0] { reward } else { 0.0 };
        assert_eq!(iron, Some(expected), "player {i}");
    }
}

async fn one_player_collecting_one_object_concurrently_wins_once(setup: Setup) {
    let server = setup.start().await;
    let demo = server.demo().await;
    let replies = collect_all(vec![demo.clone(); CLIENTS], 7).await;
    let winners: Vec<_> = replies.iter().filter(|r| r.0 == 200).collect();
    assert_eq!(winners.len(), 1, "{replies:?}");
    assert_eq!(replies.iter().filter(|r| r.0 == 404).count(), CLIENTS - 1);
    let mut demo = demo;
    let iron = demo.get("/api/user-stats").await.json()["iron"].as_f64();
    assert_eq!(iron, Some(1000.0 + winners[0].2));
    let world = demo.get("/api/world").await.json();
    assert_eq!(world["spaceObjects"].as_array().map(Vec::len), Some(10));
}

/// Each client collects `object_id` at the same time; (status, code, ironReward) each.
async fn collect_all(clients: Vec<Client>, object_id: i64) -> Vec<(u16, String, f64)> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(clients.len()));
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let reply = client
                    .post_json("/api/collect", json!({"objectId": object_id}))
                    .await;
                let reward = reply.json()["ironReward"].as_f64().unwrap_or(0.0);
                let code = if reply.status == 200 {
                    String::new()
                } else {
                    reply.code()
                };
                (reply.status, code, reward)
            })
        })
        .collect();
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.expect("client task"));
    }
    replies
}
