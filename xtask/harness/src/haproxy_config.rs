//! A shipped HAProxy configuration (`deploy/*.cfg`) with a test's or drill's own
//! addresses: only its `bind` line and its servers' addresses change, so the routing,
//! health checks and timeouts under test are the ones operators deploy.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use anyhow::bail;

/// What to do with a `server` line whose name has no address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unnamed {
    /// Leave it out (a test that runs fewer servers than the file names).
    Omit,
    /// Fail (a rig that must run every server the file names).
    Refuse,
}

/// `shipped` (read from `file`, named in errors) listening on `listen`, with each
/// `server <name> <address> <options…>` line pointed at `servers[name]`, and the lines of
/// other servers as `unnamed` says. Fails unless the file has one `bind` line and every
/// named server once.
pub fn with_addresses(
    file: &str,
    shipped: &str,
    listen: SocketAddr,
    servers: &BTreeMap<&str, SocketAddr>,
    unnamed: Unnamed,
) -> anyhow::Result<String> {
    let mut out = Vec::new();
    let (mut binds, mut placed) = (0, 0);
    for line in shipped.lines() {
        let indent = &line[..line.len() - line.trim_start().len()];
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["bind", ..] => {
                binds += 1;
                out.push(format!("{indent}bind {listen}"));
            }
            ["server", name, _address, options @ ..] => match (servers.get(name), unnamed) {
                (Some(address), _) => {
                    placed += 1;
                    out.push(format!(
                        "{indent}server {name} {address} {}",
                        options.join(" ")
                    ));
                }
                (None, Unnamed::Omit) => {}
                (None, Unnamed::Refuse) => {
                    bail!("{file} has a server {name} that is not run here")
                }
            },
            _ => out.push(line.to_owned()),
        }
    }
    if (binds, placed) != (1, servers.len()) {
        bail!(
            "{file} has {binds} bind lines and {placed} of the servers {:?} (want 1 and all)",
            servers.keys().collect::<Vec<_>>()
        );
    }
    Ok(out.join("\n") + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "frontend f\n    bind :80\nbackend b\n    server a 10.0.0.1:1 check\n    server c 10.0.0.3:1 check inter 1s\n";

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn only_the_bind_line_and_the_addresses_change() {
        let servers = BTreeMap::from([("a", addr(5001)), ("c", addr(5003))]);
        let out = with_addresses("x.cfg", FILE, addr(5000), &servers, Unnamed::Refuse);
        assert_eq!(
            out.ok().as_deref(),
            Some(
                "frontend f\n    bind 127.0.0.1:5000\nbackend b\n    server a 127.0.0.1:5001 check\n    server c 127.0.0.1:5003 check inter 1s\n"
            )
        );
    }

    #[test]
    fn a_server_without_an_address_is_left_out_or_refused() {
        let only_a = BTreeMap::from([("a", addr(5001))]);
        let omitted = with_addresses("x.cfg", FILE, addr(5000), &only_a, Unnamed::Omit);
        assert_eq!(
            omitted.ok().as_deref(),
            Some(
                "frontend f\n    bind 127.0.0.1:5000\nbackend b\n    server a 127.0.0.1:5001 check\n"
            )
        );
        let refused = with_addresses("x.cfg", FILE, addr(5000), &only_a, Unnamed::Refuse);
        assert_eq!(
            refused.map_err(|e| e.to_string()),
            Err("x.cfg has a server c that is not run here".to_owned())
        );
        let unknown = BTreeMap::from([("z", addr(5009))]);
        let missing = with_addresses("x.cfg", FILE, addr(5000), &unknown, Unnamed::Omit);
        assert_eq!(
            missing.map_err(|e| e.to_string()),
            Err("x.cfg has 1 bind lines and 0 of the servers [\"z\"] (want 1 and all)".to_owned())
        );
    }
}
