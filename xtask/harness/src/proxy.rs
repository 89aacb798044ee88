//! A freezable TCP proxy on loopback, for the database fault drills and the tests of a
//! server cut off from its database.
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

use anyhow::Context;
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
    pub async fn start(upstream: SocketAddr) -> anyhow::Result<Proxy> {
        anyhow::ensure!(
            upstream.ip().is_loopback(),
            "the proxy forwards to loopback only (got {upstream})"
        );
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the proxy on 127.0.0.1:0")?;
        let addr = listener.local_addr()?;
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
        Ok(Proxy {
            addr,
            frozen,
            accepted,
            acceptor,
            pumps,
        })
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

/// The PostgreSQL `url` with its host and port replaced by `addr` (a proxy's).
pub fn url_through(url: &str, addr: SocketAddr) -> anyhow::Result<String> {
    let (scheme, rest) = url
        .split_once("://")
        .with_context(|| format!("{url:?} has no scheme"))?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    Ok(match authority.rsplit_once('@') {
        Some((user, _)) => format!("{scheme}://{user}@{addr}{path}"),
        None => format!("{scheme}://{addr}{path}"),
    })
}

/// The loopback address the PostgreSQL `url` points at (port 5432 unless it names one).
pub async fn upstream_of(url: &str) -> anyhow::Result<SocketAddr> {
    let rest = url
        .split_once("://")
        .with_context(|| format!("{url:?} has no scheme"))?
        .1;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let host_port = rest[..end].rsplit('@').next().unwrap_or_default();
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    tokio::net::lookup_host(&host_port)
        .await
        .with_context(|| format!("resolving {host_port}"))?
        .find(|addr| addr.ip().is_loopback())
        .with_context(|| format!("{host_port} is not on loopback"))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// An echo server on loopback: sends back everything it reads.
    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind echo");
        let addr = listener.local_addr().expect("echo addr");
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut read, mut write) = socket.split();
                    let _ = tokio::io::copy(&mut read, &mut write).await;
                });
            }
        });
        addr
    }

    async fn read_exactly(stream: &mut TcpStream, len: usize, wait: Duration) -> Option<Vec<u8>> {
        let mut got = vec![0u8; len];
        tokio::time::timeout(wait, stream.read_exact(&mut got))
            .await
            .ok()?
            .ok()?;
        Some(got)
    }

    #[tokio::test]
    async fn bytes_pass_stop_while_frozen_and_arrive_after_the_thaw() {
        let proxy = Proxy::start(echo_server().await).await.expect("proxy");
        let mut client = TcpStream::connect(proxy.addr()).await.expect("connect");
        client.write_all(b"hello").await.expect("write");
        let echoed = read_exactly(&mut client, 5, Duration::from_secs(5)).await;
        assert_eq!(echoed.as_deref(), Some(&b"hello"[..]));

        proxy.freeze();
        client
            .write_all(b"held!")
            .await
            .expect("write while frozen");
        let mut probe = [0u8; 1];
        let during = tokio::time::timeout(Duration::from_millis(300), client.read(&mut probe));
        assert!(during.await.is_err(), "nothing may arrive while frozen");

        proxy.thaw();
        let echoed = read_exactly(&mut client, 5, Duration::from_secs(5)).await;
        assert_eq!(echoed.as_deref(), Some(&b"held!"[..]));
    }

    #[tokio::test]
    async fn a_connection_opened_while_frozen_is_held_then_served() {
        let proxy = Proxy::start(echo_server().await).await.expect("proxy");
        proxy.freeze();
        let mut client = TcpStream::connect(proxy.addr()).await.expect("connect");
        client.write_all(b"late").await.expect("write");
        assert_eq!(
            read_exactly(&mut client, 4, Duration::from_millis(300)).await,
            None
        );
        proxy.thaw();
        let echoed = read_exactly(&mut client, 4, Duration::from_secs(5)).await;
        assert_eq!(echoed.as_deref(), Some(&b"late"[..]));
        assert_eq!(proxy.accepted(), 1);
    }

    #[test]
    fn a_url_is_pointed_at_the_proxy_with_its_user_path_and_options() {
        let addr: SocketAddr = "127.0.0.1:6000".parse().expect("addr");
        assert_eq!(
            url_through("postgres://postgres@127.0.0.1:5432/test?options=x", addr).expect("url"),
            "postgres://postgres@127.0.0.1:6000/test?options=x"
        );
        assert_eq!(
            url_through("postgresql://localhost/db", addr).expect("url"),
            "postgresql://127.0.0.1:6000/db"
        );
    }

    #[tokio::test]
    async fn only_loopback_upstreams_are_accepted() {
        let remote: SocketAddr = "10.0.0.5:5432".parse().expect("addr");
        assert!(Proxy::start(remote).await.is_err());
    }
}
