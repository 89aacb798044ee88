//! The session cookie: reading the token from `Cookie`, writing `Set-Cookie`.
//!
//! Tokens are issued, hashed, stored and revoked by the domain; this module moves them
//! between the HTTP headers and the use cases, and signs them: the cookie carries the
//! domain's token followed by a MAC of it under the server's session key (kept in the
//! database, so tokens survive restarts). A cookie whose MAC does not verify — forged,
//! guessed or garbage — is treated as absent without touching the database (docs/limits.md).

use std::sync::atomic::{AtomicU64, Ordering};

use hmac::{Hmac, Mac};
use hyper::HeaderMap;
use hyper::header::{self, HeaderValue};
use sha2::Sha256;

/// The cookie's name.
pub const COOKIE_NAME: &str = "spacewars-session";

/// Cookie lifetime in seconds: the domain's 24 h session lifetime.
pub const MAX_AGE_S: i64 = game_domain::game::SESSION_TTL_MS / 1000;

/// Length of a token as the domain issues it (128 bits in hex).
const TOKEN_LEN: usize = 32;
/// Length of the MAC after it (128 bits of HMAC-SHA256, hex).
const TAG_LEN: usize = 32;

/// Signs tokens into cookie values and checks them back.
pub struct SessionKeys {
    mac: Hmac<Sha256>,
    forged: AtomicU64,
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionKeys").finish_non_exhaustive()
    }
}

impl SessionKeys {
    /// Keys from the server's secret (HMAC takes a key of any length; the error exists
    /// only because the key-length check is shared with fixed-key MACs).
    pub fn new(secret: &[u8]) -> Result<SessionKeys, hmac::digest::InvalidLength> {
        Ok(SessionKeys {
            mac: Hmac::new_from_slice(secret)?,
            forged: AtomicU64::new(0),
        })
    }

    fn tag(&self, token: &str) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        mac.update(token.as_bytes());
        mac
    }

    /// The cookie value for `token`: the token, then its MAC.
    pub fn sign(&self, token: &str) -> String {
        let tag = self.tag(token).finalize().into_bytes();
        let mut value = String::with_capacity(TOKEN_LEN + TAG_LEN);
        value.push_str(token);
        for byte in tag.iter().take(TAG_LEN / 2) {
            value.push_str(&format!("{byte:02x}"));
        }
        value
    }

    /// The session token in the request's cookies, if one is there and its MAC verifies.
    ///
    /// Every cookie with the session's name is tried, in order, and the first that
    /// verifies counts: a cookie planted for a sibling domain or a narrower path, which the
    /// browser may send first, cannot log the player out. Anything else (wrong length, not
    /// lower-case hex, a MAC that does not verify) is treated as absent, so forged cookies
    /// never reach the store; a request with session cookies of which none verifies is
    /// counted.
    pub fn token<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        let mut candidates = cookie_values(headers, COOKIE_NAME).peekable();
        candidates.peek()?;
        let verified = candidates.find(|value| self.verifies(value));
        if verified.is_none() {
            self.forged.fetch_add(1, Ordering::Relaxed);
        }
        verified.map(|value| &value[..TOKEN_LEN])
    }

    fn verifies(&self, value: &str) -> bool {
        value.len() == TOKEN_LEN + TAG_LEN
            && value
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            && {
                let (token, tag) = value.split_at(TOKEN_LEN);
                let tag = decode_hex(tag);
                self.tag(token).verify_truncated_left(&tag).is_ok()
            }
    }

    /// Session cookies refused because their MAC did not verify (or they were not even
    /// shaped like one), so far.
    pub fn forged(&self) -> u64 {
        self.forged.load(Ordering::Relaxed)
    }

    /// `Set-Cookie` for a freshly issued token.
    pub fn set_cookie(&self, token: &str, secure: bool) -> HeaderValue {
        cookie(&self.sign(token), MAX_AGE_S, secure)
    }
}

/// The values of every cookie named `name` in the request, in the order sent. At most
/// the first [`MAX_COOKIES`] pairs are looked at: the headers are bounded anyway, this
/// bounds the MACs a request can make us compute.
pub(crate) fn cookie_values<'h>(
    headers: &'h HeaderMap,
    name: &'static str,
) -> impl Iterator<Item = &'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .take(MAX_COOKIES)
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(move |(cookie, _)| *cookie == name)
        .map(|(_, value)| value.trim().trim_matches('"'))
}

/// Cookie pairs of one request looked at, at most.
const MAX_COOKIES: usize = 64;

/// Bytes of lower-case hex (checked by the caller); a stray digit pair decodes as 0.
pub(crate) fn decode_hex(hex: &str) -> Vec<u8> {
    hex.as_bytes()
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .unwrap_or(0)
        })
        .collect()
}

/// `Set-Cookie` that makes the browser forget the session.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    cookie("", 0, secure)
}

fn cookie(value: &str, max_age_s: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE_NAME}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age_s}{secure}"
    );
    // Tokens are hex, so the header is always valid; fall back to clearing if not.
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| {
        HeaderValue::from_static("spacewars-session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    fn keys() -> SessionKeys {
        SessionKeys::new(b"test key").expect("any length")
    }

    fn token(headers: &HeaderMap) -> Option<&str> {
        keys().token(headers)
    }

    fn signed() -> String {
        keys().sign(TOKEN)
    }

    fn headers(cookies: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for cookie in cookies {
            map.append(
                header::COOKIE,
                HeaderValue::from_str(cookie).expect("ascii"),
            );
        }
        map
    }

    #[test]
    fn finds_the_token_among_other_cookies() {
        let signed = signed();
        let line = format!("theme=dark; {COOKIE_NAME}={signed}; lang=en");
        assert_eq!(token(&headers(&[&line])), Some(TOKEN));
        let split = format!("{COOKIE_NAME}={signed}");
        assert_eq!(token(&headers(&["theme=dark", &split])), Some(TOKEN));
        assert_eq!(token(&headers(&[])), None);
        assert_eq!(token(&headers(&["other=1"])), None);
    }

    #[test]
    fn a_forged_cookie_before_the_real_one_does_not_hide_it() {
        let keys = keys();
        let signed = signed();
        let forged = format!("{COOKIE_NAME}={}", "0".repeat(64));
        let real = format!("{COOKIE_NAME}={signed}");
        assert_eq!(
            keys.token(&headers(&[&format!("{forged}; {real}")])),
            Some(TOKEN)
        );
        assert_eq!(keys.token(&headers(&[&forged, &real])), Some(TOKEN));
        assert_eq!(keys.forged(), 0);
        assert_eq!(keys.token(&headers(&[&forged, &forged])), None);
        assert_eq!(keys.forged(), 1);
    }

    #[test]
    fn values_that_cannot_be_tokens_are_ignored() {
        assert_eq!(token(&headers(&["spacewars-session=abc"])), None);
        let not_hex = format!("{COOKIE_NAME}={}", "z".repeat(64));
        assert_eq!(token(&headers(&[&not_hex])), None);
        let prefixed = format!("x{COOKIE_NAME}={}", signed());
        assert_eq!(token(&headers(&[&prefixed])), None);
    }

    #[test]
    fn only_a_tag_made_with_the_key_verifies() {
        let signed = signed();
        assert_eq!(signed.len(), 64);
        assert!(signed.starts_with(TOKEN));
        let keys = keys();
        let cookie = |value: &str| headers(&[&format!("{COOKIE_NAME}={value}")]);
        assert_eq!(keys.token(&cookie(&signed)), Some(TOKEN));
        let other_key = SessionKeys::new(b"other key")
            .expect("any length")
            .sign(TOKEN);
        let flipped = format!(
            "{}{}",
            &signed[..63],
            if signed.ends_with('0') { '1' } else { '0' }
        );
        let other_token = format!("f{}", &signed[1..]);
        for forged in [
            other_key.as_str(),
            flipped.as_str(),
            other_token.as_str(),
            &signed.to_uppercase(),
            TOKEN,
        ] {
            assert_eq!(keys.token(&cookie(forged)), None, "{forged}");
        }
        assert_eq!(keys.forged(), 5);
    }

    #[test]
    fn cookies_carry_the_required_attributes() {
        let keys = keys();
        let signed = signed();
        assert_eq!(
            keys.set_cookie(TOKEN, false),
            format!("spacewars-session={signed}; HttpOnly; SameSite=Lax; Path=/; Max-Age=86400")
        );
        assert!(
            keys.set_cookie(TOKEN, true)
                .to_str()
                .expect("ascii")
                .ends_with("; Secure")
        );
        assert_eq!(
            clear_cookie(false),
            "spacewars-session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"
        );
    }
}
