//! Natives of `stdlib/net.pol`: IP address parsing. In: a host as written in a URL (any
//! text). Out: whether it is an IP literal, and whether that address is not on the public
//! internet. IPv4 is read as URL parsers and `inet_aton` read it (`0x7f.1`, `2130706433` and
//! `0177.0.0.1` are all 127.0.0.1), because that is what a fetch would connect to.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `host` (optionally in brackets, with an optional trailing dot) as an IP address.
pub fn parse_ip(host: &str) -> Option<IpAddr> {
    let host = host.trim();
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return parse_ipv6(inner).map(IpAddr::V6);
    }
    if host.contains(':') {
        return parse_ipv6(host).map(IpAddr::V6);
    }
    parse_ipv4_loose(host.strip_suffix('.').unwrap_or(host)).map(IpAddr::V4)
}

/// An IPv6 literal, ignoring a `%zone` suffix.
fn parse_ipv6(s: &str) -> Option<Ipv6Addr> {
    let addr = s.split('%').next().unwrap_or(s);
    addr.parse().ok()
}

/// IPv4 in the forms URL parsers accept: one to four dot-separated parts, each decimal,
/// `0x` hexadecimal or leading-zero octal; the last part fills the remaining bytes.
fn parse_ipv4_loose(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut values = Vec::with_capacity(parts.len());
    for part in &parts {
        values.push(parse_ipv4_part(part)?);
    }
    let (last, init) = values.split_last()?;
    if init.iter().any(|&v| v > 255) {
        return None;
    }
    let last_bits = 8 * (4 - init.len() as u32);
    if last_bits < 64 && *last >= 1u64 << last_bits {
        return None;
    }
    let high = init.iter().enumerate().fold(0u64, |acc, (i, &v)| acc | v << (24 - 8 * i as u32));
    u32::try_from(high | last).ok().map(Ipv4Addr::from)
}

/// One part of a loose IPv4 address; at most 32 bits, so no overflow.
fn parse_ipv4_part(p: &str) -> Option<u64> {
    if p.is_empty() || p.len() > 34 {
        return None;
    }
    let (digits, radix) = if let Some(hex) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
        (hex, 16)
    } else if p.len() > 1 && p.starts_with('0') {
        (&p[1..], 8)
    } else {
        (p, 10)
    };
    if digits.is_empty() {
        // `0x` alone is zero for URL parsers.
        return (radix == 16).then_some(0);
    }
    if !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok().filter(|&v| v <= u64::from(u32::MAX))
}

/// An IP literal in any form [`parse_ip`] accepts.
pub fn is_ip(host: &str) -> bool {
    parse_ip(host).is_some()
}

/// An IP literal that does not reach the public internet: loopback, private (RFC 1918),
/// carrier-grade NAT, link-local (cloud metadata at 169.254.169.254), unspecified,
/// broadcast, documentation/benchmark ranges, IPv6 unique-local and link-local, and IPv4
/// addresses mapped or embedded into IPv6.
pub fn is_private_ip(host: &str) -> bool {
    match parse_ip(host) {
        Some(IpAddr::V4(v4)) => is_private_v4(v4),
        Some(IpAddr::V6(v6)) => is_private_v6(v6),
        None => false,
    }
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, _, _] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240
}

fn is_private_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_private_v4(v4);
    }
    let seg = ip.segments();
    ip.is_loopback()
        || ip.is_unspecified()
        || (seg[0] & 0xfe00) == 0xfc00
        || (seg[0] & 0xffc0) == 0xfe80
        || (seg[0] == 0x2001 && seg[1] == 0x0db8)
        // IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) addresses reach IPv4.
        || (seg[..6] == [0; 6] && is_private_v4(Ipv4Addr::new(
            (seg[6] >> 8) as u8, seg[6] as u8, (seg[7] >> 8) as u8, seg[7] as u8)))
        || (seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] && is_private_v4(Ipv4Addr::new(
            (seg[6] >> 8) as u8, seg[6] as u8, (seg[7] >> 8) as u8, seg[7] as u8)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ip_literals_in_every_form_a_fetch_accepts() {
        let localhost = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(parse_ip("127.0.0.1"), localhost);
        assert_eq!(parse_ip("2130706433"), localhost);
        assert_eq!(parse_ip("0x7f000001"), localhost);
        assert_eq!(parse_ip("0177.0.0.1"), localhost);
        assert_eq!(parse_ip("127.1"), localhost);
        assert_eq!(parse_ip("0x7f.0.0.1"), localhost);
        assert_eq!(parse_ip("127.0.0.1."), localhost);
        assert_eq!(parse_ip("[::1]"), Some(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        assert_eq!(parse_ip("fe80::1%eth0").map(|ip| ip.is_ipv6()), Some(true));
    }

    #[test]
    fn rejects_what_is_not_an_ip() {
        for s in [
            "",
            ".",
            "acme.com",
            "1.2.3.4.5",
            "256.0.0.1",
            "1.2.3.256",
            "08.0.0.1",
            "4294967296",
            "1..2",
            "[1.2.3.4]",
            "::g",
            "１２７.0.0.1",
            "1.2.3.4/8",
            "x0",
        ] {
            assert!(!is_ip(s), "{s}");
        }
        assert!(!is_ip(&"9".repeat(100_000)));
        assert!(!is_ip(&"1.".repeat(100_000)));
    }

    #[test]
    fn private_addresses() {
        for s in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "2130706433",
            "[::1]",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "[::ffff:169.254.169.254]",
            "::127.0.0.1",
            "64:ff9b::10.0.0.1",
            "255.255.255.255",
        ] {
            assert!(is_private_ip(s), "{s}");
        }
    }

    #[test]
    fn public_addresses_and_names() {
        for s in ["8.8.8.8", "172.32.0.1", "1.1.1.1", "2606:4700::1111", "[2a00:1450::1]", "localhost", "acme.com", "", "::ffff:8.8.8.8"] {
            assert!(!is_private_ip(s), "{s}");
        }
    }
}
