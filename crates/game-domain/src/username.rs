//! Username rules (docs/limits.md): the canonical form a name is stored under and the key that
//! makes names unique without regard to case.
//!
//! A name is NFC-normalised first, then checked: 1–32 characters (after normalisation), no
//! control or format characters (Unicode general categories Cc and Cf, which include the
//! bidirectional overrides and the zero-width characters), no leading or trailing
//! whitespace, not whitespace only. Confusable characters are not folded: Cyrillic `а`
//! and Latin `a` are different letters, so `а` and `a` are two valid, different names.

use unicode_normalization::UnicodeNormalization;

use crate::error::GameError;

/// Longest accepted username, in characters (Unicode scalar values, after NFC).
pub const MAX_USERNAME_CHARS: usize = 32;

/// Why a username is refused; each has a stable error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsernameProblem {
    /// The name is empty.
    Empty,
    /// More than [`MAX_USERNAME_CHARS`] characters.
    TooLong,
    /// Only whitespace.
    Blank,
    /// Whitespace at the start or the end.
    EdgeWhitespace,
    /// A control (Cc) or format (Cf) character somewhere.
    ForbiddenCharacter,
}

impl UsernameProblem {
    /// The stable snake_case code of the 400 answer.
    pub fn code(self) -> &'static str {
        match self {
            UsernameProblem::Empty => "username_empty",
            UsernameProblem::TooLong => "username_too_long",
            UsernameProblem::Blank => "username_blank",
            UsernameProblem::EdgeWhitespace => "username_edge_whitespace",
            UsernameProblem::ForbiddenCharacter => "username_forbidden_character",
        }
    }

    /// The human message (after "Invalid username: ").
    pub fn message(self) -> &'static str {
        match self {
            UsernameProblem::Empty => "must not be empty",
            UsernameProblem::TooLong => "at most 32 characters",
            UsernameProblem::Blank => "must not be only whitespace",
            UsernameProblem::EdgeWhitespace => "must not start or end with whitespace",
            UsernameProblem::ForbiddenCharacter => "no control or invisible formatting characters",
        }
    }
}

/// The NFC form of `raw`, if it is a valid username; else why not.
pub fn canonical_username(raw: &str) -> Result<String, GameError> {
    let name: String = raw.nfc().collect();
    check(&name).map_err(GameError::InvalidUsername)?;
    Ok(name)
}

/// The uniqueness key of a name: its NFC form, lower-cased, normalised again (lower-casing
/// can produce sequences NFC composes). Two names with the same key are the same account.
pub fn username_key(name: &str) -> String {
    let lower: String = name.nfc().flat_map(char::to_lowercase).collect();
    lower.nfc().collect()
}

fn check(name: &str) -> Result<(), UsernameProblem> {
    let mut chars = name.chars();
    let (Some(first), last) = (chars.next(), name.chars().next_back()) else {
        return Err(UsernameProblem::Empty);
    };
    if name.chars().count() > MAX_USERNAME_CHARS {
        return Err(UsernameProblem::TooLong);
    }
    if name.chars().any(|c| c.is_control() || is_format(c)) {
        return Err(UsernameProblem::ForbiddenCharacter);
    }
    if name.chars().all(char::is_whitespace) {
        return Err(UsernameProblem::Blank);
    }
    if first.is_whitespace() || last.is_some_and(char::is_whitespace) {
        return Err(UsernameProblem::EdgeWhitespace);
    }
    Ok(())
}

/// Unicode general category Cf (format), as of Unicode 16.
const FORMAT_RANGES: [(u32, u32); 21] = [
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
];

/// True for a format (Cf) character: soft hyphen, zero-width space and joiners, bidi
/// marks, embeddings, overrides and isolates, the byte-order mark, tag characters, ….
pub fn is_format(c: char) -> bool {
    let c = u32::from(c);
    FORMAT_RANGES
        .iter()
        .any(|(low, high)| (*low..=*high).contains(&c))
}

#[cfg(test)]
mod tests {
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
}
