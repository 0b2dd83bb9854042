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

use reqwest::Method;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// Whether `ip` is reachable on the public internet (not loopback,
/// private, link-local, shared, documentation or multicast space, nor an
/// IPv6 address that carries or tunnels to an IPv4 one).
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                // 169.254.0.0/16, where clouds answer with their metadata.
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                // 0.0.0.0/8: "this network".
                || a == 0
                // 100.64.0.0/10: carrier-grade NAT.
                || (a == 100 && (64..128).contains(&b))
                // 192.0.0.0/24: IETF protocol assignments.
                || (a == 192 && b == 0 && c == 0)
                // 198.18.0.0/15: benchmarking.
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            // ::ffff:0:0/96 reaches the IPv4 address inside it: judged as that.
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let [first, second, ..] = v6.segments();
            // Only global unicast (2000::/3). That leaves out loopback and
            // unspecified, IPv4-compatible ::/96, NAT64 64:ff9b::/96 and
            // 64:ff9b:1::/48 (which reach IPv4 addresses, private ones
            // too), discard-only 100::/64, unique local fc00::/7,
            // link-local fe80::/10, site-local fec0::/10, multicast ff00::/8.
            let global_unicast = (first & 0xe000) == 0x2000;
            global_unicast
                // 2001::/23 IETF protocol assignments, Teredo 2001::/32
                // (a tunnel to any IPv4 address) among them.
                && !(first == 0x2001 && second < 0x0200)
                // 2001:db8::/32 documentation.
                && !(first == 0x2001 && second == 0x0db8)
                // 2002::/16 6to4: a tunnel to the IPv4 address inside.
                && first != 0x2002
                // 3fff::/20 documentation.
                && (first & 0xfff0) != 0x3ff0
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

/// The HTTP client for workspace-given servers. Every request's address
/// is checked first ([`refuse`]): a literal address is not resolved, so
/// the resolver's check never sees it, and a bridge saved before a rule
/// (or edited in the database since) is held to today's rules.
#[derive(Clone)]
pub struct WahaHttp {
    http: reqwest::Client,
    allow_private: bool,
}

impl WahaHttp {
    pub fn new(allow_private: bool, timeout: Duration) -> reqwest::Result<WahaHttp> {
        crate::infra::tls::install_crypto_provider();
        let builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would make the connection, to addresses this
            // resolver never sees (and HTTP(S)_PROXY is for wacrm's own
            // calls, not for servers workspaces name).
            .no_proxy();
        let http = if allow_private {
            builder.build()?
        } else {
            builder.dns_resolver(Arc::new(PublicOnly)).build()?
        };
        Ok(WahaHttp {
            http,
            allow_private,
        })
    }

    /// A request to `url`, or why wacrm will not call it.
    pub fn request(&self, method: Method, url: Url) -> Result<reqwest::RequestBuilder, String> {
        match refuse(&url, self.allow_private) {
            Some(reason) => Err(reason),
            None => Ok(self.http.request(method, url)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(ip: &str) -> bool {
        !is_public(ip.parse().unwrap())
    }

    #[test]
    fn private_and_special_ipv4_addresses_are_not_public() {
        for (ip, range) in [
            ("127.0.0.1", "loopback"),
            ("10.1.2.3", "private 10/8"),
            ("172.16.0.1", "private 172.16/12"),
            ("192.168.1.1", "private 192.168/16"),
            ("169.254.169.254", "link-local, cloud metadata"),
            ("100.64.0.1", "carrier-grade NAT"),
            ("100.127.255.254", "carrier-grade NAT"),
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "this network 0/8"),
            ("192.0.0.8", "IETF protocol assignments"),
            ("192.0.2.1", "documentation"),
            ("198.51.100.1", "documentation"),
            ("203.0.113.1", "documentation"),
            ("198.18.0.1", "benchmarking"),
            ("224.0.0.1", "multicast"),
            ("240.0.0.1", "reserved"),
            ("255.255.255.255", "broadcast"),
        ] {
            assert!(refused(ip), "{ip}: {range}");
        }
    }

    #[test]
    fn private_and_special_ipv6_addresses_are_not_public() {
        for (ip, range) in [
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("::127.0.0.1", "IPv4-compatible ::/96"),
            ("::8.8.8.8", "IPv4-compatible ::/96"),
            ("::ffff:127.0.0.1", "IPv4-mapped, private"),
            ("::ffff:169.254.169.254", "IPv4-mapped, metadata"),
            ("64:ff9b::7f00:1", "NAT64 64:ff9b::/96"),
            ("64:ff9b::a9fe:a9fe", "NAT64 to metadata"),
            ("64:ff9b:1::a00:1", "local NAT64 64:ff9b:1::/48"),
            ("2002:7f00:1::1", "6to4 2002::/16"),
            ("2002:a9fe:a9fe::", "6to4 to metadata"),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo 2001::/32"),
            ("2001:2::1", "benchmarking 2001:2::/48"),
            ("2001:db8::1", "documentation 2001:db8::/32"),
            ("3fff::1", "documentation 3fff::/20"),
            ("100::1", "discard 100::/64"),
            ("fd00::1", "unique local fc00::/7"),
            ("fc00::1", "unique local fc00::/7"),
            ("fe80::1", "link-local fe80::/10"),
            ("febf::1", "link-local fe80::/10"),
            ("fec0::1", "site-local fec0::/10"),
            ("ff02::1", "multicast"),
            ("ff0e::1", "multicast"),
        ] {
            assert!(refused(ip), "{ip}: {range}");
        }
    }

    #[test]
    fn public_addresses_are_public() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.1",
            "::ffff:8.8.8.8",
            "2606:4700::1111",
            "2a00:1450:4001::200e",
            "2001:4860:4860::8888",
        ] {
            assert!(!refused(ip), "{ip}");
        }
    }

    #[test]
    fn urls_are_refused_for_their_scheme_or_private_literal_address() {
        let url = |s: &str| Url::parse(s).unwrap();
        assert!(refuse(&url("ftp://waha.example.com"), false).is_some());
        assert!(refuse(&url("http://127.0.0.1:3000"), false).is_some());
        assert!(refuse(&url("http://[::1]:3000"), false).is_some());
        assert!(refuse(&url("http://[64:ff9b::a9fe:a9fe]/"), false).is_some());
        assert!(refuse(&url("http://[2002:a00:1::1]/"), false).is_some());
        assert!(refuse(&url("http://[::ffff:10.0.0.1]/"), false).is_some());
        assert!(
            refuse(&url("http://0x7f.1/"), false).is_some(),
            "127.0.0.1 spelled oddly"
        );
        assert!(refuse(&url("http://127.0.0.1:3000"), true).is_none());
        assert!(refuse(&url("https://waha.example.com"), false).is_none());
        assert!(refuse(&url("http://8.8.8.8"), false).is_none());
    }

    #[test]
    fn every_request_is_checked_not_only_the_saved_address() {
        let strict = WahaHttp::new(false, Duration::from_secs(1)).unwrap();
        let url = |s: &str| Url::parse(s).unwrap();
        let refused = strict.request(Method::GET, url("http://10.0.0.5:3000/api/sessions"));
        assert!(refused.is_err_and(|reason| reason.contains("private network")));
        assert!(
            strict
                .request(Method::GET, url("https://waha.example.com/api"))
                .is_ok()
        );
        let relaxed = WahaHttp::new(true, Duration::from_secs(1)).unwrap();
        assert!(
            relaxed
                .request(Method::GET, url("http://10.0.0.5:3000/api/sessions"))
                .is_ok()
        );
    }
}
