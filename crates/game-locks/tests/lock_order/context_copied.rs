//! Copying a context to use it twice: `LockCtx` is neither `Clone` nor `Copy`.
use game_locks::LockCtx;

fn main() {
    let root = LockCtx::root();
    let _copy = root.clone();
}
