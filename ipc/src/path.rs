//! Path selection for the userspace backend with two address pairs (sans-IO).
//!
//! The userspace SCTP stack is single-homed, so the association sends on one address pair at a time
//! (pair 0, the primary, when healthy). Every `rto_min` a small probe goes out on each pair and the peer
//! answers it on the pair it came in on. A pair whose probes go unanswered `path-retransmit` times in a row
//! is failed, and traffic moves to the other pair; once the primary answers two probes in a row again,
//! traffic moves back. With one pair nothing is probed.
//!
//! Probe packets look like SCTP packets so they pass the same sockets and filters:
//!
//! ```text
//! +-------------------------------+-------------------------------+
//! |        source port            |      destination port         |
//! +-------------------------------+-------------------------------+
//! |                  verification tag = 0                         |
//! +---------------------------------------------------------------+
//! |                  checksum = 0 (not checked)                   |
//! +---------------+---------------+-------------------------------+
//! | type = 0xBF   | flags 0 req/1 |         length = 16           |
//! +---------------+---------------+-------------------------------+
//! |                      magic "IHPP"                             |
//! +---------------------------------------------------------------+
//! |                      probe sequence                           |
//! +---------------------------------------------------------------+
//! |                      path index of the sender                 |
//! +---------------------------------------------------------------+
//! ```
//! Chunk type 0xBF has the "skip and continue" high bits, so an SCTP stack that sees one ignores it.

use timebase::{Duration, Instant};

/// Probe chunk type.
pub const PROBE_CHUNK_TYPE: u8 = 0xBF;
/// Probe packet length.
pub const PROBE_LEN: usize = 28;
const MAGIC: &[u8; 4] = b"IHPP";
/// Consecutive answered probes before a failed primary is used again.
pub const RECOVERY_PROBES: u32 = 2;

/// A decoded probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Probe {
    pub(crate) reply: bool,
    pub(crate) seq: u32,
}

/// Whether `packet` is a path probe (as opposed to an SCTP packet for the stack).
pub(crate) fn parse_probe(packet: &[u8]) -> Option<Probe> {
    if packet.len() != PROBE_LEN || packet[4..8] != [0; 4] || packet[12] != PROBE_CHUNK_TYPE {
        return None;
    }
    if &packet[16..20] != MAGIC {
        return None;
    }
    Some(Probe {
        reply: packet[13] & 1 == 1,
        seq: u32::from_be_bytes([packet[20], packet[21], packet[22], packet[23]]),
    })
}

pub(crate) fn build_probe(src_port: u16, dst_port: u16, reply: bool, seq: u32, path: usize) -> Vec<u8> {
    let mut p = vec![0u8; PROBE_LEN];
    p[0..2].copy_from_slice(&src_port.to_be_bytes());
    p[2..4].copy_from_slice(&dst_port.to_be_bytes());
    p[12] = PROBE_CHUNK_TYPE;
    p[13] = u8::from(reply);
    p[14..16].copy_from_slice(&16u16.to_be_bytes());
    p[16..20].copy_from_slice(MAGIC);
    p[20..24].copy_from_slice(&seq.to_be_bytes());
    p[24..28].copy_from_slice(&u32::try_from(path).unwrap_or(0).to_be_bytes());
    p
}

#[derive(Clone, Debug, Default)]
struct PathState {
    outstanding: Option<u32>,
    misses: u32,
    answered_streak: u32,
    failed: bool,
}

/// Chooses the address pair that carries the association.
#[derive(Clone, Debug)]
pub(crate) struct PathManager {
    paths: Vec<PathState>,
    active: usize,
    interval: Duration,
    threshold: u32,
    next_probe: Option<Instant>,
    seq: u32,
    switches: u64,
}

/// A path change the driver should report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PathSwitch {
    pub(crate) from: usize,
    pub(crate) to: usize,
}

impl PathManager {
    pub(crate) fn new(path_count: usize, interval: Duration, threshold: u8) -> Self {
        Self {
            paths: vec![PathState::default(); path_count.max(1)],
            active: 0,
            interval,
            threshold: u32::from(threshold),
            next_probe: None,
            seq: 0,
            switches: 0,
        }
    }

    /// Whether probing is on (two pairs).
    pub(crate) fn probing(&self) -> bool {
        self.paths.len() > 1
    }

    pub(crate) fn start(&mut self, now: Instant) {
        if self.probing() && self.next_probe.is_none() {
            self.next_probe = Some(now);
        }
    }

    pub(crate) fn active(&self) -> usize {
        self.active
    }

    pub(crate) fn switches(&self) -> u64 {
        self.switches
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.next_probe
    }

    /// (state word, consecutive misses) per path, for `show`.
    pub(crate) fn describe(&self) -> Vec<(&'static str, u32)> {
        self.paths
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let word = if i == self.active {
                    "ACTIVE"
                } else if p.failed {
                    "FAILED"
                } else {
                    "STANDBY"
                };
                (word, p.misses)
            })
            .collect()
    }

    /// At the probe deadline: counts misses, re-selects the path, and returns the probes to send
    /// as `(path, seq)`.
    pub(crate) fn handle_timeout(&mut self, now: Instant, out: &mut Vec<(usize, u32)>) -> Option<PathSwitch> {
        let due = self.next_probe?;
        if now < due {
            return None;
        }
        self.seq = self.seq.wrapping_add(1);
        for (i, p) in self.paths.iter_mut().enumerate() {
            if p.outstanding.is_some() {
                p.misses = p.misses.saturating_add(1);
                p.answered_streak = 0;
                if p.misses >= self.threshold {
                    p.failed = true;
                }
            }
            p.outstanding = Some(self.seq);
            out.push((i, self.seq));
        }
        self.next_probe = Some(now + self.interval);
        self.reselect()
    }

    /// A probe reply arrived on `path`.
    pub(crate) fn handle_reply(&mut self, path: usize, seq: u32) -> Option<PathSwitch> {
        let p = self.paths.get_mut(path)?;
        if p.outstanding != Some(seq) {
            return None;
        }
        p.outstanding = None;
        p.misses = 0;
        p.answered_streak = p.answered_streak.saturating_add(1);
        if p.failed && p.answered_streak >= RECOVERY_PROBES {
            p.failed = false;
        }
        self.reselect()
    }

    fn reselect(&mut self) -> Option<PathSwitch> {
        let healthy = |i: usize| self.paths.get(i).is_some_and(|p| !p.failed);
        let want = if healthy(0) {
            0
        } else if let Some(i) = (1..self.paths.len()).find(|&i| healthy(i)) {
            i
        } else {
            self.active
        };
        if want != self.active {
            let sw = PathSwitch {
                from: self.active,
                to: want,
            };
            self.active = want;
            self.switches += 1;
            return Some(sw);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_round_trip() {
        let p = build_probe(5000, 5001, true, 77, 1);
        assert_eq!(parse_probe(&p), Some(Probe { reply: true, seq: 77 }));
        let mut sctp = p.clone();
        sctp[4] = 1; // non-zero verification tag: a real SCTP packet
        assert_eq!(parse_probe(&sctp), None);
        assert_eq!(parse_probe(&p[..20]), None);
    }

    #[test]
    fn fails_over_after_threshold_and_comes_back() {
        let ms = Duration::from_millis;
        let mut pm = PathManager::new(2, ms(300), 3);
        let mut t = Instant::ZERO;
        pm.start(t);
        let mut out = Vec::new();
        // Round 1: both probed; only path 1 answers.
        let mut switched = None;
        for round in 0..5 {
            out.clear();
            if let Some(sw) = pm.handle_timeout(t, &mut out) {
                switched = Some((round, sw));
            }
            for &(path, seq) in &out {
                if path == 1 {
                    pm.handle_reply(path, seq);
                }
            }
            t += ms(300);
        }
        // Misses are counted at rounds 1, 2, 3: the third miss fails path 0.
        assert_eq!(switched, Some((3, PathSwitch { from: 0, to: 1 })));
        assert_eq!(pm.active(), 1);
        assert_eq!(pm.describe()[0].0, "FAILED");
        // Path 0 answers again: back after two answered probes.
        let mut back = None;
        for round in 0..3 {
            out.clear();
            pm.handle_timeout(t, &mut out);
            for &(path, seq) in &out {
                if let Some(sw) = pm.handle_reply(path, seq) {
                    back = Some((round, sw));
                }
            }
            t += ms(300);
        }
        assert_eq!(back, Some((1, PathSwitch { from: 1, to: 0 })));
        assert_eq!(pm.switches(), 2);
    }

    #[test]
    fn single_path_never_probes() {
        let mut pm = PathManager::new(1, Duration::from_millis(300), 3);
        pm.start(Instant::ZERO);
        assert_eq!(pm.poll_timeout(), None);
    }
}
