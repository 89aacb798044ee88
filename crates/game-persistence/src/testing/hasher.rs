//! [`PlainHasher`]: password "hashing" for tests only.

use async_trait::async_trait;
use game_domain::error::AppError;
use game_domain::game::PasswordHasher;

/// For tests only: "hashes" a password to `plain$<password>`, so test suites get a
/// `PasswordHasher` for `Game` without argon2's deliberate cost. Production hashes with
/// argon2id (game-server's `Argon2Hasher`); this one protects nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlainHasher;

#[async_trait]
impl PasswordHasher for PlainHasher {
    async fn hash(&self, password: &str) -> Result<String, AppError> {
        Ok(format!("plain${password}"))
    }

    async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, AppError> {
        Ok(hash == Some(format!("plain${password}").as_str()))
    }
}
