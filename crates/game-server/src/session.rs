//! The session cookie: reading the token from `Cookie`, writing `Set-Cookie`.
//!
//! Tokens are issued, hashed, stored and revoked by the domain; this module only moves
//! them between the HTTP headers and the use cases.

use hyper::HeaderMap;
use hyper::header::{self, HeaderValue};

/// The cookie's name.
pub const COOKIE_NAME: &str = "spacewars-session";

/// Cookie lifetime in seconds: the domain's 24 h session lifetime.
pub const MAX_AGE_S: i64 = game_domain::game::SESSION_TTL_MS / 1000;

/// Length of a token as the domain issues it (128 bits in hex).
const TOKEN_LEN: usize = 32;

/// The session token in the request's cookies, if one is there and is shaped like a token.
///
/// A value that cannot be a token (wrong length, not hex) is treated as absent, so garbage
/// cookies never reach the store.
pub fn token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim().trim_matches('"'))
        .filter(|value| value.len() == TOKEN_LEN && value.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `Set-Cookie` for a freshly issued token.
pub fn set_cookie(token: &str, secure: bool) -> HeaderValue {
    cookie(token, MAX_AGE_S, secure)
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
        let line = format!("theme=dark; {COOKIE_NAME}={TOKEN}; lang=en");
        assert_eq!(token(&headers(&[&line])), Some(TOKEN));
        let split = format!("{COOKIE_NAME}={TOKEN}");
        assert_eq!(token(&headers(&["theme=dark", &split])), Some(TOKEN));
        assert_eq!(token(&headers(&[])), None);
        assert_eq!(token(&headers(&["other=1"])), None);
    }

    #[test]
    fn values_that_cannot_be_tokens_are_ignored() {
        assert_eq!(token(&headers(&["spacewars-session=abc"])), None);
        let not_hex = format!("{COOKIE_NAME}={}", "z".repeat(32));
        assert_eq!(token(&headers(&[&not_hex])), None);
        let prefixed = format!("x{COOKIE_NAME}={TOKEN}");
        assert_eq!(token(&headers(&[&prefixed])), None);
    }

    #[test]
    fn cookies_carry_the_required_attributes() {
        assert_eq!(
            set_cookie(TOKEN, false),
            format!("spacewars-session={TOKEN}; HttpOnly; SameSite=Lax; Path=/; Max-Age=86400")
        );
        assert!(
            set_cookie(TOKEN, true)
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
