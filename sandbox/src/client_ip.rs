//! The client address of a request: the socket peer, or — only when the peer is one of our
//! trusted proxies (load balancers) — the right-most `X-Forwarded-For` entry that is not itself
//! a trusted proxy. Entries left of that one were written by the client and prove nothing.
//!
//! CIDR parsing and matching (IPv4 and IPv6) live in `portico_core::apps::plans` because the core
//! validates stored allowlists too; they are re-exported here.

use axum::http::HeaderMap;
use std::net::{IpAddr, SocketAddr};

pub use portico_core::apps::plans::{format_allowlist, parse_allowlist};
pub use portico_core::net::{Cidr, CidrError};

/// Parses a trusted-proxy list (e.g. `PORTICO_TRUSTED_PROXIES="10.0.0.0/8 fd00::/8"`).
pub fn parse_trusted_proxies(text: &str) -> Result<Vec<Cidr>, CidrError> {
    parse_allowlist(text)
}

fn is_trusted(ip: IpAddr, trusted: &[Cidr]) -> bool {
    trusted.iter().any(|c| c.contains(ip))
}

static X_FORWARDED_FOR: axum::http::HeaderName =
    axum::http::HeaderName::from_static("x-forwarded-for");

/// The address to judge a request by. IPv4-mapped IPv6 peers (`::ffff:a.b.c.d`) are reported
/// as IPv4.
///
/// With a trusted peer, `X-Forwarded-For` (all its lines, in order) is read from the right:
/// trusted entries are skipped, the first untrusted one is the client. If an entry cannot be
/// parsed, the chain is broken there and the last trusted hop before it is returned. If every
/// entry is trusted, the left-most one is returned.
pub fn client_ip(peer: SocketAddr, headers: &HeaderMap, trusted_proxies: &[Cidr]) -> IpAddr {
    let peer_ip = peer.ip().to_canonical();
    if trusted_proxies.is_empty() || !is_trusted(peer_ip, trusted_proxies) {
        return peer_ip;
    }
    let mut entries: Vec<Option<IpAddr>> = Vec::new();
    for value in headers.get_all(&X_FORWARDED_FOR) {
        match value.to_str() {
            Ok(line) => entries.extend(line.split(',').map(parse_forwarded_entry)),
            Err(_) => entries.push(None),
        }
    }
    let mut last_trusted = peer_ip;
    for entry in entries.iter().rev() {
        match entry {
            None => return last_trusted,
            Some(ip) if is_trusted(*ip, trusted_proxies) => last_trusted = *ip,
            Some(ip) => return *ip,
        }
    }
    last_trusted
}

/// One `X-Forwarded-For` entry: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]` or
/// `[2001:db8::1]:443`. Anything else (`unknown`, obfuscated ids) is `None`.
fn parse_forwarded_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim().trim_matches('"');
    if let Some(rest) = entry.strip_prefix('[') {
        let (ip, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        return ip.parse::<IpAddr>().ok().map(|ip| ip.to_canonical());
    }
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    // IPv4 with a port (an IPv6 address with a port must be bracketed).
    let (ip, port) = entry.rsplit_once(':')?;
    if !is_port(port) {
        return None;
    }
    ip.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

fn is_port(s: &str) -> bool {
    !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn peer(s: &str) -> SocketAddr {
        SocketAddr::new(s.parse().unwrap(), 40000)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append("x-forwarded-for", HeaderValue::from_str(line).unwrap());
        }
        headers
    }

    fn proxies() -> Vec<Cidr> {
        parse_trusted_proxies("10.0.0.0/8 fd00::/8").unwrap()
    }

    #[test]
    fn untrusted_peers_are_taken_at_their_word_only() {
        let headers = xff(&["198.51.100.1"]);
        assert_eq!(
            client_ip(peer("203.0.113.9"), &headers, &proxies()),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_ip(peer("10.0.0.1"), &headers, &[]),
            ip("10.0.0.1"),
            "no trusted proxies configured: the header is ignored"
        );
    }

    #[test]
    fn trusted_peers_yield_the_rightmost_untrusted_entry() {
        // The client forged the first entry; our proxies appended the real one.
        let headers = xff(&["6.6.6.6, 198.51.100.1, 10.1.1.1"]);
        assert_eq!(
            client_ip(peer("10.0.0.1"), &headers, &proxies()),
            ip("198.51.100.1")
        );
        // Several header lines count as one list, in order.
        let headers = xff(&["6.6.6.6", "2001:db8::7", "fd00::1"]);
        assert_eq!(
            client_ip(peer("fd00::2"), &headers, &proxies()),
            ip("2001:db8::7")
        );
    }

    #[test]
    fn trusted_peer_without_header_is_the_client() {
        assert_eq!(
            client_ip(peer("10.0.0.1"), &HeaderMap::new(), &proxies()),
            ip("10.0.0.1")
        );
        let headers = xff(&["10.2.2.2, 10.3.3.3"]);
        assert_eq!(
            client_ip(peer("10.0.0.1"), &headers, &proxies()),
            ip("10.2.2.2")
        );
    }

    #[test]
    fn a_broken_chain_stops_at_the_last_trusted_hop() {
        let headers = xff(&["198.51.100.1, unknown, 10.1.1.1"]);
        assert_eq!(
            client_ip(peer("10.0.0.1"), &headers, &proxies()),
            ip("10.1.1.1")
        );
    }

    #[test]
    fn mapped_and_bracketed_forms_are_understood() {
        assert_eq!(
            client_ip(peer("::ffff:203.0.113.5"), &HeaderMap::new(), &proxies()),
            ip("203.0.113.5")
        );
        assert_eq!(
            client_ip(peer("::ffff:10.0.0.1"), &xff(&["198.51.100.1"]), &proxies()),
            ip("198.51.100.1"),
            "a mapped IPv4 peer matches an IPv4 proxy range"
        );
        assert_eq!(
            parse_forwarded_entry("[2001:db8::1]:443"),
            Some(ip("2001:db8::1"))
        );
        assert_eq!(
            parse_forwarded_entry("[2001:db8::1]"),
            Some(ip("2001:db8::1"))
        );
        assert_eq!(
            parse_forwarded_entry(" 192.0.2.1:8080 "),
            Some(ip("192.0.2.1"))
        );
        assert_eq!(
            parse_forwarded_entry("\"192.0.2.1\""),
            Some(ip("192.0.2.1"))
        );
        assert_eq!(
            parse_forwarded_entry("2001:db8::1:80"),
            Some(ip("2001:db8::1:80"))
        );
        assert_eq!(parse_forwarded_entry("unknown"), None);
        assert_eq!(parse_forwarded_entry("[::1]x"), None);
        assert_eq!(parse_forwarded_entry("192.0.2.1:http"), None);
        assert_eq!(parse_forwarded_entry(""), None);
    }
}
