//! Pure renderers of the inspect `show` commands in IOS layout (inputs are the engine's snapshots, merged
//! over shards by the caller).

use std::fmt::Write as _;

use crate::acl::AclStatus;
use crate::config::{EngineConfig, InterfaceInspect};
use crate::record::L4Proto;
use crate::status::{EngineStats, HaState, SessionStatus};

/// `hh:mm:ss` of a span in seconds (hours grow past 99 as needed).
pub fn hms(secs: u64) -> String {
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

fn session_line(out: &mut String, s: &SessionStatus, with_ha: bool) {
    let _ = write!(
        out,
        " Session {:08X} ({})=>({}) {} {}",
        s.id, s.initiator, s.responder, s.proto, s.state
    );
    if with_ha {
        let _ = write!(out, "  HA state: {}", s.ha_state.as_str());
    }
    out.push('\n');
}

fn detail_lines(out: &mut String, s: &SessionStatus) {
    let _ = writeln!(out, "  Created {}, Last heard {}", hms(s.age_s), hms(s.idle_s));
    let _ = writeln!(
        out,
        "  Bytes sent (initiator:responder) [{}:{}]",
        s.bytes_initiator, s.bytes_responder
    );
    // The pinhole: return traffic enters an `out`-inspected interface (and leaves an `in`-inspected one).
    let (label, from, to) = if s.direction == "out" {
        ("In ", s.responder, s.initiator)
    } else {
        ("Out", s.responder, s.initiator)
    };
    let _ = write!(
        out,
        "  {label} SID {}[{}:{}]=>{}[{}:{}]",
        from.ip(),
        from.port(),
        from.port(),
        to.ip(),
        to.port(),
        to.port()
    );
    if let Some(acl) = &s.return_acl {
        let _ = write!(out, " on ACL {acl}");
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "  Interface {} {}, timeout {} sec",
        s.interface, s.direction, s.timeout_s
    );
}

fn render_groups(sessions: &[SessionStatus], detail: bool, with_ha: bool) -> String {
    let mut sorted: Vec<&SessionStatus> = sessions.iter().collect();
    sorted.sort_by_key(|s| (s.id, s.initiator, s.responder));
    let mut out = String::new();
    for (title, half) in [("Established Sessions", false), ("Half-open Sessions", true)] {
        let group: Vec<&&SessionStatus> = sorted.iter().filter(|s| s.half_open == half).collect();
        if group.is_empty() {
            continue;
        }
        out.push_str(title);
        out.push('\n');
        for s in group {
            session_line(&mut out, s, with_ha);
            if detail {
                detail_lines(&mut out, s);
            }
        }
    }
    out
}

/// `show ip inspect sessions [detail]`.
pub fn render_sessions(sessions: &[SessionStatus], detail: bool) -> String {
    render_groups(sessions, detail, false)
}

/// `show ip inspect ha sessions [detail]`: the HA sessions only, each with its HA state.
pub fn render_ha_sessions(sessions: &[SessionStatus], detail: bool) -> String {
    let ha: Vec<SessionStatus> = sessions
        .iter()
        .filter(|s| s.ha_state != HaState::None)
        .cloned()
        .collect();
    render_groups(&ha, detail, true)
}

fn limit(v: Option<u32>) -> String {
    v.map_or_else(|| "unlimited".to_string(), |n| n.to_string())
}

fn rule_lines(out: &mut String, cfg: &EngineConfig, rule: &str, indent: &str) {
    let Some(r) = cfg.rules.iter().find(|r| r.name == rule) else {
        let _ = writeln!(out, "{indent}(rule {rule} is not defined)");
        return;
    };
    let audit = if cfg.audit_trail { "on" } else { "off" };
    for p in &r.protocols {
        let (name, default) = match p.proto {
            L4Proto::TCP => ("tcp", cfg.tcp_idle_s),
            L4Proto::UDP => ("udp", cfg.udp_idle_s),
            _ => continue,
        };
        let _ = writeln!(
            out,
            "{indent}{name} alert is on audit-trail is {audit} timeout {}",
            p.timeout_s.unwrap_or(default)
        );
    }
}

fn binding_lines(out: &mut String, cfg: &EngineConfig, label: &str, b: &Option<InterfaceInspect>) {
    match b {
        None => {
            let _ = writeln!(out, "  {label} inspection rule is not set");
        }
        Some(b) => {
            let _ = write!(out, "  {label} inspection rule is {}", b.rule);
            if let Some(g) = &b.redundancy_group {
                let _ = write!(out, ", redundancy stateful {g}");
            }
            out.push('\n');
            rule_lines(out, cfg, &b.rule, "    ");
        }
    }
}

/// `show ip inspect all`: global settings, rules, interface bindings and (when given) the counters.
pub fn render_inspect_all(cfg: &EngineConfig, stats: Option<&EngineStats>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Session audit trail is {}",
        if cfg.audit_trail { "enabled" } else { "disabled" }
    );
    out.push_str("Session alert is enabled\n");
    out.push_str("one-minute (sampling period) thresholds are [unlimited : unlimited] connections\n");
    let _ = writeln!(
        out,
        "max-incomplete sessions thresholds are [{} : {}]",
        limit(cfg.max_incomplete_high),
        limit(cfg.max_incomplete_low.or(cfg.max_incomplete_high))
    );
    out.push_str("max-incomplete tcp connections per host is unlimited. Block-time 0 minute.\n");
    let _ = writeln!(
        out,
        "tcp synwait-time is {} sec -- tcp finwait-time is {} sec",
        cfg.tcp_synwait_s, cfg.tcp_finwait_s
    );
    let _ = writeln!(
        out,
        "tcp idle-time is {} sec -- udp idle-time is {} sec",
        cfg.tcp_idle_s, cfg.udp_idle_s
    );
    let _ = writeln!(
        out,
        "redundancy update interval is {} sec",
        cfg.ha_update_interval_s
    );
    out.push_str("Inspection Rule Configuration\n");
    for r in &cfg.rules {
        let _ = writeln!(out, " Inspection name {}", r.name);
        rule_lines(&mut out, cfg, &r.name, "    ");
    }
    let bound: Vec<_> = cfg
        .interfaces
        .iter()
        .filter(|i| {
            i.inspect_in.is_some() || i.inspect_out.is_some() || i.acl_in.is_some() || i.acl_out.is_some()
        })
        .collect();
    if !bound.is_empty() {
        out.push_str("\nInterface Configuration\n");
    }
    for i in bound {
        let _ = writeln!(out, " Interface {}", i.name);
        binding_lines(&mut out, cfg, "Inbound", &i.inspect_in);
        binding_lines(&mut out, cfg, "Outgoing", &i.inspect_out);
        let acl = |a: &Option<String>| a.clone().unwrap_or_else(|| "not set".to_string());
        let _ = writeln!(out, "  Inbound access list is {}", acl(&i.acl_in));
        let _ = writeln!(out, "  Outgoing access list is {}", acl(&i.acl_out));
    }
    if let Some(st) = stats {
        out.push_str("\nSession counters\n");
        let _ = writeln!(
            out,
            "  {} sessions ({} half-open, {} HA active, {} standby)",
            st.sessions, st.half_open, st.ha_active_sessions, st.standby_sessions
        );
        let _ = writeln!(
            out,
            "  {} created, {} expired, {} reset, {} cleared, {} half-open ended by max-incomplete{}",
            st.created,
            st.expired,
            st.reset,
            st.cleared,
            st.half_open_deleted,
            if st.half_open_aggressive {
                " (aggressive)"
            } else {
                ""
            }
        );
        let _ = writeln!(
            out,
            "  {} packets: {} through sessions, {} judged by ACLs, {} non-first fragments",
            st.packets, st.session_packets, st.acl_judged, st.non_first_fragments
        );
        let d = &st.drops;
        let _ = writeln!(
            out,
            "  Drops: {} malformed, {} ACL, {} out-of-window, {} invalid TCP, {} half-open limit, {} session limit",
            d.malformed, d.acl_denied, d.out_of_window, d.invalid_tcp, d.half_open_limit, d.session_limit
        );
    }
    out
}

/// `show ip access-lists`: entries with their hit counts (`(N matches)` omitted when zero, as IOS does).
pub fn render_access_lists(acls: &[AclStatus]) -> String {
    let mut out = String::new();
    for a in acls {
        let _ = writeln!(out, "Extended IP access list {}", a.name);
        for e in &a.entries {
            let _ = write!(out, "    {} {}", e.seq, e.text);
            if e.matches > 0 {
                let _ = write!(
                    out,
                    " ({} match{})",
                    e.matches,
                    if e.matches == 1 { "" } else { "es" }
                );
            }
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests;
