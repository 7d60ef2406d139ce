//! Whole-candidate validation: cross-references and values that depend on other lines.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::Serialize;

use super::{Config, StandbyAuth, defaults};

/// One validation problem.
#[derive(Serialize, Clone, PartialEq, Eq, Debug)]
pub struct Problem {
    /// What is wrong, in one sentence.
    pub message: String,
    /// Source lines involved (when the configuration came from a file), ascending.
    pub lines: Vec<usize>,
    /// The objects involved (`interface Ethernet0/0 standby 1 ip`, ...).
    pub objects: Vec<String>,
    /// True for a dangling reference or an unfinished block that more lines can complete (a scheme naming a
    /// group not configured yet, an association without ports): an interactive session may accept such a
    /// candidate and show the problem as a warning. False for a contradiction, which must be rejected.
    pub pending: bool,
}

struct Problems<'a> {
    cfg: &'a Config,
    out: Vec<Problem>,
}

impl Problems<'_> {
    fn push(&mut self, pending: bool, message: String, objects: &[String]) {
        let mut lines: Vec<usize> = objects.iter().filter_map(|o| self.cfg.origins.line(o)).collect();
        lines.sort_unstable();
        lines.dedup();
        self.out.push(Problem {
            message,
            lines,
            objects: objects.to_vec(),
            pending,
        });
    }
}

/// Validates the whole candidate; empty = valid.
pub fn validate(cfg: &Config) -> Vec<Problem> {
    let mut p = Problems { cfg, out: Vec::new() };
    standby(&mut p);
    redundancy(&mut p);
    ipc(&mut p);
    inspect_and_acls(&mut p);
    p.out
}

fn standby(p: &mut Problems<'_>) {
    let cfg = p.cfg;
    let mut names: BTreeMap<&str, String> = BTreeMap::new();
    let mut vips: BTreeMap<Ipv4Addr, String> = BTreeMap::new();
    for iface in &cfg.interfaces {
        let ifname = &iface.name;
        let max = if iface.standby.version >= 2 {
            defaults::STANDBY_GROUP_MAX_V2
        } else {
            defaults::STANDBY_GROUP_MAX_V1
        };
        if !(1..=2).contains(&iface.standby.version) {
            p.push(
                false,
                format!("{ifname}: standby version must be 1 or 2"),
                &[format!("interface {ifname}")],
            );
        }
        for g in &iface.standby.groups {
            let n = g.group;
            let group_key = format!("interface {ifname} standby {n}");
            if n > max {
                p.push(
                    false,
                    format!(
                        "{ifname}: standby group {n} is out of range 0-{max} for HSRP version {}",
                        iface.standby.version
                    ),
                    std::slice::from_ref(&group_key),
                );
            }
            if let Some(t) = &g.timers {
                let (hello, hold) = (t.hello.as_millis(), t.hold.as_millis());
                let ok_hello = if t.hello.msec {
                    (15..=999).contains(&t.hello.value)
                } else {
                    (1..=254).contains(&t.hello.value)
                };
                let ok_hold = if t.hold.msec {
                    (50..=3000).contains(&t.hold.value)
                } else {
                    (2..=255).contains(&t.hold.value)
                };
                let key = format!("{group_key} timers");
                if !ok_hello || !ok_hold {
                    p.push(
                        false,
                        format!("{ifname} group {n}: timer value out of range"),
                        std::slice::from_ref(&key),
                    );
                }
                if hold <= hello {
                    p.push(
                        false,
                        format!("{ifname} group {n}: hold time {hold} ms must be greater than hello time {hello} ms"),
                        &[key],
                    );
                }
            }
            match &g.authentication {
                Some(StandbyAuth::Text(t)) if t.len() > 8 => p.push(
                    false,
                    format!("{ifname} group {n}: text authentication has at most 8 characters"),
                    std::slice::from_ref(&group_key),
                ),
                Some(StandbyAuth::Md5(k)) if k.len() > 64 => p.push(
                    false,
                    format!("{ifname} group {n}: an MD5 key string has at most 64 characters"),
                    std::slice::from_ref(&group_key),
                ),
                _ => {}
            }
            let ip_key = format!("{group_key} ip");
            let addr_key = format!("interface {ifname} ip address");
            for (vip, secondary) in
                g.ip.iter()
                    .map(|v| (*v, false))
                    .chain(g.secondary_ips.iter().map(|v| (*v, true)))
            {
                let what = if secondary {
                    "secondary virtual IP"
                } else {
                    "virtual IP"
                };
                match &iface.address {
                    None => p.push(
                        true,
                        format!("{ifname} group {n}: {what} {vip} needs an `ip address` on the interface"),
                        &[ip_key.clone(), format!("interface {ifname}")],
                    ),
                    Some(a) if a.address == vip => p.push(
                        false,
                        format!("{ifname} group {n}: {what} {vip} is the interface's own address"),
                        &[ip_key.clone(), addr_key.clone()],
                    ),
                    Some(a) if !a.contains(vip) => p.push(
                        false,
                        format!(
                            "{ifname} group {n}: {what} {vip} is outside the interface subnet {}/{}",
                            a.network(),
                            a.prefix_len().unwrap_or(0)
                        ),
                        &[ip_key.clone(), addr_key.clone()],
                    ),
                    Some(_) => {}
                }
                if let Some(other) = vips.insert(vip, ip_key.clone()) {
                    p.push(
                        false,
                        format!("virtual IP {vip} is configured in two groups"),
                        &[other, ip_key.clone()],
                    );
                }
            }
            if let Some(name) = &g.name {
                let key = format!("{group_key} name");
                if let Some(other) = names.insert(name, key.clone()) {
                    p.push(
                        false,
                        format!("standby group name {name} is used by two groups (names must differ on one router)"),
                        &[other, key],
                    );
                }
            }
        }
    }
}

fn redundancy(p: &mut Problems<'_>) {
    let cfg = p.cfg;
    let Some(red) = &cfg.redundancy else { return };
    match &red.scheme_standby {
        None => p.push(
            true,
            "redundancy inter-device has no `scheme standby NAME`".into(),
            &["redundancy inter-device".into()],
        ),
        Some(name) => {
            if cfg.standby_group_named(name).is_none() {
                p.push(
                    true,
                    format!("scheme standby {name}: no standby group is named {name}"),
                    &["redundancy scheme".into()],
                );
            }
        }
    }
}

fn ipc(p: &mut Problems<'_>) {
    let cfg = p.cfg;
    let Some(assoc) = cfg.ipc.as_ref().and_then(|z| z.association.as_ref()) else {
        return;
    };
    let assoc_key = "ipc association".to_string();
    let local = assoc.sctp.as_ref().and_then(|s| s.local.as_ref());
    let remote = assoc.sctp.as_ref().and_then(|s| s.remote.as_ref());
    if let Some(l) = local {
        if l.retransmit_min_ms > l.retransmit_max_ms {
            p.push(
                false,
                format!(
                    "retransmit-timeout minimum {} ms is above the maximum {} ms",
                    l.retransmit_min_ms, l.retransmit_max_ms
                ),
                &["ipc retransmit-timeout".into()],
            );
        }
        let range = defaults::SCTP_RTO_LOWEST_MS..=defaults::SCTP_RTO_HIGHEST_MS;
        if !range.contains(&l.retransmit_min_ms) || !range.contains(&l.retransmit_max_ms) {
            p.push(
                false,
                "retransmit-timeout values must be 300-60000 ms".into(),
                &["ipc retransmit-timeout".into()],
            );
        }
        for (what, v) in [
            ("path-retransmit", l.path_retransmit),
            ("assoc-retransmit", l.assoc_retransmit),
        ] {
            if !(2..=10).contains(&v) {
                p.push(false, format!("{what} must be 2-10"), &["ipc local-port".into()]);
            }
        }
        for ip in &l.ips {
            if cfg
                .standby_groups()
                .any(|(_, g)| g.ip == Some(*ip) || g.secondary_ips.contains(ip))
            {
                p.push(
                    false,
                    format!("local-ip {ip} is a standby virtual IP; the association needs the router's real address"),
                    &["ipc local-ip".into()],
                );
            }
        }
    }
    if let Some(r) = remote {
        for ip in &r.ips {
            if cfg
                .standby_groups()
                .any(|(_, g)| g.ip == Some(*ip) || g.secondary_ips.contains(ip))
            {
                p.push(
                    false,
                    format!("remote-ip {ip} is a standby virtual IP; the association needs the peer's real address"),
                    &["ipc remote-ip".into()],
                );
            }
        }
    }
    if assoc.shutdown {
        return;
    }
    let mut missing = Vec::new();
    if assoc.sctp.is_none() {
        missing.push("protocol sctp");
    }
    match local {
        None => missing.push("local-port"),
        Some(l) if l.ips.is_empty() => missing.push("local-ip"),
        Some(_) => {}
    }
    match remote {
        None => missing.push("remote-port"),
        Some(r) if r.ips.is_empty() => missing.push("remote-ip"),
        Some(_) => {}
    }
    if !missing.is_empty() {
        p.push(
            true,
            format!(
                "ipc association {} is enabled but lacks {}",
                assoc.id,
                missing.join(", ")
            ),
            &[assoc_key],
        );
    }
}

fn inspect_and_acls(p: &mut Problems<'_>) {
    let cfg = p.cfg;
    let scheme = cfg.redundancy.as_ref().and_then(|r| r.scheme_standby.as_deref());
    for iface in &cfg.interfaces {
        let ifname = &iface.name;
        for (dir, binding) in [("in", &iface.inspect_in), ("out", &iface.inspect_out)] {
            let Some(b) = binding else { continue };
            let key = format!("interface {ifname} inspect {dir}");
            if cfg.inspect.rule(&b.rule).is_none() {
                p.push(
                    true,
                    format!(
                        "{ifname}: ip inspect {} {dir}: no inspection rule is named {}",
                        b.rule, b.rule
                    ),
                    std::slice::from_ref(&key),
                );
            }
            if let Some(group) = &b.redundancy_group {
                if cfg.standby_group_named(group).is_none() {
                    p.push(
                        true,
                        format!("{ifname}: redundancy stateful {group}: no standby group is named {group}"),
                        std::slice::from_ref(&key),
                    );
                } else if let Some(scheme) = scheme.filter(|s| s != group) {
                    p.push(
                        false,
                        format!(
                            "{ifname}: redundancy stateful {group} differs from the redundancy scheme's group {scheme} (they must be the same group)"
                        ),
                        &[key.clone(), "redundancy scheme".into()],
                    );
                }
            }
        }
        for (dir, acl) in [("in", &iface.access_group_in), ("out", &iface.access_group_out)] {
            if let Some(name) = acl
                && cfg.access_list(name).is_none()
            {
                p.push(
                    true,
                    format!("{ifname}: ip access-group {name} {dir}: no access list is named {name}"),
                    &[format!("interface {ifname} access-group {dir}")],
                );
            }
        }
    }
    let i = &cfg.inspect;
    if let (Some(high), Some(low)) = (i.max_incomplete_high, i.max_incomplete_low)
        && low > high
    {
        p.push(
            false,
            format!("ip inspect max-incomplete low {low} is above high {high}"),
            &[],
        );
    }
    if !(10..=60).contains(&i.redundancy_update_seconds) {
        p.push(
            false,
            "ip inspect redundancy update seconds must be 10-60".into(),
            &["inspect redundancy update".into()],
        );
    }
    if !(1..=8).contains(&i.dataplane_workers) {
        p.push(false, "ip inspect dataplane workers must be 1-8".into(), &[]);
    }
    let mut seen = std::collections::BTreeSet::new();
    for acl in &cfg.access_lists {
        if !seen.insert(acl.name.as_str()) {
            p.push(
                false,
                format!("access list {} is defined twice", acl.name),
                &[format!("access-list {}", acl.name)],
            );
        }
        acl_rules(p, acl);
    }
}

/// Rule checks the command tree already enforces for typed lines; they matter for models built otherwise
/// (JSON, tools): ports only on TCP/UDP rules, `established` only on TCP rules, ranges from low to high.
fn acl_rules(p: &mut Problems<'_>, acl: &super::AccessList) {
    use super::{AclLine, AclProtocol, PortMatch};
    for entry in &acl.entries {
        let AclLine::Rule(rule) = &entry.line else {
            continue;
        };
        let key = [format!("access-list {}", acl.name)];
        let what = format!("access list {} entry {}", acl.name, entry.sequence);
        let l4 = matches!(rule.protocol, AclProtocol::Tcp | AclProtocol::Udp);
        if !l4 && (rule.source_port.is_some() || rule.destination_port.is_some()) {
            p.push(
                false,
                format!("{what}: port conditions need a tcp or udp rule"),
                &key,
            );
        }
        if rule.established && rule.protocol != AclProtocol::Tcp {
            p.push(
                false,
                format!("{what}: established applies to tcp rules only"),
                &key,
            );
        }
        for port in [rule.source_port, rule.destination_port].into_iter().flatten() {
            if let PortMatch::Range(lo, hi) = port
                && lo > hi
            {
                p.push(
                    false,
                    format!("{what}: port range {lo} {hi} goes from high to low"),
                    &key,
                );
            }
        }
    }
}
