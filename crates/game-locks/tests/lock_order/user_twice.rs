//! A user twice: the original server's deadlock, holding a user and asking for it again.
use game_locks::{LockCtx, MutexRegistry, User};

async fn f(users: &MutexRegistry<User, u64>) {
    let mut root = LockCtx::root();
    let (_u1, mut ctx) = users.lock(&mut root, 7).await;
    let (_u2, _ctx) = users.lock(&mut ctx, 7).await; // User is not after User
}

fn main() {
    drop(f);
}
