//! The game's HTTP API (docs/http-api.md) as typed calls over one [`Connection`].

use game_domain::geometry::WorldSize;
use game_domain::space_object::{ObjectId, ObjectKind, SpaceObject};
use hyper::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::http_client::{Connection, Reply, TransportError};

/// Body of `GET /api/world`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorldReply {
    /// The world's dimensions.
    pub world_size: WorldSize,
    /// Every object, positioned as of `current_time`.
    pub space_objects: Vec<SpaceObject>,
    /// Unix ms the positions refer to.
    pub current_time: i64,
}

/// Body of `GET /api/user-stats`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserStatsReply {
    /// Iron owned.
    pub iron: f64,
    /// Unix seconds up to which iron is accounted.
    #[serde(rename = "last_updated")]
    pub last_updated: i64,
    /// Current income.
    pub iron_per_second: f64,
}

/// Body of `GET /api/session` when logged in.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionReply {
    /// True when the cookie is valid.
    pub logged_in: bool,
    /// The player's ship, when logged in.
    pub ship_id: Option<ObjectId>,
}

/// Body of a successful `POST /api/collect`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectReply {
    /// Iron earned.
    pub iron_reward: u32,
    /// What was collected.
    pub object_type: ObjectKind,
}

/// A response that is not a transport failure: the typed body on 200, else the status and
/// the error code.
#[derive(Debug, Clone)]
pub enum Answer<T> {
    /// 200 with a body of the expected shape.
    Ok(T),
    /// Any other status, with the error's `code` if the body had one.
    Refused(StatusCode, String),
}

/// Typed calls of the game API on one keep-alive connection.
pub struct Api {
    /// The connection (its cookie is the player's session).
    pub conn: Connection,
}

impl Api {
    /// An API client over `conn`.
    pub fn new(conn: Connection) -> Api {
        Api { conn }
    }

    /// `POST /api/register`; on success the connection keeps the session cookie.
    pub async fn register(
        &mut self,
        username: &str,
        password: &str,
    ) -> Result<Answer<serde_json::Value>, TransportError> {
        let body = json!({ "username": username, "password": password });
        self.call(Method::POST, "/api/register", Some(body)).await
    }

    /// `GET /api/session`.
    pub async fn session(&mut self) -> Result<Answer<SessionReply>, TransportError> {
        self.call(Method::GET, "/api/session", None).await
    }

    /// `GET /api/world`.
    pub async fn world(&mut self) -> Result<Answer<WorldReply>, TransportError> {
        self.call(Method::GET, "/api/world", None).await
    }

    /// `GET /api/user-stats`.
    pub async fn user_stats(&mut self) -> Result<Answer<UserStatsReply>, TransportError> {
        self.call(Method::GET, "/api/user-stats", None).await
    }

    /// `POST /api/navigate` with both speed and angle.
    pub async fn navigate(
        &mut self,
        speed: f64,
        angle: f64,
    ) -> Result<Answer<serde_json::Value>, TransportError> {
        let body = json!({ "speed": speed, "angle": angle });
        self.call(Method::POST, "/api/navigate", Some(body)).await
    }

    /// `POST /api/collect`.
    pub async fn collect(
        &mut self,
        object_id: ObjectId,
    ) -> Result<Answer<CollectReply>, TransportError> {
        let body = json!({ "objectId": object_id });
        self.call(Method::POST, "/api/collect", Some(body)).await
    }

    /// Any request, raw.
    pub async fn raw(
        &mut self,
        method: Method,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<Reply, TransportError> {
        self.conn.request(method, path, body).await
    }

    async fn call<T: DeserializeOwned>(
        &mut self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<Answer<T>, TransportError> {
        let body = body.map(|b| b.to_string());
        let reply = self
            .conn
            .request(method, path, body.as_deref().map(str::as_bytes))
            .await?;
        Ok(decode(&reply))
    }
}

/// The typed answer in `reply`; a 200 whose body does not parse is refused as `bad_body`.
pub fn decode<T: DeserializeOwned>(reply: &Reply) -> Answer<T> {
    if reply.status == StatusCode::OK {
        match serde_json::from_slice(&reply.body) {
            Ok(value) => Answer::Ok(value),
            Err(e) => Answer::Refused(reply.status, format!("bad_body: {e}")),
        }
    } else {
        let code = serde_json::from_slice::<serde_json::Value>(&reply.body)
            .ok()
            .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_owned))
            .unwrap_or_default();
        Answer::Refused(reply.status, code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::body::Bytes;

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status: StatusCode::from_u16(status).expect("status"),
            headers: hyper::HeaderMap::new(),
            body: Bytes::copy_from_slice(body.as_bytes()),
        }
    }

    #[test]
    fn world_bodies_decode_with_wire_names() {
        let body = r#"{"worldSize":{"width":500,"height":500},"spaceObjects":[
            {"id":3,"type":"escape_pod","x":1.5,"y":2,"speed":30,"angle":115,
             "last_position_update_ms":1700000000000}],"currentTime":1700000000123}"#;
        let Answer::Ok(world) = decode::<WorldReply>(&reply(200, body)) else {
            panic!("world did not decode");
        };
        assert_eq!(world.space_objects[0].kind, ObjectKind::EscapePod);
        assert_eq!(world.current_time, 1_700_000_000_123);
        assert_eq!(world.world_size.width, 500.0);
    }

    #[test]
    fn errors_keep_status_and_code() {
        let answer = decode::<CollectReply>(&reply(
            404,
            r#"{"error":"Object not found","code":"object_not_found"}"#,
        ));
        match answer {
            Answer::Refused(status, code) => {
                assert_eq!(status, StatusCode::NOT_FOUND);
                assert_eq!(code, "object_not_found");
            }
            Answer::Ok(_) => panic!("404 decoded as success"),
        }
        let stats = r#"{"iron":12,"last_updated":1700000000,"ironPerSecond":1}"#;
        assert!(matches!(
            decode::<UserStatsReply>(&reply(200, stats)),
            Answer::Ok(UserStatsReply { iron: 12.0, .. })
        ));
    }
}
