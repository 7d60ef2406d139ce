//! The configuration model: plain data that the command tree edits, `validate` checks as a whole candidate and
//! `render` prints as IOS text (`show running-config`, `write memory`).
//!
//! Every struct is serde `Serialize + Deserialize` with `#[serde(default)]`, so `show running-config --json` is
//! `serde_json::to_value(&Config)` and the field names below are a public interface (documented in
//! `docs/cli-language.md`). Defaults live in [`defaults`]; a value equal to its default is not rendered.
//! Where a config was loaded from a file, [`Origins`] remembers the line of every object so problems can name
//! the lines involved; origins never take part in equality or serialization.

mod render;
mod track;
mod validate;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

pub use render::{render, render_acl_rule};
pub use track::track_warnings;
pub use validate::{Problem, validate};

/// Defaults and ranges of every configurable value, in one place.
pub mod defaults {
    /// `standby [N] priority` default.
    pub const STANDBY_PRIORITY: u8 = 100;
    /// `standby [N] track IF decrement` default.
    pub const TRACK_DECREMENT: u8 = 10;
    /// HSRP hello time (seconds) when `standby timers` is not configured.
    pub const STANDBY_HELLO_SECS: u32 = 3;
    /// HSRP hold time (seconds) when `standby timers` is not configured.
    pub const STANDBY_HOLD_SECS: u32 = 10;
    /// `standby version` default.
    pub const STANDBY_VERSION: u8 = 1;
    /// Highest group number with HSRP version 1.
    pub const STANDBY_GROUP_MAX_V1: u16 = 255;
    /// Highest group number with HSRP version 2.
    pub const STANDBY_GROUP_MAX_V2: u16 = 4095;
    /// Default HSRP text authentication string (RFC 2281).
    pub const STANDBY_AUTH_TEXT: &str = "cisco";
    /// `retransmit-timeout` minimum default (ms).
    pub const SCTP_RTO_MIN_MS: u32 = 300;
    /// `retransmit-timeout` maximum default (ms).
    pub const SCTP_RTO_MAX_MS: u32 = 600;
    /// Lowest allowed `retransmit-timeout` value (ms).
    pub const SCTP_RTO_LOWEST_MS: u32 = 300;
    /// Highest allowed `retransmit-timeout` value (ms).
    pub const SCTP_RTO_HIGHEST_MS: u32 = 60_000;
    /// `path-retransmit` default.
    pub const SCTP_PATH_RETRANSMIT: u8 = 4;
    /// `assoc-retransmit` default.
    pub const SCTP_ASSOC_RETRANSMIT: u8 = 4;
    /// `ip inspect tcp idle-time` default (s).
    pub const INSPECT_TCP_IDLE_SECS: u32 = 3600;
    /// `ip inspect udp idle-time` default (s).
    pub const INSPECT_UDP_IDLE_SECS: u32 = 30;
    /// `ip inspect tcp synwait-time` default (s).
    pub const INSPECT_TCP_SYNWAIT_SECS: u32 = 30;
    /// `ip inspect tcp finwait-time` default (s).
    pub const INSPECT_TCP_FINWAIT_SECS: u32 = 5;
    /// `ip inspect redundancy update seconds` default.
    pub const INSPECT_HA_UPDATE_SECS: u32 = 10;
    /// `ip inspect dataplane queue` default (NFQUEUE number).
    pub const INSPECT_DATAPLANE_QUEUE: u16 = 0;
    /// `ip inspect dataplane queue N workers` default.
    pub const INSPECT_DATAPLANE_WORKERS: u8 = 1;
    /// Sequence step of extended ACL entries entered without a number.
    pub const ACL_SEQUENCE_STEP: u32 = 10;
}

/// The whole configuration of one router.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug, Default)]
#[serde(default)]
pub struct Config {
    /// `hostname NAME`; empty means "Router".
    pub hostname: String,
    /// `interface NAME` blocks in configuration order.
    pub interfaces: Vec<Interface>,
    /// `redundancy inter-device` block.
    pub redundancy: Option<RedundancyInterDevice>,
    /// `ipc zone default` block.
    pub ipc: Option<IpcZone>,
    /// Global `ip inspect ...` settings and the inspection rules.
    pub inspect: InspectGlobal,
    /// `ip access-list extended NAME` blocks.
    pub access_lists: Vec<AccessList>,
    /// `track N interface IF line-protocol` objects, by number.
    pub track_objects: Vec<TrackObject>,
    /// Source lines of the objects (not serialized, ignored by equality).
    #[serde(skip)]
    pub origins: Origins,
}

impl Config {
    /// The hostname used in prompts (`Router` when none is configured).
    pub fn prompt_name(&self) -> &str {
        if self.hostname.is_empty() {
            "Router"
        } else {
            &self.hostname
        }
    }
    /// The interface with this (canonical) name.
    pub fn interface(&self, name: &str) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.name == name)
    }
    /// The interface with this name, created at the end when missing.
    pub fn interface_mut(&mut self, name: &str) -> &mut Interface {
        let index = match self.interfaces.iter().position(|i| i.name == name) {
            Some(index) => index,
            None => {
                self.interfaces.push(Interface {
                    name: name.to_string(),
                    ..Interface::default()
                });
                self.interfaces.len() - 1
            }
        };
        &mut self.interfaces[index]
    }
    /// The tracking object with this number.
    pub fn track_object(&self, number: u16) -> Option<&TrackObject> {
        self.track_objects.iter().find(|t| t.number == number)
    }
    /// The extended access list with this name.
    pub fn access_list(&self, name: &str) -> Option<&AccessList> {
        self.access_lists.iter().find(|a| a.name == name)
    }
    /// Every standby group with the interface it is configured on.
    pub fn standby_groups(&self) -> impl Iterator<Item = (&Interface, &StandbyGroup)> {
        self.interfaces
            .iter()
            .flat_map(|i| i.standby.groups.iter().map(move |g| (i, g)))
    }
    /// The standby group whose `standby N name` is `name`.
    pub fn standby_group_named(&self, name: &str) -> Option<(&Interface, &StandbyGroup)> {
        self.standby_groups()
            .find(|(_, g)| g.name.as_deref() == Some(name))
    }
}

/// Source line numbers of configuration objects, keyed by an object path such as
/// `interface Ethernet0/0 standby 1 ip`. Always equal to any other `Origins`.
#[derive(Clone, Debug, Default)]
pub struct Origins(pub BTreeMap<String, usize>);

impl PartialEq for Origins {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}
impl Eq for Origins {}

impl Origins {
    /// Remembers the first line that configured `key`.
    pub fn note(&mut self, key: String, line: usize) {
        self.0.insert(key, line);
    }
    /// The line of `key`, if it was loaded from a file.
    pub fn line(&self, key: &str) -> Option<usize> {
        self.0.get(key).copied()
    }
}

/// An IPv4 address with its mask (`ip address A M`).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
pub struct Ipv4Prefix {
    /// The interface address.
    pub address: Ipv4Addr,
    /// The dotted netmask.
    pub mask: Ipv4Addr,
}

impl Ipv4Prefix {
    /// Network address (address AND mask).
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.address) & u32::from(self.mask))
    }
    /// Whether `ip` lies in this subnet.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & u32::from(self.mask) == u32::from(self.network())
    }
    /// Prefix length when the mask is contiguous.
    pub fn prefix_len(&self) -> Option<u32> {
        let m = u32::from(self.mask);
        let len = m.leading_ones();
        (m.checked_shl(len).unwrap_or(0) == 0).then_some(len)
    }
}

/// One `interface NAME` block.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug, Default)]
#[serde(default)]
pub struct Interface {
    /// Canonical name (`Ethernet0/0`) or a Linux name (`eth0`).
    pub name: String,
    /// `ip address A M`.
    pub address: Option<Ipv4Prefix>,
    /// `shutdown`.
    pub shutdown: bool,
    /// Interface-wide and per-group HSRP settings.
    pub standby: StandbyInterface,
    /// `ip inspect NAME in [redundancy stateful GROUP]`.
    pub inspect_in: Option<InspectBinding>,
    /// `ip inspect NAME out [redundancy stateful GROUP]`.
    pub inspect_out: Option<InspectBinding>,
    /// `ip access-group NAME in`.
    pub access_group_in: Option<String>,
    /// `ip access-group NAME out`.
    pub access_group_out: Option<String>,
}

/// HSRP configuration of one interface.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(default)]
pub struct StandbyInterface {
    /// `standby version 1|2`.
    pub version: u8,
    /// `standby use-bia`.
    pub use_bia: bool,
    /// `standby delay minimum S reload S`.
    pub delay: Option<StandbyDelay>,
    /// Groups ordered by number.
    pub groups: Vec<StandbyGroup>,
}

impl Default for StandbyInterface {
    fn default() -> Self {
        Self {
            version: defaults::STANDBY_VERSION,
            use_bia: false,
            delay: None,
            groups: Vec::new(),
        }
    }
}

impl StandbyInterface {
    /// The group with this number, created (in number order) when missing.
    pub fn group_mut(&mut self, number: u16) -> &mut StandbyGroup {
        let index = match self.groups.binary_search_by_key(&number, |g| g.group) {
            Ok(i) => i,
            Err(i) => {
                self.groups.insert(i, StandbyGroup::new(number));
                i
            }
        };
        &mut self.groups[index]
    }
}

/// `standby delay minimum S reload S` (seconds).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Default)]
#[serde(default)]
pub struct StandbyDelay {
    /// Delay after an interface comes up.
    pub minimum: u32,
    /// Delay after the daemon starts.
    pub reload: u32,
}

/// One HSRP group (`standby N ...`).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(default)]
pub struct StandbyGroup {
    /// Group number (0 when the command omitted it).
    pub group: u16,
    /// Primary virtual IP (`standby N ip A`).
    pub ip: Option<Ipv4Addr>,
    /// Secondary virtual IPs (`standby N ip A secondary`).
    pub secondary_ips: Vec<Ipv4Addr>,
    /// `standby N priority P`.
    pub priority: u8,
    /// `standby N preempt ...`; None = no preemption.
    pub preempt: Option<Preempt>,
    /// `standby N track IF [decrement D]`.
    pub tracks: Vec<Track>,
    /// `standby N timers ...`; None = defaults (3 s / 10 s, or learned).
    pub timers: Option<StandbyTimers>,
    /// `standby N authentication ...`; None = default text "cisco".
    pub authentication: Option<StandbyAuth>,
    /// `standby N name NAME`.
    pub name: Option<String>,
    /// `standby N mac-address H.H.H` (lower-case dotted form).
    pub mac_address: Option<String>,
}

impl StandbyGroup {
    /// A group with every setting at its default.
    pub fn new(group: u16) -> Self {
        Self {
            group,
            ip: None,
            secondary_ips: Vec::new(),
            priority: defaults::STANDBY_PRIORITY,
            preempt: None,
            tracks: Vec::new(),
            timers: None,
            authentication: None,
            name: None,
            mac_address: None,
        }
    }
}

impl Default for StandbyGroup {
    fn default() -> Self {
        Self::new(0)
    }
}

/// `standby N preempt [delay [minimum S] [reload S] [sync S]]` (seconds).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Default)]
#[serde(default)]
pub struct Preempt {
    /// `delay minimum S`.
    pub delay_minimum: Option<u32>,
    /// `delay reload S`.
    pub delay_reload: Option<u32>,
    /// `delay sync S`.
    pub delay_sync: Option<u32>,
}

/// `standby N track IF [decrement D]` or `standby N track OBJECT [decrement D | shutdown]`.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug, Default)]
#[serde(default)]
pub struct Track {
    /// Tracked interface (canonical name); empty when an object is tracked.
    pub interface: String,
    /// Tracking object number (`track N ...`), when an object is tracked instead of an interface.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<u16>,
    /// Priority decrement when the interface or object is down (default 10).
    pub decrement: u8,
    /// `shutdown` (objects only): the group goes to Init while the object is down.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub shutdown: bool,
}

/// `track N interface IF line-protocol` with its `delay up S down S`.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug, Default)]
#[serde(default)]
pub struct TrackObject {
    /// Object number (1-1000).
    pub number: u16,
    /// Interface whose line protocol the object follows (canonical name).
    pub interface: String,
    /// `delay up S` (0-180 s).
    pub delay_up: Option<u32>,
    /// `delay down S` (0-180 s).
    pub delay_down: Option<u32>,
}

/// One HSRP timer value as configured.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Default)]
#[serde(default)]
pub struct TimerValue {
    /// The number as typed.
    pub value: u32,
    /// Whether it was given with `msec` (else seconds).
    pub msec: bool,
}

impl TimerValue {
    /// The value in milliseconds.
    pub fn as_millis(&self) -> u64 {
        if self.msec {
            u64::from(self.value)
        } else {
            u64::from(self.value) * 1000
        }
    }
}

/// `standby N timers [msec] HELLO [msec] HOLD`.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Default)]
#[serde(default)]
pub struct StandbyTimers {
    /// Hello interval.
    pub hello: TimerValue,
    /// Hold time.
    pub hold: TimerValue,
}

/// HSRP authentication.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case", tag = "kind", content = "key")]
pub enum StandbyAuth {
    /// Plain text string (`authentication [text] STRING`).
    Text(String),
    /// MD5 with a key string (`authentication md5 key-string STRING`).
    Md5(String),
}

/// `redundancy inter-device`.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug, Default)]
#[serde(default)]
pub struct RedundancyInterDevice {
    /// `scheme standby NAME`: the HSRP group name SSO follows.
    pub scheme_standby: Option<String>,
    /// `security key STRING` (iosha extension): HMAC key of the IPC messages.
    pub security_key: Option<String>,
}

/// `ipc zone default`.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug, Default)]
#[serde(default)]
pub struct IpcZone {
    /// `association 1`.
    pub association: Option<IpcAssociation>,
}

/// `association N` under `ipc zone default`.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(default)]
pub struct IpcAssociation {
    /// Association id (IOS allows only 1).
    pub id: u32,
    /// `shutdown` / `no shutdown` (an association starts shut down).
    pub shutdown: bool,
    /// `protocol sctp` block.
    pub sctp: Option<SctpConfig>,
}

impl Default for IpcAssociation {
    fn default() -> Self {
        Self {
            id: 1,
            shutdown: true,
            sctp: None,
        }
    }
}

/// `protocol sctp` block.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug, Default)]
#[serde(default)]
pub struct SctpConfig {
    /// `local-port P` and its sub-mode.
    pub local: Option<SctpLocal>,
    /// `remote-port P` and its sub-mode.
    pub remote: Option<SctpRemote>,
}

/// How the SCTP association is carried (iosha extension, `transport` under `local-port`).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Default)]
#[serde(rename_all = "snake_case")]
pub enum SctpTransport {
    /// Kernel SCTP when available, else userspace over raw IP, else over UDP.
    #[default]
    Auto,
    /// Kernel SCTP sockets.
    Kernel,
    /// Userspace SCTP over raw IP protocol 132.
    Raw,
    /// Userspace SCTP over UDP port 9899 (RFC 6951).
    Udp,
}

impl SctpTransport {
    /// The keyword of the command.
    pub fn keyword(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Kernel => "kernel",
            Self::Raw => "raw",
            Self::Udp => "udp",
        }
    }
}

/// `local-port P` sub-mode.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(default)]
pub struct SctpLocal {
    /// Local SCTP port.
    pub port: u16,
    /// `local-ip A [B]`.
    pub ips: Vec<Ipv4Addr>,
    /// `retransmit-timeout MIN MAX` minimum (ms).
    pub retransmit_min_ms: u32,
    /// `retransmit-timeout MIN MAX` maximum (ms).
    pub retransmit_max_ms: u32,
    /// `path-retransmit N`.
    pub path_retransmit: u8,
    /// `assoc-retransmit N`.
    pub assoc_retransmit: u8,
    /// `transport auto|kernel|raw|udp`.
    pub transport: SctpTransport,
    /// `keepalive MS` heartbeat interval (iosha extension); None = transport default.
    pub keepalive_ms: Option<u32>,
}

impl Default for SctpLocal {
    fn default() -> Self {
        Self {
            port: 0,
            ips: Vec::new(),
            retransmit_min_ms: defaults::SCTP_RTO_MIN_MS,
            retransmit_max_ms: defaults::SCTP_RTO_MAX_MS,
            path_retransmit: defaults::SCTP_PATH_RETRANSMIT,
            assoc_retransmit: defaults::SCTP_ASSOC_RETRANSMIT,
            transport: SctpTransport::Auto,
            keepalive_ms: None,
        }
    }
}

/// `remote-port P` sub-mode.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug, Default)]
#[serde(default)]
pub struct SctpRemote {
    /// Remote SCTP port.
    pub port: u16,
    /// `remote-ip X [Y]`.
    pub ips: Vec<Ipv4Addr>,
}

/// L4 protocol of an inspection rule entry.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum InspectProtocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl InspectProtocol {
    /// The keyword of the command.
    pub fn keyword(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
        }
    }
}

/// One `ip inspect name NAME PROTO [timeout S]` line.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
pub struct InspectRuleEntry {
    /// Protocol inspected.
    pub protocol: InspectProtocol,
    /// Idle timeout override (s).
    pub timeout: Option<u32>,
}

/// An inspection rule (all `ip inspect name NAME ...` lines with the same NAME).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug, Default)]
#[serde(default)]
pub struct InspectRule {
    /// Rule name.
    pub name: String,
    /// Protocol entries, in configuration order, one per protocol.
    pub entries: Vec<InspectRuleEntry>,
}

/// `ip inspect NAME in|out [redundancy stateful GROUP]` on an interface.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug, Default)]
#[serde(default)]
pub struct InspectBinding {
    /// Inspection rule name.
    pub rule: String,
    /// HSRP group name whose sessions are synchronized to the standby.
    pub redundancy_group: Option<String>,
}

/// Global `ip inspect` settings.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(default)]
pub struct InspectGlobal {
    /// Inspection rules in configuration order.
    pub rules: Vec<InspectRule>,
    /// `ip inspect tcp idle-time S`.
    pub tcp_idle_time: u32,
    /// `ip inspect udp idle-time S`.
    pub udp_idle_time: u32,
    /// `ip inspect tcp synwait-time S`.
    pub tcp_synwait_time: u32,
    /// `ip inspect tcp finwait-time S`.
    pub tcp_finwait_time: u32,
    /// `ip inspect max-incomplete high N`.
    pub max_incomplete_high: Option<u32>,
    /// `ip inspect max-incomplete low N`.
    pub max_incomplete_low: Option<u32>,
    /// `ip inspect audit-trail`.
    pub audit_trail: bool,
    /// `ip inspect redundancy update seconds N`.
    pub redundancy_update_seconds: u32,
    /// `ip inspect dataplane queue N` (NFQUEUE number).
    pub dataplane_queue: u16,
    /// `ip inspect dataplane queue N workers W`.
    pub dataplane_workers: u8,
    /// `ip inspect dataplane fail-open`: forward unjudged packets when the engine is not running.
    pub dataplane_fail_open: bool,
}

impl Default for InspectGlobal {
    fn default() -> Self {
        Self {
            rules: Vec::new(),
            tcp_idle_time: defaults::INSPECT_TCP_IDLE_SECS,
            udp_idle_time: defaults::INSPECT_UDP_IDLE_SECS,
            tcp_synwait_time: defaults::INSPECT_TCP_SYNWAIT_SECS,
            tcp_finwait_time: defaults::INSPECT_TCP_FINWAIT_SECS,
            max_incomplete_high: None,
            max_incomplete_low: None,
            audit_trail: false,
            redundancy_update_seconds: defaults::INSPECT_HA_UPDATE_SECS,
            dataplane_queue: defaults::INSPECT_DATAPLANE_QUEUE,
            dataplane_workers: defaults::INSPECT_DATAPLANE_WORKERS,
            dataplane_fail_open: false,
        }
    }
}

impl InspectGlobal {
    /// The rule with this name.
    pub fn rule(&self, name: &str) -> Option<&InspectRule> {
        self.rules.iter().find(|r| r.name == name)
    }
}

/// `ip access-list extended NAME`.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug, Default)]
#[serde(default)]
pub struct AccessList {
    /// ACL name.
    pub name: String,
    /// Entries ordered by sequence number.
    pub entries: Vec<AclEntry>,
}

/// One numbered line of an extended ACL.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct AclEntry {
    /// Sequence number.
    pub sequence: u32,
    /// What the line says.
    #[serde(flatten)]
    pub line: AclLine,
}

/// An ACL line: a rule or a remark.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum AclLine {
    /// `remark TEXT`.
    Remark {
        /// The text.
        text: String,
    },
    /// `permit|deny PROTO SRC [PORT] DST [PORT] [established] [log]`.
    Rule(AclRule),
}

/// permit or deny.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum AclAction {
    /// permit.
    Permit,
    /// deny.
    Deny,
}

/// The protocol field of an ACL rule.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum AclProtocol {
    /// Any IP packet.
    Ip,
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP.
    Icmp,
    /// Another IP protocol number.
    Number(u8),
}

/// Source or destination of an ACL rule.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum AclAddress {
    /// `any`.
    Any,
    /// `host A`.
    Host(Ipv4Addr),
    /// `A WILDCARD`.
    Network {
        /// Base address.
        address: Ipv4Addr,
        /// Wildcard (inverse) mask.
        wildcard: Ipv4Addr,
    },
}

/// A port condition (TCP/UDP only).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum PortMatch {
    /// `eq P`.
    Eq(u16),
    /// `neq P`.
    Neq(u16),
    /// `gt P`.
    Gt(u16),
    /// `lt P`.
    Lt(u16),
    /// `range A B`.
    Range(u16, u16),
}

/// `permit|deny PROTO SRC [PORT] DST [PORT] [established] [log]` rule of an extended ACL. Ports are kept
/// as numbers (a port typed by name is stored as its number) and printed by name where IOS has one.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
pub struct AclRule {
    /// permit or deny.
    pub action: AclAction,
    /// Protocol.
    pub protocol: AclProtocol,
    /// Source.
    pub source: AclAddress,
    /// Source port condition.
    pub source_port: Option<PortMatch>,
    /// Destination.
    pub destination: AclAddress,
    /// Destination port condition.
    pub destination_port: Option<PortMatch>,
    /// `established` (TCP rules only): matches segments with ACK or RST set.
    #[serde(default)]
    pub established: bool,
    /// `log`: matching packets are logged (`%SEC-6-IPACCESSLOG*`, rate-limited per flow).
    #[serde(default)]
    pub log: bool,
}
