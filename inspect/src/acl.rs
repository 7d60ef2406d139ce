//! Extended ACL matching with hit counters.
//!
//! Entries are tried in order; the first match decides; a packet matching no entry is denied (the
//! implicit deny, counted separately). Matching rules:
//! * `ip` matches every protocol; `icmp` matches ICMP and ICMPv6; a number matches that protocol.
//! * `any` matches IPv4 and IPv6 addresses; `host A` matches exactly A; `A WILDCARD` matches IPv4 only.
//! * Port conditions apply to TCP and UDP entries. A non-first fragment has no ports: an entry with a port
//!   condition never matches it, an entry without one matches it on addresses and protocol.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::config::{AclAction, AclConfig, AclEntry, AclProto, AddrMatch, PortMatch};
use crate::wire::{L4Info, PacketInfo, ip_proto};

impl AddrMatch {
    /// Whether `addr` matches.
    pub fn matches(&self, addr: IpAddr) -> bool {
        match (*self, addr) {
            (Self::Any, _) => true,
            (Self::Host(h), a) => h == a,
            (Self::Wildcard { addr: base, wildcard }, IpAddr::V4(a)) => {
                let care = !u32::from(wildcard);
                u32::from(base) & care == u32::from(a) & care
            }
            (Self::Wildcard { .. }, IpAddr::V6(_)) => false,
        }
    }
}

impl PortMatch {
    /// Whether `port` matches.
    pub fn matches(&self, port: u16) -> bool {
        match *self {
            Self::Any => true,
            Self::Eq(p) => port == p,
            Self::Neq(p) => port != p,
            Self::Gt(p) => port > p,
            Self::Lt(p) => port < p,
            Self::Range(a, b) => a <= port && port <= b,
        }
    }
}

impl AclEntry {
    /// Whether this entry matches `pkt`.
    pub fn matches(&self, pkt: &PacketInfo) -> bool {
        let proto_ok = match self.proto {
            AclProto::Ip => true,
            AclProto::Tcp => pkt.proto == ip_proto::TCP,
            AclProto::Udp => pkt.proto == ip_proto::UDP,
            AclProto::Icmp => pkt.proto == ip_proto::ICMP || pkt.proto == ip_proto::ICMPV6,
            AclProto::Number(n) => pkt.proto == n,
        };
        if !proto_ok || !self.src.matches(pkt.src()) || !self.dst.matches(pkt.dst()) {
            return false;
        }
        let has_ports = self.src_port != PortMatch::Any || self.dst_port != PortMatch::Any;
        if !has_ports {
            return true;
        }
        let (sp, dp) = match pkt.l4 {
            L4Info::Tcp(t) => (t.src_port, t.dst_port),
            L4Info::Udp { src_port, dst_port } => (src_port, dst_port),
            _ => return false,
        };
        self.src_port.matches(sp) && self.dst_port.matches(dp)
    }
}

impl fmt::Display for AddrMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("any"),
            Self::Host(a) => write!(f, "host {a}"),
            Self::Wildcard { addr, wildcard } => write!(f, "{addr} {wildcard}"),
        }
    }
}

impl fmt::Display for PortMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => Ok(()),
            Self::Eq(p) => write!(f, " eq {p}"),
            Self::Neq(p) => write!(f, " neq {p}"),
            Self::Gt(p) => write!(f, " gt {p}"),
            Self::Lt(p) => write!(f, " lt {p}"),
            Self::Range(a, b) => write!(f, " range {a} {b}"),
        }
    }
}

impl fmt::Display for AclProto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ip => f.write_str("ip"),
            Self::Tcp => f.write_str("tcp"),
            Self::Udp => f.write_str("udp"),
            Self::Icmp => f.write_str("icmp"),
            Self::Number(n) => write!(f, "{n}"),
        }
    }
}

impl fmt::Display for AclEntry {
    /// The entry as `show ip access-lists` prints it, without the sequence number:
    /// `permit tcp host 10.0.0.10 any eq 23`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let action = match self.action {
            AclAction::Permit => "permit",
            AclAction::Deny => "deny",
        };
        write!(
            f,
            "{action} {} {}{} {}{}",
            self.proto, self.src, self.src_port, self.dst, self.dst_port
        )
    }
}

/// An ACL ready for matching, with its counters.
#[derive(Clone, Debug)]
pub(crate) struct CompiledAcl {
    pub(crate) config: AclConfig,
    pub(crate) hits: Vec<u64>,
    pub(crate) implicit_deny: u64,
}

impl CompiledAcl {
    pub(crate) fn new(config: AclConfig) -> Self {
        let hits = vec![0; config.entries.len()];
        Self {
            config,
            hits,
            implicit_deny: 0,
        }
    }

    /// Judges `pkt`, counting the hit.
    pub(crate) fn judge(&mut self, pkt: &PacketInfo) -> AclAction {
        for (i, e) in self.config.entries.iter().enumerate() {
            if e.matches(pkt) {
                if let Some(h) = self.hits.get_mut(i) {
                    *h += 1;
                }
                return e.action;
            }
        }
        self.implicit_deny += 1;
        AclAction::Deny
    }

    pub(crate) fn clear_counters(&mut self) {
        self.hits.iter_mut().for_each(|h| *h = 0);
        self.implicit_deny = 0;
    }

    pub(crate) fn status(&self) -> AclStatus {
        AclStatus {
            name: self.config.name.clone(),
            entries: self
                .config
                .entries
                .iter()
                .zip(&self.hits)
                .map(|(e, &matches)| AclEntryStatus {
                    seq: e.seq,
                    text: e.to_string(),
                    matches,
                })
                .collect(),
            implicit_deny_matches: self.implicit_deny,
        }
    }
}

/// `show ip access-lists` data for one ACL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclStatus {
    /// ACL name.
    pub name: String,
    /// Entries with their hit counts.
    pub entries: Vec<AclEntryStatus>,
    /// Packets denied by the implicit deny at the end.
    pub implicit_deny_matches: u64,
}

/// One ACL entry and its hit count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclEntryStatus {
    /// Sequence number.
    pub seq: u32,
    /// The entry as text (`permit ip host 211.0.0.2 host 211.0.0.1`).
    pub text: String,
    /// Packets that matched it.
    pub matches: u64,
}

impl AclStatus {
    /// Adds the counters of `other` (the same ACL seen by another shard) into `self`.
    pub fn merge(&mut self, other: &Self) {
        for (a, b) in self.entries.iter_mut().zip(&other.entries) {
            if a.seq == b.seq {
                a.matches += b.matches;
            }
        }
        self.implicit_deny_matches += other.implicit_deny_matches;
    }

    /// Merges per-shard lists into one list (matching ACLs by name).
    pub fn merge_shards(shards: impl IntoIterator<Item = Vec<Self>>) -> Vec<Self> {
        let mut out: Vec<Self> = Vec::new();
        for list in shards {
            for acl in list {
                match out.iter_mut().find(|a| a.name == acl.name) {
                    Some(a) => a.merge(&acl),
                    None => out.push(acl),
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
