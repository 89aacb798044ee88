//! The relay's names and messages as other machines see them: subjects and JSON.

use super::*;

#[test]
fn the_subjects_name_the_world_and_the_cell() {
    let subjects = Subjects::new("alpha-1").expect("a valid name");
    assert_eq!(subjects.cell(6, 4), "spacewars.alpha-1.cell.2.1");
    assert_eq!(subjects.all_cells(), "spacewars.alpha-1.cell.>");
    assert_eq!(subjects.snapshot(), "spacewars.alpha-1.snapshot");
    assert_eq!(subjects.sessions(), "spacewars.alpha-1.sessions");
    assert_eq!(subjects.owner(), "spacewars.alpha-1.owner");
    assert_eq!(subjects.batch(), "spacewars.alpha-1.batch");
    for bad in ["", "a.b", "a*", "a>", "a b"] {
        assert_eq!(Subjects::new(bad), None, "{bad:?}");
    }
}

#[test]
fn the_wire_format_is_plain_json() {
    let notice = SessionNotice::Revoked {
        token_hash: "ab12".into(),
    };
    assert_eq!(
        serde_json::to_string(&notice).ok(),
        Some(r#"{"kind":"revoked","token_hash":"ab12"}"#.to_owned())
    );
    let request = SnapshotRequest {
        part_size: 500,
        cells: None,
        objects: None,
    };
    assert_eq!(
        serde_json::to_string(&request).ok(),
        Some(r#"{"part_size":500}"#.to_owned())
    );
    let some = SnapshotRequest {
        part_size: 500,
        cells: Some(vec![3, 4]),
        objects: None,
    };
    assert_eq!(
        serde_json::to_string(&some).ok(),
        Some(r#"{"part_size":500,"cells":[3,4]}"#.to_owned())
    );
    // An older edge's request (no cells) still reads as the whole world.
    assert_eq!(
        serde_json::from_str::<SnapshotRequest>(r#"{"part_size":7}"#).ok(),
        Some(SnapshotRequest {
            part_size: 7,
            cells: None,
            objects: None,
        })
    );
    let ships = SnapshotRequest {
        part_size: 1,
        cells: None,
        objects: Some(vec![9]),
    };
    assert_eq!(
        serde_json::to_string(&ships).ok(),
        Some(r#"{"part_size":1,"objects":[9]}"#.to_owned())
    );
    // An older owner's index (no speed) reads as speed 0.
    let index = r#"{"epoch":1,"seq":2,"since":3,"version":4,"at_ms":5,"cells":[6]}"#;
    assert_eq!(
        serde_json::from_str::<BatchIndex>(index)
            .map(|i| i.speed)
            .ok(),
        Some(0.0)
    );
}
