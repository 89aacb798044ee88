//! Accounts: username rules, a new player's starting state, and session tokens.

use rand::Rng;
use sha2::{Digest, Sha256};

use crate::error::GameError;
use crate::space_object::{ObjectId, ObjectKind, ObjectState};
use crate::tech_tree::TechTree;
use crate::user::UserId;

pub use crate::username::{MAX_USERNAME_CHARS, canonical_username, username_key};

/// Longest accepted password, in bytes (bounds the hashing work a request can cause).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Where every new ship starts.
pub const SPAWN_POINT: (f64, f64) = (250.0, 250.0);

/// Checks a username by the rules of [`crate::username`] (its NFC form is what counts).
pub fn validate_username(username: &str) -> Result<(), GameError> {
    canonical_username(username).map(drop)
}

/// Checks a password: not empty, at most 1024 bytes.
pub fn validate_password(password: &str) -> Result<(), GameError> {
    if password.is_empty() {
        return Err(GameError::InvalidPassword("must not be empty"));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(GameError::InvalidPassword("at most 1024 bytes"));
    }
    Ok(())
}

/// A player to create: the repository assigns user and ship ids.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    /// Unique login name (validated).
    pub username: String,
    /// Password hash in PHC format.
    pub password_hash: String,
    /// Starting iron.
    pub iron: f64,
    /// Unix seconds of creation.
    pub last_updated: i64,
    /// Starting levels.
    pub tech_tree: TechTree,
    /// The player's ship.
    pub ship: ObjectState,
}

impl NewUser {
    /// A registering player: no iron, start levels, a still ship at the spawn point.
    pub fn register(username: String, password_hash: String, now_ms: i64) -> NewUser {
        NewUser::with_iron(username, password_hash, 0.0, now_ms)
    }

    /// Like [`NewUser::register`] but with starting iron (the demo user has 1000).
    pub fn with_iron(username: String, password_hash: String, iron: f64, now_ms: i64) -> NewUser {
        NewUser {
            username,
            password_hash,
            iron,
            last_updated: now_ms.div_euclid(1000),
            tech_tree: TechTree::default(),
            ship: ObjectState {
                kind: ObjectKind::PlayerShip,
                x: SPAWN_POINT.0,
                y: SPAWN_POINT.1,
                speed: 0.0,
                angle: 0.0,
                last_position_update_ms: now_ms,
            },
        }
    }
}

/// A server-side session, stored under the hash of its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Hex SHA-256 of the token; the token itself is never stored.
    pub token_hash: String,
    /// Whose session it is.
    pub user_id: UserId,
    /// Unix ms of creation.
    pub created_ms: i64,
    /// Unix ms after which it is invalid.
    pub expires_ms: i64,
    /// Set by logout; a revoked session never works again.
    pub revoked: bool,
}

impl Session {
    /// True if the session may authenticate a request at `now_ms`.
    pub fn is_valid_at(&self, now_ms: i64) -> bool {
        !self.revoked && now_ms < self.expires_ms
    }
}

/// A fresh random session token (128 bits, hex) and its stored form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionToken {
    /// Goes into the cookie.
    pub token: String,
    /// Goes into the store.
    pub session: Session,
}

impl SessionToken {
    /// Draws a token for `user_id`, valid from `now_ms` for `ttl_ms`.
    pub fn issue(rng: &mut impl Rng, user_id: UserId, now_ms: i64, ttl_ms: i64) -> SessionToken {
        let bytes: [u8; 16] = rng.random();
        let token = to_hex(&bytes);
        SessionToken {
            session: Session {
                token_hash: hash_token(&token),
                user_id,
                created_ms: now_ms,
                expires_ms: now_ms.saturating_add(ttl_ms),
                revoked: false,
            },
            token,
        }
    }
}

/// The stored form of a session token.
pub fn hash_token(token: &str) -> String {
    to_hex(&Sha256::digest(token.as_bytes()))
}

/// Lower-case hex. Runs on every authenticated request (the session lookup hashes the
/// cookie), so it fills one buffer instead of formatting a string per byte.
fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    hex
}

/// Who a session token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionView {
    /// A valid session.
    LoggedIn {
        /// The player's name.
        username: String,
        /// The player's ship.
        ship_id: ObjectId,
    },
    /// No valid session.
    LoggedOut,
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn usernames_are_one_to_32_printable_characters() {
        use crate::error::UsernameProblem;
        assert!(validate_username("a").is_ok());
        assert!(validate_username(&"é".repeat(32)).is_ok());
        assert_eq!(
            validate_username(""),
            Err(GameError::InvalidUsername(UsernameProblem::Empty))
        );
        assert_eq!(
            validate_username(&"x".repeat(33)),
            Err(GameError::InvalidUsername(UsernameProblem::TooLong))
        );
        assert_eq!(
            validate_username(
                "a
b"
            ),
            Err(GameError::InvalidUsername(
                UsernameProblem::ForbiddenCharacter
            ))
        );
        assert_eq!(
            GameError::InvalidUsername(UsernameProblem::TooLong).to_string(),
            "Invalid username: at most 32 characters"
        );
    }

    #[test]
    fn passwords_are_bounded() {
        assert!(validate_password("a").is_ok());
        assert!(validate_password("").is_err());
        assert!(validate_password(&"p".repeat(1024)).is_ok());
        assert!(validate_password(&"p".repeat(1025)).is_err());
    }

    #[test]
    fn a_new_player_starts_at_the_spawn_point_with_nothing() {
        let user = NewUser::register("p".into(), "h".into(), 5_999);
        assert_eq!((user.iron, user.last_updated), (0.0, 5));
        assert_eq!(user.tech_tree, TechTree::default());
        assert_eq!(
            (user.ship.x, user.ship.y, user.ship.speed, user.ship.angle),
            (250.0, 250.0, 0.0, 0.0)
        );
        assert_eq!(user.ship.kind, ObjectKind::PlayerShip);
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let mut rng = StdRng::seed_from_u64(1);
        let a = SessionToken::issue(&mut rng, 3, 1_000, 86_400_000);
        let b = SessionToken::issue(&mut rng, 3, 1_000, 86_400_000);
        assert_eq!(a.token.len(), 32);
        assert_ne!(a.token, b.token);
        assert_eq!(a.session.token_hash, hash_token(&a.token));
        assert_ne!(a.session.token_hash, a.token);
        assert_eq!(a.session.expires_ms, 86_401_000);
        assert!(a.session.is_valid_at(86_400_999));
        assert!(!a.session.is_valid_at(86_401_000));
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
