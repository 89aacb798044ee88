//! The entry gate: counts operations in flight so shutdown can close, then wait for them.

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use tokio::sync::Notify;

const CLOSED: u64 = 1 << 63;

/// Open until [`close_and_drain`](Gate::close_and_drain); then refuses new operations and
/// lets the closer wait until the operations already inside have left.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    /// `CLOSED` bit plus the number of operations inside.
    state: AtomicU64,
    drained: Notify,
}

/// One operation inside the gate; leaving is dropping it.
#[derive(Debug)]
pub(crate) struct Pass<'a>(&'a Gate);

impl Gate {
    /// Enters, unless the gate is closed.
    pub(crate) fn enter(&self) -> Option<Pass<'_>> {
        let before = self.state.fetch_add(1, SeqCst);
        let pass = Pass(self);
        (before & CLOSED == 0).then_some(pass)
    }

    /// True once closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.state.load(SeqCst) & CLOSED != 0
    }

    /// Closes the gate and waits until no operation is inside.
    pub(crate) async fn close_and_drain(&self) {
        self.state.fetch_or(CLOSED, SeqCst);
        while self.state.load(SeqCst) != CLOSED {
            // `notify_one` keeps a permit if we are not waiting yet: no lost wake-up.
            self.drained.notified().await;
        }
    }
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        let before = self.0.state.fetch_sub(1, SeqCst);
        if before == CLOSED | 1 {
            self.0.drained.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn closing_waits_for_operations_inside_and_refuses_new_ones() {
        let gate = Arc::new(Gate::default());
        let (entered_tx, entered_rx) = tokio::sync::oneshot::channel();
        let (leave_tx, leave_rx) = tokio::sync::oneshot::channel::<()>();
        let inside = {
            let gate = gate.clone();
            tokio::spawn(async move {
                let pass = gate.enter();
                assert!(pass.is_some());
                let _ = entered_tx.send(());
                let _ = leave_rx.await;
                drop(pass);
            })
        };
        entered_rx.await.expect("entered");
        let closing = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.close_and_drain().await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(gate.is_closed());
        assert!(gate.enter().is_none());
        assert!(!closing.is_finished());
        let _ = leave_tx.send(());
        inside.await.expect("inside");
        tokio::time::timeout(Duration::from_secs(5), closing)
            .await
            .expect("drained")
            .expect("closer");
        gate.close_and_drain().await; // again: returns at once
    }
}
