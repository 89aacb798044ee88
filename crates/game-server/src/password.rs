//! Password hashing with argon2id, run on the blocking pool so it never stalls the async
//! workers.

use std::sync::Arc;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use game_domain::AppError;
use game_domain::game::PasswordHasher;
use thiserror::Error;

/// Hashing failed (bad parameters, or the blocking task died).
#[derive(Debug, Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Argon2id hashing in PHC format with configured cost parameters.
///
/// Verification reads the parameters from the stored hash, so changing the configured
/// cost does not lock out existing players.
#[derive(Debug, Clone)]
pub struct Argon2Hasher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    params: Params,
    /// A hash (with the configured cost) made at start: verifying against it costs what a
    /// real verification costs, so an unknown username cannot be told apart by timing. Its
    /// password does not matter: a verification without a real hash always answers false.
    dummy_hash: String,
}

impl Argon2Hasher {
    /// A hasher with `params`; computes the dummy hash (on the blocking pool).
    pub async fn new(params: Params) -> Result<Argon2Hasher, HashError> {
        let dummy_hash = hash_blocking(params.clone(), b"no such user".to_vec()).await?;
        Ok(Argon2Hasher {
            inner: Arc::new(Inner { params, dummy_hash }),
        })
    }

    /// Hashes `password` (used for seeding the demo user and by registration).
    pub async fn hash_password(&self, password: &str) -> Result<String, HashError> {
        hash_blocking(self.inner.params.clone(), password.as_bytes().to_vec()).await
    }
}

fn argon2id(params: Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

async fn hash_blocking(params: Params, password: Vec<u8>) -> Result<String, HashError> {
    tokio::task::spawn_blocking(move || {
        argon2id(params)
            .hash_password(&password)
            .map(|hash| hash.to_string())
            .map_err(|e| HashError(e.to_string()))
    })
    .await
    .map_err(|e| HashError(e.to_string()))?
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &str) -> Result<String, AppError> {
        self.hash_password(password)
            .await
            .map_err(AppError::storage)
    }

    async fn verify(&self, password: &str, hash: Option<&str>) -> bool {
        let known = hash.is_some();
        let hash = hash.unwrap_or(&self.inner.dummy_hash).to_owned();
        let password = password.as_bytes().to_vec();
        let params = self.inner.params.clone();
        let matches = tokio::task::spawn_blocking(move || {
            argon2id(params)
                .verify_password(&password, hash.as_str())
                .is_ok()
        })
        .await
        .unwrap_or(false);
        known && matches
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn light() -> Params {
        Params::new(256, 1, 1, None).expect("light params")
    }

    #[tokio::test]
    async fn hashes_are_salted_argon2id_and_verify() {
        let hasher = Argon2Hasher::new(light()).await.expect("hasher");
        let one = hasher.hash("hunter2").await.expect("hash");
        let two = hasher.hash("hunter2").await.expect("hash");
        assert!(one.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{one}");
        assert_ne!(one, two, "each hash has its own salt");
        assert!(hasher.verify("hunter2", Some(&one)).await);
        assert!(!hasher.verify("hunter3", Some(&one)).await);
        assert!(!hasher.verify("hunter2", Some("not a phc string")).await);
    }

    #[tokio::test]
    async fn verify_without_a_hash_is_false_even_for_the_dummy_password() {
        let hasher = Argon2Hasher::new(light()).await.expect("hasher");
        assert!(!hasher.verify("", None).await);
        assert!(!hasher.verify("a", None).await);
    }
}
