//! Whose `X-Forwarded-For` to believe. A proxy appends the address it saw
//! to the header, so the list reads client, proxy 1, proxy 2, ... and only
//! the entries appended by proxies we run are facts; anything to their
//! left is the client's own word. Walking the list from the right, every
//! hop that is a trusted proxy passes the question on to the entry before
//! it; the first address that is not one is the client. A request from a
//! peer that is not a trusted proxy is answered with the peer itself, so a
//! client that reaches a service directly cannot choose its address.

use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use warp::Filter;

use super::server::PeerAddr;

/// The proxies in front of a service: `TRUSTED_PROXIES`, comma-separated
/// CIDRs (a bare address is a /32 or /128).
#[derive(Debug, Clone)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// The default: loopback, where the local stack's gateway runs.
    pub const DEFAULT: &'static str = "127.0.0.1/32,::1/128";

    /// `TRUSTED_PROXIES`, or `DEFAULT`; an empty value trusts no proxy.
    pub fn from_env() -> anyhow::Result<Self> {
        let list = crate::config::string("TRUSTED_PROXIES", Self::DEFAULT);
        Self::parse(&list).map_err(|e| anyhow::anyhow!("TRUSTED_PROXIES: {e}"))
    }

    pub fn parse(list: &str) -> Result<Self, String> {
        let nets = list
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{entry:?} is not a CIDR (10.0.0.0/8) or an address"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self(nets))
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&canonical(address)))
    }

    /// The client behind `peer`, given the request's `X-Forwarded-For`.
    pub fn client(&self, peer: IpAddr, forwarded: Option<&str>) -> IpAddr {
        let mut client = canonical(peer);
        let hops = forwarded.into_iter().flat_map(|list| list.rsplit(','));
        for hop in hops {
            if !self.trusts(client) {
                break;
            }
            match hop.trim().parse::<IpAddr>() {
                Ok(address) => client = canonical(address),
                // A malformed entry ends what can be believed: the last
                // trusted hop is the best answer left.
                Err(_) => break,
            }
        }
        client
    }
}

/// An IPv4 client reached over IPv6 (`::ffff:a.b.c.d`) is that IPv4 client.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// The client's address (see `TrustedProxies::client`); `0.0.0.0` when
/// the server did not record the peer (never, when served by `Server`).
pub fn client_address(
    trusted: Arc<TrustedProxies>,
) -> impl Filter<Extract = (IpAddr,), Error = std::convert::Infallible> + Clone {
    warp::header::optional::<String>("x-forwarded-for")
        .or(warp::any().map(|| None))
        .unify()
        .and(warp::ext::optional::<PeerAddr>())
        .map(move |forwarded: Option<String>, peer: Option<PeerAddr>| {
            let peer = peer.map_or(IpAddr::from([0, 0, 0, 0]), |p| p.0.ip());
            trusted.client(peer, forwarded.as_deref())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_direct_client_is_its_peer_whatever_it_forwards() {
        let trusted = TrustedProxies::parse("127.0.0.1/32").unwrap();
        assert_eq!(
            trusted.client(ip("127.0.0.5"), Some("198.51.100.1")),
            ip("127.0.0.5")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_first_untrusted_hop_from_the_right_is_the_client() {
        let trusted = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
        // The client claims 1.2.3.4; the outer proxy (10.1.1.1) saw
        // 203.0.113.9 and the gateway on 127.0.0.1 saw 10.1.1.1.
        let forwarded = "1.2.3.4, 203.0.113.9, 10.1.1.1";
        assert_eq!(
            trusted.client(ip("127.0.0.1"), Some(forwarded)),
            ip("203.0.113.9")
        );
        assert_eq!(trusted.client(ip("127.0.0.1"), None), ip("127.0.0.1"));
        assert_eq!(
            trusted.client(ip("127.0.0.1"), Some("10.0.0.2, junk")),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn ipv4_mapped_peers_count_as_ipv4() {
        let trusted = TrustedProxies::parse("127.0.0.1").unwrap();
        assert_eq!(
            trusted.client(ip("::ffff:127.0.0.1"), Some("2001:db8::1")),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn bad_lists_are_refused_and_empty_trusts_none() {
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.local").is_err());
        let none = TrustedProxies::parse("").unwrap();
        assert_eq!(
            none.client(ip("127.0.0.1"), Some("1.2.3.4")),
            ip("127.0.0.1")
        );
    }
}
