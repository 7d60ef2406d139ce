//! Gratuitous ARP frames announcing a virtual IP at the virtual MAC (RFC 2281 §5.6 action I).
//!
//! The frame is an ARP *reply* broadcast on the LAN whose sender hardware address is the virtual MAC in
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
}
