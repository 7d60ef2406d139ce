//! The HA view of one inspect session: what the Active hands to the standby.
//!
//! A [`SessionRecord`] is produced by the engine when an HA session is created, falls due for its periodic
//! update, or ends, and is consumed by the engine on the standby to create or refresh a standby session.
//! The sync protocol (`ha` module) encodes it compactly; the engine never sees the wire format.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// Identifier of an HA session, assigned by the Active and unique among its live sessions. Updates and
/// deletes name a session by this id only, which keeps them short on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HaSessionId(pub u32);

/// IP protocol number of an inspected session (6 = TCP, 17 = UDP).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct L4Proto(pub u8);

impl L4Proto {
    /// TCP.
    pub const TCP: Self = Self(6);
    /// UDP.
    pub const UDP: Self = Self(17);
}

/// The two ends of a session as the initiator opened it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FlowKey {
    /// Transport protocol.
    pub proto: L4Proto,
    /// The side that sent the first packet.
    pub initiator: SocketAddr,
    /// The side it was sent to.
    pub responder: SocketAddr,
}

/// Direction of the inspection rule that opened a session on its interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RuleDirection {
    /// `ip inspect NAME in`: opened by traffic entering the interface.
    In,
    /// `ip inspect NAME out`: opened by traffic leaving the interface.
    Out,
}

/// Sequence-tracking state of one direction of a TCP session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TcpDirectionRecord {
    /// Highest sequence number sent plus the segment length (next expected from this side).
    pub next_seq: u32,
    /// Highest acknowledgement number sent by this side.
    pub ack: u32,
    /// Last advertised window, already scaled.
    pub window: u32,
    /// Window scale shift announced in this side's SYN (0 when none).
    pub window_scale: u8,
}

/// The state the standby needs to take a session over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// HA identifier assigned by the Active.
    pub id: HaSessionId,
    /// The session's endpoints.
    pub key: FlowKey,
    /// Index of the inspected interface in the configuration's interface list.
    pub interface: u16,
    /// Direction of the inspection rule that opened the session.
    pub direction: RuleDirection,
    /// Protocol state code (the engine's own numbering of SIS_SYNSENT .. SIS_CLOSED; UDP uses SIS_OPEN).
    pub state: u8,
    /// Initiator side (TCP only; zero for UDP).
    pub initiator_tcp: TcpDirectionRecord,
    /// Responder side (TCP only; zero for UDP).
    pub responder_tcp: TcpDirectionRecord,
    /// Bytes sent by the initiator so far.
    pub bytes_initiator: u64,
    /// Bytes sent by the responder so far.
    pub bytes_responder: u64,
    /// Seconds since the session was created, at the time the record was made.
    pub age_s: u32,
    /// Milliseconds since the last packet of the session, at the time the record was made.
    pub idle_ms: u32,
}
