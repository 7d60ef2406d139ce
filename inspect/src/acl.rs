//! Extended ACL matching with hit counters.
//!
//! Entries are tried in order; the first match decides; a packet matching no entry is denied (the
//! implicit deny, counted separately). Matching rules:
//! * `ip` matches every protocol; `icmp` matches ICMP and ICMPv6; a number matches that protocol.
//! * `any` matches IPv4 and IPv6 addresses; `host A` matches exactly A; `A WILDCARD` matches IPv4 only.
//! * Port conditions apply to TCP and UDP entries. A non-first fragment has no ports: an entry with a port
//!   condition never matches it, an entry without one matches it on addresses and protocol.
//! * `established` (TCP entries) matches segments with ACK or RST set; like a port condition it never
//!   matches a non-first fragment.
//! * Ports print by name where IOS has one for the entry's protocol ([`ports`]); `log` entries emit
//!   `%SEC-6-IPACCESSLOG*` lines, rate-limited per flow (the `log` module).

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::config::{AclAction, AclConfig, AclEntry, AclProto, AddrMatch, PortMatch};
use crate::wire::{L4Info, PacketInfo, TcpFlags, ip_proto};

mod log;
pub mod ports;

use log::LogCache;
pub use log::{LOG_INTERVAL_MS, MAX_LOG_FLOWS};

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
        if !has_ports && !self.established {
            return true;
        }
        let (sp, dp) = match pkt.l4 {
            L4Info::Tcp(t) => {
                if self.established && t.flags.0 & (TcpFlags::ACK | TcpFlags::RST) == 0 {
                    return false;
                }
                (t.src_port, t.dst_port)
            }
            // `established` exists on TCP entries only; on anything else it never matches.
            _ if self.established => return false,
            L4Info::Udp { src_port, dst_port } => (src_port, dst_port),
            _ => return false,
        };
        self.src_port.matches(sp) && self.dst_port.matches(dp)
    }

    /// The IP protocol whose port names this entry's ports print with (TCP or UDP entries).
    fn port_proto(&self) -> u8 {
        match self.proto {
            AclProto::Tcp => ip_proto::TCP,
            AclProto::Udp => ip_proto::UDP,
            AclProto::Number(n) => n,
            AclProto::Ip | AclProto::Icmp => 0,
        }
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

/// A port condition as IOS prints it in an entry of protocol `proto`: ` eq www`, ` range 1024 65535`.
struct NamedPorts(PortMatch, u8);

impl fmt::Display for NamedPorts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self(m, proto) = *self;
        let p = |port| ports::display_port(proto, port);
        match m {
            PortMatch::Any => Ok(()),
            PortMatch::Eq(a) => write!(f, " eq {}", p(a)),
            PortMatch::Neq(a) => write!(f, " neq {}", p(a)),
            PortMatch::Gt(a) => write!(f, " gt {}", p(a)),
            PortMatch::Lt(a) => write!(f, " lt {}", p(a)),
            PortMatch::Range(a, b) => write!(f, " range {} {}", p(a), p(b)),
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
    /// The entry as `show ip access-lists` prints it, without the sequence number, ports by name where
    /// IOS has one: `permit tcp host 10.0.0.10 any eq telnet established log`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let action = match self.action {
            AclAction::Permit => "permit",
            AclAction::Deny => "deny",
        };
        let proto = self.port_proto();
        write!(
            f,
            "{action} {} {}{} {}{}",
            self.proto,
            self.src,
            NamedPorts(self.src_port, proto),
            self.dst,
            NamedPorts(self.dst_port, proto)
        )?;
        if self.established {
            f.write_str(" established")?;
        }
        if self.log {
            f.write_str(" log")?;
        }
        Ok(())
    }
}

/// An ACL ready for matching, with its counters.
#[derive(Clone, Debug)]
pub(crate) struct CompiledAcl {
    pub(crate) config: AclConfig,
    pub(crate) hits: Vec<u64>,
    pub(crate) implicit_deny: u64,
    /// Some entry has `log`.
    logging: bool,
    log: LogCache,
}

impl CompiledAcl {
    pub(crate) fn new(config: AclConfig) -> Self {
        let hits = vec![0; config.entries.len()];
        let logging = config.entries.iter().any(|e| e.log);
        let log = LogCache::new(config.entries.len());
        Self {
            config,
            hits,
            implicit_deny: 0,
            logging,
            log,
        }
    }

    /// Judges `pkt` at `now_ms` (the engine's clock), counting the hit; a `log` entry queues its line
    /// (taken with [`take_log_lines`](Self::take_log_lines)).
    pub(crate) fn judge(&mut self, pkt: &PacketInfo, now_ms: u64) -> AclAction {
        self.roll_logs(now_ms);
        for (i, e) in self.config.entries.iter().enumerate() {
            if e.matches(pkt) {
                if let Some(h) = self.hits.get_mut(i) {
                    *h += 1;
                }
                if e.log {
                    self.log.packet(&self.config.name, &self.config.entries, i, pkt);
                }
                return e.action;
            }
        }
        self.implicit_deny += 1;
        AclAction::Deny
    }

    /// When this ACL's pending log summaries fall due (engine milliseconds), if any.
    pub(crate) fn log_summary_due_ms(&self) -> Option<u64> {
        self.log.summary_due_ms()
    }

    /// Emits the log summaries that are due at `now_ms` (taken with [`take_log_lines`](Self::take_log_lines)).
    pub(crate) fn roll_logs(&mut self, now_ms: u64) {
        if self.logging {
            self.log.roll(&self.config.name, &self.config.entries, now_ms);
        }
    }

    /// The log lines queued by [`judge`](Self::judge) (no allocation when there are none).
    pub(crate) fn take_log_lines(&mut self) -> Vec<String> {
        std::mem::take(&mut self.log.pending)
    }

    /// Flows tracked for logging now (bounded by [`MAX_LOG_FLOWS`]).
    #[cfg(test)]
    pub(crate) fn tracked_log_flows(&self) -> usize {
        self.log.tracked_flows()
    }

    pub(crate) fn clear_counters(&mut self) {
        self.hits.iter_mut().for_each(|h| *h = 0);
        self.implicit_deny = 0;
        self.log.clear_counters();
    }

    pub(crate) fn status(&self) -> AclStatus {
        AclStatus {
            name: self.config.name.clone(),
            entries: self
                .config
                .entries
                .iter()
                .zip(&self.hits)
                .enumerate()
                .map(|(i, (e, &matches))| AclEntryStatus {
                    seq: e.seq,
                    text: e.to_string(),
                    matches,
                    logged: self.log.logged.get(i).copied().unwrap_or(0),
                    log_suppressed: self.log.suppressed.get(i).copied().unwrap_or(0),
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
    /// `log` entries: packets logged with a line of their own (the first packet of each flow).
    #[serde(default)]
    pub logged: u64,
    /// `log` entries: packets counted but not logged on their own (repeats of a logged flow, summarised
    /// every 5 minutes, and packets of flows beyond the tracking limit).
    #[serde(default)]
    pub log_suppressed: u64,
}

impl AclStatus {
    /// Adds the counters of `other` (the same ACL seen by another shard) into `self`.
    pub fn merge(&mut self, other: &Self) {
        for (a, b) in self.entries.iter_mut().zip(&other.entries) {
            if a.seq == b.seq {
                a.matches += b.matches;
                a.logged += b.logged;
                a.log_suppressed += b.log_suppressed;
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
