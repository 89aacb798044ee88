//! What survived a restart, as the API shows it.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use anyhow::bail;

use crate::chaos::check::Observed;
use spacewars_harness::api::Answer;
use spacewars_harness::player::Player;

/// Reads the world and every player's stats through the API. Returns what it saw and the
/// players whose session or income broke.
pub async fn observe(
    addr: SocketAddr,
    players: &[Player],
    created_s: &[i64],
) -> anyhow::Result<(Observed, Vec<String>)> {
    let mut violations = Vec::new();
    let world = match players[0].api(addr).world().await? {
        Answer::Ok(world) => world,
        Answer::Refused(status, code) => bail!("GET /api/world after restart: {status} {code}"),
    };
    let objects: BTreeMap<_, _> = world.space_objects.iter().map(|o| (o.id, o.kind)).collect();
    let mut durable = Vec::with_capacity(players.len());
    for (index, (player, created)) in players.iter().zip(created_s).enumerate() {
        match player.api(addr).user_stats().await? {
            Answer::Ok(stats) => {
                if stats.iron_per_second != 1.0 {
                    violations.push(format!(
                        "player {index}: income {} iron/s, expected 1",
                        stats.iron_per_second
                    ));
                }
                durable.push(stats.iron - (stats.last_updated - created) as f64);
            }
            Answer::Refused(status, code) => {
                violations.push(format!(
                    "player {index}: session no longer works after restart ({status} {code})"
                ));
                durable.push(f64::NAN);
            }
        }
        if !objects.contains_key(&player.ship_id) {
            violations.push(format!(
                "player {index}: ship {} is missing",
                player.ship_id
            ));
        }
    }
    Ok((Observed { objects, durable }, violations))
}
