//! An outbound HTTP client that only reaches the public internet, for URLs partners give us
//! (webhook endpoints): SSRF safety.
//!
//! - [`check_url`] refuses, before anything is sent, a URL that is not https (plain http only
//!   to loopback, and only with the local-development flag), has credentials in it, uses a port
//!   other than 443/80/8443 (any port on loopback with the flag), or names a refused address
//!   literally (reqwest connects to IP literals without asking a resolver).
//! - Host names are resolved by [`GuardedResolver`], which drops every refused address: the
//!   client connects only to what the resolver returned, so a name that resolves to a public
//!   address at check time and to 127.0.0.1 at connect time (DNS rebinding) is still refused.
//! - Redirects are never followed: a 3xx is the answer, and its `Location` is not contacted.
//!
//! Refused: loopback, private (RFC 1918, IPv6 unique-local), link-local (with the cloud
//! metadata address 169.254.169.254), carrier-grade NAT (100.64.0.0/10), multicast, broadcast,
//! unspecified, documentation, benchmarking and reserved ranges, and IPv6 forms that embed such
//! an IPv4 address (mapped, NAT64).

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use url::{Host, Url};

/// Delivery attempts give up after this long.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Ports a public destination may use.
const PUBLIC_PORTS: [u16; 3] = [443, 80, 8443];

/// Where outbound calls may go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DestinationPolicy {
    /// Local development and tests: loopback addresses (any port) and plain http to them.
    pub allow_http_loopback: bool,
}

/// Why a destination is refused, as a sentence a form can show.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the URL must start with https://")]
    NotHttps,
    #[error("the URL must not contain a user name or password")]
    Credentials,
    #[error("the URL has no host")]
    NoHost,
    #[error("port {0} is not allowed: use 443, 80 or 8443")]
    Port(u16),
    #[error("{address} is a {kind} address: Portico only calls public addresses")]
    Address { address: IpAddr, kind: AddressKind },
}

/// A kind of address no outbound call may reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressKind {
    Loopback,
    Private,
    LinkLocal,
    CloudMetadata,
    CarrierGradeNat,
    Multicast,
    Broadcast,
    Unspecified,
    Documentation,
    Reserved,
}

impl fmt::Display for AddressKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressKind::Loopback => "loopback",
            AddressKind::Private => "private",
            AddressKind::LinkLocal => "link-local",
            AddressKind::CloudMetadata => "cloud metadata",
            AddressKind::CarrierGradeNat => "carrier-grade NAT",
            AddressKind::Multicast => "multicast",
            AddressKind::Broadcast => "broadcast",
            AddressKind::Unspecified => "unspecified",
            AddressKind::Documentation => "documentation",
            AddressKind::Reserved => "reserved",
        })
    }
}

/// What kind of non-public address `ip` is; `None` for a public one.
pub fn non_public(ip: IpAddr) -> Option<AddressKind> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<AddressKind> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) => AddressKind::CloudMetadata,
        _ if ip.is_loopback() => AddressKind::Loopback,
        _ if ip.is_private() => AddressKind::Private,
        _ if ip.is_link_local() => AddressKind::LinkLocal,
        (100, 64..=127, _) => AddressKind::CarrierGradeNat,
        _ if ip.is_multicast() => AddressKind::Multicast,
        _ if ip.is_broadcast() => AddressKind::Broadcast,
        (0, _, _) => AddressKind::Unspecified,
        _ if ip.is_documentation() => AddressKind::Documentation,
        // IETF protocol assignments, benchmarking, class E.
        (192, 0, 0) | (198, 18..=19, _) | (240..=255, _, _) => AddressKind::Reserved,
        _ => return None,
    })
}

fn non_public_v6(ip: Ipv6Addr) -> Option<AddressKind> {
    // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) reach the IPv4 address inside.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return non_public_v4(v4);
    }
    let segments = ip.segments();
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [a, b] = segments[6].to_be_bytes();
        let [c, d] = segments[7].to_be_bytes();
        return non_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    Some(match segments[0] {
        _ if ip.is_loopback() => AddressKind::Loopback,
        _ if ip.is_unspecified() => AddressKind::Unspecified,
        0xfc00..=0xfdff => AddressKind::Private,
        0xfe80..=0xfebf => AddressKind::LinkLocal,
        0xff00..=0xffff => AddressKind::Multicast,
        0x2001 if segments[1] == 0x0db8 => AddressKind::Documentation,
        _ => return None,
    })
}

impl DestinationPolicy {
    /// `Ok` when calls may go to `ip`.
    pub fn allows(self, ip: IpAddr) -> Result<(), Refused> {
        match non_public(ip) {
            None => Ok(()),
            Some(AddressKind::Loopback) if self.allow_http_loopback => Ok(()),
            Some(kind) => Err(Refused::Address { address: ip, kind }),
        }
    }
}

/// Checks a destination URL before anything is sent (see the module docs).
pub fn check_url(url: &Url, policy: DestinationPolicy) -> Result<(), Refused> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refused::Credentials);
    }
    let literal = match url.host() {
        None => return Err(Refused::NoHost),
        Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(Host::Domain(_)) => None,
    };
    let loopback_host = match (literal, url.host_str()) {
        (Some(ip), _) => ip.is_loopback(),
        (None, Some(name)) => name.eq_ignore_ascii_case("localhost"),
        (None, None) => false,
    };
    let local_development = policy.allow_http_loopback && loopback_host;
    match url.scheme() {
        "https" => {}
        "http" if local_development => {}
        _ => return Err(Refused::NotHttps),
    }
    if let Some(ip) = literal {
        policy.allows(ip)?;
    }
    let port = url.port_or_known_default().ok_or(Refused::NoHost)?;
    if !local_development && !PUBLIC_PORTS.contains(&port) {
        return Err(Refused::Port(port));
    }
    Ok(())
}

/// Resolves host names with the system resolver and keeps only the addresses `policy` allows;
/// a name left with none fails with the reason, so the connection is never attempted.
#[derive(Clone, Debug)]
pub struct GuardedResolver {
    policy: DestinationPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|addr| match policy.allows(addr.ip()) {
                    Ok(()) => true,
                    Err(reason) => {
                        refused.get_or_insert(reason);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let reason = match refused {
                    Some(reason) => format!("{host} resolves to a refused address: {reason}"),
                    None => format!("{host} does not resolve"),
                };
                return Err(reason.into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The client: the guarded resolver, no redirects, [`TIMEOUT`], the system's trust roots.
pub fn client(policy: DestinationPolicy) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .use_preconfigured_tls(crate::sso::tls_config()?)
        .dns_resolver(Arc::new(GuardedResolver { policy }))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .user_agent(concat!("portico-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: DestinationPolicy = DestinationPolicy {
        allow_http_loopback: false,
    };
    const LOCAL: DestinationPolicy = DestinationPolicy {
        allow_http_loopback: true,
    };

    fn kind(text: &str) -> Option<AddressKind> {
        non_public(text.parse().unwrap())
    }

    #[test]
    fn addresses_are_classified() {
        for (address, expected) in [
            ("127.0.0.1", Some(AddressKind::Loopback)),
            ("127.255.0.9", Some(AddressKind::Loopback)),
            ("10.0.0.1", Some(AddressKind::Private)),
            ("172.16.5.4", Some(AddressKind::Private)),
            ("192.168.1.1", Some(AddressKind::Private)),
            ("169.254.169.254", Some(AddressKind::CloudMetadata)),
            ("169.254.1.1", Some(AddressKind::LinkLocal)),
            ("100.64.0.1", Some(AddressKind::CarrierGradeNat)),
            ("100.127.255.255", Some(AddressKind::CarrierGradeNat)),
            ("224.0.0.1", Some(AddressKind::Multicast)),
            ("255.255.255.255", Some(AddressKind::Broadcast)),
            ("0.0.0.0", Some(AddressKind::Unspecified)),
            ("192.0.2.10", Some(AddressKind::Documentation)),
            ("198.18.0.1", Some(AddressKind::Reserved)),
            ("240.0.0.1", Some(AddressKind::Reserved)),
            ("::1", Some(AddressKind::Loopback)),
            ("::", Some(AddressKind::Unspecified)),
            ("fd00::1", Some(AddressKind::Private)),
            ("fe80::1", Some(AddressKind::LinkLocal)),
            ("ff02::1", Some(AddressKind::Multicast)),
            ("2001:db8::1", Some(AddressKind::Documentation)),
            ("::ffff:127.0.0.1", Some(AddressKind::Loopback)),
            ("::ffff:169.254.169.254", Some(AddressKind::CloudMetadata)),
            ("64:ff9b::a00:1", Some(AddressKind::Private)),
            ("8.8.8.8", None),
            ("100.63.255.255", None),
            ("172.32.0.1", None),
            ("2606:4700::1111", None),
            ("::ffff:8.8.8.8", None),
        ] {
            assert_eq!(kind(address), expected, "{address}");
        }
    }

    #[test]
    fn urls_are_checked_before_anything_is_sent() {
        let check = |url: &str, policy| check_url(&Url::parse(url).unwrap(), policy);
        assert_eq!(check("https://hooks.example.com/portico", STRICT), Ok(()));
        assert_eq!(check("https://hooks.example.com:8443/x", STRICT), Ok(()));
        assert_eq!(
            check("http://hooks.example.com/x", STRICT),
            Err(Refused::NotHttps)
        );
        assert_eq!(
            check("https://hooks.example.com:6379/x", STRICT),
            Err(Refused::Port(6379))
        );
        assert_eq!(
            check("https://user:pw@hooks.example.com/x", STRICT),
            Err(Refused::Credentials)
        );
        assert_eq!(
            check("ftp://hooks.example.com/x", STRICT),
            Err(Refused::NotHttps)
        );
        for (url, kind) in [
            ("https://127.0.0.1/x", AddressKind::Loopback),
            ("https://10.0.0.1/x", AddressKind::Private),
            (
                "https://169.254.169.254/latest/meta-data",
                AddressKind::CloudMetadata,
            ),
            ("https://[::1]/x", AddressKind::Loopback),
            ("https://[::ffff:10.0.0.1]/x", AddressKind::Private),
            // Decimal and short forms are IPv4 literals to the URL parser, and refused.
            ("https://2130706433/x", AddressKind::Loopback),
            ("https://0x7f.1/x", AddressKind::Loopback),
        ] {
            assert!(
                matches!(check(url, STRICT), Err(Refused::Address { kind: k, .. }) if k == kind),
                "{url}: {:?}",
                check(url, STRICT)
            );
        }
        // The local-development flag: plain http and any port, to loopback only.
        assert_eq!(check("http://127.0.0.1:9999/hook", LOCAL), Ok(()));
        assert_eq!(check("http://localhost:9999/hook", LOCAL), Ok(()));
        assert_eq!(check("http://[::1]:9999/hook", LOCAL), Ok(()));
        assert_eq!(
            check("http://hooks.example.com/x", LOCAL),
            Err(Refused::NotHttps)
        );
        assert!(matches!(
            check("https://10.0.0.1/x", LOCAL),
            Err(Refused::Address { .. })
        ));
        assert_eq!(
            check("https://127.0.0.1/x", STRICT)
                .unwrap_err()
                .to_string(),
            "127.0.0.1 is a loopback address: Portico only calls public addresses"
        );
    }

    /// A receiver on loopback, answering every request with `response`; returns its address.
    async fn receiver(response: &'static str) -> SocketAddr {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buffer = [0u8; 4096];
                let _ = socket.read(&mut buffer).await;
                let _ = socket.write_all(response.as_bytes()).await;
            }
        });
        address
    }

    #[tokio::test]
    async fn names_resolving_to_refused_addresses_are_never_contacted() {
        let address = receiver("HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n").await;
        // `localhost` resolves to loopback: refused by the resolver without the flag (the URL
        // check alone would let an https name through: the resolver is what connects).
        let strict = client(STRICT).unwrap();
        let url = format!("http://localhost:{}/hook", address.port());
        let error = strict.get(&url).send().await.unwrap_err();
        let chain = format!("{error:?}");
        assert!(chain.contains("refused address"), "{chain}");
        // With the flag, the same receiver answers.
        let local = client(LOCAL).unwrap();
        assert_eq!(local.get(&url).send().await.unwrap().status(), 204);
    }

    #[tokio::test]
    async fn redirects_are_not_followed() {
        let address = receiver(
            "HTTP/1.1 302 Found\r\nlocation: http://10.0.0.1/internal\r\ncontent-length: 0\r\n\r\n",
        )
        .await;
        let local = client(LOCAL).unwrap();
        let url = format!("http://127.0.0.1:{}/hook", address.port());
        let response = local.get(&url).send().await.unwrap();
        // The 302 is the answer (a failed delivery); 10.0.0.1 was never contacted.
        assert_eq!(response.status(), 302);
        assert_eq!(response.url().as_str(), url);
    }
}
