//! IP networks (CIDR blocks) as the allowlists and trusted proxies use them.

use crate::CoreError;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An IPv4 or IPv6 network such as `203.0.113.0/24` or `2001:db8::/32`. A bare address is a
/// single host (`/32` or `/128`). Host bits must be zero (`10.0.0.1/8` is refused, naming the
/// network that was probably meant).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// Why a CIDR did not parse; the message is safe to show.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CidrError(pub(crate) String);

impl From<CidrError> for CoreError {
    fn from(e: CidrError) -> Self {
        CoreError::Invalid(e.0)
    }
}

impl Cidr {
    /// The network `network/prefix`; host bits must be zero.
    pub fn new(network: IpAddr, prefix: u8) -> Result<Self, CidrError> {
        let bits = max_prefix(network);
        if prefix > bits {
            return Err(CidrError(format!(
                "prefix /{prefix} is longer than {bits} bits"
            )));
        }
        let cidr = Self { network, prefix };
        let masked = cidr.masked(network);
        if masked != network {
            return Err(CidrError(format!(
                "{network}/{prefix} has host bits set; did you mean {masked}/{prefix}?"
            )));
        }
        Ok(cidr)
    }

    /// A single address.
    pub fn host(ip: IpAddr) -> Self {
        Self {
            network: ip,
            prefix: max_prefix(ip),
        }
    }

    pub fn network(&self) -> IpAddr {
        self.network
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is inside this network. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, what
    /// a dual-stack socket reports for IPv4 clients) match IPv4 networks and vice versa.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => mask_v4(ip, self.prefix) == net,
            (IpAddr::V4(net), IpAddr::V6(ip)) => ip
                .to_ipv4_mapped()
                .is_some_and(|ip| mask_v4(ip, self.prefix) == net),
            (IpAddr::V6(net), IpAddr::V6(ip)) => mask_v6(ip, self.prefix) == net,
            (IpAddr::V6(net), IpAddr::V4(ip)) => mask_v6(ip.to_ipv6_mapped(), self.prefix) == net,
        }
    }

    fn masked(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(ip) => IpAddr::V4(mask_v4(ip, self.prefix)),
            IpAddr::V6(ip) => IpAddr::V6(mask_v6(ip, self.prefix)),
        }
    }
}

fn max_prefix(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

fn mask_v4(ip: Ipv4Addr, prefix: u8) -> Ipv4Addr {
    let mask = u32::MAX
        .checked_shl(32 - u32::from(prefix.min(32)))
        .unwrap_or(0);
    Ipv4Addr::from(u32::from(ip) & mask)
}

fn mask_v6(ip: Ipv6Addr, prefix: u8) -> Ipv6Addr {
    let mask = u128::MAX
        .checked_shl(128 - u32::from(prefix.min(128)))
        .unwrap_or(0);
    Ipv6Addr::from(u128::from(ip) & mask)
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, CidrError> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let ip: IpAddr = addr
            .parse()
            .map_err(|_| CidrError(format!("{s:?} is not an IPv4 or IPv6 address or CIDR")))?;
        match prefix {
            None => Ok(Cidr::host(ip)),
            Some(p) => {
                if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(CidrError(format!(
                        "{s:?}: the prefix length must be a number"
                    )));
                }
                let prefix: u8 = p
                    .parse()
                    .map_err(|_| CidrError(format!("{s:?}: prefix length out of range")))?;
                Cidr::new(ip, prefix).map_err(|e| CidrError(format!("{s:?}: {}", e.0)))
            }
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Cidr {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs_parse_and_match_ipv4() {
        let net = cidr("203.0.113.0/24");
        assert!(net.contains(ip("203.0.113.0")));
        assert!(net.contains(ip("203.0.113.255")));
        assert!(!net.contains(ip("203.0.114.1")));
        assert!(!net.contains(ip("2001:db8::1")));
        assert_eq!(net.to_string(), "203.0.113.0/24");
        let host = cidr("198.51.100.7");
        assert_eq!(host.prefix(), 32);
        assert!(host.contains(ip("198.51.100.7")));
        assert!(!host.contains(ip("198.51.100.8")));
        let all = cidr("0.0.0.0/0");
        assert!(all.contains(ip("1.2.3.4")));
        assert!(all.contains(ip("255.255.255.255")));
        assert!(cidr("10.0.0.0/8").contains(ip("10.255.0.1")));
        assert!(!cidr("10.0.0.0/8").contains(ip("11.0.0.1")));
    }

    #[test]
    fn cidrs_parse_and_match_ipv6() {
        let net = cidr("2001:db8::/32");
        assert!(net.contains(ip("2001:db8:ffff::1")));
        assert!(!net.contains(ip("2001:db9::1")));
        assert!(!net.contains(ip("192.0.2.1")));
        assert_eq!(cidr("2001:DB8:0:0::/64").to_string(), "2001:db8::/64");
        assert!(cidr("::/0").contains(ip("::1")));
        assert!(cidr("::1").contains(ip("::1")));
        assert!(!cidr("::1").contains(ip("::2")));
        assert!(cidr("2001:db8::1/128").contains(ip("2001:db8::1")));
    }

    #[test]
    fn ipv4_mapped_addresses_match_ipv4_networks() {
        assert!(cidr("192.0.2.0/24").contains(ip("::ffff:192.0.2.9")));
        assert!(!cidr("192.0.2.0/24").contains(ip("::ffff:192.0.3.9")));
        assert!(cidr("::ffff:192.0.2.0/120").contains(ip("192.0.2.200")));
    }

    #[test]
    fn bad_cidrs_are_refused_with_a_reason() {
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "10.0.0/8",
            "example.com",
            "10.0.0.0/8/8",
            "fe80::1%eth0",
            "10.0.0.0/0008",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad:?} must be refused");
        }
        let err = "10.1.2.3/8".parse::<Cidr>().unwrap_err().to_string();
        assert!(err.contains("did you mean 10.0.0.0/8"), "{err}");
    }
}
