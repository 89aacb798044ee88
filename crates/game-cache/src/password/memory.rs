//! Argon2id hashing and verification in one memory buffer kept by each hashing thread.
//!
//! The argon2 crate's own `hash_password` and `verify_password` allocate the whole cost
//! (19 MiB by default) per call. glibc serves such blocks from per-thread arenas and keeps
//! them after they are freed, so resident memory grew by tens of megabytes per arena under
//! a login flood. Here each pool thread allocates its blocks once (growing them only for a
//! larger cost) and reuses them: hashing memory is exactly threads × cost.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Salt length of new hashes, bytes.
const SALT_LEN: usize = 16;

/// Blocks held by the buffers of every thread, so the promise above can be checked.
static HELD_BLOCKS: AtomicUsize = AtomicUsize::new(0);

/// The argon2 memory every thread's buffer holds now, in KiB (a block is 1 KiB): threads
/// that hashed × the largest cost each of them hashed at.
pub fn held_kib() -> usize {
    HELD_BLOCKS.load(Ordering::Relaxed) * Block::SIZE / 1024
}

/// One thread's buffer; counted in [`HELD_BLOCKS`] while it lives.
#[derive(Default)]
struct Buffer(Vec<Block>);

impl Drop for Buffer {
    fn drop(&mut self) {
        HELD_BLOCKS.fetch_sub(self.0.len(), Ordering::Relaxed);
    }
}

thread_local! {
    static BLOCKS: RefCell<Buffer> = RefCell::new(Buffer::default());
    static SALTS: RefCell<Option<StdRng>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's buffer of at least `count` blocks.
fn with_blocks<T>(count: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    BLOCKS.with(|blocks| {
        let blocks = &mut blocks.borrow_mut().0;
        if blocks.len() < count {
            HELD_BLOCKS.fetch_add(count - blocks.len(), Ordering::Relaxed);
            blocks.resize(count, Block::default());
        }
        f(&mut blocks[..count])
    })
}

fn salt() -> [u8; SALT_LEN] {
    SALTS.with(|rng| {
        rng.borrow_mut()
            .get_or_insert_with(StdRng::from_os_rng)
            .random()
    })
}

/// An argon2id hash of `password` with `params`, in PHC string format.
pub fn hash(params: &Params, password: &[u8]) -> Result<String, String> {
    let salt = salt();
    let mut out = vec![0u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    with_blocks(params.block_count(), |blocks| {
        argon2.hash_password_into_with_memory(password, &salt, &mut out, blocks)
    })
    .map_err(|e| e.to_string())?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| e.to_string())?,
        salt: Some(Salt::new(&salt).map_err(|e| e.to_string())?),
        hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
    };
    Ok(phc.to_string())
}

/// True if `password` matches the PHC string `hash` (any argon2 variant and cost); false
/// for anything that does not parse. The comparison is constant-time.
pub fn verify(password: &[u8], hash: &str) -> bool {
    let Ok(phc) = PasswordHash::new(hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(phc.algorithm.as_str()) else {
        return false;
    };
    let version = match phc.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let (Ok(params), Some(salt), Some(expected)) = (Params::try_from(&phc), &phc.salt, &phc.hash)
    else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let computed = with_blocks(params.block_count(), |blocks| {
        argon2.hash_password_into_with_memory(password, salt.as_ref(), &mut out, blocks)
    });
    computed.is_ok() && Output::new(&out).is_ok_and(|out| out == *expected)
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

    use super::*;

    fn light() -> Params {
        Params::new(256, 1, 1, None).expect("params")
    }

    #[test]
    fn agrees_with_the_argon2_crate_both_ways() {
        let ours = hash(&light(), b"pw").expect("hash");
        assert!(ours.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{ours}");
        let theirs_verify = Argon2::new(Algorithm::Argon2id, Version::V0x13, light());
        assert!(theirs_verify.verify_password(b"pw", ours.as_str()).is_ok());
        let theirs = theirs_verify
            .hash_password(b"pw")
            .expect("hash")
            .to_string();
        assert!(verify(b"pw", &theirs));
        assert!(!verify(b"pw2", &theirs));
        assert!(verify(b"pw", &ours));
        assert!(!verify(b"", &ours));
        assert!(!verify(b"pw", "not a phc string"));
        assert_ne!(hash(&light(), b"pw").expect("hash"), ours, "salted");
    }

    #[test]
    fn a_larger_cost_grows_the_buffer_and_a_smaller_one_reuses_it() {
        let big = Params::new(512, 1, 1, None).expect("params");
        let made = hash(&big, b"pw").expect("hash");
        assert_eq!(BLOCKS.with(|b| b.borrow().0.len()), 512);
        let small = hash(&light(), b"pw").expect("hash");
        assert_eq!(BLOCKS.with(|b| b.borrow().0.len()), 512);
        assert!(verify(b"pw", &made) && verify(b"pw", &small));
    }
}
