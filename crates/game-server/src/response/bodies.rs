//! The JSON bodies of the API whose shape is the wire's, not the game's: the markers
//! clients match on (`success`, `loggedIn`, `full`) are added here around the domain's
//! values, and the request bodies are parsed here into them (docs/http-api.md).
//!
//! The field order of each body is the order clients have always seen.

use game_domain::collect::CollectOutcome;
use game_domain::geometry::WorldSize;
use game_domain::navigate::{NavigateOutcome, NavigateRequest};
use game_domain::space_object::{ObjectId, ObjectKind, SpaceObject};
use game_domain::views::{WorldDeltaView, WorldSync, WorldView};
use game_domain::world_history::Version;
use serde::{Deserialize, Serialize};

use game_domain::accounts::SessionView;

/// `{"success": true}`: the answer of register, login, logout and trigger-research.
#[derive(Debug, Serialize)]
pub(crate) struct Success {
    success: bool,
}

/// The one [`Success`] body.
pub(crate) const SUCCESS: Success = Success { success: true };

/// `{"status": …}` of the health and readiness probes.
#[derive(Debug, Serialize)]
pub(crate) struct Probe {
    /// `ok` or `ready`.
    pub(crate) status: &'static str,
}

/// `GET /api/session`: `{"loggedIn": true, "username", "shipId"}` or `{"loggedIn": false}`.
#[derive(Debug, Serialize)]
pub(crate) struct SessionBody<'a> {
    #[serde(rename = "loggedIn")]
    logged_in: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    #[serde(rename = "shipId", skip_serializing_if = "Option::is_none")]
    ship_id: Option<ObjectId>,
}

impl SessionBody<'_> {
    /// The body of `view`.
    pub(crate) fn of(view: &SessionView) -> SessionBody<'_> {
        match view {
            SessionView::LoggedIn { username, ship_id } => SessionBody {
                logged_in: true,
                username: Some(username),
                ship_id: Some(*ship_id),
            },
            SessionView::LoggedOut => SessionBody {
                logged_in: false,
                username: None,
                ship_id: None,
            },
        }
    }
}

/// `POST /api/navigate`'s request: at least one of the two (the rule checks that).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NavigateBody {
    speed: Option<f64>,
    angle: Option<f64>,
}

impl From<NavigateBody> for NavigateRequest {
    fn from(body: NavigateBody) -> NavigateRequest {
        NavigateRequest {
            speed: body.speed,
            angle: body.angle,
        }
    }
}

/// A successful `POST /api/navigate`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Navigated {
    success: bool,
    speed: f64,
    angle: f64,
    max_speed: f64,
}

impl From<NavigateOutcome> for Navigated {
    fn from(outcome: NavigateOutcome) -> Navigated {
        Navigated {
            success: true,
            speed: outcome.speed,
            angle: outcome.angle,
            max_speed: outcome.max_speed,
        }
    }
}

/// A successful `POST /api/collect`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Collected {
    success: bool,
    distance: f64,
    iron_reward: u32,
    total_iron: f64,
    object_type: ObjectKind,
}

impl From<CollectOutcome> for Collected {
    fn from(outcome: CollectOutcome) -> Collected {
        Collected {
            success: true,
            distance: outcome.distance,
            iron_reward: outcome.iron_reward,
            total_iron: outcome.total_iron,
            object_type: outcome.object_type,
        }
    }
}

/// The whole world marked `"full": true`: a `?since=` question that could not be answered
/// with changes, and a world stream's snapshot. (A plain `GET /api/world` is the
/// [`WorldView`] itself, without the marker.)
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FullWorld<'a> {
    world_size: WorldSize,
    space_objects: &'a [SpaceObject],
    current_time: i64,
    version: Version,
    full: bool,
}

impl FullWorld<'_> {
    /// `world`, marked full.
    pub(crate) fn of(world: &WorldView) -> FullWorld<'_> {
        FullWorld {
            world_size: world.world_size,
            space_objects: &world.space_objects,
            current_time: world.current_time,
            version: world.version,
            full: true,
        }
    }
}

/// Changes after a version, marked `"full": false`: `GET /api/world?since=` and a world
/// stream's `delta` event.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Delta<'a> {
    world_size: WorldSize,
    version: Version,
    since: Version,
    full: bool,
    upserted: &'a [SpaceObject],
    removed: &'a [ObjectId],
    current_time: i64,
}

impl Delta<'_> {
    /// The body of `delta`.
    pub(crate) fn of(delta: &WorldDeltaView) -> Delta<'_> {
        Delta {
            world_size: delta.world_size,
            version: delta.version,
            since: delta.since,
            full: false,
            upserted: &delta.upserted,
            removed: &delta.removed,
            current_time: delta.current_time,
        }
    }
}

/// `GET /api/world?since=V`: the changes, or the whole world marked full.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum Sync<'a> {
    /// Only the changes.
    Delta(Delta<'a>),
    /// The whole world.
    Full(FullWorld<'a>),
}

impl Sync<'_> {
    /// The body of `sync`.
    pub(crate) fn of(sync: &WorldSync) -> Sync<'_> {
        match sync {
            WorldSync::Delta(delta) => Sync::Delta(Delta::of(delta)),
            WorldSync::Full(world) => Sync::Full(FullWorld::of(world)),
        }
    }
}

#[cfg(test)]
mod tests {
    use game_domain::world_history::Version;

    use super::*;
    use crate::response::to_json;

    fn text(value: &impl Serialize) -> String {
        String::from_utf8(to_json(value).expect("serialises")).expect("utf-8")
    }

    fn asteroid() -> SpaceObject {
        SpaceObject {
            id: 3,
            kind: ObjectKind::Asteroid,
            x: 1.5,
            y: 2.0,
            speed: 5.0,
            angle: 90.0,
            last_position_update_ms: 7,
        }
    }

    fn world(version: Version) -> WorldView {
        WorldView {
            world_size: WorldSize::DEFAULT,
            space_objects: vec![asteroid()],
            current_time: 9,
            version,
        }
    }

    #[test]
    fn sessions_say_whether_logged_in() {
        let logged_in = SessionView::LoggedIn {
            username: "a".into(),
            ship_id: 1,
        };
        assert_eq!(
            text(&SessionBody::of(&logged_in)),
            r#"{"loggedIn":true,"username":"a","shipId":1}"#
        );
        assert_eq!(
            text(&SessionBody::of(&SessionView::LoggedOut)),
            r#"{"loggedIn":false}"#
        );
    }

    #[test]
    fn actions_answer_success_with_their_outcome() {
        assert_eq!(text(&SUCCESS), r#"{"success":true}"#);
        let navigated = Navigated::from(NavigateOutcome {
            speed: 20.0,
            angle: 270.5,
            max_speed: 25.0,
        });
        assert_eq!(
            text(&navigated),
            r#"{"success":true,"speed":20,"angle":270.5,"maxSpeed":25}"#
        );
        let collected = Collected::from(CollectOutcome {
            distance: 12.5,
            iron_reward: 77,
            total_iron: 87.0,
            object_type: ObjectKind::Shipwreck,
        });
        assert_eq!(
            text(&collected),
            r#"{"success":true,"distance":12.5,"ironReward":77,"totalIron":87,"objectType":"shipwreck"}"#
        );
    }

    #[test]
    fn world_bodies_mark_full_and_delta_answers() {
        let object = r#"{"id":3,"type":"asteroid","x":1.5,"y":2,"speed":5,"angle":90,"last_position_update_ms":7}"#;
        assert_eq!(
            text(&world(4)),
            format!(
                r#"{{"worldSize":{{"width":500,"height":500}},"spaceObjects":[{object}],"currentTime":9,"version":4}}"#
            )
        );
        assert_eq!(
            text(&Sync::of(&WorldSync::Full(world(4)))),
            format!(
                r#"{{"worldSize":{{"width":500,"height":500}},"spaceObjects":[{object}],"currentTime":9,"version":4,"full":true}}"#
            )
        );
        let delta = WorldDeltaView {
            world_size: WorldSize::DEFAULT,
            version: 6,
            since: 4,
            upserted: vec![asteroid()],
            removed: vec![8],
            current_time: 9,
        };
        assert_eq!(
            text(&Sync::of(&WorldSync::Delta(delta))),
            format!(
                r#"{{"worldSize":{{"width":500,"height":500}},"version":6,"since":4,"full":false,"upserted":[{object}],"removed":[8],"currentTime":9}}"#
            )
        );
    }

    #[test]
    fn navigate_requests_refuse_unknown_fields() {
        let request: NavigateRequest = serde_json::from_str::<NavigateBody>(r#"{"angle":90}"#)
            .expect("parses")
            .into();
        assert_eq!(
            request,
            NavigateRequest {
                speed: None,
                angle: Some(90.0)
            }
        );
        assert!(serde_json::from_str::<NavigateBody>(r#"{"speed":1,"turbo":true}"#).is_err());
    }
}
