//! A freezable TCP proxy on loopback between a server process and PostgreSQL: the
//! owner's database link cut off without a reset. The same proxy as the chaos drill's
//! (xtask), which the test binary cannot depend on.
//!
//! It listens on `127.0.0.1:0` and forwards every connection to an upstream address on
//! loopback (PostgreSQL at `127.0.0.1:5432` in the drills). [`Proxy::freeze`] stops
//! forwarding bytes in both directions without closing any socket, like a link that went
//! dead without a reset: connections hang, new ones are accepted but not connected
//! upstream, and nothing (not even an end of stream) passes. [`Proxy::thaw`] resumes, and
//! the bytes held meanwhile arrive.
//!
//! Both ends are sockets of this process, so the kernel keeps acknowledging and answering
//! keepalives while frozen: only the database client's own deadlines (statement and call
//! timeouts) notice, not TCP keepalives or `tcp_user_timeout`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running proxy; dropping it stops accepting and closes every forwarded connection.
pub struct Proxy {
    addr: SocketAddr,
    frozen: watch::Sender<bool>,
    accepted: Arc<AtomicUsize>,
    acceptor: JoinHandle<()>,
    pumps: Arc<std::sync::Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    /// Starts a proxy on `127.0.0.1:0` forwarding to `upstream`, which must be loopback.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        assert!(
            upstream.ip().is_loopback(),
            "the proxy forwards to loopback only (got {upstream})"
        );
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy on 127.0.0.1:0");
        let addr = listener.local_addr().expect("proxy address");
        let (frozen, _) = watch::channel(false);
        let accepted = Arc::new(AtomicUsize::new(0));
        let pumps = Arc::new(std::sync::Mutex::new(Vec::new()));
        let acceptor = tokio::spawn(accept_loop(
            listener,
            upstream,
            frozen.clone(),
            accepted.clone(),
            pumps.clone(),
        ));
        Proxy {
            addr,
            frozen,
            accepted,
            acceptor,
            pumps,
        }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops forwarding in both directions; sockets stay open.
    pub fn freeze(&self) {
        self.frozen.send_replace(true);
    }

    /// Resumes forwarding; held bytes go through.
    pub fn thaw(&self) {
        self.frozen.send_replace(false);
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.acceptor.abort();
        if let Ok(pumps) = self.pumps.lock() {
            for pump in pumps.iter() {
                pump.abort();
            }
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    frozen: watch::Sender<bool>,
    accepted: Arc<AtomicUsize>,
    pumps: Arc<std::sync::Mutex<Vec<JoinHandle<()>>>>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        accepted.fetch_add(1, Ordering::SeqCst);
        let task = tokio::spawn(forward(client, upstream, frozen.subscribe()));
        if let Ok(mut pumps) = pumps.lock() {
            pumps.retain(|pump| !pump.is_finished());
            pumps.push(task);
        }
    }
}

/// Connects `client` to `upstream` once thawed, then pumps both ways.
async fn forward(client: TcpStream, upstream: SocketAddr, mut frozen: watch::Receiver<bool>) {
    if wait_thawed(&mut frozen).await.is_err() {
        return;
    }
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let up = tokio::spawn(pump(client_read, server_write, frozen.clone()));
    let down = tokio::spawn(pump(server_read, client_write, frozen));
    // Each pump ends at its end of stream or error; the connection ends with both.
    let _ = up.await;
    let _ = down.await;
}

/// Copies `from` to `to`, holding everything (bytes and the end of stream) while frozen.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut frozen: watch::Receiver<bool>) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        if wait_thawed(&mut frozen).await.is_err() {
            return;
        }
        // An error ends the stream like an end of file.
        let read: usize = from.read(&mut buffer).await.unwrap_or_default();
        // Whatever was read while the freeze began is held until the thaw.
        if wait_thawed(&mut frozen).await.is_err() {
            return;
        }
        if read == 0 {
            let _ = to.shutdown().await;
            return;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}

/// Returns once not frozen; an error if the proxy is gone.
async fn wait_thawed(frozen: &mut watch::Receiver<bool>) -> Result<(), watch::error::RecvError> {
    frozen.wait_for(|frozen| !*frozen).await.map(|_| ())
}

/// `url` (a PostgreSQL URL) with its host and port replaced by `addr`.
pub fn url_through(url: &str, addr: SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let user = authority.rsplit_once('@').map(|(user, _)| user);
    match user {
        Some(user) => format!("{scheme}://{user}@{addr}{path}"),
        None => format!("{scheme}://{addr}{path}"),
    }
}

/// The address the PostgreSQL `url` points at.
pub async fn upstream_of(url: &str) -> SocketAddr {
    let rest = url.split_once("://").expect("a URL with a scheme").1;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let host_port = rest[..end].rsplit('@').next().unwrap_or_default();
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    tokio::net::lookup_host(host_port)
        .await
        .expect("resolve the database host")
        .find(|addr| addr.ip().is_loopback())
        .expect("a loopback database")
}
