//! The association's validated configuration (IOS `ipc zone default` / `association 1` / `protocol sctp`).
//!
//! Defaults are named constants; [`AssociationConfig::new`] is the only way to build a configuration and
//! it checks every range, so the association and its drivers work on valid values only.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use timebase::Duration;

use crate::error::ConfigError;

/// Smallest `retransmit-timeout` value in milliseconds.
pub const RTO_MS_MIN: u32 = 300;
/// Largest `retransmit-timeout` value in milliseconds.
pub const RTO_MS_MAX: u32 = 60_000;
/// IOS default minimum retransmission timeout (ms).
pub const DEFAULT_RTO_MIN_MS: u32 = 300;
/// IOS default maximum retransmission timeout (ms).
pub const DEFAULT_RTO_MAX_MS: u32 = 600;
/// Range of `path-retransmit` and `assoc-retransmit`.
pub const RETRANSMIT_RANGE: (u8, u8) = (2, 10);
/// IOS default `path-retransmit`.
pub const DEFAULT_PATH_RETRANSMIT: u8 = 4;
/// IOS default `assoc-retransmit`.
pub const DEFAULT_ASSOC_RETRANSMIT: u8 = 4;
/// Our default heartbeat interval (ms): IOS has no knob for it. 500 ms with the IOS defaults gives a
/// dead-peer detection bound of (4 + 1) × 500 + 300 = 2.8 s on an idle association (docs/ipc.md).
pub const DEFAULT_HEARTBEAT_INTERVAL_MS: u32 = 500;
/// Smallest gap between the answer wait (`rto_min`) and the heartbeat interval.
pub const HEARTBEAT_MARGIN_MS: u64 = 100;
/// Accepted heartbeat interval range (ms).
pub const HEARTBEAT_RANGE_MS: (u32, u32) = (100, 60_000);
/// RFC 6951 UDP encapsulation port.
pub const DEFAULT_UDP_PORT: u16 = 9899;
/// Default SCTP packet size handed to the userspace stack (fits a 1500-byte Ethernet MTU with IPv6 +
/// UDP headers and room to spare).
pub const DEFAULT_MTU: u16 = 1400;
/// Default bound of the outgoing message queue, in bytes of queued payload.
pub const DEFAULT_SEND_QUEUE_BYTES: usize = 1024 * 1024;
/// Default size bound of a bundle (several queued messages of one stream in one SCTP user message);
/// see docs/ipc.md "Performance" for how it was chosen.
pub const DEFAULT_BUNDLE_BYTES: usize = 16 * 1024;
/// Accepted `bundle_bytes` range (0 turns bundling off).
pub const BUNDLE_BYTES_RANGE: (usize, usize) = (1024, 256 * 1024);

fn default_bundle_bytes() -> usize {
    DEFAULT_BUNDLE_BYTES
}

/// Which transport carries the association.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportChoice {
    /// Kernel SCTP if the host has it, else userspace SCTP over raw IP, else over UDP.
    #[default]
    Auto,
    /// The kernel's SCTP stack.
    Kernel,
    /// Userspace SCTP over raw IP protocol 132 (needs CAP_NET_RAW).
    Raw,
    /// Userspace SCTP over UDP (RFC 6951).
    Udp,
}

impl TransportChoice {
    /// The keyword used in the configuration and in `show` output.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Kernel => "kernel",
            Self::Raw => "raw",
            Self::Udp => "udp",
        }
    }
}

impl fmt::Display for TransportChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated association configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssociationConfig {
    /// `local-port`.
    pub local_port: u16,
    /// `remote-port`.
    pub remote_port: u16,
    /// `local-ip A [B]`: the first is the primary path's local address.
    pub local_ips: Vec<IpAddr>,
    /// `remote-ip X [Y]`: paired with `local_ips` by position.
    pub remote_ips: Vec<IpAddr>,
    /// `retransmit-timeout MIN`.
    pub rto_min_ms: u32,
    /// `retransmit-timeout .. MAX`.
    pub rto_max_ms: u32,
    /// `path-retransmit N`.
    pub path_retransmit: u8,
    /// `assoc-retransmit N`.
    pub assoc_retransmit: u8,
    /// Heartbeat interval on an idle association (plugin knob; [`DEFAULT_HEARTBEAT_INTERVAL_MS`]).
    pub heartbeat_interval_ms: u32,
    /// The transport (plugin knob `transport auto|kernel|raw|udp`).
    pub transport: TransportChoice,
    /// `security key STRING` under `redundancy inter-device`: authenticates every message.
    pub security_key: Option<String>,
    /// UDP port for the UDP transport (both sides use the same port, as RFC 6951 suggests).
    pub udp_port: u16,
    /// SCTP packet size for the userspace stack.
    pub mtu: u16,
    /// Bound of queued outgoing payload bytes; sends beyond it fail with `QueueFull`.
    pub send_queue_bytes: usize,
    /// Size bound of a bundle in bytes (0: never bundle, one SCTP user message per client message).
    #[serde(default = "default_bundle_bytes")]
    pub bundle_bytes: usize,
}

impl AssociationConfig {
    /// Builds a configuration with the IOS defaults for everything not given, checking the addresses.
    pub fn new(
        local_port: u16,
        remote_port: u16,
        local_ips: Vec<IpAddr>,
        remote_ips: Vec<IpAddr>,
    ) -> Result<Self, ConfigError> {
        Self {
            local_port,
            remote_port,
            local_ips,
            remote_ips,
            rto_min_ms: DEFAULT_RTO_MIN_MS,
            rto_max_ms: DEFAULT_RTO_MAX_MS,
            path_retransmit: DEFAULT_PATH_RETRANSMIT,
            assoc_retransmit: DEFAULT_ASSOC_RETRANSMIT,
            heartbeat_interval_ms: DEFAULT_HEARTBEAT_INTERVAL_MS,
            transport: TransportChoice::Auto,
            security_key: None,
            udp_port: DEFAULT_UDP_PORT,
            mtu: DEFAULT_MTU,
            send_queue_bytes: DEFAULT_SEND_QUEUE_BYTES,
            bundle_bytes: DEFAULT_BUNDLE_BYTES,
        }
        .validated()
    }

    /// `retransmit-timeout MIN MAX`.
    pub fn with_retransmit_timeout(mut self, min_ms: u32, max_ms: u32) -> Result<Self, ConfigError> {
        self.rto_min_ms = min_ms;
        self.rto_max_ms = max_ms;
        self.validated()
    }

    /// `path-retransmit N`.
    pub fn with_path_retransmit(mut self, n: u8) -> Result<Self, ConfigError> {
        self.path_retransmit = n;
        self.validated()
    }

    /// `assoc-retransmit N`.
    pub fn with_assoc_retransmit(mut self, n: u8) -> Result<Self, ConfigError> {
        self.assoc_retransmit = n;
        self.validated()
    }

    /// Heartbeat interval in milliseconds.
    pub fn with_heartbeat_interval(mut self, ms: u32) -> Result<Self, ConfigError> {
        self.heartbeat_interval_ms = ms;
        self.validated()
    }

    /// Transport selection.
    #[must_use]
    pub fn with_transport(mut self, transport: TransportChoice) -> Self {
        self.transport = transport;
        self
    }

    /// `security key STRING` (`None` for `no security key`).
    pub fn with_security_key(mut self, key: Option<String>) -> Result<Self, ConfigError> {
        self.security_key = key;
        self.validated()
    }

    /// UDP encapsulation port.
    #[must_use]
    pub fn with_udp_port(mut self, port: u16) -> Self {
        self.udp_port = port;
        self
    }

    /// Bundle size bound in bytes (`0` turns bundling off).
    pub fn with_bundle_bytes(mut self, bytes: usize) -> Result<Self, ConfigError> {
        self.bundle_bytes = bytes;
        self.validated()
    }

    /// Checks every field; used by all constructors, and by callers that deserialized a config.
    pub fn validated(self) -> Result<Self, ConfigError> {
        check_addresses("local-ip", &self.local_ips)?;
        check_addresses("remote-ip", &self.remote_ips)?;
        if self.local_ips.len() != self.remote_ips.len() {
            return Err(ConfigError::AddressPairMismatch {
                local: self.local_ips.len(),
                remote: self.remote_ips.len(),
            });
        }
        for (index, (l, r)) in self.local_ips.iter().zip(&self.remote_ips).enumerate() {
            if l.is_ipv4() != r.is_ipv4() {
                return Err(ConfigError::MixedFamilies { index });
            }
        }
        range("local-port", self.local_port.into(), 1, 65_535)?;
        range("remote-port", self.remote_port.into(), 1, 65_535)?;
        range(
            "retransmit-timeout min",
            self.rto_min_ms.into(),
            RTO_MS_MIN.into(),
            RTO_MS_MAX.into(),
        )?;
        range(
            "retransmit-timeout max",
            self.rto_max_ms.into(),
            RTO_MS_MIN.into(),
            RTO_MS_MAX.into(),
        )?;
        if self.rto_min_ms > self.rto_max_ms {
            return Err(ConfigError::RtoOrder {
                min: self.rto_min_ms,
                max: self.rto_max_ms,
            });
        }
        let (lo, hi) = RETRANSMIT_RANGE;
        range(
            "path-retransmit",
            self.path_retransmit.into(),
            lo.into(),
            hi.into(),
        )?;
        range(
            "assoc-retransmit",
            self.assoc_retransmit.into(),
            lo.into(),
            hi.into(),
        )?;
        let (hlo, hhi) = HEARTBEAT_RANGE_MS;
        range(
            "heartbeat interval",
            self.heartbeat_interval_ms.into(),
            hlo.into(),
            hhi.into(),
        )?;
        range("udp port", self.udp_port.into(), 1, 65_535)?;
        range("mtu", self.mtu.into(), 576, 9000)?;
        range(
            "send queue bytes",
            self.send_queue_bytes as u64,
            64 * 1024,
            1 << 30,
        )?;
        if self.bundle_bytes != 0 {
            let (blo, bhi) = BUNDLE_BYTES_RANGE;
            range("bundle bytes", self.bundle_bytes as u64, blo as u64, bhi as u64)?;
        }
        if self.security_key.as_deref().is_some_and(str::is_empty) {
            return Err(ConfigError::EmptyKey);
        }
        Ok(self)
    }

    /// Number of address pairs (1 or 2).
    pub fn path_count(&self) -> usize {
        self.local_ips.len()
    }

    /// Minimum retransmission timeout.
    pub fn rto_min(&self) -> Duration {
        Duration::from_millis(self.rto_min_ms.into())
    }

    /// Maximum retransmission timeout.
    pub fn rto_max(&self) -> Duration {
        Duration::from_millis(self.rto_max_ms.into())
    }

    /// Heartbeat interval actually used: the configured one, but at least `rto_min` + 100 ms. The
    /// userspace stack waits one `rto_min` for each heartbeat's answer and restarts that wait when the
    /// next heartbeat is due, so a shorter interval would never count a missed heartbeat.
    pub fn heartbeat_interval(&self) -> Duration {
        let configured = Duration::from_millis(self.heartbeat_interval_ms.into());
        let floor = self.rto_min() + Duration::from_millis(HEARTBEAT_MARGIN_MS);
        if configured < floor { floor } else { configured }
    }

    /// Upper bound on the time from a peer going silent to the association being declared down, for an
    /// idle association on the userspace backend: `(assoc_retransmit + 1) × heartbeat + rto_min`. Each
    /// heartbeat that goes unanswered for one RTO (the stack waits `rto_min` on a LAN) counts one error;
    /// the association fails at `assoc_retransmit + 1` consecutive errors. See docs/ipc.md.
    pub fn idle_detection_bound(&self) -> Duration {
        self.heartbeat_interval()
            .saturating_mul(u64::from(self.assoc_retransmit) + 1)
            + self.rto_min()
    }

    /// Upper bound on detection while data is outstanding: the retransmission timer backs off from
    /// `rto_min` doubling up to `rto_max`, and the association fails at the `assoc_retransmit + 1`-th
    /// expiry: `Σ_{i=0..=assoc_retransmit} min(rto_min × 2^i, rto_max)`.
    pub fn busy_detection_bound(&self) -> Duration {
        let mut total = Duration::ZERO;
        let mut rto = self.rto_min();
        for _ in 0..=self.assoc_retransmit {
            total = total + if rto > self.rto_max() { self.rto_max() } else { rto };
            rto = rto.saturating_mul(2);
        }
        total
    }

    /// Time the userspace backend needs to move off a dead primary path: `path_retransmit` consecutive
    /// unanswered path probes, one probe per `rto_min`.
    pub fn path_failover_bound(&self) -> Duration {
        self.rto_min().saturating_mul(u64::from(self.path_retransmit) + 1)
    }
}

fn check_addresses(field: &'static str, ips: &[IpAddr]) -> Result<(), ConfigError> {
    if ips.is_empty() || ips.len() > 2 {
        return Err(ConfigError::AddressCount {
            field,
            count: ips.len(),
        });
    }
    Ok(())
}

fn range(field: &'static str, value: u64, min: u64, max: u64) -> Result<(), ConfigError> {
    if value < min || value > max {
        return Err(ConfigError::OutOfRange {
            field,
            value,
            min,
            max,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn base() -> AssociationConfig {
        AssociationConfig::new(5000, 5000, vec![ip("10.0.0.1")], vec![ip("10.0.0.2")]).unwrap()
    }

    #[test]
    fn defaults_follow_ios() {
        let c = base();
        assert_eq!((c.rto_min_ms, c.rto_max_ms), (300, 600));
        assert_eq!((c.path_retransmit, c.assoc_retransmit), (4, 4));
        assert_eq!(c.transport, TransportChoice::Auto);
        assert_eq!(c.idle_detection_bound(), Duration::from_millis(2800));
        // 300 + 600 + 600 + 600 + 600
        assert_eq!(c.busy_detection_bound(), Duration::from_millis(2700));
    }

    #[test]
    fn ranges_are_checked() {
        assert!(matches!(
            base().with_retransmit_timeout(299, 1000),
            Err(ConfigError::OutOfRange {
                field: "retransmit-timeout min",
                ..
            })
        ));
        assert!(matches!(
            base().with_retransmit_timeout(300, 60_001),
            Err(ConfigError::OutOfRange { .. })
        ));
        assert_eq!(
            base().with_retransmit_timeout(1000, 500),
            Err(ConfigError::RtoOrder { min: 1000, max: 500 })
        );
        assert!(base().with_retransmit_timeout(300, 10_000).is_ok());
        assert!(base().with_path_retransmit(1).is_err());
        assert!(base().with_path_retransmit(11).is_err());
        assert!(base().with_assoc_retransmit(10).is_ok());
        assert!(base().with_heartbeat_interval(50).is_err());
        assert_eq!(
            base().with_security_key(Some(String::new())),
            Err(ConfigError::EmptyKey)
        );
        assert!(AssociationConfig::new(0, 5000, vec![ip("10.0.0.1")], vec![ip("10.0.0.2")]).is_err());
    }

    #[test]
    fn addresses_are_checked() {
        let none = AssociationConfig::new(1, 1, vec![], vec![ip("10.0.0.2")]);
        assert_eq!(
            none,
            Err(ConfigError::AddressCount {
                field: "local-ip",
                count: 0
            })
        );
        let three = AssociationConfig::new(
            1,
            1,
            vec![ip("10.0.0.1")],
            vec![ip("10.0.0.2"), ip("10.0.0.3"), ip("10.0.0.4")],
        );
        assert!(matches!(
            three,
            Err(ConfigError::AddressCount {
                field: "remote-ip",
                count: 3
            })
        ));
        let uneven = AssociationConfig::new(1, 1, vec![ip("10.0.0.1")], vec![ip("10.0.0.2"), ip("10.0.1.2")]);
        assert_eq!(
            uneven,
            Err(ConfigError::AddressPairMismatch { local: 1, remote: 2 })
        );
        let mixed = AssociationConfig::new(1, 1, vec![ip("10.0.0.1")], vec![ip("fe80::1")]);
        assert_eq!(mixed, Err(ConfigError::MixedFamilies { index: 0 }));
        let two = AssociationConfig::new(
            1,
            1,
            vec![ip("10.0.0.1"), ip("10.0.1.1")],
            vec![ip("10.0.0.2"), ip("10.0.1.2")],
        )
        .unwrap();
        assert_eq!(two.path_count(), 2);
    }

    #[test]
    fn heartbeat_interval_stays_above_rto_min() {
        let c = base().with_retransmit_timeout(1000, 2000).unwrap();
        assert_eq!(c.heartbeat_interval(), Duration::from_millis(1100));
        assert_eq!(c.idle_detection_bound(), Duration::from_millis(5 * 1100 + 1000));
        let c = base().with_heartbeat_interval(2000).unwrap();
        assert_eq!(c.heartbeat_interval(), Duration::from_millis(2000));
    }

    #[test]
    fn busy_bound_caps_at_rto_max() {
        let c = base()
            .with_retransmit_timeout(300, 1000)
            .unwrap()
            .with_assoc_retransmit(5)
            .unwrap();
        // 300 + 600 + 1000 + 1000 + 1000 + 1000
        assert_eq!(c.busy_detection_bound(), Duration::from_millis(4900));
    }
}
