//! Ethernet frames the driver sends itself through a packet socket: gratuitous ARP announcing a virtual
//! IP at the virtual MAC (RFC 2281 §5.6 action I), and HSRP multicasts sourced from the virtual MAC
//! (RFC 2281 §6: the Active router sources its hellos from the virtual MAC).
//!
//! The gratuitous ARP frame is an ARP *reply* broadcast on the LAN whose sender hardware address is the virtual MAC in
//! both the Ethernet header and the ARP body, and whose sender and target protocol addresses are both
//! the virtual IP, so every host and switch on the segment updates its tables.

use std::net::Ipv4Addr;

/// Length of the frame [`gratuitous_arp`] builds (no padding; the kernel pads to 60 on the wire).
pub const GARP_LEN: usize = 42;

/// Builds the Ethernet frame of a gratuitous ARP reply for `vip` at `vmac`.
pub fn gratuitous_arp(vmac: [u8; 6], vip: Ipv4Addr) -> [u8; GARP_LEN] {
    let mut f = [0u8; GARP_LEN];
    f[0..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(&vmac);
    f[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
    f[14..16].copy_from_slice(&1u16.to_be_bytes()); // Ethernet
    f[16..18].copy_from_slice(&0x0800u16.to_be_bytes()); // IPv4
    f[18] = 6;
    f[19] = 4;
    f[20..22].copy_from_slice(&2u16.to_be_bytes()); // reply
    f[22..28].copy_from_slice(&vmac);
    f[28..32].copy_from_slice(&vip.octets());
    f[32..38].copy_from_slice(&[0xff; 6]);
    f[38..42].copy_from_slice(&vip.octets());
    f
}

/// Internet checksum (RFC 1071).
fn checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in b.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from(c[0]) << 8
        };
        sum += u32::from(w);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Builds Ethernet + IPv4 (TTL 1, precedence "internetwork control") + UDP `port`→`port` around an
/// HSRP payload sent from `src_mac`/`src` to the multicast group `dst`. The UDP checksum is computed.
pub fn udp_multicast_frame(
    src_mac: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    port: u16,
    payload: &[u8],
) -> Vec<u8> {
    let d = dst.octets();
    let mut f = Vec::with_capacity(42 + payload.len());
    f.extend_from_slice(&[0x01, 0x00, 0x5e, d[1] & 0x7f, d[2], d[3]]);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&0x0800u16.to_be_bytes());
    let udp_len = u16::try_from(8 + payload.len()).unwrap_or(u16::MAX);
    let total = udp_len.saturating_add(20);
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[1] = 0xc0;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[6] = 0x40; // don't fragment
    ip[8] = 1; // TTL
    ip[9] = 17; // UDP
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&d);
    let c = checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    let mut udp = Vec::with_capacity(8 + payload.len());
    udp.extend_from_slice(&port.to_be_bytes());
    udp.extend_from_slice(&port.to_be_bytes());
    udp.extend_from_slice(&udp_len.to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);
    let mut pseudo = Vec::with_capacity(12 + udp.len());
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&d);
    pseudo.extend_from_slice(&[0, 17]);
    pseudo.extend_from_slice(&udp_len.to_be_bytes());
    pseudo.extend_from_slice(&udp);
    let uc = match checksum(&pseudo) {
        0 => 0xffff,
        c => c,
    };
    udp[6..8].copy_from_slice(&uc.to_be_bytes());
    f.extend_from_slice(&udp);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garp_layout() {
        let f = gratuitous_arp([0, 0, 0x0c, 0x07, 0xac, 1], Ipv4Addr::new(10, 0, 0, 3));
        assert_eq!(&f[0..6], &[0xff; 6]);
        assert_eq!(&f[6..12], &[0, 0, 0x0c, 0x07, 0xac, 1]);
        assert_eq!(&f[12..14], &[8, 6]);
        assert_eq!(&f[20..22], &[0, 2]);
        assert_eq!(&f[28..32], &[10, 0, 0, 3]);
        assert_eq!(&f[38..42], &[10, 0, 0, 3]);
    }

    #[test]
    fn udp_frame_checksums_verify() {
        let f = udp_multicast_frame(
            [0, 0, 0x0c, 7, 0xac, 1],
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(224, 0, 0, 2),
            1985,
            &[1, 2, 3],
        );
        assert_eq!(&f[0..6], &[1, 0, 0x5e, 0, 0, 2]);
        assert_eq!(checksum(&f[14..34]), 0, "IPv4 header checksum verifies");
        let mut pseudo = vec![10, 0, 0, 1, 224, 0, 0, 2, 0, 17, 0, 11];
        pseudo.extend_from_slice(&f[34..]);
        assert_eq!(checksum(&pseudo), 0, "UDP checksum verifies");
        assert_eq!(f[22], 1, "TTL 1");
    }
}
