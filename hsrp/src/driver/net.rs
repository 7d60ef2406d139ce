//! Netlink operations of the driver (rtnetlink 0.24): interface lookup, the macvlan carrying the virtual
//! MAC, its addresses, stale-device cleanup and link-state parsing; plus the sysctls HSRP needs.

use std::net::{IpAddr, Ipv4Addr};

use futures::TryStreamExt;
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkFlags, LinkInfo, LinkMessage, MacVlanMode};
use rtnetlink::{Handle, LinkMacVlan, LinkUnspec};

use super::DriverError;

/// Prefix of every macvlan this driver creates (`hsrp<parent ifindex>g<group>`, or `...v<group>` for
/// version 2), so a restarted daemon can recognise and remove what a crashed one left behind.
pub(crate) const VMAC_PREFIX: &str = "hsrp";

/// Name of the macvlan for a group (at most 15 bytes for any ifindex below 10^6).
pub(crate) fn vmac_name(parent: u32, version2: bool, group: u16) -> String {
    format!("{VMAC_PREFIX}{parent}{}{group}", if version2 { 'v' } else { 'g' })
}

/// What the driver needs to know about a link.
#[derive(Clone, Debug)]
pub(crate) struct LinkState {
    pub(crate) index: u32,
    pub(crate) name: String,
    pub(crate) mac: [u8; 6],
    pub(crate) up: bool,
    pub(crate) parent: Option<u32>,
    pub(crate) macvlan: bool,
}

/// Reads the fields we use from a link message.
pub(crate) fn parse_link(m: &LinkMessage) -> LinkState {
    let mut st = LinkState {
        index: m.header.index,
        name: String::new(),
        mac: [0; 6],
        up: m.header.flags.contains(LinkFlags::Up) && m.header.flags.contains(LinkFlags::Running),
        parent: None,
        macvlan: false,
    };
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => st.name = n.clone(),
            LinkAttribute::Address(mac) if mac.len() == 6 => st.mac.copy_from_slice(mac),
            LinkAttribute::Link(p) => st.parent = Some(*p),
            LinkAttribute::LinkInfo(infos) => {
                st.macvlan = infos
                    .iter()
                    .any(|i| matches!(i, LinkInfo::Kind(InfoKind::MacVlan)));
            }
            _ => {}
        }
    }
    st
}

/// Every link of the namespace.
pub(crate) async fn links(h: &Handle) -> Result<Vec<LinkState>, DriverError> {
    let mut out = Vec::new();
    let mut s = h.link().get().execute();
    while let Some(m) = s.try_next().await.map_err(DriverError::netlink)? {
        out.push(parse_link(&m));
    }
    Ok(out)
}

/// The primary IPv4 address of link `index`.
pub(crate) async fn primary_ipv4(h: &Handle, index: u32) -> Result<Option<Ipv4Addr>, DriverError> {
    let mut s = h.address().get().set_link_index_filter(index).execute();
    while let Some(m) = s.try_next().await.map_err(DriverError::netlink)? {
        if m.header.index != index {
            continue;
        }
        for a in &m.attributes {
            if let AddressAttribute::Local(IpAddr::V4(v4)) | AddressAttribute::Address(IpAddr::V4(v4)) = a {
                return Ok(Some(*v4));
            }
        }
    }
    Ok(None)
}

/// Creates the macvlan `name` on `parent` with MAC `vmac`, brings it up and returns its index.
pub(crate) async fn create_vmac(
    h: &Handle,
    name: &str,
    parent: u32,
    vmac: [u8; 6],
) -> Result<u32, DriverError> {
    let msg = LinkMacVlan::new(name, parent, MacVlanMode::Bridge)
        .address(vmac.to_vec())
        .up()
        .build();
    h.link().add(msg).execute().await.map_err(DriverError::netlink)?;
    let mut s = h.link().get().match_name(name.to_owned()).execute();
    let Some(m) = s.try_next().await.map_err(DriverError::netlink)? else {
        return Err(DriverError::Netlink(format!(
            "macvlan {name} vanished after creation"
        )));
    };
    let index = m.header.index;
    h.link()
        .set(LinkUnspec::new_with_index(index).up().build())
        .execute()
        .await
        .map_err(DriverError::netlink)?;
    Ok(index)
}

/// Adds `vip/32` to link `index`.
pub(crate) async fn add_vip(h: &Handle, index: u32, vip: Ipv4Addr) -> Result<(), DriverError> {
    h.address()
        .add(index, IpAddr::V4(vip), 32)
        .execute()
        .await
        .map_err(DriverError::netlink)
}

/// Deletes link `index`.
pub(crate) async fn delete_link(h: &Handle, index: u32) -> Result<(), DriverError> {
    h.link().del(index).execute().await.map_err(DriverError::netlink)
}

/// Removes macvlans named like ours on any of `parents` (left by a crashed run). Returns their names.
pub(crate) async fn remove_stale(h: &Handle, parents: &[u32]) -> Result<Vec<String>, DriverError> {
    let mut removed = Vec::new();
    for l in links(h).await? {
        let ours =
            l.macvlan && l.name.starts_with(VMAC_PREFIX) && l.parent.is_some_and(|p| parents.contains(&p));
        if ours {
            delete_link(h, l.index).await?;
            removed.push(l.name);
        }
    }
    Ok(removed)
}

/// Writes one `net.ipv4.conf.<dev>.<key>` sysctl of the calling thread's network namespace.
pub(crate) fn set_conf(dev: &str, key: &str, value: &str) -> Result<(), DriverError> {
    let path = format!("/proc/sys/net/ipv4/conf/{dev}/{key}");
    std::fs::write(&path, value).map_err(|e| DriverError::Sysctl(format!("{path}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vmac_names_fit_ifnamsiz() {
        assert_eq!(vmac_name(12, false, 1), "hsrp12g1");
        assert!(vmac_name(999_999, true, 4095).len() <= 15);
    }
}
