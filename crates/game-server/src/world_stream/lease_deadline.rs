//! Streams and the lease deadline: a process past its deadline ends its streams, whose
//! world another process may own by now.

use std::sync::Arc;

use crate::app::App;
use crate::backend::Backend;

/// Ends the world streams each time this process passes its lease deadline (they would
/// go on showing a world another process may own by now); clients reconnect, and are
/// refused until a renewal succeeds. Ends when the lease is lost (the server stops).
pub async fn end_when_lease_expires<R: Backend>(app: Arc<App<R>>) {
    loop {
        app.lease.expired().await;
        if app.lease.is_lost() {
            return;
        }
        let ended = app.streams.end_all();
        tracing::warn!(
            ended,
            "past the lease deadline without a confirmed renewal: answering 503 lease_expired"
        );
        app.lease.current_again().await;
        if app.lease.is_lost() {
            return;
        }
        tracing::info!("lease renewal confirmed again: serving");
    }
}
