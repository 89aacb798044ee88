//! A TCP proxy in front of the database server that a test can cut: while cut, the
//! connections it carried are closed and new ones are closed as soon as they arrive, as
//! when the database goes down; restored, it forwards again.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A running proxy to one target address.
pub struct Proxy {
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<State>,
    accept: JoinHandle<()>,
}

struct State {
    cut: AtomicBool,
    /// The forwarding tasks of the connections it carries; taken under this lock together
    /// with `cut`, so no connection slips through a cut.
    carried: Mutex<Vec<JoinHandle<()>>>,
}

impl Proxy {
    /// Starts forwarding connections on a fresh loopback port to `target`.
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let state = Arc::new(State {
            cut: AtomicBool::new(false),
            carried: Mutex::new(Vec::new()),
        });
        let accept = tokio::spawn({
            let state = state.clone();
            async move {
                while let Ok((inbound, _)) = listener.accept().await {
                    let mut carried = state.carried.lock().unwrap_or_else(PoisonError::into_inner);
                    if state.cut.load(Ordering::SeqCst) {
                        continue; // dropped: closed at once
                    }
                    carried.push(tokio::spawn(forward(inbound, target)));
                }
            }
        });
        Proxy {
            addr,
            state,
            accept,
        }
    }

    /// The database goes down: every carried connection is closed, new ones too.
    pub fn cut(&self) {
        let mut carried = self
            .state
            .carried
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.state.cut.store(true, Ordering::SeqCst);
        for connection in carried.drain(..) {
            connection.abort();
        }
    }

    /// The database is back: new connections are forwarded again.
    pub fn restore(&self) {
        let _carried = self
            .state
            .carried
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.state.cut.store(false, Ordering::SeqCst);
    }

    /// `url` (`scheme://user@host:port/...`) with its host and port replaced by this
    /// proxy's.
    pub fn url_through(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").expect("a URL");
        let (user, rest) = rest.split_once('@').expect("a user in the URL");
        let path = rest.find('/').map_or("", |at| &rest[at..]);
        format!("{scheme}://{user}@{}{path}", self.addr)
    }
}

/// The `host:port` of `url` (`scheme://user@host:port/...`), resolved.
pub fn target_of(url: &str) -> SocketAddr {
    let (_, rest) = url.split_once("://").expect("a URL");
    let (_, rest) = rest.split_once('@').expect("a user in the URL");
    let authority = rest.split('/').next().expect("host:port");
    std::net::ToSocketAddrs::to_socket_addrs(authority)
        .expect("resolve")
        .next()
        .expect("an address")
}

async fn forward(mut inbound: TcpStream, target: SocketAddr) {
    if let Ok(mut outbound) = TcpStream::connect(target).await {
        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}
