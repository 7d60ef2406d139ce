//! `log` on ACL entries: the `%SEC-6-IPACCESSLOG*` messages and their rate limit.
//!
//! As IOS does it, the first packet of a flow that matches a logging entry is logged at once (`, 1 packet`);
//! later packets of the same flow are only counted, and when the logging interval (5 minutes) has passed,
//! one summary line per flow gives the count (`, 12 packets`) and the flows are forgotten (their next packet
//! is logged at once again). The interval is checked whenever the ACL judges a packet: the engine has no
//! timer for it, so summaries of an ACL that sees no traffic wait for its next packet.
//!
//! Memory is bounded: at most [`MAX_LOG_FLOWS`] flows are tracked per ACL and interval. A packet of a new
//! flow when the table is full is not logged; it is counted as missed and reported at the end of the interval
//! with `%SEC-6-IPACCESSLOGRL: access-list logging rate-limited or missed N packets`, so a flood of distinct
//! flows produces at most `MAX_LOG_FLOWS + 1` lines and a fixed amount of memory per interval.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use crate::config::{AclAction, AclEntry};
use crate::wire::{L4Info, PacketInfo, ip_proto};

/// The logging interval: the first packet of a flow is logged at once, the rest summarised after this.
pub const LOG_INTERVAL_MS: u64 = 5 * 60 * 1000;
/// Most flows tracked per ACL and interval.
pub const MAX_LOG_FLOWS: usize = 512;

/// What a log line identifies: the entry and the packet's flow (ports, or ICMP type and code).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct LogFlow {
    entry: u32,
    proto: u8,
    src: IpAddr,
    dst: IpAddr,
    /// Source port, or ICMP type.
    a: u16,
    /// Destination port, or ICMP code.
    b: u16,
}

impl LogFlow {
    fn of(entry: usize, pkt: &PacketInfo) -> Self {
        let (a, b) = match pkt.l4 {
            L4Info::Tcp(t) => (t.src_port, t.dst_port),
            L4Info::Udp { src_port, dst_port } => (src_port, dst_port),
            L4Info::Icmp { icmp_type, code } => (u16::from(icmp_type), u16::from(code)),
            L4Info::Fragment | L4Info::Other => (0, 0),
        };
        Self {
            entry: u32::try_from(entry).unwrap_or(u32::MAX),
            proto: pkt.proto,
            src: pkt.src(),
            dst: pkt.dst(),
            a,
            b,
        }
    }
}

/// The log message of `count` packets of `flow` matched by an entry with `action` in ACL `list`.
fn message(list: &str, action: AclAction, flow: &LogFlow, count: u64) -> String {
    let verb = match action {
        AclAction::Permit => "permitted",
        AclAction::Deny => "denied",
    };
    let v6 = flow.src.is_ipv6();
    let (src, dst, a, b) = (flow.src, flow.dst, flow.a, flow.b);
    let mut out = String::with_capacity(96);
    let facility = if v6 {
        "%IPV6-6-ACCESSLOG"
    } else {
        "%SEC-6-IPACCESSLOG"
    };
    let _ = match flow.proto {
        ip_proto::TCP | ip_proto::UDP => {
            let name = if flow.proto == ip_proto::TCP { "tcp" } else { "udp" };
            write!(
                out,
                "{facility}P: list {list} {verb} {name} {src}({a}) -> {dst}({b})"
            )
        }
        ip_proto::ICMP | ip_proto::ICMPV6 => {
            write!(
                out,
                "{facility}DP: list {list} {verb} icmp {src} -> {dst} ({a}/{b})"
            )
        }
        p => write!(out, "{facility}NP: list {list} {verb} {p} {src} -> {dst}"),
    };
    let _ = write!(out, ", {count} packet{}", if count == 1 { "" } else { "s" });
    out
}

/// The per-ACL log state: flows of the current interval and the per-entry counters.
#[derive(Clone, Debug, Default)]
pub(crate) struct LogCache {
    /// Tracked flows and the packets counted since their last line.
    flows: HashMap<LogFlow, u64>,
    /// Start of the current interval (ms), once a packet has been judged.
    interval_start_ms: Option<u64>,
    /// Packets of flows that could not be tracked (table full) in this interval.
    missed: u64,
    /// Some packet of this interval was counted without a line: a summary falls due at its end.
    summary_due: bool,
    /// Per entry: packets logged with a line of their own.
    pub(crate) logged: Vec<u64>,
    /// Per entry: packets counted without a line of their own (repeats and missed flows).
    pub(crate) suppressed: Vec<u64>,
    /// Lines waiting to be taken by the engine.
    pub(crate) pending: Vec<String>,
}

impl LogCache {
    pub(crate) fn new(entries: usize) -> Self {
        Self {
            logged: vec![0; entries],
            suppressed: vec![0; entries],
            ..Self::default()
        }
    }

    /// Number of flows tracked now (never above [`MAX_LOG_FLOWS`]).
    #[cfg(test)]
    pub(crate) fn tracked_flows(&self) -> usize {
        self.flows.len()
    }

    /// When the current interval's summary lines fall due (none while nothing was counted).
    pub(crate) fn summary_due_ms(&self) -> Option<u64> {
        self.interval_start_ms
            .filter(|_| self.summary_due)
            .map(|start| start.saturating_add(LOG_INTERVAL_MS))
    }

    /// Ends the interval when it is over: summary lines for flows with counted packets, then the missed
    /// count; the flows are forgotten.
    pub(crate) fn roll(&mut self, list: &str, entries: &[AclEntry], now_ms: u64) {
        let start = *self.interval_start_ms.get_or_insert(now_ms);
        if now_ms < start.saturating_add(LOG_INTERVAL_MS) {
            return;
        }
        self.summary_due = false;
        let mut due: Vec<(LogFlow, u64)> = self.flows.drain().filter(|&(_, n)| n > 0).collect();
        due.sort_unstable();
        for (flow, count) in due {
            if let Some(e) = usize::try_from(flow.entry).ok().and_then(|i| entries.get(i)) {
                self.pending.push(message(list, e.action, &flow, count));
            }
        }
        if self.missed > 0 {
            self.pending.push(format!(
                "%SEC-6-IPACCESSLOGRL: access-list logging rate-limited or missed {} packet{}",
                self.missed,
                if self.missed == 1 { "" } else { "s" }
            ));
            self.missed = 0;
        }
        self.interval_start_ms = Some(now_ms);
    }

    /// A packet matched logging entry `entry` (of `entries`).
    pub(crate) fn packet(&mut self, list: &str, entries: &[AclEntry], entry: usize, pkt: &PacketInfo) {
        let flow = LogFlow::of(entry, pkt);
        let full = self.flows.len() >= MAX_LOG_FLOWS;
        let counters = match self.flows.get_mut(&flow) {
            Some(count) => {
                *count += 1;
                self.summary_due = true;
                &mut self.suppressed
            }
            None if full => {
                self.missed += 1;
                self.summary_due = true;
                &mut self.suppressed
            }
            None => {
                self.flows.insert(flow, 0);
                if let Some(e) = entries.get(entry) {
                    self.pending.push(message(list, e.action, &flow, 1));
                }
                &mut self.logged
            }
        };
        if let Some(c) = counters.get_mut(entry) {
            *c += 1;
        }
    }

    pub(crate) fn clear_counters(&mut self) {
        self.logged.iter_mut().for_each(|c| *c = 0);
        self.suppressed.iter_mut().for_each(|c| *c = 0);
    }
}
