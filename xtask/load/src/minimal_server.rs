//! The machine's ceiling: a minimal hyper server answering every request with one fixed
//! JSON body (a captured world response), run as its own process by `load compare`.
//!
//! It mirrors the game server's connection setup (multi-threaded tokio runtime with the
//! default worker count, `TCP_NODELAY`, hyper http1 with a header-read timeout) and
//! nothing else: no routing, sessions, locks, metrics or logging.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

/// Flags of the hidden `minimal-server` task.
#[derive(Debug, Clone, clap::Args)]
pub struct MinimalServerArgs {
    /// Address to listen on (loopback only).
    #[arg(long)]
    pub listen: SocketAddr,
    /// File holding the body to answer with.
    #[arg(long)]
    pub body_file: PathBuf,
    /// Exit by itself after this many seconds.
    #[arg(long, default_value_t = 600)]
    pub max_seconds: u64,
}

/// Runs the minimal server until SIGTERM/SIGKILL or `max_seconds`.
pub fn run(args: &MinimalServerArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.listen.ip().is_loopback(),
        "the minimal server listens on loopback only"
    );
    let body = Bytes::from(
        std::fs::read(&args.body_file)
            .with_context(|| format!("reading {}", args.body_file.display()))?,
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(args.listen).await?;
        let life = tokio::time::sleep(Duration::from_secs(args.max_seconds));
        tokio::pin!(life);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let _ = stream.set_nodelay(true);
                    let body = body.clone();
                    let service = service_fn(move |_request: Request<hyper::body::Incoming>| {
                        let body = body.clone();
                        async move {
                            let mut response = Response::new(Full::new(body));
                            response
                                .headers_mut()
                                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                            Ok::<_, Infallible>(response)
                        }
                    });
                    let connection = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(Duration::from_secs(30))
                        .serve_connection(TokioIo::new(stream), service);
                    tokio::spawn(async move {
                        let _ = connection.await;
                    });
                }
                () = &mut life => break,
            }
        }
        Ok(())
    })
}
