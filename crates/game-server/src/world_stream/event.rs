//! The `text/event-stream` framing (HTML Living Standard, Server-sent events).

use game_cache::fanout::AreaEvent;
use hyper::body::Bytes;

/// `Content-Type` of an event stream.
pub const CONTENT_TYPE: &str = "text/event-stream";

/// How long a browser waits before reconnecting after a stream ends, in ms.
pub const RETRY_MS: u32 = 1_000;

/// An event `name` with `id` and one line of JSON `data` (JSON has no raw newlines).
pub fn event(id: u64, name: &str, data: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(data.len() + name.len() + 40);
    out.extend_from_slice(format!("id: {id}\nevent: {name}\ndata: ").as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// An area event, framed: its JSON is assembled from the batch's shared object JSON
/// straight into the frame's buffer.
pub fn area_event(area: &AreaEvent) -> Bytes {
    let version = area.version();
    let mut out = Vec::with_capacity(1024);
    out.extend_from_slice(format!("id: {version}\nevent: {}\ndata: ", area.name()).as_bytes());
    area.write_json(&mut out);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// The stream's opening: the reconnection delay.
pub fn retry() -> Bytes {
    Bytes::from(format!("retry: {RETRY_MS}\n\n"))
}

/// The stream's last event: `ended` with why (`{"reason":"relay_lost"}`).
pub fn ended(reason: &str) -> Bytes {
    // No `id:`: the client resumes from the last version it had.
    Bytes::from(format!(
        "event: ended\ndata: {{\"reason\":\"{reason}\"}}\n\n"
    ))
}

/// A comment line, ignored by clients, that keeps an idle connection alive.
pub fn heartbeat() -> Bytes {
    Bytes::from_static(b": keep-alive\n\n")
}

/// The version a client resumes from: `Last-Event-ID` as a whole number, if it is one.
pub fn last_event_id(value: Option<&str>) -> Option<u64> {
    value?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_an_event_with_id_name_and_data() {
        assert_eq!(
            &event(42, "delta", br#"{"a":1}"#)[..],
            b"id: 42\nevent: delta\ndata: {\"a\":1}\n\n"
        );
        assert_eq!(&retry()[..], b"retry: 1000\n\n");
        assert_eq!(&heartbeat()[..], b": keep-alive\n\n");
    }

    /// The engine assembles events from per-object JSON; the bytes must be exactly those
    /// of the API's bodies (`GET /api/world?since=`, the world snapshot).
    #[test]
    fn the_engines_events_are_the_apis_bodies() {
        use game_cache::fanout::{AreaDelta, BatchChanges, Encoded, SharedBatch};
        use game_domain::geometry::WorldSize;
        use game_domain::space_object::{ObjectKind, SpaceObject};
        use game_domain::views::{WorldDeltaView, WorldView};

        use crate::response::bodies::{Delta, FullWorld};
        use crate::response::to_json;

        let ship = SpaceObject {
            id: 3,
            kind: ObjectKind::PlayerShip,
            x: 1.5,
            y: 250.0,
            speed: 12.25,
            angle: 90.0,
            last_position_update_ms: 1_796_148_975_943,
        };
        let view = WorldDeltaView {
            world_size: WorldSize::DEFAULT,
            version: 12,
            since: 10,
            upserted: vec![ship, SpaceObject { id: 4, ..ship }],
            removed: vec![7, 8],
            current_time: 1_796_148_978_964,
        };
        let batch = SharedBatch::new(
            10,
            12,
            view.current_time,
            view.world_size,
            BatchChanges::Delta {
                upserted: view.upserted.iter().copied().map(Encoded::new).collect(),
                removed: view.removed.clone(),
            },
        );
        let api = to_json(&Delta::of(&view)).expect("json");
        assert_eq!(&batch.json()[..], &api[..]);
        let area = AreaEvent::Delta(AreaDelta {
            since: 10,
            version: 12,
            current_time: view.current_time,
            world_size: view.world_size,
            upserted: view.upserted.iter().copied().map(Encoded::new).collect(),
            removed: view.removed.clone(),
        });
        assert_eq!(&area_event(&area)[..], &event(12, "delta", &api)[..]);
        let world = WorldView {
            world_size: WorldSize::DEFAULT,
            space_objects: vec![ship],
            current_time: 5,
            version: 9,
        };
        let full = SharedBatch::new(8, 9, 5, world.world_size, BatchChanges::Full(world.clone()));
        assert_eq!(
            &full.json()[..],
            &to_json(&FullWorld::of(&world)).expect("json")[..]
        );
        assert_eq!(full.name(), "snapshot");
    }

    #[test]
    fn last_event_id_must_be_a_whole_number() {
        assert_eq!(last_event_id(Some(" 17 ")), Some(17));
        assert_eq!(last_event_id(Some("-1")), None);
        assert_eq!(last_event_id(Some("abc")), None);
        assert_eq!(last_event_id(None), None);
    }
}
