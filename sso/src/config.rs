//! Inputs the integrator builds from the running configuration: the manager's own settings
//! ([`SsoConfig`]) and the summary of the HA-relevant configuration exchanged with the peer
//! ([`HaConfigSummary`]), plus the small value types shared by the API.

use std::fmt;

use serde::{Deserialize, Serialize};
use timebase::Duration;

/// Default interval between state messages to the peer.
pub const DEFAULT_HELLO_INTERVAL: Duration = Duration::from_secs(1);
/// Default number of hello intervals of silence after which the peer is declared lost.
pub const DEFAULT_PEER_DEAD_INTERVALS: u32 = 3;
/// Default delay before a failed client bulk synchronization is retried.
pub const DEFAULT_BULK_RETRY: Duration = Duration::from_secs(2);
/// Default time a client may take for one bulk synchronization before it counts as failed.
pub const DEFAULT_BULK_TIMEOUT: Duration = Duration::from_secs(60);
/// Default number of entries kept in `show redundancy history`.
pub const DEFAULT_HISTORY_LEN: usize = 64;
/// Default time a peer's planned-switchover notice stays valid.
pub const DEFAULT_SWITCHOVER_NOTICE_VALIDITY: Duration = Duration::from_secs(30);

/// Settings of the redundancy manager (`redundancy inter-device` / `scheme standby NAME` and plugin knobs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoConfig {
    /// The HSRP group name given by `scheme standby NAME`.
    pub scheme_group: String,
    /// Software version string of this build (compared with the peer's).
    pub software_version: String,
    /// A random value chosen at daemon start; a change in the peer's value means the peer restarted.
    pub boot_id: u64,
    /// Interval between state messages.
    pub hello_interval: Duration,
    /// Hello intervals of silence after which the peer is lost.
    pub peer_dead_intervals: u32,
    /// Delay before a failed client bulk synchronization is retried.
    pub bulk_retry: Duration,
    /// Time a client may take for one bulk synchronization.
    pub bulk_timeout: Duration,
    /// Entries kept in the history ring.
    pub history_len: usize,
    /// Whether the IPC association is authenticated (`security key`), shown by `show redundancy inter-device`.
    pub security_configured: bool,
    /// How long a planned-switchover notice from the peer is remembered.
    pub switchover_notice_validity: Duration,
}

impl SsoConfig {
    /// Defaults for every knob but the scheme group, version and boot id.
    pub fn new(scheme_group: impl Into<String>, software_version: impl Into<String>, boot_id: u64) -> Self {
        Self {
            scheme_group: scheme_group.into(),
            software_version: software_version.into(),
            boot_id,
            hello_interval: DEFAULT_HELLO_INTERVAL,
            peer_dead_intervals: DEFAULT_PEER_DEAD_INTERVALS,
            bulk_retry: DEFAULT_BULK_RETRY,
            bulk_timeout: DEFAULT_BULK_TIMEOUT,
            history_len: DEFAULT_HISTORY_LEN,
            security_configured: false,
            switchover_notice_validity: DEFAULT_SWITCHOVER_NOTICE_VALIDITY,
        }
    }

    /// Silence after which the peer is declared lost.
    pub fn peer_dead_time(&self) -> Duration {
        self.hello_interval
            .saturating_mul(u64::from(self.peer_dead_intervals.max(1)))
    }
}

/// The role of the scheme's HSRP group, as the HSRP core reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HsrpRole {
    /// HSRP Active: this unit must be RF ACTIVE.
    Active,
    /// HSRP Standby.
    Standby,
    /// Any other HSRP state.
    Other(OtherHsrpState),
}

/// HSRP states other than Active and Standby.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OtherHsrpState {
    /// Init (interface down, delay, not configured).
    Init,
    /// Learn.
    Learn,
    /// Listen.
    Listen,
    /// Speak.
    Speak,
}

impl HsrpRole {
    /// HSRP v1 state code, used on the wire (Init 0, Learn 1, Listen 2, Speak 4, Standby 8, Active 16).
    pub const fn code(self) -> u8 {
        match self {
            Self::Other(OtherHsrpState::Init) => 0,
            Self::Other(OtherHsrpState::Learn) => 1,
            Self::Other(OtherHsrpState::Listen) => 2,
            Self::Other(OtherHsrpState::Speak) => 4,
            Self::Standby => 8,
            Self::Active => 16,
        }
    }

    /// The role with HSRP v1 state code `code`.
    pub const fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::Other(OtherHsrpState::Init),
            1 => Self::Other(OtherHsrpState::Learn),
            2 => Self::Other(OtherHsrpState::Listen),
            4 => Self::Other(OtherHsrpState::Speak),
            8 => Self::Standby,
            16 => Self::Active,
            _ => return None,
        })
    }

    /// The IOS spelling (`Active`, `Speak`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Standby => "Standby",
            Self::Other(OtherHsrpState::Init) => "Init",
            Self::Other(OtherHsrpState::Learn) => "Learn",
            Self::Other(OtherHsrpState::Listen) => "Listen",
            Self::Other(OtherHsrpState::Speak) => "Speak",
        }
    }
}

impl fmt::Display for HsrpRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A redundancy client (the IOS RF/CF client idea), e.g. the inspect HA sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClientId(pub u16);

impl ClientId {
    /// The inspect HA session sync (`FW HA`).
    pub const FIREWALL_HA: Self = Self(1);
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Direction of an `ip inspect NAME in|out` binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Direction {
    /// `in`
    In,
    /// `out`
    Out,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::In => "in",
            Self::Out => "out",
        })
    }
}

/// One `ip inspect NAME in|out [redundancy stateful GROUP]` binding on an interface.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HaInterface {
    /// Interface name as configured (`Ethernet1/0`).
    pub name: String,
    /// Inspection direction.
    pub direction: Direction,
    /// Inspect rule name (`ha-protocols`).
    pub rule: String,
    /// Protocols of the rule (`tcp`, `udp`, ...), any order.
    pub protocols: Vec<String>,
    /// HSRP group name from `redundancy stateful GROUP`, if configured.
    pub redundancy_group: Option<String>,
}

/// The HA-relevant configuration of one router, exchanged with the peer and compared with the peer's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HaConfigSummary {
    /// The scheme's HSRP group name.
    pub scheme_group: String,
    /// Inspect bindings (only those relevant to HA, or all of them: both work).
    pub interfaces: Vec<HaInterface>,
    /// `ip inspect redundancy update seconds N`.
    pub update_interval_s: u16,
    /// Virtual IPs of the standby groups, as text.
    pub virtual_ips: Vec<String>,
}

impl HaConfigSummary {
    /// A copy with every list sorted and deduplicated, so that equal configurations encode equally.
    pub fn normalized(&self) -> Self {
        let mut s = self.clone();
        for i in &mut s.interfaces {
            i.protocols.sort();
            i.protocols.dedup();
        }
        s.interfaces.sort();
        s.interfaces.dedup();
        s.virtual_ips.sort();
        s.virtual_ips.dedup();
        s
    }

    /// A 16-byte digest of the normalized summary (SHA-256 of its wire encoding, truncated).
    pub fn digest(&self) -> Digest {
        use sha2::{Digest as _, Sha256};
        let mut buf = Vec::new();
        crate::wire::encode_summary(&self.normalized(), &mut buf);
        let full = Sha256::digest(&buf);
        let mut d = [0u8; 16];
        d.copy_from_slice(&full[..16]);
        Digest(d)
    }
}

/// A configuration digest; all zeros means "none".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Digest(pub [u8; 16]);

impl Digest {
    /// The "no digest known" value.
    pub const NONE: Self = Self([0; 16]);

    /// Whether this is [`Digest::NONE`].
    pub fn is_none(&self) -> bool {
        *self == Self::NONE
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0[..8] {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}
