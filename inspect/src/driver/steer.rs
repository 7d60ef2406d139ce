//! Steering of HA-held flows to the home shard when several queues are used.
//!
//! The kernel picks a flow's queue with a randomly seeded hash, so the standby cannot know which worker
//! will see a flow after a failover. Standby records therefore all go to the **home shard** (worker 0),
//! and their flows are listed in a shared set. Another worker that receives a packet of a listed flow
//! does not judge it: it re-queues it to the home queue (verdict `NF_QUEUE`), where the session lives.
//! The set only shrinks after the records are applied: the home worker periodically keeps just the flows
//! its shard still holds as HA sessions, so steering ends as the failed-over flows end. While the set is
//! empty (always, on a router that never held standby state) the other workers skip the check with one
//! relaxed atomic load.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

use timebase::Duration;

/// How often the home worker prunes the set while it is not empty.
pub(crate) const PRUNE_INTERVAL: Duration = Duration::from_secs(2);

/// A flow independent of its direction: protocol and the two endpoints in canonical order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowId {
    proto: u8,
    low: SocketAddr,
    high: SocketAddr,
}

impl FlowId {
    /// The flow of protocol `proto` between `a` and `b` (either direction).
    pub fn new(proto: u8, a: SocketAddr, b: SocketAddr) -> Self {
        if (a.ip(), a.port()) <= (b.ip(), b.port()) {
            Self {
                proto,
                low: a,
                high: b,
            }
        } else {
            Self {
                proto,
                low: b,
                high: a,
            }
        }
    }

    /// The flow of a packet (from its IP header on), if it is a TCP or UDP packet with ports.
    pub fn of_packet(packet: &[u8]) -> Option<Self> {
        let info = crate::wire::parse(packet).ok()?;
        let (sp, dp) = match info.l4 {
            crate::wire::L4Info::Tcp(t) => (t.src_port, t.dst_port),
            crate::wire::L4Info::Udp { src_port, dst_port } => (src_port, dst_port),
            _ => return None,
        };
        Some(Self::new(info.proto, sock(info.src(), sp), sock(info.dst(), dp)))
    }
}

fn sock(ip: IpAddr, port: u16) -> SocketAddr {
    SocketAddr::new(ip, port)
}

/// The shared set of flows held by the home shard.
#[derive(Debug)]
pub(crate) struct Steering {
    active: AtomicBool,
    flows: RwLock<HashSet<FlowId, foldhash::fast::RandomState>>,
    /// The home worker's queue.
    pub(crate) home_queue: u16,
}

impl Steering {
    pub(crate) fn new(home_queue: u16) -> Self {
        Self {
            active: AtomicBool::new(false),
            flows: RwLock::new(HashSet::default()),
            home_queue,
        }
    }

    /// True when some flow is listed (cheap; checked per packet by the other workers).
    pub(crate) fn active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// Whether `flow` is held by the home shard.
    pub(crate) fn contains(&self, flow: &FlowId) -> bool {
        self.flows.read().map(|s| s.contains(flow)).unwrap_or(false)
    }

    /// Lists flows (called on the home worker when it accepts standby records).
    pub(crate) fn insert(&self, new: impl IntoIterator<Item = FlowId>) {
        if let Ok(mut s) = self.flows.write() {
            s.extend(new);
            self.active.store(!s.is_empty(), Ordering::Relaxed);
        }
    }

    /// Keeps only the flows `keep` accepts (called on the home worker).
    pub(crate) fn retain(&self, keep: impl Fn(&FlowId) -> bool) {
        if let Ok(mut s) = self.flows.write() {
            s.retain(|f| keep(f));
            self.active.store(!s.is_empty(), Ordering::Relaxed);
        }
    }

    /// Forgets every flow.
    pub(crate) fn clear(&self) {
        self.retain(|_| false);
    }

    /// Number of listed flows.
    pub(crate) fn len(&self) -> usize {
        self.flows.read().map(|s| s.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_id_ignores_direction() {
        let a: SocketAddr = "10.0.0.1:1000".parse().unwrap_or_else(|_| unreachable!());
        let b: SocketAddr = "10.0.0.2:80".parse().unwrap_or_else(|_| unreachable!());
        assert_eq!(FlowId::new(6, a, b), FlowId::new(6, b, a));
        assert_ne!(FlowId::new(6, a, b), FlowId::new(17, a, b));
    }

    #[test]
    fn set_activity_follows_contents() {
        let s = Steering::new(3);
        assert!(!s.active());
        let a: SocketAddr = "10.0.0.1:1000".parse().unwrap_or_else(|_| unreachable!());
        let b: SocketAddr = "10.0.0.2:80".parse().unwrap_or_else(|_| unreachable!());
        s.insert([FlowId::new(17, a, b)]);
        assert!(s.active() && s.contains(&FlowId::new(17, b, a)) && s.len() == 1);
        s.retain(|_| true);
        assert!(s.active());
        s.clear();
        assert!(!s.active() && s.len() == 0);
    }
}
