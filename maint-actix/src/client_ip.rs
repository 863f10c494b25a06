//! Which IP address a request comes from, honouring proxies only when trusted.
//!
//! Forwarding headers are attacker-controlled text except for the parts that
//! trusted proxies appended. Each trusted proxy appends the address that
//! connected to it, so the chain is only believable from the right: starting
//! at the socket peer, we move left past trusted proxies and stop at the first
//! address we do not trust. Everything further left was written by that
//! untrusted party and is ignored.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::ControlFlow;

use actix_web::http::header::{FORWARDED, HeaderMap, X_FORWARDED_FOR};
use ipnet::{IpNet, Ipv4Net};

/// The proxies whose `X-Forwarded-For` / `Forwarded` headers are believed.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrustedProxies {
    /// Stored canonically (IPv4-mapped IPv6 networks rewritten as IPv4) so
    /// they match the canonical addresses `contains` compares against.
    networks: Vec<IpNet>,
}

impl TrustedProxies {
    /// Parses each entry as an IP address ("10.0.0.1", "::1") or a CIDR
    /// network ("10.0.0.0/8"); the error is the offending entry, verbatim, so
    /// the caller can name the key and value.
    pub(crate) fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        let networks = entries
            .iter()
            .map(|entry| {
                let raw = entry.as_ref();
                let text = raw.trim();
                let net = match text.parse::<IpNet>() {
                    Ok(net) => net,
                    Err(_) => IpNet::from(text.parse::<IpAddr>().map_err(|_| raw.to_owned())?),
                };
                Ok(canonical_net(net))
            })
            .collect::<Result<_, String>>()?;
        Ok(Self { networks })
    }

    /// Whether `ip` belongs to a trusted proxy; IPv4-mapped IPv6 addresses are
    /// treated as the IPv4 address they carry, since dual-stack sockets report
    /// IPv4 peers that way.
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.networks.iter().any(|net| net.contains(&ip))
    }
}

/// Rewrites a network inside `::ffff:0:0/96` as the IPv4 network it denotes
/// and drops host bits, so "::ffff:10.0.0.0/104" trusts the canonical
/// 10.0.0.0/8 addresses that `contains` sees.
fn canonical_net(net: IpNet) -> IpNet {
    if let IpNet::V6(v6) = net
        && let Some(prefix) = v6.prefix_len().checked_sub(96)
        && let Some(v4) = v6.addr().to_ipv4_mapped()
        && let Ok(v4net) = Ipv4Net::new(v4, prefix)
    {
        return IpNet::V4(v4net.trunc());
    }
    net.trunc()
}

/// The client IP: the peer address, unless the peer is a trusted proxy, in
/// which case the right-most untrusted hop of the forwarding header.
///
/// `X-Forwarded-For` is preferred over `Forwarded` whenever it is present:
/// common proxies (nginx, HAProxy, cloud load balancers) append to
/// `X-Forwarded-For` but pass a client-supplied `Forwarded` header through
/// unchanged, so preferring `Forwarded` would let any client choose its own
/// address. `Forwarded` is consulted only when no `X-Forwarded-For` line
/// exists at all; an empty `X-Forwarded-For` still wins and yields the peer.
pub(crate) fn resolve_client_ip(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &TrustedProxies,
) -> Option<IpAddr> {
    let peer = peer?.to_canonical();
    if !trusted.contains(peer) {
        return Some(peer);
    }
    let mut walk = Walk {
        last_trusted: peer,
        trusted,
    };
    let flow = if headers.contains_key(X_FORWARDED_FOR) {
        walk_x_forwarded_for(&mut walk, headers)
    } else {
        walk_forwarded(&mut walk, headers)
    };
    Some(match flow {
        ControlFlow::Break(ip) => ip,
        // Every hop was trusted (or there were none): the left-most trusted
        // address is the best evidence available.
        ControlFlow::Continue(()) => walk.last_trusted,
    })
}

/// Right-to-left walk over hops; `Break` carries the decided client IP.
struct Walk<'a> {
    /// The left-most address so far that was vouched for by trusted proxies.
    last_trusted: IpAddr,
    trusted: &'a TrustedProxies,
}

impl Walk<'_> {
    /// Feeds the next hop to the left; `None` is a hop that is not an IP.
    fn step(&mut self, hop: Option<IpAddr>) -> ControlFlow<IpAddr> {
        // Text left of an unparseable hop cannot be attributed to anyone, so
        // the walk ends at the last address a trusted proxy vouched for.
        let Some(ip) = hop else {
            return ControlFlow::Break(self.last_trusted);
        };
        let ip = ip.to_canonical();
        if self.trusted.contains(ip) {
            self.last_trusted = ip;
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(ip)
        }
    }
}

/// Walks `X-Forwarded-For` hops, last header line and last hop first.
fn walk_x_forwarded_for(walk: &mut Walk<'_>, headers: &HeaderMap) -> ControlFlow<IpAddr> {
    for line in headers.get_all(X_FORWARDED_FOR).rev() {
        // A line with non-visible-ASCII bytes is one unreadable hop.
        let Ok(line) = line.to_str() else {
            return walk.step(None);
        };
        for hop in line.rsplit(',').map(trim_ows) {
            // Empty list elements are legal and meaningless (RFC 9110 §5.6.1).
            if !hop.is_empty() {
                walk.step(parse_node(hop))?;
            }
        }
    }
    ControlFlow::Continue(())
}

/// Walks RFC 7239 `Forwarded` elements, last header line and last element
/// first, using each element's `for` parameter as the hop.
///
/// Splitting on `,` and `;` ignores quoting on purpose: legitimate `for`
/// values never contain those characters, and quote-aware splitting would let
/// a client's unterminated `"` swallow the elements trusted proxies append
/// after it on the same line. Naive splitting keeps the right-hand,
/// proxy-written part parsing the same whatever the client sent.
fn walk_forwarded(walk: &mut Walk<'_>, headers: &HeaderMap) -> ControlFlow<IpAddr> {
    for line in headers.get_all(FORWARDED).rev() {
        let Ok(line) = line.to_str() else {
            return walk.step(None);
        };
        for element in line.rsplit(',').map(trim_ows) {
            if !element.is_empty() {
                walk.step(forwarded_for(element))?;
            }
        }
    }
    ControlFlow::Continue(())
}

/// The IP in one `Forwarded` element's `for` parameter, or `None` when it is
/// missing, duplicated, malformed, `unknown` or an obfuscated identifier:
/// all of these leave the hop's address unknown.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    let mut value = None;
    for pair in element.split(';').map(trim_ows) {
        if pair.is_empty() {
            continue;
        }
        let (name, val) = pair.split_once('=')?;
        if trim_ows(name).eq_ignore_ascii_case("for") {
            // RFC 7239 forbids repeats; picking either one would be a guess.
            if value.is_some() {
                return None;
            }
            value = Some(trim_ows(val));
        }
    }
    parse_node(unquote(value?)?)
}

/// Strips the quotes of a quoted-string; escapes are rejected rather than
/// decoded because no IP literal needs them.
fn unquote(value: &str) -> Option<&str> {
    match value.strip_prefix('"') {
        None => Some(value),
        Some(rest) => {
            let inner = rest.strip_suffix('"')?;
            (!inner.contains(['"', '\\'])).then_some(inner)
        }
    }
}

/// Parses a node as found in either header: a bare IPv4 or IPv6 address,
/// `1.2.3.4:port`, `[v6]` or `[v6]:port`. Bare IPv6 addresses cannot carry a
/// port, since the colon would be ambiguous.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Some(rest) = node.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        if !after.is_empty() && !after.strip_prefix(':').is_some_and(is_port) {
            return None;
        }
        return host.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip);
    }
    let (host, port) = node.split_once(':')?;
    if !is_port(port) {
        return None;
    }
    host.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

/// A numeric port or an RFC 7239 obfuscated port (`_` then
/// `ALPHA / DIGIT / "." / "_" / "-"`); only the address matters to us, but a
/// malformed port makes the whole hop suspect.
fn is_port(port: &str) -> bool {
    if let Some(obf) = port.strip_prefix('_') {
        return !obf.is_empty()
            && obf
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    }
    !port.is_empty()
        && port.len() <= 5
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u16>().is_ok()
}

/// Trims HTTP optional whitespace (space and tab) only.
fn trim_ows(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn trusted(entries: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(entries).unwrap()
    }

    /// Builds a map with one appended line per `(name, value)` pair, in order.
    fn headers(lines: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in lines {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn resolve(peer: &str, lines: &[(&str, &str)], proxies: &[&str]) -> IpAddr {
        resolve_client_ip(Some(ip(peer)), &headers(lines), &trusted(proxies)).unwrap()
    }

    #[test]
    fn peer_none_yields_none() {
        let map = headers(&[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(
            resolve_client_ip(None, &map, &trusted(&["0.0.0.0/0"])),
            None
        );
    }

    #[test]
    fn untrusted_peer_ignores_spoofed_x_forwarded_for() {
        let got = resolve(
            "203.0.113.9",
            &[("x-forwarded-for", "10.0.0.1")],
            &["10.0.0.0/8"],
        );
        assert_eq!(got, ip("203.0.113.9"));
    }

    #[test]
    fn untrusted_peer_ignores_spoofed_forwarded() {
        let got = resolve(
            "203.0.113.9",
            &[("forwarded", "for=10.0.0.1")],
            &["10.0.0.0/8"],
        );
        assert_eq!(got, ip("203.0.113.9"));
    }

    #[test]
    fn no_trusted_proxies_returns_peer() {
        let got = resolve("10.0.0.1", &[("x-forwarded-for", "1.2.3.4")], &[]);
        assert_eq!(got, ip("10.0.0.1"));
    }

    #[test]
    fn trusted_peer_single_hop() {
        let got = resolve(
            "10.0.0.1",
            &[("x-forwarded-for", "198.51.100.7")],
            &["10.0.0.1"],
        );
        assert_eq!(got, ip("198.51.100.7"));
    }

    #[test]
    fn chain_right_most_untrusted_wins_over_client_spoof() {
        // The client sent "127.0.0.1, 10.9.9.9"; its real address and two
        // trusted proxies were appended after that.
        let got = resolve(
            "10.0.0.1",
            &[(
                "x-forwarded-for",
                "127.0.0.1, 10.9.9.9, 198.51.100.7, 10.0.0.3, 10.0.0.2",
            )],
            &["10.0.0.0/8", "127.0.0.1"],
        );
        assert_eq!(got, ip("198.51.100.7"));
    }

    #[test]
    fn all_hops_trusted_returns_left_most() {
        let got = resolve(
            "10.0.0.1",
            &[("x-forwarded-for", "10.0.0.4, 10.0.0.3,10.0.0.2")],
            &["10.0.0.0/8"],
        );
        assert_eq!(got, ip("10.0.0.4"));
    }

    #[test]
    fn garbage_right_most_hop_returns_peer() {
        let got = resolve(
            "10.0.0.1",
            &[("x-forwarded-for", "198.51.100.7, garbage")],
            &["10.0.0.0/8"],
        );
        assert_eq!(got, ip("10.0.0.1"));
    }

    /// Nothing left of an unparseable hop is believed, not even a plausible IP.
    #[test]
    fn garbage_hop_returns_trusted_hop_to_its_right() {
        let got = resolve(
            "10.0.0.1",
            &[("x-forwarded-for", "198.51.100.7, unknown, 10.0.0.2")],
            &["10.0.0.0/8"],
        );
        assert_eq!(got, ip("10.0.0.2"));
    }

    #[test]
    fn garbage_left_of_untrusted_hop_is_never_reached() {
        let got = resolve(
            "10.0.0.1",
            &[("x-forwarded-for", "nonsense, 198.51.100.7")],
            &["10.0.0.0/8"],
        );
        assert_eq!(got, ip("198.51.100.7"));
    }

    /// A present X-Forwarded-For settles the source even when empty, so a
    /// client-supplied Forwarded passed through unchanged is never read.
    #[test]
    fn empty_x_forwarded_for_returns_peer_and_skips_forwarded() {
        let got = resolve(
            "10.0.0.1",
            &[("x-forwarded-for", ""), ("forwarded", "for=198.51.100.7")],
            &["10.0.0.0/8"],
        );
        assert_eq!(got, ip("10.0.0.1"));
    }

    #[test]
    fn empty_list_elements_are_ignored() {
        let got = resolve(
            "10.0.0.1",
            &[("x-forwarded-for", " , 198.51.100.7,, 10.0.0.2 ,")],
            &["10.0.0.0/8"],
        );
        assert_eq!(got, ip("198.51.100.7"));
    }

    #[test]
    fn multiple_x_forwarded_for_lines_are_one_list() {
        let got = resolve(
            "10.0.0.1",
            &[
                ("x-forwarded-for", "192.0.2.1, 198.51.100.7"),
                ("x-forwarded-for", "10.0.0.3"),
                ("x-forwarded-for", "10.0.0.2"),
            ],
            &["10.0.0.0/8"],
        );
        assert_eq!(got, ip("198.51.100.7"));
    }

    #[test]
    fn x_forwarded_for_with_ports_and_brackets() {
        let proxies = &["10.0.0.0/8", "2001:db8:ffff::/48"];
        let line = "198.51.100.7:5678, 10.0.0.3:443, [2001:db8:ffff::1]:80, [2001:db8:ffff::2]";
        assert_eq!(
            resolve("10.0.0.1", &[("x-forwarded-for", line)], proxies),
            ip("198.51.100.7")
        );
        let got = resolve(
            "10.0.0.1",
            &[("x-forwarded-for", "[2001:db8::1]:80")],
            proxies,
        );
        assert_eq!(got, ip("2001:db8::1"));
        let got = resolve("10.0.0.1", &[("x-forwarded-for", "2001:db8::1")], proxies);
        assert_eq!(got, ip("2001:db8::1"));
    }

    /// Lenient port/bracket parsing must not become lenient garbage parsing.
    #[test]
    fn malformed_ports_and_brackets_are_garbage() {
        for hop in [
            "198.51.100.7:",
            "198.51.100.7:99999",
            "198.51.100.7:80:80",
            "198.51.100.7:http",
            "[2001:db8::1",
            "[2001:db8::1]80",
            "[198.51.100.7]",
            "\"198.51.100.7\"",
        ] {
            let got = resolve("10.0.0.1", &[("x-forwarded-for", hop)], &["10.0.0.0/8"]);
            assert_eq!(got, ip("10.0.0.1"), "hop {hop:?}");
        }
    }

    #[test]
    fn forwarded_quoted_ipv6_with_port() {
        let got = resolve(
            "10.0.0.1",
            &[("forwarded", "for=\"[2001:db8::1]:4711\"")],
            &["10.0.0.0/8"],
        );
        assert_eq!(got, ip("2001:db8::1"));
    }

    #[test]
    fn forwarded_ipv4_with_port_and_obfuscated_port() {
        let got = resolve(
            "10.0.0.1",
            &[("forwarded", "for=\"198.51.100.7:8080\"")],
            &["10.0.0.0/8"],
        );
        assert_eq!(got, ip("198.51.100.7"));
        let got = resolve(
            "10.0.0.1",
            &[("forwarded", "for=\"198.51.100.7:_p0rt\"")],
            &["10.0.0.0/8"],
        );
        assert_eq!(got, ip("198.51.100.7"));
    }

    #[test]
    fn forwarded_parameter_name_is_case_insensitive() {
        let got = resolve(
            "10.0.0.1",
            &[("forwarded", "proto=https;For=198.51.100.7;by=10.0.0.1")],
            &["10.0.0.0/8"],
        );
        assert_eq!(got, ip("198.51.100.7"));
        let got = resolve(
            "10.0.0.1",
            &[("forwarded", "FOR=198.51.100.8")],
            &["10.0.0.0/8"],
        );
        assert_eq!(got, ip("198.51.100.8"));
    }

    #[test]
    fn forwarded_multiple_elements_and_lines() {
        let got = resolve(
            "10.0.0.1",
            &[
                ("forwarded", "for=192.0.2.60;proto=http, for=198.51.100.7"),
                ("forwarded", "for=10.0.0.3;by=10.0.0.1, for=\"10.0.0.2\""),
            ],
            &["10.0.0.0/8"],
        );
        assert_eq!(got, ip("198.51.100.7"));
    }

    #[test]
    fn forwarded_unknown_and_obfuscated_stop_the_walk() {
        let proxies = &["10.0.0.0/8"];
        let got = resolve(
            "10.0.0.1",
            &[("forwarded", "for=198.51.100.7, for=unknown")],
            proxies,
        );
        assert_eq!(got, ip("10.0.0.1"));
        let got = resolve(
            "10.0.0.1",
            &[("forwarded", "for=198.51.100.7, for=_hidden, for=10.0.0.2")],
            proxies,
        );
        assert_eq!(got, ip("10.0.0.2"));
    }

    #[test]
    fn forwarded_element_without_single_for_is_garbage() {
        let proxies = &["10.0.0.0/8"];
        for element in [
            "proto=https",
            "for=198.51.100.8;for=198.51.100.9",
            "for",
            "for=\"198.51.100.8",
            "for=\"198.51.100.8\\\"\"",
        ] {
            let line = format!("for=198.51.100.7, {element}");
            let got = resolve("10.0.0.1", &[("forwarded", &line)], proxies);
            assert_eq!(got, ip("10.0.0.1"), "element {element:?}");
        }
    }

    /// The client's stray quote must not merge the proxy-appended element
    /// into its own, which quote-aware splitting would do.
    #[test]
    fn forwarded_unterminated_client_quote_cannot_swallow_proxy_element() {
        let got = resolve(
            "10.0.0.1",
            &[("forwarded", "for=\"10.0.0.9, for=198.51.100.7")],
            &["10.0.0.0/8"],
        );
        assert_eq!(got, ip("198.51.100.7"));
    }

    #[test]
    fn x_forwarded_for_takes_precedence_over_forwarded() {
        let got = resolve(
            "10.0.0.1",
            &[
                ("forwarded", "for=192.0.2.66"),
                ("x-forwarded-for", "198.51.100.7"),
            ],
            &["10.0.0.0/8"],
        );
        assert_eq!(got, ip("198.51.100.7"));
    }

    #[test]
    fn ipv4_mapped_peer_and_hops_are_canonicalised() {
        let proxies = &["10.0.0.0/8"];
        let got = resolve(
            "::ffff:10.0.0.1",
            &[("x-forwarded-for", "::ffff:198.51.100.7, ::ffff:10.0.0.2")],
            proxies,
        );
        assert_eq!(got, ip("198.51.100.7"));
        let got = resolve(
            "::ffff:203.0.113.9",
            &[("x-forwarded-for", "198.51.100.7")],
            proxies,
        );
        assert_eq!(got, ip("203.0.113.9"));
        let got = resolve(
            "10.0.0.1",
            &[("forwarded", "for=\"[::ffff:198.51.100.7]:80\"")],
            proxies,
        );
        assert_eq!(got, ip("198.51.100.7"));
    }

    #[test]
    fn ipv4_mapped_trust_entries_match_ipv4() {
        let proxies = trusted(&["::ffff:10.0.0.0/104", "::ffff:192.0.2.1"]);
        assert!(proxies.contains(ip("10.1.2.3")));
        assert!(proxies.contains(ip("::ffff:10.1.2.3")));
        assert!(proxies.contains(ip("192.0.2.1")));
        assert!(!proxies.contains(ip("11.0.0.1")));
    }

    #[test]
    fn cidr_trust() {
        let proxies = trusted(&["10.0.0.0/8", "192.0.2.1", "2001:db8::/32", "::1"]);
        assert!(proxies.contains(ip("10.255.0.1")));
        assert!(proxies.contains(ip("192.0.2.1")));
        assert!(!proxies.contains(ip("192.0.2.2")));
        assert!(proxies.contains(ip("2001:db8:1::5")));
        assert!(proxies.contains(ip("::1")));
        assert!(!proxies.contains(ip("2001:db9::1")));
        assert!(!TrustedProxies::default().contains(ip("10.0.0.1")));
    }

    /// Operators often write an address inside the network rather than the
    /// network address itself; that should not be rejected or narrowed.
    #[test]
    fn cidr_with_host_bits_covers_its_network() {
        let proxies = trusted(&["10.1.2.3/16"]);
        assert!(proxies.contains(ip("10.1.200.200")));
        assert!(!proxies.contains(ip("10.2.0.1")));
    }

    #[test]
    fn parse_accepts_surrounding_whitespace() {
        let proxies = trusted(&[" 10.0.0.1 "]);
        assert!(proxies.contains(ip("10.0.0.1")));
    }

    #[test]
    fn parse_errors_return_offending_entry() {
        for bad in [
            "10.0.0.0/33",
            "not-an-ip",
            "",
            "10.0.0.1:80",
            "fe80::1%eth0",
            "::1/129",
        ] {
            let err = TrustedProxies::parse(&["127.0.0.1", bad]).unwrap_err();
            assert_eq!(err, bad);
        }
        let owned = vec![String::from("10.0.0.0/8"), String::from("10.0.0.0/x")];
        assert_eq!(TrustedProxies::parse(&owned).unwrap_err(), "10.0.0.0/x");
    }

    /// Unreadable bytes cannot be split into hops, so the whole line stops the
    /// walk at the trusted hop from the line to its right.
    #[test]
    fn non_ascii_header_line_is_garbage() {
        let mut map = headers(&[("x-forwarded-for", "198.51.100.7")]);
        map.append(X_FORWARDED_FOR, HeaderValue::from_bytes(b"\xff").unwrap());
        map.append(X_FORWARDED_FOR, HeaderValue::from_static("10.0.0.2"));
        let got = resolve_client_ip(Some(ip("10.0.0.1")), &map, &trusted(&["10.0.0.0/8"]));
        assert_eq!(got, Some(ip("10.0.0.2")));
    }
}
