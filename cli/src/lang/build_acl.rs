//! The extended ACL part of the command tree: `[SEQ] permit|deny PROTO SRC [PORT] DST [PORT] [established] [log]`,
//! `remark`. Ports are numbers or the names IOS accepts for the rule's protocol (TCP and UDP differ).

use super::actions as a;
use super::build::B;
use super::tree::{ArgType, Kind, NodeId};

pub(super) fn build_acl(b: &mut B, root: NodeId) {
    let seq = b.num(root, "seq", 1, 2_147_483_647, "Sequence number");
    b.no_act(seq, a::acl_delete_seq);
    let mut entries = Vec::new();
    for (w, h) in [
        ("permit", "Allow matching packets"),
        ("deny", "Drop matching packets"),
    ] {
        let k = b.kwn(root, w, "acl_action", h);
        acl_rule_tree(b, k);
        entries.push(k);
    }
    let r = b.kw(root, "remark", "A comment line");
    let v = b.arg(r, "remark", ArgType::Line, "Comment text");
    b.act(v, a::acl_remark);
    entries.push(r);
    b.link(seq, &entries);
}

/// Which port part an endpoint has: none, or the operators with the port names of TCP or UDP.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ports {
    None,
    Tcp,
    Udp,
}

impl Ports {
    const fn ip_proto(self) -> u8 {
        match self {
            Self::None => 0,
            Self::Tcp => 6,
            Self::Udp => 17,
        }
    }
}

fn acl_rule_tree(b: &mut B, action: NodeId) {
    let plain = acl_addresses(b, Ports::None);
    let tcp = acl_addresses(b, Ports::Tcp);
    let udp = acl_addresses(b, Ports::Udp);
    for (w, h, next) in [
        ("ip", "Any IP protocol", &plain),
        ("tcp", "TCP", &tcp),
        ("udp", "UDP", &udp),
        ("icmp", "ICMP", &plain),
    ] {
        let k = b.kwn(action, w, "proto", h);
        b.link(k, next);
    }
    let n = b.num(action, "proto", 0, 255, "IP protocol number");
    b.link(n, &plain);
    // `deny any any` (seed): the protocol left out means ip.
    let shorthand = acl_addresses(b, Ports::None);
    for &id in &shorthand {
        b.t.nodes[id].hidden = true;
    }
    b.link(action, &shorthand);
}

/// Source and destination nodes (with port operators for TCP/UDP); returns the source entry nodes.
fn acl_addresses(b: &mut B, ports: Ports) -> Vec<NodeId> {
    let dst_end = acl_endpoint(b, "dst", ports, None);
    acl_endpoint(b, "src", ports, Some(&dst_end))
}

/// The values a port may take after an operator: a number, or a name valid for the protocol (bound under
/// `name`, converted to its number by the action). Returns the value nodes.
fn port_values(b: &mut B, ports: Ports, name: &'static str, help: &'static str) -> Vec<NodeId> {
    let holder = b.t.add(None, Kind::Keyword(""), "", "");
    b.num(holder, name, 0, 65535, help);
    for p in inspect::acl::ports::names_for(ports.ip_proto()) {
        b.kwn(holder, p.name, name, p.help);
    }
    b.children(holder)
}

/// The options after the destination: `established` (TCP) and `log`, each ending the rule. Returns them.
fn rule_options(b: &mut B, ports: Ports) -> Vec<NodeId> {
    let holder = b.t.add(None, Kind::Keyword(""), "", "");
    let log = b.kw(
        holder,
        "log",
        "Log matching packets (first packet of a flow, then a count)",
    );
    b.act(log, a::acl_rule);
    if ports == Ports::Tcp {
        let est = b.kw(
            holder,
            "established",
            "Match only segments of an established connection (ACK or RST set)",
        );
        b.act(est, a::acl_rule);
        b.link(est, &[log]);
    }
    b.children(holder)
}

/// One endpoint (`any` | `host A` | `A W`) and its optional port operator. With `then` the endpoint's last
/// nodes lead to `then`; without it they carry the rule action and the rule options. Returns the entry nodes.
fn acl_endpoint(b: &mut B, side: &'static str, ports: Ports, then: Option<&[NodeId]>) -> Vec<NodeId> {
    let holder = b.t.add(None, Kind::Keyword(""), "", "");
    let (any_name, host_name, addr_name, wild_name, op_name, port_name, hi_name) = if side == "src" {
        (
            "src_any",
            "src_host",
            "src_addr",
            "src_wild",
            "src_op",
            "src_port",
            "src_port_hi",
        )
    } else {
        (
            "dst_any",
            "dst_host",
            "dst_addr",
            "dst_wild",
            "dst_op",
            "dst_port",
            "dst_port_hi",
        )
    };
    let any = b.kwn(holder, "any", any_name, "Any address");
    let host = b.kwn(holder, "host", host_name, "A single host");
    let host_ip = b.arg(host, host_name, ArgType::Ipv4, "Host address");
    let addr = b.arg(holder, addr_name, ArgType::Ipv4, "Network address");
    let wild = b.arg(addr, wild_name, ArgType::Ipv4, "Wildcard bits");
    let mut ends = vec![any, host_ip, wild];
    if ports != Ports::None {
        let op_holder = b.t.add(None, Kind::Keyword(""), "", "");
        let single = port_values(b, ports, port_name, "Port number");
        for (w, h) in [
            ("eq", "Port equal to"),
            ("neq", "Port not equal to"),
            ("gt", "Port greater than"),
            ("lt", "Port lower than"),
        ] {
            let k = b.kwn(op_holder, w, op_name, h);
            b.link(k, &single);
        }
        let k = b.kwn(op_holder, "range", op_name, "Port range");
        let lo = port_values(b, ports, port_name, "Lowest port");
        b.link(k, &lo);
        let hi = port_values(b, ports, hi_name, "Highest port");
        for &l in &lo {
            b.link(l, &hi);
        }
        let ops = b.children(op_holder);
        for &e in &ends {
            b.link(e, &ops);
        }
        ends.extend(single);
        ends.extend(hi);
    }
    let options = match then {
        Some(_) => Vec::new(),
        None => rule_options(b, ports),
    };
    for &e in &ends {
        match then {
            Some(next) => b.link(e, next),
            None => {
                b.act(e, a::acl_rule);
                b.link(e, &options);
            }
        }
    }
    b.children(holder)
}
