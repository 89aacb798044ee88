//! Going back to the parent context while a guard taken from it is alive.
use game_locks::{LockCtx, MutexRegistry, UserLevel};

async fn f(users: &MutexRegistry<UserLevel, u64>) {
    let mut root = LockCtx::root();
    let (u1, child) = users.lock(&mut root, 7).await;
    drop(child);
    let (_u2, _ctx) = users.lock(&mut root, 7).await; // `root` is still borrowed by u1
    drop(u1);
}

fn main() {
    drop(f);
}
