//! The configuration turned into index-based lookups for the packet path.

use crate::acl::CompiledAcl;
use crate::config::{EngineConfig, InterfaceInspect};
use crate::record::{L4Proto, RuleDirection};
use crate::wire::ip_proto;

/// One `ip inspect NAME in|out` binding, resolved.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Binding {
    /// Idle timeout for TCP sessions of this binding (ms), `None` when the rule does not inspect TCP.
    pub(crate) tcp_idle_ms: Option<u64>,
    /// Idle timeout for UDP sessions (ms), `None` when the rule does not inspect UDP.
    pub(crate) udp_idle_ms: Option<u64>,
    /// `redundancy stateful GROUP` present.
    pub(crate) ha: bool,
}

impl Binding {
    pub(crate) fn idle_ms(&self, proto: u8) -> Option<u64> {
        match proto {
            ip_proto::TCP => self.tcp_idle_ms,
            ip_proto::UDP => self.udp_idle_ms,
            _ => None,
        }
    }
}

/// One interface, resolved.
#[derive(Clone, Debug, Default)]
pub(crate) struct Iface {
    /// Index 0 = `in`, 1 = `out`.
    pub(crate) inspect: [Option<Binding>; 2],
    /// Index 0 = `in`, 1 = `out`: position in `Compiled::acls`.
    pub(crate) acl: [Option<usize>; 2],
}

/// The whole configuration, resolved.
#[derive(Clone, Debug)]
pub(crate) struct Compiled {
    pub(crate) ifaces: Vec<Iface>,
    pub(crate) acls: Vec<CompiledAcl>,
    pub(crate) tcp_idle_ms: u64,
    pub(crate) udp_idle_ms: u64,
    pub(crate) synwait_ms: u64,
    pub(crate) finwait_ms: u64,
    pub(crate) ha_interval_ms: u64,
}

pub(crate) const fn dir_index(d: RuleDirection) -> usize {
    match d {
        RuleDirection::In => 0,
        RuleDirection::Out => 1,
    }
}

fn secs(s: u32) -> u64 {
    u64::from(s) * 1000
}

impl Compiled {
    /// Resolves names. An interface naming an undefined ACL has no ACL in that direction (IOS permits
    /// everything through an undefined access-group); one naming an undefined inspect rule inspects nothing.
    /// Hit counters of ACLs whose entries did not change are carried over from `old`.
    pub(crate) fn new(cfg: &EngineConfig, old: Option<&Self>) -> Self {
        let acls: Vec<CompiledAcl> = cfg
            .acls
            .iter()
            .map(|a| {
                let prev = old.and_then(|o| o.acls.iter().find(|p| p.config == *a));
                match prev {
                    Some(p) => p.clone(),
                    None => CompiledAcl::new(a.clone()),
                }
            })
            .collect();
        let tcp_idle_ms = secs(cfg.tcp_idle_s.max(1));
        let udp_idle_ms = secs(cfg.udp_idle_s.max(1));
        let binding = |b: &Option<InterfaceInspect>| -> Option<Binding> {
            let b = b.as_ref()?;
            let rule = cfg.rules.iter().find(|r| r.name == b.rule)?;
            let mut out = Binding {
                ha: b.redundancy_group.is_some(),
                ..Binding::default()
            };
            for p in &rule.protocols {
                if p.proto == L4Proto::TCP {
                    out.tcp_idle_ms = Some(p.timeout_s.map_or(tcp_idle_ms, |s| secs(s.max(1))));
                } else if p.proto == L4Proto::UDP {
                    out.udp_idle_ms = Some(p.timeout_s.map_or(udp_idle_ms, |s| secs(s.max(1))));
                }
            }
            Some(out)
        };
        let acl_pos = |n: &Option<String>| {
            n.as_ref()
                .and_then(|n| acls.iter().position(|a| a.config.name == *n))
        };
        let ifaces = cfg
            .interfaces
            .iter()
            .map(|i| Iface {
                inspect: [binding(&i.inspect_in), binding(&i.inspect_out)],
                acl: [acl_pos(&i.acl_in), acl_pos(&i.acl_out)],
            })
            .collect();
        Self {
            ifaces,
            acls,
            tcp_idle_ms,
            udp_idle_ms,
            synwait_ms: secs(cfg.tcp_synwait_s.max(1)),
            finwait_ms: secs(cfg.tcp_finwait_s.max(1)),
            ha_interval_ms: secs(cfg.ha_update_interval_s.max(1)),
        }
    }

    pub(crate) fn binding(&self, iface: u16, dir: usize) -> Option<&Binding> {
        self.ifaces.get(usize::from(iface))?.inspect.get(dir)?.as_ref()
    }
}
