//! Kernel interface index → engine interface index.
//!
//! The engine numbers interfaces by their position in the configuration; NFQUEUE reports the kernel's
//! ifindex. The table is built from (engine index, Linux name) pairs by resolving each name, and is
//! re-resolved on reconfiguration and, at most once a second, when a packet names an ifindex the table
//! does not know (an interface created or re-created after start).

use timebase::{Duration, Instant};

/// How often an unknown ifindex may trigger a re-resolution of the names.
const REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// The lookup table of one worker.
#[derive(Debug, Clone)]
pub(crate) struct IfMap {
    names: Vec<(u16, String)>,
    by_index: Vec<(u32, u16)>,
    last_refresh: Option<Instant>,
}

impl IfMap {
    /// Builds the table for `names` (engine index, Linux interface name).
    pub(crate) fn new(names: Vec<(u16, String)>) -> Self {
        let mut map = Self {
            names,
            by_index: Vec::new(),
            last_refresh: None,
        };
        map.resolve();
        map
    }

    /// Re-resolves every name (missing interfaces are left out until they appear).
    pub(crate) fn resolve(&mut self) {
        self.by_index = self
            .names
            .iter()
            .filter_map(|(idx, name)| {
                nix::net::if_::if_nametoindex(name.as_str())
                    .ok()
                    .map(|ifindex| (ifindex, *idx))
            })
            .collect();
    }

    /// The engine index of kernel interface `ifindex` (0 means "no interface").
    pub(crate) fn lookup(&self, ifindex: u32) -> Option<u16> {
        if ifindex == 0 {
            return None;
        }
        self.by_index.iter().find(|(k, _)| *k == ifindex).map(|(_, v)| *v)
    }

    /// Like [`lookup`](Self::lookup), re-resolving the names (rate-limited) on a miss.
    pub(crate) fn lookup_or_refresh(&mut self, ifindex: u32, now: Instant) -> Option<u16> {
        if ifindex == 0 {
            return None;
        }
        if let Some(v) = self.lookup(ifindex) {
            return Some(v);
        }
        let due = self
            .last_refresh
            .is_none_or(|t| now.saturating_since(t) >= REFRESH_INTERVAL);
        if !due {
            return None;
        }
        self.last_refresh = Some(now);
        self.resolve();
        self.lookup(ifindex)
    }

    /// The (ifindex, engine index) pairs currently resolved.
    pub(crate) fn resolved(&self) -> &[(u32, u16)] {
        &self.by_index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_resolves_and_unknown_names_are_skipped() {
        let mut map = IfMap::new(vec![(3, "lo".into()), (4, "no-such-if-xx".into())]);
        let lo = nix::net::if_::if_nametoindex("lo").unwrap_or(1);
        assert_eq!(map.lookup(lo), Some(3));
        assert_eq!(map.lookup(0), None);
        assert_eq!(map.resolved().len(), 1);
        assert_eq!(map.lookup_or_refresh(999_999, Instant::from_millis(10)), None);
        assert_eq!(map.lookup_or_refresh(lo, Instant::from_millis(20)), Some(3));
    }
}
