//! Who a request comes from: the TCP peer, or the last `X-Forwarded-For` hop when the
//! server runs behind a trusted reverse proxy.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Instant;

use hyper::HeaderMap;

/// What the connection loop attaches to every request (as a request extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestInfo {
    /// The TCP peer.
    pub peer: SocketAddr,
    /// When the request head was read: the request's deadline counts from here.
    pub started: Instant,
}

/// The client address of a request from `peer` with `headers`: the last
/// `X-Forwarded-For` hop if `trust_forwarded_for` (the one the proxy appended; earlier
/// hops are the client's to choose) and it parses, else the peer. Then [`bucket`]ed.
pub fn client_address(headers: &HeaderMap, peer: IpAddr, trust_forwarded_for: bool) -> IpAddr {
    let forwarded = trust_forwarded_for
        .then(|| last_forwarded_hop(headers))
        .flatten();
    bucket(forwarded.unwrap_or(peer))
}

fn last_forwarded_hop(headers: &HeaderMap) -> Option<IpAddr> {
    let last_line = headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()?
        .to_str()
        .ok()?;
    last_line.rsplit(',').next()?.trim().parse().ok()
}

/// The address limits count by: IPv4 as it is (IPv4-mapped IPv6 too), IPv6 by its /64
/// (one subscriber usually gets a whole /64, so counting single addresses would let one
/// client pass as millions).
pub fn bucket(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !u128::from(u64::MAX);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use hyper::header::HeaderValue;

    use super::*;

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for line in lines {
            map.append(
                "x-forwarded-for",
                HeaderValue::from_str(line).expect("ascii"),
            );
        }
        map
    }

    #[test]
    fn the_last_hop_counts_only_when_trusted() {
        let peer: IpAddr = [127, 0, 0, 1].into();
        let h = headers(&["1.1.1.1, 2.2.2.2", "3.3.3.3 , 4.4.4.4 "]);
        assert_eq!(client_address(&h, peer, true), IpAddr::from([4, 4, 4, 4]));
        assert_eq!(client_address(&h, peer, false), peer);
        assert_eq!(client_address(&headers(&["junk"]), peer, true), peer);
        assert_eq!(client_address(&headers(&[]), peer, true), peer);
    }

    #[test]
    fn ipv6_counts_by_its_64_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().expect("ip");
        assert_eq!(bucket(a), bucket(b));
        assert_eq!(bucket(a), "2001:db8:1:2::".parse::<IpAddr>().expect("ip"));
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().expect("ip");
        assert_eq!(bucket(mapped), IpAddr::from([10, 1, 2, 3]));
    }
}
