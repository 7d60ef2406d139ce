//! `show running-config` text: IOS layout, one space of indentation per mode level, values equal to their
//! defaults left out. `load_config(render(cfg))` gives `cfg` back (property-tested).

use std::fmt::Write as _;

use super::{
    AccessList, AclAddress, AclLine, AclProtocol, AclRule, Config, InspectBinding, Interface, IpcZone,
    PortMatch, StandbyAuth, StandbyGroup, TimerValue, defaults,
};

/// Renders the configuration as IOS text.
pub fn render(cfg: &Config) -> String {
    let mut out = String::new();
    if !cfg.hostname.is_empty() {
        let _ = writeln!(out, "hostname {}", cfg.hostname);
        out.push_str("!\n");
    }
    if let Some(red) = &cfg.redundancy {
        out.push_str("redundancy inter-device\n");
        if let Some(scheme) = &red.scheme_standby {
            let _ = writeln!(out, " scheme standby {scheme}");
        }
        if let Some(key) = &red.security_key {
            let _ = writeln!(out, " security key {key}");
        }
        out.push_str("!\n");
    }
    if let Some(zone) = &cfg.ipc {
        render_ipc(&mut out, zone);
        out.push_str("!\n");
    }
    let before = out.len();
    render_inspect(&mut out, cfg);
    if out.len() > before {
        out.push_str("!\n");
    }
    let mut objects: Vec<&super::TrackObject> = cfg.track_objects.iter().collect();
    objects.sort_by_key(|t| t.number);
    for t in objects {
        let _ = writeln!(out, "track {} interface {} line-protocol", t.number, t.interface);
        match (t.delay_up, t.delay_down) {
            (Some(u), Some(d)) => {
                let _ = writeln!(out, " delay up {u} down {d}");
            }
            (Some(u), None) => {
                let _ = writeln!(out, " delay up {u}");
            }
            (None, Some(d)) => {
                let _ = writeln!(out, " delay down {d}");
            }
            (None, None) => {}
        }
        out.push_str("!\n");
    }
    for iface in &cfg.interfaces {
        render_interface(&mut out, iface);
        out.push_str("!\n");
    }
    for acl in &cfg.access_lists {
        render_acl(&mut out, acl);
        out.push_str("!\n");
    }
    out.push_str("end\n");
    out
}

fn render_ipc(out: &mut String, zone: &IpcZone) {
    out.push_str("ipc zone default\n");
    let Some(assoc) = &zone.association else { return };
    let _ = writeln!(out, " association {}", assoc.id);
    out.push_str(if assoc.shutdown {
        "  shutdown\n"
    } else {
        "  no shutdown\n"
    });
    let Some(sctp) = &assoc.sctp else { return };
    out.push_str("  protocol sctp\n");
    if let Some(local) = &sctp.local {
        let _ = writeln!(out, "   local-port {}", local.port);
        if !local.ips.is_empty() {
            let ips: Vec<String> = local.ips.iter().map(ToString::to_string).collect();
            let _ = writeln!(out, "    local-ip {}", ips.join(" "));
        }
        if (local.retransmit_min_ms, local.retransmit_max_ms)
            != (defaults::SCTP_RTO_MIN_MS, defaults::SCTP_RTO_MAX_MS)
        {
            let _ = writeln!(
                out,
                "    retransmit-timeout {} {}",
                local.retransmit_min_ms, local.retransmit_max_ms
            );
        }
        if local.path_retransmit != defaults::SCTP_PATH_RETRANSMIT {
            let _ = writeln!(out, "    path-retransmit {}", local.path_retransmit);
        }
        if local.assoc_retransmit != defaults::SCTP_ASSOC_RETRANSMIT {
            let _ = writeln!(out, "    assoc-retransmit {}", local.assoc_retransmit);
        }
        if local.transport != super::SctpTransport::Auto {
            let _ = writeln!(out, "    transport {}", local.transport.keyword());
        }
        if let Some(ms) = local.keepalive_ms {
            let _ = writeln!(out, "    keepalive {ms}");
        }
    }
    if let Some(remote) = &sctp.remote {
        let _ = writeln!(out, "   remote-port {}", remote.port);
        if !remote.ips.is_empty() {
            let ips: Vec<String> = remote.ips.iter().map(ToString::to_string).collect();
            let _ = writeln!(out, "    remote-ip {}", ips.join(" "));
        }
    }
}

fn render_inspect(out: &mut String, cfg: &Config) {
    let i = &cfg.inspect;
    let timers = [
        ("tcp idle-time", i.tcp_idle_time, defaults::INSPECT_TCP_IDLE_SECS),
        ("udp idle-time", i.udp_idle_time, defaults::INSPECT_UDP_IDLE_SECS),
        (
            "tcp synwait-time",
            i.tcp_synwait_time,
            defaults::INSPECT_TCP_SYNWAIT_SECS,
        ),
        (
            "tcp finwait-time",
            i.tcp_finwait_time,
            defaults::INSPECT_TCP_FINWAIT_SECS,
        ),
    ];
    for (words, value, default) in timers {
        if value != default {
            let _ = writeln!(out, "ip inspect {words} {value}");
        }
    }
    if let Some(n) = i.max_incomplete_high {
        let _ = writeln!(out, "ip inspect max-incomplete high {n}");
    }
    if let Some(n) = i.max_incomplete_low {
        let _ = writeln!(out, "ip inspect max-incomplete low {n}");
    }
    if i.audit_trail {
        out.push_str("ip inspect audit-trail\n");
    }
    for rule in &i.rules {
        for entry in &rule.entries {
            let _ = write!(out, "ip inspect name {} {}", rule.name, entry.protocol.keyword());
            if let Some(t) = entry.timeout {
                let _ = write!(out, " timeout {t}");
            }
            out.push('\n');
        }
    }
    if i.redundancy_update_seconds != defaults::INSPECT_HA_UPDATE_SECS {
        let _ = writeln!(
            out,
            "ip inspect redundancy update seconds {}",
            i.redundancy_update_seconds
        );
    }
    if (i.dataplane_queue, i.dataplane_workers)
        != (
            defaults::INSPECT_DATAPLANE_QUEUE,
            defaults::INSPECT_DATAPLANE_WORKERS,
        )
    {
        let _ = write!(out, "ip inspect dataplane queue {}", i.dataplane_queue);
        if i.dataplane_workers != defaults::INSPECT_DATAPLANE_WORKERS {
            let _ = write!(out, " workers {}", i.dataplane_workers);
        }
        out.push('\n');
    }
    if i.dataplane_fail_open {
        out.push_str("ip inspect dataplane fail-open\n");
    }
}

fn timer(t: TimerValue) -> String {
    if t.msec {
        format!("msec {}", t.value)
    } else {
        t.value.to_string()
    }
}

fn render_binding(out: &mut String, binding: Option<&InspectBinding>, dir: &str) {
    if let Some(b) = binding {
        let _ = write!(out, " ip inspect {} {dir}", b.rule);
        if let Some(group) = &b.redundancy_group {
            let _ = write!(out, " redundancy stateful {group}");
        }
        out.push('\n');
    }
}

fn render_interface(out: &mut String, iface: &Interface) {
    let _ = writeln!(out, "interface {}", iface.name);
    if let Some(a) = &iface.address {
        let _ = writeln!(out, " ip address {} {}", a.address, a.mask);
    }
    if let Some(acl) = &iface.access_group_in {
        let _ = writeln!(out, " ip access-group {acl} in");
    }
    if let Some(acl) = &iface.access_group_out {
        let _ = writeln!(out, " ip access-group {acl} out");
    }
    render_binding(out, iface.inspect_in.as_ref(), "in");
    render_binding(out, iface.inspect_out.as_ref(), "out");
    if iface.shutdown {
        out.push_str(" shutdown\n");
    }
    let s = &iface.standby;
    if s.version != defaults::STANDBY_VERSION {
        let _ = writeln!(out, " standby version {}", s.version);
    }
    if s.use_bia {
        out.push_str(" standby use-bia\n");
    }
    if let Some(d) = &s.delay {
        let _ = writeln!(out, " standby delay minimum {} reload {}", d.minimum, d.reload);
    }
    for group in &s.groups {
        render_group(out, group);
    }
}

fn render_group(out: &mut String, g: &StandbyGroup) {
    let start = out.len();
    let n = g.group;
    if let Some(ip) = g.ip {
        let _ = writeln!(out, " standby {n} ip {ip}");
    }
    for ip in &g.secondary_ips {
        let _ = writeln!(out, " standby {n} ip {ip} secondary");
    }
    if let Some(t) = &g.timers {
        let _ = writeln!(out, " standby {n} timers {} {}", timer(t.hello), timer(t.hold));
    }
    if g.priority != defaults::STANDBY_PRIORITY {
        let _ = writeln!(out, " standby {n} priority {}", g.priority);
    }
    if let Some(p) = &g.preempt {
        let _ = write!(out, " standby {n} preempt");
        if p.delay_minimum.is_some() || p.delay_reload.is_some() || p.delay_sync.is_some() {
            out.push_str(" delay");
        }
        for (word, value) in [
            ("minimum", p.delay_minimum),
            ("reload", p.delay_reload),
            ("sync", p.delay_sync),
        ] {
            if let Some(v) = value {
                let _ = write!(out, " {word} {v}");
            }
        }
        out.push('\n');
    }
    match &g.authentication {
        Some(StandbyAuth::Text(text)) => {
            let _ = writeln!(out, " standby {n} authentication text {text}");
        }
        Some(StandbyAuth::Md5(key)) => {
            let _ = writeln!(out, " standby {n} authentication md5 key-string {key}");
        }
        None => {}
    }
    if let Some(name) = &g.name {
        let _ = writeln!(out, " standby {n} name {name}");
    }
    if let Some(mac) = &g.mac_address {
        let _ = writeln!(out, " standby {n} mac-address {mac}");
    }
    for t in &g.tracks {
        match t.object {
            Some(o) => {
                let _ = write!(out, " standby {n} track {o}");
            }
            None => {
                let _ = write!(out, " standby {n} track {}", t.interface);
            }
        }
        if t.shutdown {
            out.push_str(" shutdown");
        } else if t.decrement != defaults::TRACK_DECREMENT {
            let _ = write!(out, " decrement {}", t.decrement);
        }
        out.push('\n');
    }
    if out.len() == start {
        // A group with nothing but defaults (virtual IP learned from the active router).
        let _ = writeln!(out, " standby {n} ip");
    }
}

fn address(a: &AclAddress) -> String {
    match a {
        AclAddress::Any => "any".into(),
        AclAddress::Host(ip) => format!("host {ip}"),
        AclAddress::Network { address, wildcard } => format!("{address} {wildcard}"),
    }
}

/// A port condition as IOS prints it in a rule of IP protocol `proto`: by name where IOS has one
/// (`eq 80` in a TCP rule prints as `eq www`), else by number.
fn port(p: Option<&PortMatch>, proto: u8) -> String {
    let n = |v: u16| inspect::acl::ports::display_port(proto, v);
    match p {
        None => String::new(),
        Some(PortMatch::Eq(v)) => format!(" eq {}", n(*v)),
        Some(PortMatch::Neq(v)) => format!(" neq {}", n(*v)),
        Some(PortMatch::Gt(v)) => format!(" gt {}", n(*v)),
        Some(PortMatch::Lt(v)) => format!(" lt {}", n(*v)),
        Some(PortMatch::Range(lo, hi)) => format!(" range {} {}", n(*lo), n(*hi)),
    }
}

/// The text of an ACL rule as IOS prints it (`permit tcp any host 10.0.0.1 eq telnet established log`).
pub fn render_acl_rule(rule: &AclRule) -> String {
    let action = match rule.action {
        super::AclAction::Permit => "permit",
        super::AclAction::Deny => "deny",
    };
    let (protocol, port_proto) = match rule.protocol {
        AclProtocol::Ip => ("ip".to_string(), 0),
        AclProtocol::Tcp => ("tcp".to_string(), 6),
        AclProtocol::Udp => ("udp".to_string(), 17),
        AclProtocol::Icmp => ("icmp".to_string(), 1),
        AclProtocol::Number(n) => (n.to_string(), n),
    };
    let mut text = format!(
        "{action} {protocol} {}{} {}{}",
        address(&rule.source),
        port(rule.source_port.as_ref(), port_proto),
        address(&rule.destination),
        port(rule.destination_port.as_ref(), port_proto)
    );
    if rule.established {
        text.push_str(" established");
    }
    if rule.log {
        text.push_str(" log");
    }
    text
}

fn render_acl(out: &mut String, acl: &AccessList) {
    let _ = writeln!(out, "ip access-list extended {}", acl.name);
    let mut previous = 0u32;
    for (index, entry) in acl.entries.iter().enumerate() {
        let text = match &entry.line {
            AclLine::Remark { text } => format!("remark {text}"),
            AclLine::Rule(rule) => render_acl_rule(rule),
        };
        let automatic = previous.saturating_add(defaults::ACL_SEQUENCE_STEP) == entry.sequence;
        let repeated = acl.entries[..index].iter().any(|e| e.line == entry.line);
        if automatic && !repeated {
            let _ = writeln!(out, " {text}");
        } else {
            let _ = writeln!(out, " {} {text}", entry.sequence);
        }
        previous = entry.sequence;
    }
}
