//! Username rules (docs/limits.md): what a new name must be, the form a name is stored and
//! looked up under, and the keys that make names unique.
//!
//! - [`new_username`]: a registration's name. It must pass the base rules below *and* be an
//!   identifier by the IETF profile for usernames (PRECIS `UsernameCaseMapped`, RFC 8264/8265:
//!   fullwidth and halfwidth forms mapped to their ordinary forms, then letters, digits and
//!   printable ASCII only, no compatibility characters, no spaces, the bidi rule). What is
//!   stored is the width-mapped NFC form, case kept for display.
//! - [`login_name`]: a login's name. Only the base rules apply, so accounts registered
//!   before the identifier rule keep logging in with their names; a name that is an
//!   identifier is width-mapped first (`ａ` logs in as `a`).
//! - [`username_key`]: the case-free key (NFC, lower-cased): one account per key.
//! - [`username_skeleton`]: Unicode's confusable skeleton (UTS #39) of the key: a new name
//!   whose skeleton an existing name has (Cyrillic `а` next to Latin `a`) is taken.
//!
//! The base rules: NFC-normalised, 1–32 characters, no control or format characters
//! (Unicode general categories Cc and Cf: bidi overrides, zero-width characters, …), no
//! leading or trailing whitespace, not whitespace only.

mod format;

use std::borrow::Cow;

use precis_profiles::UsernameCaseMapped;
use precis_profiles::precis_core::profile::Profile;
use unicode_normalization::UnicodeNormalization;

use crate::error::{GameError, UsernameProblem};

pub use format::is_format;

/// Longest accepted username, in characters (Unicode scalar values, after NFC).
pub const MAX_USERNAME_CHARS: usize = 32;

/// The name a registration stores: the width-mapped NFC form of `raw`, if it passes the
/// base rules and is an RFC 8265 identifier; else why not.
pub fn new_username(raw: &str) -> Result<String, GameError> {
    base_form(raw)?;
    let prepared =
        prepare(raw).ok_or(GameError::InvalidUsername(UsernameProblem::NotIdentifier))?;
    let name = base_form(&prepared)?;
    // Enforcement adds case mapping, normalisation and the bidi rule to preparation.
    UsernameCaseMapped::new()
        .enforce(name.as_str())
        .map_err(|_| GameError::InvalidUsername(UsernameProblem::NotIdentifier))?;
    Ok(name)
}

/// The name a login looks up: the base rules only (names registered before the
/// identifier rule still log in), width-mapped first when `raw` is an identifier.
pub fn login_name(raw: &str) -> Result<String, GameError> {
    match prepare(raw) {
        Some(prepared) => base_form(&prepared),
        None => base_form(raw),
    }
}

/// The base rules alone: the NFC form of `raw` if it passes them (see the module docs).
/// Stored names from before the identifier rule pass them.
pub fn canonical_username(raw: &str) -> Result<String, GameError> {
    base_form(raw)
}

/// The uniqueness key of a name: its NFC form, lower-cased, normalised again (lower-casing
/// can produce sequences NFC composes). Two names with the same key are the same account.
pub fn username_key(name: &str) -> String {
    let lower: String = name.nfc().flat_map(char::to_lowercase).collect();
    lower.nfc().collect()
}

/// The confusable skeleton (UTS #39) of a name's key: names that look alike share it, so
/// a new name whose skeleton is taken is refused (`а`/`a`, `ℓ`/`l`).
pub fn username_skeleton(name: &str) -> String {
    let skeleton: String = unicode_security::skeleton(&username_key(name)).collect();
    skeleton.nfc().collect()
}

/// PRECIS preparation (width mapping, identifier class); `None` if `raw` is not an
/// identifier. Long input is refused by the length rule before it gets here.
fn prepare(raw: &str) -> Option<String> {
    UsernameCaseMapped::new()
        .prepare(raw)
        .ok()
        .map(Cow::into_owned)
}

fn base_form(raw: &str) -> Result<String, GameError> {
    // Refuse long input before normalising it (NFC of a 15,000-character name is work the
    // sender chooses). A canonical decomposition has at most 4 code points of at most 4
    // bytes, so a name NFC makes 32 characters long has at most 32 × 16 bytes.
    if raw.len() > MAX_USERNAME_CHARS * 16 {
        return Err(GameError::InvalidUsername(UsernameProblem::TooLong));
    }
    let name: String = raw.nfc().collect();
    check(&name).map_err(GameError::InvalidUsername)?;
    Ok(name)
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

#[cfg(test)]
mod tests;
