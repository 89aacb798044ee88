//! A user twice: the original server's deadlock, holding a user and asking for it again.
use game_locks::{LockCtx, MutexRegistry, UserLevel};

async fn f(users: &MutexRegistry<UserLevel, u64>) {
    let mut root = LockCtx::root();
    let (_u1, mut ctx) = users.lock(&mut root, 7).await;
    let (_u2, _ctx) = users.lock(&mut ctx, 7).await; // UserLevel is not after UserLevel
}

fn main() {
    drop(f);
}
