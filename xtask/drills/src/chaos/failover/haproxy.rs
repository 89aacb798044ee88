//! HAProxy in front of the drill's servers, configured from the shipped
//! `deploy/haproxy.cfg`: only its `bind` and `server` lines are replaced (loopback, the
//! drill's ports), so the health checks, retries and timeouts the drill exercises are the
//! ones operators deploy.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use hyper::{Method, StatusCode};

use spacewars_harness::http_client::Connection;
use spacewars_harness::server_process::ServerProcess;

/// The shipped configuration (docs/operations.md, Failover).
pub const SHIPPED: &str = include_str!("../../../../../deploy/haproxy.cfg");

/// Lines the drill adds after `global` and after `defaults`: the access log.
pub const ACCESS_LOG: [&[&str]; 2] = [
    &["log stderr format raw local0"],
    &["log global", "option httplog"],
];

/// The connection limit the drill runs HAProxy with (`-n`).
const DRILL_MAXCONN: &str = "4096";

/// How long HAProxy may take until it routes to the owner.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The `haproxy` binary: from `PATH` (or `/usr/sbin`), installed with Debian's package
/// manager if missing.
pub fn ensure_installed() -> anyhow::Result<PathBuf> {
    if let Some(path) = find() {
        return Ok(path);
    }
    println!(
        "failover: haproxy is not installed; running apt-get update && apt-get install -y haproxy"
    );
    let status = Command::new("apt-get")
        .arg("update")
        .status()
        .context("running apt-get update")?;
    anyhow::ensure!(status.success(), "apt-get update failed ({status})");
    let status = Command::new("apt-get")
        .args(["install", "-y", "haproxy"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("running apt-get install haproxy")?;
    anyhow::ensure!(
        status.success(),
        "apt-get install -y haproxy failed ({status})"
    );
    find().context("haproxy is still not found after installing it")
}

fn find() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("haproxy"))
        .find(|candidate| candidate.is_file())
}

/// `shipped` with its `bind` line listening on `listen`, its `server` lines replaced by
/// one per backend (`s0`, `s1`, …) with the same trailing options (`check`), and an access
/// log ([`ACCESS_LOG`]). Fails if the
/// shipped file no longer has exactly one `bind` line and at least one `server` line.
pub fn config(
    shipped: &str,
    listen: SocketAddr,
    backends: &[SocketAddr],
) -> anyhow::Result<String> {
    let mut out = Vec::new();
    let (mut binds, mut servers) = (0, 0);
    for line in shipped.lines() {
        let indent = &line[..line.len() - line.trim_start().len()];
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.first().copied() {
            Some("bind") => {
                binds += 1;
                out.push(format!("{indent}bind {listen}"));
            }
            Some("server") => {
                servers += 1;
                // `server <name> <address> <options…>`: the first one's options for all.
                if servers == 1 {
                    let options = words.get(3..).unwrap_or_default().join(" ");
                    for (index, backend) in backends.iter().enumerate() {
                        out.push(format!("{indent}server s{index} {backend} {options}"));
                    }
                }
            }
            Some(section @ ("global" | "defaults")) => {
                out.push(line.to_owned());
                // The drill's own addition: an access log on stderr (haproxy.log), for the
                // post-mortem of a slow or failed takeover.
                out.extend(
                    ACCESS_LOG[usize::from(section == "defaults")]
                        .iter()
                        .map(|added| format!("    {added}")),
                );
            }
            _ => out.push(line.to_owned()),
        }
    }
    if binds != 1 || servers == 0 {
        bail!(
            "deploy/haproxy.cfg has {binds} bind lines and {servers} server lines (want 1 and at least 1)"
        );
    }
    Ok(out.join("\n") + "\n")
}

/// Writes the configuration to `dir`, has HAProxy check it, and runs it in the foreground
/// (`-db`) as a child, logging to `haproxy.log`; returns once it routes `/readyz` to a
/// ready backend.
pub async fn start(
    binary: &Path,
    dir: &Path,
    listen: SocketAddr,
    backends: &[SocketAddr],
) -> anyhow::Result<ServerProcess> {
    let cfg = dir.join("haproxy.cfg");
    std::fs::write(&cfg, config(SHIPPED, listen, backends)?)
        .with_context(|| format!("writing {}", cfg.display()))?;
    check_config(binary, &cfg)?;
    let mut command = tokio::process::Command::new(binary);
    // `-n` takes precedence over the shipped `maxconn 10000`, which needs about 20 000 file
    // descriptors: more than a container's hard limit may allow. The drill needs dozens.
    command
        .arg("-db")
        .args(["-n", DRILL_MAXCONN])
        .arg("-f")
        .arg(&cfg);
    let log = dir.join("haproxy.log");
    let mut haproxy = ServerProcess::spawn(command, listen, &log, "haproxy".to_owned())?;
    haproxy.wait_ready("/readyz", READY_TIMEOUT).await?;
    routes_to_owner_only(listen, backends.len()).await?;
    Ok(haproxy)
}

/// Has `haproxy -c` check the generated config at `cfg`, so that a config HAProxy would
/// refuse fails here with HAProxy's own words rather than as a process that never listens.
pub fn check_config(binary: &Path, cfg: &Path) -> anyhow::Result<()> {
    let check = Command::new(binary)
        .args(["-c", "-n", DRILL_MAXCONN, "-f"])
        .arg(cfg)
        .output()
        .context("running haproxy -c")?;
    if !check.status.success() {
        bail!(
            "haproxy -c rejected the generated config: {}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
    }
    Ok(())
}

/// Waits until HAProxy has taken the standbys out: it starts with every server up until
/// its first failed check, so a fresh HAProxy sends some requests to standbys (503
/// `standby`). Done when `3 × backends` requests in a row (round robin) answer 200.
pub async fn routes_to_owner_only(listen: SocketAddr, backends: usize) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + READY_TIMEOUT;
    let mut conn = Connection::new(listen, Duration::from_secs(2));
    let mut in_a_row = 0;
    while in_a_row < 3 * backends {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "HAProxy still routes to servers that are not ready after {READY_TIMEOUT:?}"
        );
        match conn.request(Method::GET, "/readyz", None).await {
            Ok(reply) if reply.status == StatusCode::OK => in_a_row += 1,
            _ => {
                in_a_row = 0;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines other than `bind`, `server` and the access log, which the drill must keep
    /// as shipped.
    fn kept(text: &str) -> Vec<&str> {
        text.lines()
            .filter(|line| {
                let first = line.split_whitespace().next();
                first != Some("bind")
                    && first != Some("server")
                    && !ACCESS_LOG.concat().contains(&line.trim())
            })
            .collect()
    }

    #[test]
    fn the_drill_runs_the_shipped_config_with_its_own_addresses() {
        let listen: SocketAddr = "127.0.0.1:4100".parse().expect("addr");
        let backends: Vec<SocketAddr> = ["127.0.0.1:4101", "127.0.0.1:4102", "127.0.0.1:4103"]
            .iter()
            .map(|a| a.parse().expect("addr"))
            .collect();
        let generated = config(SHIPPED, listen, &backends).expect("config");
        assert_eq!(kept(&generated), kept(SHIPPED));
        assert_eq!(
            generated.lines().count(),
            SHIPPED.lines().count() + 1 + 3,
            "three server lines for two, three access-log lines"
        );
        let lines: Vec<&str> = generated.lines().map(str::trim).collect();
        let binds: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.starts_with("bind"))
            .collect();
        assert_eq!(binds, ["bind 127.0.0.1:4100"]);
        let servers: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.starts_with("server"))
            .collect();
        assert_eq!(
            servers,
            [
                "server s0 127.0.0.1:4101 check",
                "server s1 127.0.0.1:4102 check",
                "server s2 127.0.0.1:4103 check"
            ]
        );
        // What the drill relies on, still in the shipped file.
        for option in [
            "option httpchk GET /readyz",
            "http-check expect status 200",
            "default-server inter 200ms fall 1 rise 1",
            "timeout connect 250ms",
            "retries 2",
            "option redispatch",
        ] {
            assert!(lines.contains(&option), "{option} is missing");
        }
    }

    #[test]
    fn a_config_without_bind_or_server_lines_is_refused() {
        let listen: SocketAddr = "127.0.0.1:4100".parse().expect("addr");
        let error = config(
            "backend game\n    server a 127.0.0.1:1 check\n",
            listen,
            &[],
        )
        .expect_err("no bind line");
        assert!(
            error
                .to_string()
                .contains("0 bind lines and 1 server lines"),
            "{error}"
        );
        assert!(config("frontend f\n    bind :80\n", listen, &[]).is_err());
    }
}
