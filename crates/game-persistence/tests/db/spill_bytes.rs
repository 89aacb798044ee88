//! No spill file is none; a spill file that is not text at all, or whose MAC line is not
//! hex, is refused as corrupt, naming why, and stays.
//!
//! Added for the mutation run (docs/test-strength.md): the corrupt-file tests wrote text,
//! so reading binary junk as a plain I/O error (not "corrupt") passed.

use game_persistence::spill::{self, SpillError};

/// Writes `contents` as a spill file, and asserts that reading it is refused as corrupt
/// for `reason` and that the file stays.
fn assert_corrupt(contents: &[u8], reason: &str) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = spill::path_in(dir.path());
    std::fs::write(&path, contents).expect("the spill file written");
    let Err(error) = spill::read(&path, "any-database", b"any key") else {
        panic!("{contents:?} was read as a spill file");
    };
    assert!(
        matches!(&error, SpillError::Corrupt { reason: said, .. } if said == reason),
        "{contents:?}: {error:?}"
    );
    assert!(path.exists(), "never dropped");
}

#[test]
fn a_spill_file_that_is_not_utf8_is_corrupt() {
    assert_corrupt(&[0xff, 0xfe, 0x00, 0x80], "not UTF-8 text");
}

/// A MAC line of odd length (or of non-ASCII text) is refused before it is decoded: read
/// two characters at a time, it would run past its end.
#[test]
fn a_mac_line_of_odd_length_or_not_ascii_is_corrupt() {
    for tag in ["abc", "ab\u{e9}"] {
        assert_corrupt(
            format!("spacewars-spill v2\n{tag}\n{{}}\n").as_bytes(),
            "the MAC line is not 32 bytes of hex",
        );
    }
}

/// No spill file is no spill: `None`, not an error.
#[test]
fn a_missing_spill_file_is_none() {
    let dir = tempfile::tempdir().unwrap();
    let path = spill::path_in(dir.path());
    assert!(matches!(
        spill::read(&path, "any-database", b"any key"),
        Ok(None)
    ));
}
