//! User, then world: out of order.
use game_locks::{LockCtx, MutexRegistry, OrderedRwLock, User, World};

async fn f(world: &OrderedRwLock<World, u32>, users: &MutexRegistry<User, u64>) {
    let mut root = LockCtx::root();
    let (_user, mut ctx) = users.lock(&mut root, 7).await;
    let (_world, _ctx) = world.read(&mut ctx).await; // World is not after User
}

fn main() {
    drop(f);
}
