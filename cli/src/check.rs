//! Offline checks of one configuration file or of a pair of router configurations (`iosha check`).
//!
//! IOS leaves matching the two routers' configurations to the operator; `check_pair` names every mismatch that
//! would break the HA pair: LANs are paired by subnet, then standby groups (numbers, virtual IPs, names,
//! version, authentication), the redundancy scheme, the mirrored IPC association, the inspection rules and
//! their HA settings, the interface ACLs and the seed's addressing rule (one router lower on every LAN).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::Path;

use serde::Serialize;

use crate::config::{
    AclAction, AclAddress, AclLine, AclProtocol, AclRule, Config, Interface, SctpTransport, StandbyGroup,
    render_acl_rule,
};
use crate::lang::load_config;

/// How serious a finding is.
#[derive(Serialize, Clone, Copy, PartialEq, Eq, Debug)]
pub enum Severity {
    /// The pair will not work as an HA pair.
    Error,
    /// Works, but against the seed's recommendations.
    Warning,
}

/// One pair-check finding.
#[derive(Serialize, Clone, PartialEq, Eq, Debug)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// What does not match.
    pub message: String,
}

struct Pair<'a> {
    a: &'a Config,
    b: &'a Config,
    na: String,
    nb: String,
    out: Vec<Finding>,
}

impl Pair<'_> {
    fn error(&mut self, message: String) {
        self.out.push(Finding {
            severity: Severity::Error,
            message,
        });
    }
    fn warning(&mut self, message: String) {
        self.out.push(Finding {
            severity: Severity::Warning,
            message,
        });
    }
}

/// A LAN: the interfaces of both routers in the same subnet.
struct Lan<'a> {
    subnet: String,
    a: &'a Interface,
    b: &'a Interface,
}

/// Names every mismatch between two router configurations meant to form an HA pair.
pub fn check_pair(a: &Config, b: &Config) -> Vec<Finding> {
    let (mut na, mut nb) = (a.prompt_name().to_string(), b.prompt_name().to_string());
    if na == nb {
        na = format!("first router ({na})");
        nb = format!("second router ({nb})");
    }
    let mut p = Pair {
        a,
        b,
        na,
        nb,
        out: Vec::new(),
    };
    if a.hostname == b.hostname && !a.hostname.is_empty() {
        p.warning(format!("both routers are named {}", a.hostname));
    }
    let lans = pair_lans(&mut p);
    for lan in &lans {
        check_lan(&mut p, lan);
    }
    check_addressing(&mut p, &lans);
    check_redundancy(&mut p);
    check_ipc(&mut p);
    check_inspect(&mut p);
    check_acls(&mut p, &lans);
    p.out
}

fn subnet(iface: &Interface) -> Option<(Ipv4Addr, Ipv4Addr)> {
    iface.address.map(|a| (a.network(), a.mask))
}

fn pair_lans<'a>(p: &mut Pair<'a>) -> Vec<Lan<'a>> {
    let (a, b) = (p.a, p.b);
    let mut lans = Vec::new();
    for ia in &a.interfaces {
        let Some(net) = subnet(ia) else { continue };
        let label = format!(
            "{}/{}",
            net.0,
            ia.address.and_then(|x| x.prefix_len()).unwrap_or(0)
        );
        match b.interfaces.iter().find(|ib| subnet(ib) == Some(net)) {
            Some(ib) => lans.push(Lan {
                subnet: label,
                a: ia,
                b: ib,
            }),
            None if !ia.standby.groups.is_empty() => {
                let nb = p.nb.clone();
                p.error(format!(
                    "LAN {label}: {} {} has standby groups but {nb} has no interface in this subnet",
                    p.na, ia.name
                ));
            }
            None => {}
        }
    }
    for ib in &b.interfaces {
        if let Some(net) = subnet(ib)
            && !ib.standby.groups.is_empty()
            && !a.interfaces.iter().any(|ia| subnet(ia) == Some(net))
        {
            let label = format!(
                "{}/{}",
                net.0,
                ib.address.and_then(|x| x.prefix_len()).unwrap_or(0)
            );
            let na = p.na.clone();
            p.error(format!(
                "LAN {label}: {} {} has standby groups but {na} has no interface in this subnet",
                p.nb, ib.name
            ));
        }
    }
    lans
}

fn groups(iface: &Interface) -> BTreeMap<u16, &StandbyGroup> {
    iface.standby.groups.iter().map(|g| (g.group, g)).collect()
}

fn check_lan(p: &mut Pair<'_>, lan: &Lan<'_>) {
    let (na, nb) = (p.na.clone(), p.nb.clone());
    let l = format!(
        "LAN {} ({} {} / {} {})",
        lan.subnet, na, lan.a.name, nb, lan.b.name
    );
    if let (Some(x), Some(y)) = (lan.a.address, lan.b.address)
        && x.address == y.address
    {
        p.error(format!("{l}: both routers use the address {}", x.address));
    }
    if lan.a.standby.version != lan.b.standby.version {
        p.error(format!(
            "{l}: standby version {} on {na} but {} on {nb}",
            lan.a.standby.version, lan.b.standby.version
        ));
    }
    let (ga, gb) = (groups(lan.a), groups(lan.b));
    for (n, g) in &ga {
        if !gb.contains_key(n) {
            p.error(format!(
                "{l}: standby group {n} is configured on {na} only ({})",
                describe(g)
            ));
        }
    }
    for (n, g) in &gb {
        if !ga.contains_key(n) {
            p.error(format!(
                "{l}: standby group {n} is configured on {nb} only ({})",
                describe(g)
            ));
        }
    }
    for (n, x) in &ga {
        let Some(y) = gb.get(n) else { continue };
        let g = format!("{l} group {n}");
        if x.ip != y.ip {
            p.error(format!(
                "{g}: virtual IP {} on {na} but {} on {nb}",
                show(x.ip),
                show(y.ip)
            ));
        }
        if sorted(&x.secondary_ips) != sorted(&y.secondary_ips) {
            p.error(format!("{g}: secondary virtual IPs differ"));
        }
        if x.name != y.name {
            p.error(format!(
                "{g}: group name {} on {na} but {} on {nb}",
                x.name.as_deref().unwrap_or("(none)"),
                y.name.as_deref().unwrap_or("(none)")
            ));
        }
        if x.authentication != y.authentication {
            p.error(format!(
                "{g}: authentication differs (the routers would ignore each other's hellos)"
            ));
        }
        if x.mac_address != y.mac_address {
            p.error(format!("{g}: virtual MAC address differs"));
        }
        if x.priority != y.priority {
            p.warning(format!(
                "{g}: priority {} on {na} but {} on {nb}; the seed recommends equal priorities (the higher one takes over needlessly)",
                x.priority, y.priority
            ));
        }
        if x.preempt.is_some() != y.preempt.is_some() {
            p.warning(format!("{g}: preempt is configured on one router only"));
        }
        if let (Some(tx), Some(ty)) = (x.timers, y.timers)
            && (tx.hello.as_millis(), tx.hold.as_millis()) != (ty.hello.as_millis(), ty.hold.as_millis())
        {
            p.warning(format!(
                "{g}: timers differ (hello/hold {}/{} ms on {na}, {}/{} ms on {nb})",
                tx.hello.as_millis(),
                tx.hold.as_millis(),
                ty.hello.as_millis(),
                ty.hold.as_millis()
            ));
        }
        if x.timers.is_some() != y.timers.is_some() {
            let who = if x.timers.is_some() { &na } else { &nb };
            p.warning(format!(
                "{g}: timers are configured on {who} only; the other router uses learned or default timers (3 s / 10 s)"
            ));
        }
        if let Some(vip) = x.ip
            && [lan.a.address, lan.b.address]
                .iter()
                .flatten()
                .any(|a| a.address == vip)
        {
            p.error(format!("{g}: virtual IP {vip} is a router's own address"));
        }
    }
    for (dir, x, y) in [
        ("in", &lan.a.access_group_in, &lan.b.access_group_in),
        ("out", &lan.a.access_group_out, &lan.b.access_group_out),
    ] {
        if x != y {
            p.error(format!(
                "{l}: ip access-group {dir} is {} on {na} but {} on {nb}",
                x.as_deref().unwrap_or("(none)"),
                y.as_deref().unwrap_or("(none)")
            ));
        }
    }
    for (dir, x, y) in [
        ("in", &lan.a.inspect_in, &lan.b.inspect_in),
        ("out", &lan.a.inspect_out, &lan.b.inspect_out),
    ] {
        let fmt = |b: &Option<crate::config::InspectBinding>| match b {
            None => "(none)".to_string(),
            Some(b) => match &b.redundancy_group {
                Some(g) => format!("rule {} redundancy group {g}", b.rule),
                None => format!("rule {} without redundancy", b.rule),
            },
        };
        if x != y {
            p.error(format!(
                "{l}: ip inspect {dir} is {} on {na} but {} on {nb}",
                fmt(x),
                fmt(y)
            ));
        }
    }
}

fn describe(g: &StandbyGroup) -> String {
    match (&g.ip, &g.name) {
        (Some(ip), Some(name)) => format!("virtual IP {ip}, name {name}"),
        (Some(ip), None) => format!("virtual IP {ip}"),
        (None, Some(name)) => format!("name {name}"),
        (None, None) => "no virtual IP".into(),
    }
}

fn show(ip: Option<Ipv4Addr>) -> String {
    ip.map_or_else(|| "(none)".to_string(), |ip| ip.to_string())
}

fn sorted(v: &[Ipv4Addr]) -> Vec<Ipv4Addr> {
    let mut v = v.to_vec();
    v.sort();
    v
}

/// The seed: with equal priorities the higher address wins each LAN, so one router must have the lower address
/// on every HSRP LAN, otherwise one LAN elects A and the other B (split active/standby).
fn check_addressing(p: &mut Pair<'_>, lans: &[Lan<'_>]) {
    let mut lower_on_a = Vec::new();
    let mut equal_priorities = true;
    for lan in lans {
        if lan.a.standby.groups.is_empty() {
            continue;
        }
        let (Some(x), Some(y)) = (lan.a.address, lan.b.address) else {
            continue;
        };
        if x.address == y.address {
            continue;
        }
        lower_on_a.push((lan.subnet.clone(), x.address < y.address));
        let (ga, gb) = (groups(lan.a), groups(lan.b));
        equal_priorities &= ga
            .iter()
            .all(|(n, g)| gb.get(n).is_none_or(|h| h.priority == g.priority));
    }
    let a_lower: Vec<&str> = lower_on_a.iter().filter(|x| x.1).map(|x| x.0.as_str()).collect();
    let b_lower: Vec<&str> = lower_on_a.iter().filter(|x| !x.1).map(|x| x.0.as_str()).collect();
    if !a_lower.is_empty() && !b_lower.is_empty() {
        let message = format!(
            "split active/standby risk: {} has the lower address on {} but {} has the lower address on {}; one router must be lower (or higher) on every HSRP LAN",
            p.na,
            a_lower.join(", "),
            p.nb,
            b_lower.join(", ")
        );
        if equal_priorities {
            p.error(message)
        } else {
            p.warning(message)
        }
    }
}

fn check_redundancy(p: &mut Pair<'_>) {
    let sa = p.a.redundancy.as_ref().and_then(|r| r.scheme_standby.clone());
    let sb = p.b.redundancy.as_ref().and_then(|r| r.scheme_standby.clone());
    if sa != sb {
        let (na, nb) = (p.na.clone(), p.nb.clone());
        p.error(format!(
            "redundancy scheme standby is {} on {na} but {} on {nb}",
            sa.as_deref().unwrap_or("(none)"),
            sb.as_deref().unwrap_or("(none)")
        ));
    }
    let ka = p.a.redundancy.as_ref().and_then(|r| r.security_key.clone());
    let kb = p.b.redundancy.as_ref().and_then(|r| r.security_key.clone());
    if ka != kb {
        p.error("redundancy security key differs (the peers would refuse each other's messages)".into());
    }
}

fn check_ipc(p: &mut Pair<'_>) {
    let (na, nb) = (p.na.clone(), p.nb.clone());
    let assoc = |c: &Config| c.ipc.as_ref().and_then(|z| z.association.clone());
    let (Some(x), Some(y)) = (assoc(p.a), assoc(p.b)) else {
        if assoc(p.a).is_some() != assoc(p.b).is_some() {
            p.error("ipc association 1 is configured on one router only".into());
        }
        return;
    };
    for (name, a) in [(&na, &x), (&nb, &y)] {
        if a.shutdown {
            p.error(format!("ipc association {} is shut down on {name}", a.id));
        }
    }
    let local = |a: &crate::config::IpcAssociation| a.sctp.as_ref().and_then(|s| s.local.clone());
    let remote = |a: &crate::config::IpcAssociation| a.sctp.as_ref().and_then(|s| s.remote.clone());
    for (from, to, l, r) in [
        (&na, &nb, local(&x), remote(&y)),
        (&nb, &na, local(&y), remote(&x)),
    ] {
        match (l, r) {
            (Some(l), Some(r)) => {
                if l.port != r.port {
                    p.error(format!(
                        "ipc: local-port {} on {from} but remote-port {} on {to}",
                        l.port, r.port
                    ));
                }
                if l.ips != r.ips {
                    let show =
                        |v: &[Ipv4Addr]| v.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ");
                    p.error(format!(
                        "ipc: local-ip {} on {from} but remote-ip {} on {to} (they must be the same addresses)",
                        show(&l.ips),
                        show(&r.ips)
                    ));
                }
            }
            _ => p.error(format!(
                "ipc: local side on {from} and remote side on {to} are not both configured"
            )),
        }
    }
    if let (Some(l), Some(m)) = (local(&x), local(&y)) {
        if (
            l.retransmit_min_ms,
            l.retransmit_max_ms,
            l.path_retransmit,
            l.assoc_retransmit,
        ) != (
            m.retransmit_min_ms,
            m.retransmit_max_ms,
            m.path_retransmit,
            m.assoc_retransmit,
        ) {
            p.warning(
                "ipc: retransmit-timeout / path-retransmit / assoc-retransmit differ between the routers"
                    .into(),
            );
        }
        let udp = |t: SctpTransport| t == SctpTransport::Udp;
        if l.transport != m.transport {
            let message = format!(
                "ipc: transport {} on {na} but {} on {nb}",
                l.transport.keyword(),
                m.transport.keyword()
            );
            if udp(l.transport) != udp(m.transport)
                && l.transport != SctpTransport::Auto
                && m.transport != SctpTransport::Auto
            {
                p.error(format!("{message} (SCTP over UDP does not talk to native SCTP)"));
            } else {
                p.warning(message);
            }
        }
    }
}

fn check_inspect(p: &mut Pair<'_>) {
    let (ia, ib) = (&p.a.inspect, &p.b.inspect);
    let (na, nb) = (p.na.clone(), p.nb.clone());
    let mut found = Vec::new();
    for rule in &ia.rules {
        match ib.rule(&rule.name) {
            None => found.push((
                Severity::Error,
                format!("inspect rule {} exists on {na} only", rule.name),
            )),
            Some(other) => {
                let protos = |r: &crate::config::InspectRule| {
                    let mut v: Vec<_> = r.entries.iter().map(|e| e.protocol).collect();
                    v.sort();
                    v
                };
                if protos(rule) != protos(other) {
                    found.push((
                        Severity::Error,
                        format!(
                            "inspect rule {}: protocols differ (L4 protocol mismatch)",
                            rule.name
                        ),
                    ));
                } else if rule.entries.iter().any(|e| {
                    other
                        .entries
                        .iter()
                        .any(|f| f.protocol == e.protocol && f.timeout != e.timeout)
                }) {
                    found.push((
                        Severity::Warning,
                        format!("inspect rule {}: protocol timeouts differ", rule.name),
                    ));
                }
            }
        }
    }
    for rule in &ib.rules {
        if ia.rule(&rule.name).is_none() {
            found.push((
                Severity::Error,
                format!("inspect rule {} exists on {nb} only", rule.name),
            ));
        }
    }
    if ia.redundancy_update_seconds != ib.redundancy_update_seconds {
        found.push((
            Severity::Error,
            format!(
                "ip inspect redundancy update seconds is {} on {na} but {} on {nb}",
                ia.redundancy_update_seconds, ib.redundancy_update_seconds
            ),
        ));
    }
    let timers = |i: &crate::config::InspectGlobal| {
        (
            i.tcp_idle_time,
            i.udp_idle_time,
            i.tcp_synwait_time,
            i.tcp_finwait_time,
        )
    };
    if timers(ia) != timers(ib) {
        found.push((Severity::Warning, "global ip inspect timers (idle/synwait/finwait) differ; synchronized sessions would age differently".into()));
    }
    for (severity, message) in found {
        p.out.push(Finding { severity, message });
    }
}

/// The rules of an ACL as they act: remarks and sequence numbers left out, a final `deny ip any any` (the
/// implicit deny every IOS ACL ends with) removed.
fn acl_effect(cfg: &Config, name: &str) -> Option<Vec<AclRule>> {
    let acl = cfg.access_list(name)?;
    let mut rules: Vec<AclRule> = acl
        .entries
        .iter()
        .filter_map(|e| match &e.line {
            AclLine::Rule(r) => Some(*r),
            AclLine::Remark { .. } => None,
        })
        .collect();
    while rules.last().is_some_and(|r| {
        r.action == AclAction::Deny
            && r.protocol == AclProtocol::Ip
            && r.source == AclAddress::Any
            && r.destination == AclAddress::Any
    }) {
        rules.pop();
    }
    Some(rules)
}

fn check_acls(p: &mut Pair<'_>, lans: &[Lan<'_>]) {
    let mut names: Vec<&str> = Vec::new();
    for lan in lans {
        for (x, y) in [
            (&lan.a.access_group_in, &lan.b.access_group_in),
            (&lan.a.access_group_out, &lan.b.access_group_out),
        ] {
            if let (Some(x), Some(y)) = (x, y)
                && x == y
                && !names.contains(&x.as_str())
            {
                names.push(x);
            }
        }
    }
    for name in names {
        let (Some(x), Some(y)) = (acl_effect(p.a, name), acl_effect(p.b, name)) else {
            continue;
        };
        if x == y {
            continue;
        }
        // `log` changes what is reported, not what passes: a difference in it alone is only a warning.
        let unlogged = |rules: &[AclRule]| -> Vec<AclRule> {
            rules.iter().map(|r| AclRule { log: false, ..*r }).collect()
        };
        if unlogged(&x) == unlogged(&y) {
            p.warning(format!(
                "access list {name}: the routers log different entries (the same traffic passes)"
            ));
            continue;
        }
        let only = |u: &[AclRule], v: &[AclRule]| -> Vec<String> {
            u.iter().filter(|r| !v.contains(r)).map(render_acl_rule).collect()
        };
        let (na, nb) = (p.na.clone(), p.nb.clone());
        let mut message = format!("access list {name} differs between the routers");
        for (who, lines) in [(&na, only(&x, &y)), (&nb, only(&y, &x))] {
            if !lines.is_empty() {
                let _ = write!(message, "; only on {who}: {}", lines.join(", "));
            }
        }
        if only(&x, &y).is_empty() && only(&y, &x).is_empty() {
            message.push_str(" (same entries in another order)");
        }
        p.error(message);
    }
}

/// The full `iosha check FILE [PEER_FILE]` output and whether everything is valid (exit 0).
pub fn check_files(paths: &[&Path]) -> (String, bool) {
    let mut out = String::new();
    if paths.is_empty() || paths.len() > 2 {
        out.push_str("usage: iosha check FILE [PEER_FILE]\n");
        return (out, false);
    }
    let mut ok = true;
    let mut configs = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                let _ = writeln!(out, "{name}: cannot read: {e}");
                ok = false;
                continue;
            }
        };
        let report = load_config(&text, &name);
        for w in &report.warnings {
            let _ = writeln!(out, "Warning: {}", w.text);
        }
        for e in &report.errors {
            let _ = writeln!(out, "Error: {}", e.text);
        }
        match report.config {
            Some(cfg) => {
                let _ = writeln!(out, "{name}: valid ({} warnings)", report.warnings.len());
                configs.push(cfg);
            }
            None => {
                let _ = writeln!(
                    out,
                    "{name}: INVALID ({} errors, {} warnings)",
                    report.errors.len(),
                    report.warnings.len()
                );
                ok = false;
            }
        }
    }
    if paths.len() == 2 {
        if let [a, b] = configs.as_slice() {
            let findings = check_pair(a, b);
            let errors = findings.iter().filter(|f| f.severity == Severity::Error).count();
            let _ = writeln!(out, "Pair check {} / {}:", a.prompt_name(), b.prompt_name());
            for f in &findings {
                let tag = if f.severity == Severity::Error {
                    "Error"
                } else {
                    "Warning"
                };
                let _ = writeln!(out, "  {tag}: {}", f.message);
            }
            if errors == 0 {
                let _ = writeln!(out, "pair: OK ({} warnings)", findings.len());
            } else {
                let _ = writeln!(
                    out,
                    "pair: MISMATCH ({errors} errors, {} warnings)",
                    findings.len() - errors
                );
                ok = false;
            }
        } else {
            out.push_str("pair: not checked (a file is invalid)\n");
        }
    }
    (out, ok)
}
