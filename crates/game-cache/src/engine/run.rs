//! Running an engine until something ends it: the embedder's own work, a termination
//! signal (`docker stop`, systemd, Ctrl-C), or the loss of the lease; then the one orderly
//! shutdown (drain, final flush or spill, lease released).

use std::fmt;
use std::future::Future;
use std::io;

use super::{Backing, Engine, ShutdownError};

/// A signal that asks the process to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerminationSignal {
    /// SIGTERM: `docker stop`, `systemctl stop`, `kill`.
    Terminate,
    /// SIGINT: Ctrl-C in a terminal.
    Interrupt,
}

impl fmt::Display for TerminationSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TerminationSignal::Terminate => "SIGTERM",
            TerminationSignal::Interrupt => "SIGINT",
        })
    }
}

/// Why [`Engine::run_until`] stopped.
#[derive(Debug)]
pub enum StopCause<T> {
    /// The work finished with this output.
    Finished(T),
    /// A termination signal arrived first; the work was dropped.
    Signal(TerminationSignal),
    /// Another process took the database over; the work was dropped.
    LeaseLost,
}

/// What [`Engine::run_until`] ended with: why it stopped, and how the shutdown went.
#[derive(Debug)]
#[must_use = "the shutdown may have failed, and the work's output may be an error"]
pub struct Stopped<T> {
    /// Why the engine stopped.
    pub cause: StopCause<T>,
    /// The shutdown's outcome: `Ok` when everything acknowledged was written and the
    /// lease released.
    pub shutdown: Result<(), ShutdownError>,
}

/// Listens for SIGTERM and SIGINT from the moment it is made (so a signal that comes
/// while the work starts is not lost), until dropped.
pub struct TerminationSignals {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl TerminationSignals {
    /// Installs the handlers; from now on SIGTERM and SIGINT no longer end the process
    /// but resolve [`TerminationSignals::recv`]. Must run inside a Tokio runtime.
    pub fn install() -> io::Result<TerminationSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(TerminationSignals {
                terminate: signal(SignalKind::terminate())?,
                interrupt: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(TerminationSignals {})
        }
    }

    /// Resolves at the next SIGTERM or SIGINT.
    pub async fn recv(&mut self) -> TerminationSignal {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.terminate.recv() => TerminationSignal::Terminate,
                _ = self.interrupt.recv() => TerminationSignal::Interrupt,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            TerminationSignal::Interrupt
        }
    }
}

impl fmt::Debug for TerminationSignals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TerminationSignals").finish_non_exhaustive()
    }
}

/// Resolves on SIGTERM or SIGINT, and says which (logged at info). If the handlers cannot
/// be installed it logs why and waits for Ctrl-C alone.
pub async fn termination_signal() -> TerminationSignal {
    match TerminationSignals::install() {
        Ok(mut signals) => {
            let signal = signals.recv().await;
            tracing::info!(%signal, "termination signal received");
            signal
        }
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGTERM; only SIGINT stops the process");
            let _ = tokio::signal::ctrl_c().await;
            TerminationSignal::Interrupt
        }
    }
}

impl<R: Backing> Engine<R> {
    /// Runs `work` until it finishes, SIGTERM or SIGINT arrives, or the lease is lost,
    /// whichever comes first; then shuts down ([`Engine::shutdown`]: drain, final flush or
    /// spill, lease released). This is how a program survives `docker stop` with nothing
    /// lost: every change `work` saw acknowledged is written before it returns.
    ///
    /// The signal handlers are installed before `work` is first polled, so a signal that
    /// comes at any moment of the work is seen. If they cannot be installed (logged at
    /// warn), only the work and the lease end the run.
    pub async fn run_until<F: Future>(self, work: F) -> Stopped<F::Output> {
        let signals = TerminationSignals::install();
        if let Err(error) = &signals {
            tracing::warn!(%error, "cannot listen for SIGTERM and SIGINT; running without");
        }
        let next_signal = async {
            match signals {
                Ok(mut signals) => signals.recv().await,
                Err(_) => std::future::pending().await,
            }
        };
        let lease = self.lease().clone();
        let cause = tokio::select! {
            output = work => StopCause::Finished(output),
            signal = next_signal => {
                tracing::info!(%signal, "termination signal received: shutting down");
                StopCause::Signal(signal)
            }
            () = lease.lost() => {
                tracing::error!("database lease lost: shutting down");
                StopCause::LeaseLost
            }
        };
        Stopped {
            cause,
            shutdown: self.shutdown().await,
        }
    }
}
