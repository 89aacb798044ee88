//! The known-device cookie (docs/limits.md): after a successful login or registration the
//! browser gets a long-lived cookie naming a random device id, signed together with the
//! account's name key. A later login to that account bearing it is counted against the
//! device's own bucket instead of the account-wide ones, so guessers elsewhere cannot lock
//! the owner out.
//!
//! The cookie holds no name: the value is the device id (128 random bits, hex) followed by
//! an HMAC-SHA256 (truncated to 128 bits, hex) of the id and the account's name key under
//! a server key kept in the database. A browser keeps one such cookie: signing in to
//! another account makes the device known to that one instead.

use std::sync::{Mutex, PoisonError};

use hmac::{Hmac, Mac};
use hyper::HeaderMap;
use hyper::header::HeaderValue;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha2::Sha256;

/// The cookie's name.
pub const COOKIE_NAME: &str = "spacewars-device";

/// Cookie lifetime in seconds: 400 days, the most browsers keep a cookie.
pub const MAX_AGE_S: i64 = 400 * 86_400;

/// Hex digits of the id, then of the MAC.
const ID_LEN: usize = 32;
const TAG_LEN: usize = 32;

/// Issues and recognises known-device cookies.
pub struct KnownDevices {
    mac: Hmac<Sha256>,
    /// Draws new device ids (seeded from the OS: ids must not be guessable).
    ids: Mutex<StdRng>,
}

impl std::fmt::Debug for KnownDevices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnownDevices").finish_non_exhaustive()
    }
}

impl KnownDevices {
    /// Devices signed with the server's `secret` (HMAC takes a key of any length).
    pub fn new(secret: &[u8]) -> Result<KnownDevices, hmac::digest::InvalidLength> {
        Ok(KnownDevices {
            mac: Hmac::new_from_slice(secret)?,
            ids: Mutex::new(StdRng::from_os_rng()),
        })
    }

    /// A fresh random device id.
    pub fn new_id(&self) -> u128 {
        // A poisoned generator is still a generator.
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .random()
    }

    fn tag(&self, id: &str, name_key: &str) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        mac.update(id.as_bytes());
        mac.update(b":");
        mac.update(name_key.as_bytes());
        mac
    }

    /// `Set-Cookie` making the device with `id` known to the account `name_key`.
    pub fn set_cookie(&self, id: u128, name_key: &str, secure: bool) -> HeaderValue {
        let id = format!("{id:032x}");
        let tag = self.tag(&id, name_key).finalize().into_bytes();
        let mut value = id;
        for byte in tag.iter().take(TAG_LEN / 2) {
            value.push_str(&format!("{byte:02x}"));
        }
        let secure = if secure { "; Secure" } else { "" };
        let cookie = format!(
            "{COOKIE_NAME}={value}; HttpOnly; SameSite=Strict; Path=/api/login; Max-Age={MAX_AGE_S}{secure}"
        );
        // Hex and fixed text only: always a valid header value.
        HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The id of a device cookie in `headers` that was issued for the account `name_key`.
    /// Every cookie of that name is tried (a browser may send several).
    pub fn recognise(&self, headers: &HeaderMap, name_key: &str) -> Option<u128> {
        crate::session::cookie_values(headers, COOKIE_NAME).find_map(|value| {
            let shaped = value.len() == ID_LEN + TAG_LEN
                && value
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !shaped {
                return None;
            }
            let (id, tag) = value.split_at(ID_LEN);
            let tag = crate::session::decode_hex(tag);
            self.tag(id, name_key).verify_truncated_left(&tag).ok()?;
            u128::from_str_radix(id, 16).ok()
        })
    }
}

#[cfg(test)]
mod tests {
    use hyper::header;

    use super::*;

    fn devices() -> KnownDevices {
        KnownDevices::new(b"test key").expect("any length")
    }

    fn cookie_line(set_cookie: &HeaderValue) -> String {
        let text = set_cookie.to_str().expect("ascii");
        text.split(';').next().expect("pair").to_owned()
    }

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for line in lines {
            map.append(header::COOKIE, HeaderValue::from_str(line).expect("ascii"));
        }
        map
    }

    #[test]
    fn debug_output_shows_no_key_material() {
        assert_eq!(format!("{:?}", devices()), "KnownDevices { .. }");
    }

    #[test]
    fn a_device_is_known_to_its_account_only() {
        let devices = devices();
        let set = devices.set_cookie(7, "alice", false);
        assert!(
            set.to_str()
                .expect("ascii")
                .ends_with("; HttpOnly; SameSite=Strict; Path=/api/login; Max-Age=34560000"),
            "{set:?}"
        );
        let line = cookie_line(&set);
        assert_eq!(devices.recognise(&headers(&[&line]), "alice"), Some(7));
        assert_eq!(devices.recognise(&headers(&[&line]), "bob"), None);
        let other_key = KnownDevices::new(b"other key").expect("any length");
        assert_eq!(other_key.recognise(&headers(&[&line]), "alice"), None);
        // A forged cookie before the real one does not hide it.
        let forged = format!("{COOKIE_NAME}={}", "0".repeat(64));
        assert_eq!(
            devices.recognise(&headers(&[&format!("{forged}; {line}")]), "alice"),
            Some(7)
        );
        assert_eq!(devices.recognise(&headers(&[&forged]), "alice"), None);
    }
}
