//! The client's IP address, for rate limits and the audit log.
//!
//! The connecting peer is the client unless it is one of the configured
//! `trusted_proxies`; then the right-most `X-Forwarded-For` entry that is not
//! a trusted proxy is (entries further left can be forged by the client).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::app::AppState;

/// The address a request came from, as far as Gatehouse can tell.
///
/// An extractor rather than a layer: only the handlers that rate-limit or
/// audit need it, so the public metadata routes never pay for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        Ok(Self(client_ip(
            peer,
            &parts.headers,
            &state.config.trusted_proxies,
        )))
    }
}

pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

/// The store key of the per-address counter `counter` for a request from
/// `ip` (see [`limit_scope`]).
pub fn limit_key(counter: &str, ip: IpAddr) -> String {
    format!("{counter}:{}", limit_scope(ip))
}

/// What per-address limits count per: an IPv4 address, or the /64 network
/// of an IPv6 one. An IPv6 host picks the lower 64 bits of its address
/// itself, and changes them at will (RFC 4291 §2.5.1, RFC 8981), so counting
/// single IPv6 addresses would let one host step around every limit. An
/// IPv4-mapped IPv6 address counts as its IPv4 address.
pub fn limit_scope(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or_else(
            || {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            },
            |v4| v4.to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_cannot_claim_another_address() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("1.2.3.4"));
        assert_eq!(client_ip(ip("9.9.9.9"), &headers, &[]), ip("9.9.9.9"));
    }

    #[test]
    fn limits_count_ipv6_per_64_network_and_ipv4_per_address() {
        assert_eq!(limit_scope(ip("203.0.113.7")), "203.0.113.7");
        assert_ne!(
            limit_scope(ip("203.0.113.7")),
            limit_scope(ip("203.0.113.8"))
        );
        assert_eq!(limit_scope(ip("::ffff:203.0.113.7")), "203.0.113.7");
        assert_eq!(
            limit_scope(ip("2001:db8:a:b:1:2:3:4")),
            limit_scope(ip("2001:db8:a:b:ffff::9"))
        );
        assert_eq!(limit_scope(ip("2001:db8:a:b::1")), "2001:db8:a:b::/64");
        assert_ne!(
            limit_scope(ip("2001:db8:a:b::1")),
            limit_scope(ip("2001:db8:a:c::1"))
        );
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_entry_is_the_client() {
        let mut headers = HeaderMap::new();
        // The client forged the first entry; the proxy appended the real one.
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 203.0.113.7, 10.0.0.2"),
        );
        let trusted = [ip("10.0.0.1"), ip("10.0.0.2")];
        assert_eq!(
            client_ip(ip("10.0.0.1"), &headers, &trusted),
            ip("203.0.113.7")
        );
        assert_eq!(
            client_ip(ip("10.0.0.1"), &HeaderMap::new(), &trusted),
            ip("10.0.0.1")
        );
    }
}
