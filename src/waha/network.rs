//! Which addresses wacrm calls for a URL a workspace typed in (its WAHA
//! server): public ones only, unless the deployment allows private
//! networks (`WAHA_ALLOW_PRIVATE_NETWORKS`, for a WAHA next to wacrm).
//! Otherwise any workspace could make wacrm call into the operator's own
//! network. Names are checked as they are resolved for each connection
//! (no window between check and use); literal addresses before each call;
//! redirects are not followed.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// Whether `ip` is reachable on the public internet (not loopback,
/// private, link-local, shared, documentation or multicast space).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                // 100.64.0.0/10: carrier-grade NAT.
                || (a == 100 && (64..128).contains(&b))
                // 198.18.0.0/15: benchmarking.
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // fc00::/7 unique local, fe80::/10 link-local.
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                // 2001:db8::/32 documentation.
                || (first == 0x2001 && v6.segments()[1] == 0x0db8))
        }
    }
}

/// Why wacrm will not call `url`, if it will not (its scheme, or a literal
/// address that is not public while private networks are not allowed).
pub fn refuse(url: &Url, allow_private: bool) -> Option<String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Some("The address must start with http:// or https://.".into());
    }
    let ip = match url.host() {
        None => return Some("The address has no host.".into()),
        Some(Host::Domain(_)) => return None,
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
    };
    (!allow_private && !is_public(ip)).then(|| {
        "That address is on a private network, which this wacrm does not call \
         (its operator can allow it with WAHA_ALLOW_PRIVATE_NETWORKS)."
            .into()
    })
}

/// Resolves names to their public addresses only.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|addr| is_public(addr.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!("{host} has no public address").into());
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// The HTTP client for workspace-given servers.
pub fn client(allow_private: bool, timeout: Duration) -> reqwest::Result<reqwest::Client> {
    crate::server::install_crypto_provider();
    let builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none());
    if allow_private {
        builder.build()
    } else {
        builder.dns_resolver(Arc::new(PublicOnly)).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["8.8.8.8", "1.1.1.1", "2606:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn urls_are_refused_for_their_scheme_or_private_literal_address() {
        let url = |s: &str| Url::parse(s).unwrap();
        assert!(refuse(&url("ftp://waha.example.com"), false).is_some());
        assert!(refuse(&url("http://127.0.0.1:3000"), false).is_some());
        assert!(refuse(&url("http://[::1]:3000"), false).is_some());
        assert!(refuse(&url("http://127.0.0.1:3000"), true).is_none());
        assert!(refuse(&url("https://waha.example.com"), false).is_none());
        assert!(refuse(&url("http://8.8.8.8"), false).is_none());
    }
}
