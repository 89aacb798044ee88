//! The JSON of world events, as clients have always seen it (docs/world-sync.md): numbers
//! printed as JavaScript prints them, fields in their historical order. An object's JSON
//! is made once per batch ([`fragment`]) and events are assembled from such fragments.

use bytes::Bytes;
use game_domain::geometry::WorldSize;
use game_domain::space_object::{ObjectId, SpaceObject};
use game_domain::world_history::Version;
use serde::Serialize;

/// Serializes like the original (JavaScript) server: a float with an integral value is
/// written as an integer (`500`, not `500.0`), so clients see the numbers they always saw.
pub fn to_json<T: Serialize>(value: &T) -> serde_json::Result<Vec<u8>> {
    // A world response is a few KiB; starting there spares the doubling reallocations
    // that showed up at 10 % of server CPU under load (BENCHMARKS.md).
    let mut bytes = Vec::with_capacity(4096);
    write_json(&mut bytes, value)?;
    Ok(bytes)
}

/// Appends `value`'s JSON (numbers as [`to_json`] prints them) to `out`.
pub fn write_json<T: Serialize>(out: &mut Vec<u8>, value: &T) -> serde_json::Result<()> {
    value.serialize(&mut serde_json::Serializer::with_formatter(out, JsNumbers))
}

/// One object's JSON, to be shared by every event that carries it.
pub fn fragment(object: &SpaceObject) -> Bytes {
    let mut out = Vec::with_capacity(128);
    // A space object is numbers and a fixed string: it always serialises.
    if write_json(&mut out, object).is_err() {
        out.clear();
        out.extend_from_slice(b"null");
    }
    Bytes::from(out)
}

/// The parts of a `delta` event's JSON besides its objects.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeltaHeader {
    /// The world's dimensions.
    pub world_size: WorldSize,
    /// The version the changes lead to.
    pub version: Version,
    /// The version they start from.
    pub since: Version,
    /// The server's time (Unix ms).
    pub current_time: i64,
}

/// Appends a `delta` body: `{"worldSize", "version", "since", "full": false, "upserted",
/// "removed", "currentTime"}` with the objects' `fragments` in the given order.
pub fn write_delta<'a>(
    out: &mut Vec<u8>,
    header: &DeltaHeader,
    fragments: impl IntoIterator<Item = &'a Bytes>,
    removed: &[ObjectId],
) {
    out.extend_from_slice(b"{\"worldSize\":");
    write_size(out, header.world_size);
    out.extend_from_slice(
        format!(",\"version\":{},\"since\":{}", header.version, header.since).as_bytes(),
    );
    out.extend_from_slice(b",\"full\":false,\"upserted\":[");
    for (i, fragment) in fragments.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(fragment);
    }
    out.extend_from_slice(b"],\"removed\":[");
    for (i, id) in removed.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(id.to_string().as_bytes());
    }
    out.extend_from_slice(format!("],\"currentTime\":{}}}", header.current_time).as_bytes());
}

/// A whole-world snapshot (`"full": true`); with `radius` for an area's opening.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotBody<'a> {
    /// The world's dimensions.
    pub world_size: WorldSize,
    /// The objects: stored states for an area, positions at `current_time` for the world.
    pub space_objects: &'a [SpaceObject],
    /// The server's time (Unix ms).
    pub current_time: i64,
    /// The version shown.
    pub version: Version,
    /// Always true: the client replaces what it knew.
    pub full: bool,
    /// The radius an area stream follows (objects up to a margin beyond it are included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub radius: Option<f64>,
}

fn write_size(out: &mut Vec<u8>, size: WorldSize) {
    if write_json(out, &size).is_err() {
        out.extend_from_slice(b"null");
    }
}

/// [`serde_json::ser::CompactFormatter`], but integral floats print as JavaScript does.
struct JsNumbers;

/// Integral floats up to 2^53 in magnitude are printed as integers (exactly representable).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_992.0;

impl serde_json::ser::Formatter for JsNumbers {
    fn write_f64<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        value: f64,
    ) -> std::io::Result<()> {
        if value.fract() == 0.0 && value.abs() <= MAX_SAFE_INTEGER {
            // Exact: the value is an integer within i64 (and -0.0 prints as 0, like JS).
            write!(writer, "{}", value as i64)
        } else {
            serde_json::ser::CompactFormatter.write_f64(writer, value)
        }
    }
}

#[cfg(test)]
mod tests {
    use game_domain::space_object::ObjectKind;

    use super::*;

    fn ship(id: ObjectId, x: f64) -> SpaceObject {
        SpaceObject {
            id,
            kind: ObjectKind::PlayerShip,
            x,
            y: 250.0,
            speed: 10.0,
            angle: 30.5,
            last_position_update_ms: 1_796_148_975_943,
        }
    }

    fn text(bytes: &[u8]) -> &str {
        std::str::from_utf8(bytes).expect("utf-8")
    }

    #[test]
    fn numbers_print_as_javascript_prints_them() {
        assert_eq!(
            text(&fragment(&ship(1, 250.0))),
            r#"{"id":1,"type":"player_ship","x":250,"y":250,"speed":10,"angle":30.5,"last_position_update_ms":1796148975943}"#
        );
        assert_eq!(
            text(&to_json(&[-0.0, 0.25, 1e300]).expect("json")),
            "[0,0.25,1e+300]"
        );
    }

    #[test]
    fn a_delta_is_assembled_from_fragments() {
        let header = DeltaHeader {
            world_size: WorldSize::DEFAULT,
            version: 12,
            since: 10,
            current_time: 99,
        };
        let fragments = [fragment(&ship(1, 1.5)), fragment(&ship(2, 2.0))];
        let mut out = Vec::new();
        write_delta(&mut out, &header, &fragments, &[3, 4]);
        assert_eq!(
            text(&out),
            concat!(
                r#"{"worldSize":{"width":500,"height":500},"version":12,"since":10,"full":false,"#,
                r#""upserted":[{"id":1,"type":"player_ship","x":1.5,"y":250,"speed":10,"angle":30.5,"last_position_update_ms":1796148975943},"#,
                r#"{"id":2,"type":"player_ship","x":2,"y":250,"speed":10,"angle":30.5,"last_position_update_ms":1796148975943}],"#,
                r#""removed":[3,4],"currentTime":99}"#
            )
        );
        let mut empty = Vec::new();
        write_delta(&mut empty, &header, &[], &[]);
        assert!(text(&empty).contains(r#""upserted":[],"removed":[],"#));
    }

    #[test]
    fn snapshots_name_their_radius_only_for_areas() {
        let objects = [ship(1, 3.0)];
        let body = |radius| SnapshotBody {
            world_size: WorldSize::DEFAULT,
            space_objects: &objects,
            current_time: 5,
            version: 7,
            full: true,
            radius,
        };
        let world = to_json(&body(None)).expect("json");
        assert!(text(&world).ends_with(r#""currentTime":5,"version":7,"full":true}"#));
        let area = to_json(&body(Some(600.0))).expect("json");
        assert!(text(&area).ends_with(r#""version":7,"full":true,"radius":600}"#));
    }
}
