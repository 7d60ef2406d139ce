//! Configuration actions of the firewall commands: `ip inspect ...` and extended ACLs.

use super::Mode;
use super::actions::{R, changed, enter};
use super::build::{Apply, ApplyError, Next};
use crate::config::{
    AccessList, AclAction, AclAddress, AclEntry, AclLine, AclProtocol, AclRule, InspectProtocol, InspectRule,
    InspectRuleEntry, PortMatch, defaults,
};

pub(crate) fn inspect_name(ap: &mut Apply<'_>) -> R {
    let Some(rule_name) = ap.val("rule").map(str::to_string) else {
        return Err(ap.err("rule", "rule name"));
    };
    let protocol = match ap.val("proto") {
        Some("tcp") => Some(InspectProtocol::Tcp),
        Some("udp") => Some(InspectProtocol::Udp),
        _ => None,
    };
    let timeout = ap.num("timeout");
    let negated = ap.negated;
    let rules = &mut ap.cfg.inspect.rules;
    if negated {
        match protocol {
            None => rules.retain(|r| r.name != rule_name),
            Some(p) => {
                for rule in rules.iter_mut().filter(|r| r.name == rule_name) {
                    rule.entries.retain(|e| e.protocol != p);
                }
                rules.retain(|r| r.name != rule_name || !r.entries.is_empty());
            }
        }
        return changed();
    }
    let Some(protocol) = protocol else {
        return Err(ApplyError {
            column: 0,
            reason: "protocol".into(),
        });
    };
    let index = match rules.iter().position(|r| r.name == rule_name) {
        Some(i) => i,
        None => {
            rules.push(InspectRule {
                name: rule_name.clone(),
                entries: Vec::new(),
            });
            rules.len() - 1
        }
    };
    let rule = &mut rules[index];
    match rule.entries.iter_mut().find(|e| e.protocol == protocol) {
        Some(entry) => entry.timeout = timeout,
        None => rule.entries.push(InspectRuleEntry { protocol, timeout }),
    }
    ap.note(format!("inspect name {rule_name}"));
    changed()
}

pub(crate) fn inspect_timer(ap: &mut Apply<'_>) -> R {
    let seconds: Option<u32> = if ap.negated { None } else { ap.num("seconds") };
    let udp = ap.has("udp");
    let timer = ap.val("timer").map(str::to_string);
    let inspect = &mut ap.cfg.inspect;
    match (udp, timer.as_deref()) {
        (true, _) => inspect.udp_idle_time = seconds.unwrap_or(defaults::INSPECT_UDP_IDLE_SECS),
        (false, Some("synwait-time")) => {
            inspect.tcp_synwait_time = seconds.unwrap_or(defaults::INSPECT_TCP_SYNWAIT_SECS);
        }
        (false, Some("finwait-time")) => {
            inspect.tcp_finwait_time = seconds.unwrap_or(defaults::INSPECT_TCP_FINWAIT_SECS);
        }
        _ => inspect.tcp_idle_time = seconds.unwrap_or(defaults::INSPECT_TCP_IDLE_SECS),
    }
    changed()
}

pub(crate) fn inspect_max_incomplete(ap: &mut Apply<'_>) -> R {
    let count = if ap.negated { None } else { ap.num("count") };
    if ap.val("level") == Some("high") {
        ap.cfg.inspect.max_incomplete_high = count;
    } else {
        ap.cfg.inspect.max_incomplete_low = count;
    }
    changed()
}

pub(crate) fn inspect_audit_trail(ap: &mut Apply<'_>) -> R {
    ap.cfg.inspect.audit_trail = !ap.negated;
    changed()
}

pub(crate) fn inspect_update(ap: &mut Apply<'_>) -> R {
    ap.cfg.inspect.redundancy_update_seconds = if ap.negated {
        defaults::INSPECT_HA_UPDATE_SECS
    } else {
        ap.num("seconds").unwrap_or(10)
    };
    ap.note("inspect redundancy update".into());
    changed()
}

pub(crate) fn inspect_dataplane_queue(ap: &mut Apply<'_>) -> R {
    let (queue, workers) = if ap.negated {
        (
            defaults::INSPECT_DATAPLANE_QUEUE,
            defaults::INSPECT_DATAPLANE_WORKERS,
        )
    } else {
        (
            ap.num("queue").unwrap_or(0),
            ap.num("workers").unwrap_or(defaults::INSPECT_DATAPLANE_WORKERS),
        )
    };
    ap.cfg.inspect.dataplane_queue = queue;
    ap.cfg.inspect.dataplane_workers = workers;
    changed()
}

pub(crate) fn inspect_fail_open(ap: &mut Apply<'_>) -> R {
    ap.cfg.inspect.dataplane_fail_open = !ap.negated;
    changed()
}

pub(crate) fn access_list(ap: &mut Apply<'_>) -> R {
    let name = ap.val("acl").unwrap_or_default().to_string();
    if ap.negated {
        ap.cfg.access_lists.retain(|a| a.name != name);
        return changed();
    }
    if ap.cfg.access_list(&name).is_none() {
        ap.cfg.access_lists.push(AccessList {
            name: name.clone(),
            entries: Vec::new(),
        });
    }
    ap.note(format!("access-list {name}"));
    enter(Mode::ExtendedAcl(name))
}

fn acl_mut<'c>(ap: &'c mut Apply<'_>) -> &'c mut AccessList {
    let name = match ap.mode {
        Mode::ExtendedAcl(name) => name.clone(),
        _ => String::new(),
    };
    let lists = &mut ap.cfg.access_lists;
    let index = match lists.iter().position(|a| a.name == name) {
        Some(i) => i,
        None => {
            lists.push(AccessList {
                name,
                entries: Vec::new(),
            });
            lists.len() - 1
        }
    };
    &mut lists[index]
}

pub(crate) fn acl_delete_seq(ap: &mut Apply<'_>) -> R {
    let seq: u32 = ap.num("seq").unwrap_or(0);
    acl_mut(ap).entries.retain(|e| e.sequence != seq);
    changed()
}

fn add_acl_line(ap: &mut Apply<'_>, line: AclLine) -> R {
    let seq: Option<u32> = ap.num("seq");
    let negated = ap.negated;
    let err = ap.err("seq", "duplicate sequence number");
    let acl = acl_mut(ap);
    if negated {
        acl.entries.retain(|e| e.line != line);
        return changed();
    }
    if seq.is_none() && acl.entries.iter().any(|e| e.line == line) {
        return Ok(Next::default());
    }
    let sequence = match seq {
        Some(s) => s,
        None => acl
            .entries
            .last()
            .map_or(0, |e| e.sequence)
            .saturating_add(defaults::ACL_SEQUENCE_STEP),
    };
    match acl.entries.binary_search_by_key(&sequence, |e| e.sequence) {
        Ok(_) => Err(err),
        Err(i) => {
            acl.entries.insert(i, AclEntry { sequence, line });
            changed()
        }
    }
}

pub(crate) fn acl_remark(ap: &mut Apply<'_>) -> R {
    let text = ap.val("remark").unwrap_or_default().to_string();
    add_acl_line(ap, AclLine::Remark { text })
}

fn acl_address(ap: &Apply<'_>, side: &str) -> AclAddress {
    if let (Some(address), Some(wildcard)) = (ap.ip(&format!("{side}_addr")), ap.ip(&format!("{side}_wild")))
    {
        return AclAddress::Network { address, wildcard };
    }
    match ap.ip(&format!("{side}_host")) {
        Some(ip) => AclAddress::Host(ip),
        None => AclAddress::Any,
    }
}

/// A port typed as a number or as a name valid for IP protocol `proto` (the tree offers only those).
fn port_value(ap: &Apply<'_>, name: &str, proto: u8) -> Option<u16> {
    let text = ap.val(name)?;
    text.parse()
        .ok()
        .or_else(|| inspect::acl::ports::port_number(proto, text))
}

fn acl_port(ap: &Apply<'_>, side: &str, proto: u8) -> Option<PortMatch> {
    let port = port_value(ap, &format!("{side}_port"), proto)?;
    Some(match ap.val(&format!("{side}_op"))? {
        "eq" => PortMatch::Eq(port),
        "neq" => PortMatch::Neq(port),
        "gt" => PortMatch::Gt(port),
        "lt" => PortMatch::Lt(port),
        _ => PortMatch::Range(port, port_value(ap, &format!("{side}_port_hi"), proto)?),
    })
}

pub(crate) fn acl_rule(ap: &mut Apply<'_>) -> R {
    let action = if ap.val("acl_action") == Some("deny") {
        AclAction::Deny
    } else {
        AclAction::Permit
    };
    let protocol = match ap.val("proto") {
        Some("tcp" | "6") => AclProtocol::Tcp,
        Some("udp" | "17") => AclProtocol::Udp,
        Some("icmp" | "1") => AclProtocol::Icmp,
        Some("ip") => AclProtocol::Ip,
        Some(n) => AclProtocol::Number(n.parse().unwrap_or(0)),
        None => {
            ap.warnings
                .push("no protocol given: read as `ip` (any IP protocol)".into());
            AclProtocol::Ip
        }
    };
    let port_proto = match protocol {
        AclProtocol::Tcp => 6,
        AclProtocol::Udp => 17,
        _ => 0,
    };
    let (source_port, destination_port) = (acl_port(ap, "src", port_proto), acl_port(ap, "dst", port_proto));
    let established = ap.has("established");
    if established && protocol != AclProtocol::Tcp {
        return Err(ap.err("established", "established applies to tcp rules only"));
    }
    for (port, side) in [(source_port, "src"), (destination_port, "dst")] {
        if let Some(PortMatch::Range(lo, hi)) = port
            && lo > hi
        {
            return Err(ap.err(&format!("{side}_port_hi"), "the range must go from low to high"));
        }
    }
    let rule = AclRule {
        action,
        protocol,
        source: acl_address(ap, "src"),
        source_port,
        destination: acl_address(ap, "dst"),
        destination_port,
        established,
        log: ap.has("log"),
    };
    add_acl_line(ap, AclLine::Rule(rule))
}
