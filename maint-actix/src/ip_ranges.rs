//! `ignore_ip_networks` as a lookup whose cost does not grow with the number
//! of networks: each network becomes the range of addresses it holds
//! (`network()..=broadcast()`, as [`IpNet::contains`] compares), per family;
//! the ranges are sorted and overlapping or adjacent ones merged, so that
//! they are disjoint and ascending. A lookup is one binary search over the
//! range starts of the address's family: about 13 steps for 10,000 networks
//! where a linear scan took 10,000 comparisons.
//!
//! The answer is exactly that of `networks.iter().any(|n| n.contains(&ip))`
//! (the property tests compare them): an IPv4 address is looked up among the
//! IPv4 networks only, and an IPv6 address among the IPv6 networks only, so
//! an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) is in `::ffff:10.0.0.0/104`
//! and not in `10.0.0.0/8`, as with `IpNet::contains`.

use std::net::IpAddr;

use ipnet::IpNet;

/// Sorted, disjoint address ranges of both families.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct IpRanges {
    v4: Ranges<u32>,
    v6: Ranges<u128>,
}

impl IpRanges {
    /// Whether no network was given.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.v4.starts.is_empty() && self.v6.starts.is_empty()
    }

    /// How many disjoint ranges the networks make (IPv4, IPv6).
    #[cfg(test)]
    pub(crate) fn range_counts(&self) -> (usize, usize) {
        (self.v4.starts.len(), self.v6.starts.len())
    }

    /// Whether `ip` is in one of the networks.
    #[inline]
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(ip) => self.v4.contains(u32::from(ip)),
            IpAddr::V6(ip) => self.v6.contains(u128::from(ip)),
        }
    }
}

impl FromIterator<IpNet> for IpRanges {
    fn from_iter<I: IntoIterator<Item = IpNet>>(networks: I) -> Self {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for network in networks {
            // `network()` and `broadcast()` drop the host bits a configured
            // network may carry ("10.0.0.1/8"), as `IpNet::contains` does.
            match network {
                IpNet::V4(net) => v4.push((u32::from(net.network()), u32::from(net.broadcast()))),
                IpNet::V6(net) => v6.push((u128::from(net.network()), u128::from(net.broadcast()))),
            }
        }
        Self {
            v4: Ranges::new(v4),
            v6: Ranges::new(v6),
        }
    }
}

/// The addresses an integer stands for: IPv4 as `u32`, IPv6 as `u128`.
trait Address: Copy + Ord {
    /// The next address, or `self` at the top of the family.
    fn saturating_next(self) -> Self;
}

impl Address for u32 {
    fn saturating_next(self) -> Self {
        self.saturating_add(1)
    }
}

impl Address for u128 {
    fn saturating_next(self) -> Self {
        self.saturating_add(1)
    }
}

/// Disjoint, non-adjacent ranges `starts[i]..=ends[i]`, ascending. The starts
/// are kept apart from the ends so that the binary search reads only them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ranges<A> {
    starts: Box<[A]>,
    ends: Box<[A]>,
}

impl<A> Default for Ranges<A> {
    fn default() -> Self {
        Self {
            starts: Box::default(),
            ends: Box::default(),
        }
    }
}

impl<A: Address> Ranges<A> {
    /// Sorts the inclusive ranges `(first, last)` and merges those that
    /// overlap or touch.
    fn new(mut ranges: Vec<(A, A)>) -> Self {
        ranges.sort_unstable();
        let mut merged: Vec<(A, A)> = Vec::with_capacity(ranges.len());
        for (first, last) in ranges {
            match merged.last_mut() {
                // Sorted by start: this range begins at or after the previous
                // one, so it extends it when it begins no later than just past
                // its end (at the top of the family, `saturating_next` keeps
                // the end, which every start is at most).
                Some((_, end)) if first <= end.saturating_next() => *end = (*end).max(last),
                _ => merged.push((first, last)),
            }
        }
        Self {
            starts: merged.iter().map(|&(first, _)| first).collect(),
            ends: merged.iter().map(|&(_, last)| last).collect(),
        }
    }

    /// Whether `address` is in one of the ranges: the last range starting at
    /// or before it is the only one that can hold it.
    #[inline]
    fn contains(&self, address: A) -> bool {
        let after = self.starts.partition_point(|&start| start <= address);
        // `after == 0` (no range starts at or before it) wraps to an index
        // past the end.
        self.ends
            .get(after.wrapping_sub(1))
            .is_some_and(|&end| address <= end)
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    fn ranges(networks: &[&str]) -> IpRanges {
        networks
            .iter()
            .map(|n| n.parse::<IpNet>().unwrap())
            .collect()
    }

    fn has(ranges: &IpRanges, ip: &str) -> bool {
        ranges.contains(ip.parse().unwrap())
    }

    #[test]
    fn no_network_holds_nothing() {
        let none = IpRanges::default();
        assert!(none.is_empty());
        assert_eq!(none, ranges(&[]));
        assert!(!has(&none, "0.0.0.0"));
        assert!(!has(&none, "::"));
        assert!(!has(&none, "255.255.255.255"));
    }

    #[test]
    fn a_network_holds_its_first_and_last_address_and_nothing_around() {
        let r = ranges(&["10.1.2.0/24", "fd00::/16"]);
        assert!(!r.is_empty());
        assert!(has(&r, "10.1.2.0"));
        assert!(has(&r, "10.1.2.255"));
        assert!(!has(&r, "10.1.1.255"));
        assert!(!has(&r, "10.1.3.0"));
        assert!(has(&r, "fd00::"));
        assert!(has(&r, "fd00:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
        assert!(!has(&r, "fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
        assert!(!has(&r, "fd01::"));
    }

    #[test]
    fn host_bits_of_a_network_are_dropped() {
        let r = ranges(&["10.1.2.3/24", "fd00::1/120"]);
        assert!(has(&r, "10.1.2.0"));
        assert!(has(&r, "10.1.2.255"));
        assert!(has(&r, "fd00::ff"));
        assert!(!has(&r, "fd00::100"));
    }

    #[test]
    fn whole_families_and_single_addresses() {
        let r = ranges(&["0.0.0.0/0", "::1/128"]);
        assert!(has(&r, "0.0.0.0"));
        assert!(has(&r, "255.255.255.255"));
        assert!(has(&r, "::1"));
        assert!(!has(&r, "::"));
        assert!(!has(&r, "::2"));
        let r = ranges(&["::/0", "192.0.2.7/32"]);
        assert!(has(&r, "::"));
        assert!(has(&r, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
        assert!(has(&r, "192.0.2.7"));
        assert!(!has(&r, "192.0.2.6"));
        assert!(!has(&r, "192.0.2.8"));
    }

    #[test]
    fn each_family_is_looked_up_among_its_own_networks() {
        // As `IpNet::contains`: the IPv4-mapped form of an address is an IPv6
        // address, in IPv6 networks only.
        let v4 = ranges(&["10.0.0.0/8"]);
        assert!(has(&v4, "10.0.0.1"));
        assert!(!has(&v4, "::ffff:10.0.0.1"));
        let mapped = ranges(&["::ffff:10.0.0.0/104"]);
        assert!(has(&mapped, "::ffff:10.0.0.1"));
        assert!(!has(&mapped, "10.0.0.1"));
        let everything_v6 = ranges(&["::/0"]);
        assert!(!has(&everything_v6, "10.0.0.1"));
    }

    #[test]
    fn overlapping_and_adjacent_networks_are_merged() {
        let r = ranges(&[
            "10.0.1.0/24",
            "10.0.0.0/24",
            "10.0.0.128/25",
            "10.0.3.0/24",
            "10.0.0.0/16",
            "192.168.0.0/24",
            "192.168.1.0/24",
            "192.168.3.0/24",
        ]);
        assert_eq!(r.range_counts(), (3, 0));
        assert!(has(&r, "10.0.200.1"));
        assert!(has(&r, "192.168.1.255"));
        assert!(!has(&r, "192.168.2.0"));
        assert!(has(&r, "192.168.3.0"));
        let top = ranges(&[
            "255.255.255.255/32",
            "255.255.255.254/32",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120",
        ]);
        assert_eq!(top.range_counts(), (1, 1));
        assert!(has(&top, "255.255.255.255"));
        assert!(has(&top, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00"));
        assert!(!has(&top, "255.255.255.253"));
    }

    #[test]
    fn many_disjoint_networks_are_all_found() {
        let networks: Vec<IpNet> = (0..10_000u32)
            .map(|i| {
                if i % 5 == 1 {
                    IpNet::V6(
                        format!("2001:db8:{i:x}::/64")
                            .parse()
                            .expect("an IPv6 network"),
                    )
                } else {
                    IpNet::V4(
                        format!("10.{}.{}.0/25", i >> 8, i & 0xff)
                            .parse()
                            .expect("an IPv4 network"),
                    )
                }
            })
            .collect();
        let r: IpRanges = networks.iter().copied().collect();
        assert_eq!(r.range_counts(), (8_000, 2_000));
        for net in &networks {
            assert!(r.contains(net.network()));
            assert!(r.contains(net.broadcast()));
            match net {
                IpNet::V4(net) => {
                    let past = Ipv4Addr::from(u32::from(net.broadcast()) + 1);
                    assert!(!r.contains(IpAddr::V4(past)));
                }
                IpNet::V6(net) => {
                    let past = Ipv6Addr::from(u128::from(net.broadcast()) + 1);
                    assert!(!r.contains(IpAddr::V6(past)));
                }
            }
        }
    }
}
