//! The username rules, case by case.

use super::*;

fn problem(raw: &str) -> Option<&'static str> {
    match canonical_username(raw) {
        Ok(_) => None,
        Err(GameError::InvalidUsername(problem)) => Some(problem.code()),
        Err(other) => panic!("unexpected {other:?}"),
    }
}

#[test]
fn the_issue_cases() {
    assert_eq!(problem("a\u{200b}"), Some("username_forbidden_character"));
    assert_eq!(problem(" a"), Some("username_edge_whitespace"));
    assert_eq!(problem("a "), Some("username_edge_whitespace"));
    assert_eq!(problem("   "), Some("username_blank"));
    assert_eq!(
        problem("\u{202e}gnp.exe"),
        Some("username_forbidden_character")
    );
    assert_eq!(problem(""), Some("username_empty"));
    assert_eq!(problem("a\nb"), Some("username_forbidden_character"));
    assert_eq!(problem("\u{feff}a"), Some("username_forbidden_character"));
    assert_eq!(problem("a\u{2066}b"), Some("username_forbidden_character"));
    assert_eq!(problem("a\u{e0041}"), Some("username_forbidden_character"));
    assert_eq!(problem(&"x".repeat(33)), Some("username_too_long"));
    // Confusables are not folded: both are valid, and they are different names.
    assert_eq!(canonical_username("\u{430}"), Ok("\u{430}".to_owned()));
    assert_eq!(canonical_username("a"), Ok("a".to_owned()));
    assert_ne!(username_key("\u{430}"), username_key("a"));
    // Inner spaces are fine.
    assert_eq!(canonical_username("a b"), Ok("a b".to_owned()));
}

#[test]
fn nfc_and_nfd_are_one_name_and_case_does_not_matter() {
    let nfc = "\u{e9}";
    let nfd = "e\u{301}";
    assert_eq!(canonical_username(nfd), Ok(nfc.to_owned()));
    assert_eq!(username_key(nfd), username_key(nfc));
    assert_eq!(username_key("\u{c9}"), "\u{e9}");
    assert_eq!(username_key("Pilot"), "pilot");
    // 32 characters after NFC, although 64 before.
    assert_eq!(canonical_username(&nfd.repeat(32)), Ok(nfc.repeat(32)));
    assert_eq!(problem(&nfd.repeat(33)), Some("username_too_long"));
}

#[test]
fn format_characters_are_cf_exactly_at_the_edges_of_ranges() {
    for c in [
        '\u{ad}', '\u{200b}', '\u{200f}', '\u{202a}', '\u{202e}', '\u{206f}',
    ] {
        assert!(is_format(c), "{:04x}", u32::from(c));
    }
    for c in ['a', '\u{ac}', '\u{2010}', '\u{2029}', '\u{2065}', 'é'] {
        assert!(!is_format(c), "{:04x}", u32::from(c));
    }
}

fn new_problem(raw: &str) -> Option<&'static str> {
    match new_username(raw) {
        Ok(_) => None,
        Err(GameError::InvalidUsername(problem)) => Some(problem.code()),
        Err(other) => panic!("unexpected {other:?}"),
    }
}

#[test]
fn new_names_must_be_identifiers() {
    for blank_looking in [
        "\u{3164}",
        "\u{2800}",
        "\u{115f}",
        "\u{1160}",
        "a\u{34f}",
        "a\u{17b4}",
        "a\u{2028}b",
        "\u{fb00}",
        "a b",
        "a\u{2665}",
    ] {
        assert_eq!(
            new_problem(blank_looking),
            Some("username_not_identifier"),
            "{blank_looking:?}"
        );
    }
    // The base rules come first, with their own codes.
    assert_eq!(new_problem("a\u{2028}"), Some("username_edge_whitespace"));
    assert_eq!(
        new_problem("a\u{200b}"),
        Some("username_forbidden_character")
    );
    assert_eq!(new_problem(&"x".repeat(33)), Some("username_too_long"));
    // Fullwidth forms are mapped to the ordinary ones; case is kept for display.
    assert_eq!(new_username("\u{ff41}"), Ok("a".to_owned()));
    assert_eq!(new_username("\u{ff30}ilot"), Ok("Pilot".to_owned()));
    assert_eq!(new_username("e\u{301}"), Ok("\u{e9}".to_owned()));
    assert_eq!(new_username("pilot_7.x-y"), Ok("pilot_7.x-y".to_owned()));
    assert_eq!(new_username("\u{430}"), Ok("\u{430}".to_owned()));
}

#[test]
fn logins_keep_the_base_rules_and_map_widths() {
    // A name registered before the identifier rule still logs in.
    assert_eq!(login_name("a b"), Ok("a b".to_owned()));
    assert_eq!(login_name("\u{ff41}"), Ok("a".to_owned()));
    assert_eq!(
        login_name(" a").map_err(|e| e.to_string()),
        Err("Invalid username: must not start or end with whitespace".to_owned())
    );
    // A 15,000-character name is too long without being normalised.
    assert_eq!(
        login_name(&"x".repeat(15_000)),
        Err(GameError::InvalidUsername(UsernameProblem::TooLong))
    );
}

#[test]
fn look_alikes_share_a_skeleton() {
    assert_eq!(username_skeleton("\u{430}"), username_skeleton("a"));
    assert_eq!(
        username_skeleton("p\u{430}ypal"),
        username_skeleton("paypal")
    );
    assert_eq!(username_skeleton("\u{fb00}"), username_skeleton("ff"));
    assert_eq!(username_skeleton("Pilot"), username_skeleton("pilot"));
    assert_ne!(username_skeleton("alice"), username_skeleton("bob"));
    assert_eq!(username_skeleton("alice"), "alice");
}
