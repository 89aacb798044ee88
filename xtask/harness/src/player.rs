//! Registering test players: a session cookie and a ship each.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use game_domain::space_object::ObjectId;

use crate::api::{Answer, Api};
use crate::http_client::Connection;

/// Every test player's password.
pub const PASSWORD: &str = "xtask-password";

/// Per-request time limit of test clients.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A registered, logged-in player.
#[derive(Debug, Clone)]
pub struct Player {
    /// `spacewars-session=<token>`.
    pub cookie: String,
    /// The player's ship.
    pub ship_id: ObjectId,
}

impl Player {
    /// An API client for this player on a new connection to `addr`.
    pub fn api(&self, addr: SocketAddr) -> Api {
        let mut conn = Connection::new(addr, REQUEST_TIMEOUT);
        conn.set_cookie(Some(self.cookie.clone()));
        Api::new(conn)
    }
}

/// Registers `username` and reads its ship id from `/api/session`.
pub async fn register(addr: SocketAddr, username: &str) -> anyhow::Result<Player> {
    let mut api = Api::new(Connection::new(addr, REQUEST_TIMEOUT));
    match api.register(username, PASSWORD).await? {
        Answer::Ok(_) => {}
        Answer::Refused(status, code) => bail!("register {username}: {status} {code}"),
    }
    let cookie = api
        .conn
        .cookie()
        .with_context(|| format!("register {username}: no session cookie"))?
        .to_owned();
    let ship_id = match api.session().await? {
        Answer::Ok(session) if session.logged_in => session
            .ship_id
            .with_context(|| format!("{username}: session has no shipId"))?,
        other => bail!("{username}: session after register: {other:?}"),
    };
    Ok(Player { cookie, ship_id })
}

/// Registers `count` players named `<prefix>-<i>`, a few at a time.
pub async fn register_many(
    addr: SocketAddr,
    prefix: &str,
    count: usize,
) -> anyhow::Result<Vec<Player>> {
    const AT_ONCE: usize = 8;
    let mut players = Vec::with_capacity(count);
    for chunk_start in (0..count).step_by(AT_ONCE) {
        let chunk_end = (chunk_start + AT_ONCE).min(count);
        let tasks: Vec<_> = (chunk_start..chunk_end)
            .map(|i| {
                let name = format!("{prefix}-{i}");
                tokio::spawn(async move { register(addr, &name).await })
            })
            .collect();
        for task in tasks {
            players.push(task.await??);
        }
    }
    Ok(players)
}
