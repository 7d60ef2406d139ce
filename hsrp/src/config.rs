//! Validated configuration of standby groups, as the command model hands it to the core.
//!
//! The command language (`standby ...` under an interface) lives in the `cli` crate; it builds these
//! values and calls [`InterfaceConfig::validate`]. Defaults are named constants.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// Default priority.
pub const DEFAULT_PRIORITY: u8 = 100;
/// Default hello time (ms).
pub const DEFAULT_HELLO_MS: u32 = 3_000;
/// Default hold time (ms).
pub const DEFAULT_HOLD_MS: u32 = 10_000;
/// Default tracking decrement.
pub const DEFAULT_TRACK_DECREMENT: u8 = 10;
/// Default number of gratuitous ARPs sent on becoming Active.
pub const DEFAULT_GARP_COUNT: u8 = 3;

/// HSRP version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub enum Version {
    /// RFC 2281 (`standby version 1`, the default).
    #[default]
    V1,
    /// Cisco version 2 (`standby version 2`).
    V2,
}

impl Version {
    /// 1 or 2.
    pub const fn number(self) -> u8 {
        match self {
            Self::V1 => 1,
            Self::V2 => 2,
        }
    }

    /// Largest group number.
    pub const fn max_group(self) -> u16 {
        match self {
            Self::V1 => 255,
            Self::V2 => 4095,
        }
    }

    /// The default virtual MAC for `group`.
    pub const fn virtual_mac(self, group: u16) -> [u8; 6] {
        let g = group.to_be_bytes();
        match self {
            Self::V1 => [0x00, 0x00, 0x0c, 0x07, 0xac, g[1]],
            Self::V2 => [0x00, 0x00, 0x0c, 0x9f, 0xf0 | (g[0] & 0x0f), g[1]],
        }
    }
}

/// `standby N timers [msec] HELLO [msec] HOLD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimersConfig {
    /// Hello interval in ms.
    pub hello_ms: u32,
    /// Hold time in ms.
    pub hold_ms: u32,
}

/// `standby N preempt [delay {minimum S | reload S | sync S}]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PreemptConfig {
    /// Wait at least this long (s) after the group came up before preempting.
    pub minimum_s: u32,
    /// Delay (s) used instead of `minimum` the first time the group comes up after start.
    pub reload_s: Option<u32>,
    /// Longest time (s) to wait for the redundancy manager's hold before preempting anyway.
    pub sync_s: Option<u32>,
}

/// `standby N authentication ...`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthConfig {
    /// `authentication text STRING` (default `cisco`), at most 8 bytes.
    Text(String),
    /// `authentication md5 key-string STRING`.
    Md5 {
        /// The shared key.
        key: String,
        /// Key id carried in the TLV (0 for a key string).
        key_id: u32,
    },
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self::Text("cisco".to_owned())
    }
}

/// `standby N track INTERFACE [decrement D]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackConfig {
    /// Tracked interface (configuration name).
    pub interface: String,
    /// Priority decrement while it is down.
    pub decrement: u8,
}

/// One standby group on one interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupConfig {
    /// Group number.
    pub group: u16,
    /// Protocol version (`standby version`, interface-wide in IOS, kept per group here).
    pub version: Version,
    /// `standby N name NAME`.
    pub name: Option<String>,
    /// `standby N priority P`.
    pub priority: u8,
    /// `standby N preempt ...`.
    pub preempt: Option<PreemptConfig>,
    /// `standby N timers ...` (None: learn from the Active, else defaults).
    pub timers: Option<TimersConfig>,
    /// `standby N ip A` (None: learn from the Active).
    pub virtual_ip: Option<Ipv4Addr>,
    /// `standby N ip A secondary`.
    pub secondary_ips: Vec<Ipv4Addr>,
    /// `standby N authentication ...`.
    pub auth: AuthConfig,
    /// `standby N mac-address MAC`.
    pub mac_address: Option<[u8; 6]>,
    /// `standby use-bia`: use the interface's burned-in address as the virtual MAC.
    pub use_bia: bool,
    /// `standby N track ...`.
    pub track: Vec<TrackConfig>,
    /// `standby N track OBJECT [decrement D | shutdown]` (tracking objects, see [`crate::track`]).
    #[serde(default)]
    pub track_objects: Vec<crate::track::ObjectTrackConfig>,
    /// `standby arp gratuitous count N` (how many gratuitous ARPs on becoming Active).
    pub garp_count: u8,
}

impl GroupConfig {
    /// A group with IOS defaults.
    pub fn new(group: u16, version: Version) -> Self {
        Self {
            group,
            version,
            name: None,
            priority: DEFAULT_PRIORITY,
            preempt: None,
            timers: None,
            virtual_ip: None,
            secondary_ips: Vec::new(),
            auth: AuthConfig::default(),
            mac_address: None,
            use_bia: false,
            track: Vec::new(),
            track_objects: Vec::new(),
            garp_count: DEFAULT_GARP_COUNT,
        }
    }

    /// Checks ranges and cross-field rules.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let max = self.version.max_group();
        if self.group > max {
            return Err(ConfigError::GroupOutOfRange {
                group: self.group,
                version: self.version.number(),
                max,
            });
        }
        if let Some(t) = self.timers {
            let bad = |reason| ConfigError::BadTimers {
                hello_ms: t.hello_ms,
                hold_ms: t.hold_ms,
                reason,
            };
            if t.hello_ms < 15 {
                return Err(bad("hello below 15 msec"));
            }
            if t.hold_ms < 50 {
                return Err(bad("hold below 50 msec"));
            }
            if t.hold_ms <= t.hello_ms {
                return Err(bad("hold must be greater than hello"));
            }
            if t.hello_ms > 255_000 || t.hold_ms > 255_000 {
                return Err(bad("above 255 sec"));
            }
        }
        if let AuthConfig::Text(s) = &self.auth
            && s.len() > 8
        {
            return Err(ConfigError::AuthTextTooLong);
        }
        Ok(())
    }
}

/// `standby delay minimum S reload S` on an interface: hold the groups in Init after the link comes up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StartDelay {
    /// Delay (s) after any link-up.
    pub minimum_s: u32,
    /// Delay (s) for the first start after the daemon started.
    pub reload_s: u32,
}

/// An interface running HSRP.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceConfig {
    /// Name as written in the configuration (e.g. `Ethernet0/0`); used in logs and `show`.
    pub name: String,
    /// The interface's primary IPv4 address (source of our packets, tie-breaker).
    pub address: Ipv4Addr,
    /// The interface's own (burned-in) MAC address.
    pub mac: [u8; 6],
    /// `standby delay ...`.
    pub delay: Option<StartDelay>,
    /// Groups on this interface.
    pub groups: Vec<GroupConfig>,
}

impl InterfaceConfig {
    /// Validates every group and rejects duplicates.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (i, g) in self.groups.iter().enumerate() {
            g.validate()?;
            if self.groups[..i]
                .iter()
                .any(|o| o.group == g.group && o.version == g.version)
            {
                return Err(ConfigError::DuplicateGroup {
                    interface: self.name.clone(),
                    group: g.group,
                });
            }
        }
        Ok(())
    }
}

/// Parses a MAC address in IOS dotted form (`0000.0c07.ac01`) or colon form (`00:00:0c:07:ac:01`).
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let hex: String = s
        .chars()
        .filter(|c| *c != '.' && *c != ':' && *c != '-')
        .collect();
    if hex.len() != 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let mut m = [0u8; 6];
    for (i, b) in m.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_parsing() {
        assert_eq!(parse_mac("0000.0c07.ac01"), Some([0, 0, 0x0c, 7, 0xac, 1]));
        assert_eq!(parse_mac("02:AA:00:00:00:03"), Some([2, 0xaa, 0, 0, 0, 3]));
        assert_eq!(parse_mac("0000.0c07.ac0"), None);
        assert_eq!(parse_mac("0000.0c07.ac0g"), None);
    }

    #[test]
    fn virtual_macs() {
        assert_eq!(Version::V1.virtual_mac(1), [0, 0, 0x0c, 0x07, 0xac, 0x01]);
        assert_eq!(Version::V1.virtual_mac(255), [0, 0, 0x0c, 0x07, 0xac, 0xff]);
        assert_eq!(Version::V2.virtual_mac(0), [0, 0, 0x0c, 0x9f, 0xf0, 0x00]);
        assert_eq!(Version::V2.virtual_mac(4095), [0, 0, 0x0c, 0x9f, 0xff, 0xff]);
        assert_eq!(Version::V2.virtual_mac(0x123), [0, 0, 0x0c, 0x9f, 0xf1, 0x23]);
    }

    #[test]
    fn validation() {
        let mut g = GroupConfig::new(256, Version::V1);
        assert!(matches!(g.validate(), Err(ConfigError::GroupOutOfRange { .. })));
        g.version = Version::V2;
        assert!(g.validate().is_ok());
        g.timers = Some(TimersConfig {
            hello_ms: 1000,
            hold_ms: 1000,
        });
        assert!(matches!(g.validate(), Err(ConfigError::BadTimers { .. })));
        g.timers = Some(TimersConfig {
            hello_ms: 10,
            hold_ms: 100,
        });
        assert!(g.validate().is_err());
        g.timers = Some(TimersConfig {
            hello_ms: 50,
            hold_ms: 150,
        });
        assert!(g.validate().is_ok());
        g.auth = AuthConfig::Text("123456789".into());
        assert_eq!(g.validate(), Err(ConfigError::AuthTextTooLong));
    }
}
