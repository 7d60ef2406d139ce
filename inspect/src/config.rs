//! The engine's configuration: inspection rules, interface bindings, ACLs and global timers.
//!
//! This is plain data (serde) built by the CLI from the running configuration. Interfaces are referred to
//! by their position in [`EngineConfig::interfaces`] (a `u16`), which is also the interface index the data
//! plane passes to [`Engine::process`](crate::Engine::process) and the `interface` of a
//! [`SessionRecord`](crate::record::SessionRecord); both routers of an HA pair must list their interfaces in
//! the same order.

use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Serialize};

use crate::record::L4Proto;

/// Default `ip inspect tcp idle-time` (seconds).
pub const DEFAULT_TCP_IDLE_S: u32 = 3600;
/// Default `ip inspect tcp synwait-time` (seconds).
pub const DEFAULT_TCP_SYNWAIT_S: u32 = 30;
/// Default `ip inspect tcp finwait-time` (seconds).
pub const DEFAULT_TCP_FINWAIT_S: u32 = 5;
/// Default `ip inspect udp idle-time` (seconds).
pub const DEFAULT_UDP_IDLE_S: u32 = 30;
/// Default `ip inspect redundancy update seconds`.
pub const DEFAULT_HA_UPDATE_S: u32 = 10;
/// Default hard cap on the sessions of one engine shard.
pub const DEFAULT_MAX_SESSIONS: u32 = 2_000_000;

/// One protocol of an inspection rule: `ip inspect name NAME tcp|udp [timeout S]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleProtocol {
    /// TCP or UDP (other values are ignored by the engine).
    pub proto: L4Proto,
    /// Idle timeout overriding the global idle time for sessions of this rule.
    pub timeout_s: Option<u32>,
}

/// `ip inspect name NAME ...`: a named set of inspected protocols.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InspectRule {
    /// Rule name.
    pub name: String,
    /// Inspected protocols.
    pub protocols: Vec<RuleProtocol>,
}

/// `ip inspect NAME in|out [redundancy stateful GROUP]` on an interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceInspect {
    /// Name of the inspection rule.
    pub rule: String,
    /// HSRP group name when the sessions are HA sessions (`redundancy stateful GROUP`).
    pub redundancy_group: Option<String>,
}

/// The inspect/ACL view of one interface.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceConfig {
    /// Interface name as configured (`Ethernet1/0`, `eth1`).
    pub name: String,
    /// `ip inspect NAME in`.
    pub inspect_in: Option<InterfaceInspect>,
    /// `ip inspect NAME out`.
    pub inspect_out: Option<InterfaceInspect>,
    /// `ip access-group NAME in`.
    pub acl_in: Option<String>,
    /// `ip access-group NAME out`.
    pub acl_out: Option<String>,
}

/// permit or deny.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AclAction {
    /// permit.
    Permit,
    /// deny.
    Deny,
}

/// Protocol of an ACL entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AclProto {
    /// `ip`: any protocol.
    Ip,
    /// `tcp`.
    Tcp,
    /// `udp`.
    Udp,
    /// `icmp` (also matches ICMPv6).
    Icmp,
    /// A protocol number 0–255.
    Number(u8),
}

/// Address part of an ACL entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AddrMatch {
    /// `any` (matches IPv4 and IPv6).
    Any,
    /// `host A`.
    Host(IpAddr),
    /// `A WILDCARD` (IPv4 only): bits set in the wildcard are "don't care".
    Wildcard {
        /// Base address.
        addr: Ipv4Addr,
        /// Wildcard (inverse) mask.
        wildcard: Ipv4Addr,
    },
}

/// Port part of an ACL entry (TCP/UDP entries only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PortMatch {
    /// No port condition.
    Any,
    /// `eq P`.
    Eq(u16),
    /// `neq P`.
    Neq(u16),
    /// `gt P`.
    Gt(u16),
    /// `lt P`.
    Lt(u16),
    /// `range A B` (inclusive).
    Range(u16, u16),
}

/// One `permit|deny PROTO SRC [PORT] DST [PORT] [established] [log]` line of an extended ACL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclEntry {
    /// Sequence number (10, 20, ... when not given).
    pub seq: u32,
    /// permit or deny.
    pub action: AclAction,
    /// Protocol.
    pub proto: AclProto,
    /// Source address.
    pub src: AddrMatch,
    /// Source port condition.
    pub src_port: PortMatch,
    /// Destination address.
    pub dst: AddrMatch,
    /// Destination port condition.
    pub dst_port: PortMatch,
    /// `established` (TCP entries only): matches segments with ACK or RST set.
    #[serde(default)]
    pub established: bool,
    /// `log`: a matching packet is logged (`%SEC-6-IPACCESSLOG*`, rate-limited per flow).
    #[serde(default)]
    pub log: bool,
}

/// `ip access-list extended NAME`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclConfig {
    /// ACL name.
    pub name: String,
    /// Entries in sequence order.
    pub entries: Vec<AclEntry>,
}

/// Everything the engine needs from the running configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineConfig {
    /// Inspection rules.
    pub rules: Vec<InspectRule>,
    /// Interfaces; the position is the interface index.
    pub interfaces: Vec<InterfaceConfig>,
    /// Extended ACLs.
    pub acls: Vec<AclConfig>,
    /// `ip inspect tcp idle-time`.
    pub tcp_idle_s: u32,
    /// `ip inspect tcp synwait-time`.
    pub tcp_synwait_s: u32,
    /// `ip inspect tcp finwait-time`.
    pub tcp_finwait_s: u32,
    /// `ip inspect udp idle-time`.
    pub udp_idle_s: u32,
    /// `ip inspect max-incomplete high N` (None = unlimited): new sessions are refused once this many are
    /// half-open ...
    pub max_incomplete_high: Option<u32>,
    /// `ip inspect max-incomplete low N`: ... until the half-open count falls back below this.
    pub max_incomplete_low: Option<u32>,
    /// Hard cap on sessions per engine shard (memory bound against floods).
    pub max_sessions: u32,
    /// `ip inspect audit-trail`.
    pub audit_trail: bool,
    /// `ip inspect redundancy update seconds N`.
    pub ha_update_interval_s: u32,
    /// Index of this engine among the data plane's shards (HA ids are `slot * shard_count + shard_index`).
    pub shard_index: u32,
    /// Number of shards (at least 1).
    pub shard_count: u32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            rules: Vec::new(),
            interfaces: Vec::new(),
            acls: Vec::new(),
            tcp_idle_s: DEFAULT_TCP_IDLE_S,
            tcp_synwait_s: DEFAULT_TCP_SYNWAIT_S,
            tcp_finwait_s: DEFAULT_TCP_FINWAIT_S,
            udp_idle_s: DEFAULT_UDP_IDLE_S,
            max_incomplete_high: None,
            max_incomplete_low: None,
            max_sessions: DEFAULT_MAX_SESSIONS,
            audit_trail: false,
            ha_update_interval_s: DEFAULT_HA_UPDATE_S,
            shard_index: 0,
            shard_count: 1,
        }
    }
}

impl EngineConfig {
    /// Index of the interface called `name`.
    pub fn interface_index(&self, name: &str) -> Option<u16> {
        self.interfaces
            .iter()
            .position(|i| i.name == name)
            .and_then(|p| u16::try_from(p).ok())
    }
}
