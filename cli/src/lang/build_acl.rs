//! The extended ACL part of the command tree: `[SEQ] permit|deny PROTO SRC [PORT] DST [PORT]`, `remark`.

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

fn acl_rule_tree(b: &mut B, action: NodeId) {
    let plain = acl_addresses(b, false);
    let ported = acl_addresses(b, true);
    for (w, h, ports) in [
        ("ip", "Any IP protocol", false),
        ("tcp", "TCP", true),
        ("udp", "UDP", true),
        ("icmp", "ICMP", false),
    ] {
        let k = b.kwn(action, w, "proto", h);
        b.link(k, if ports { &ported } else { &plain });
    }
    let n = b.num(action, "proto", 0, 255, "IP protocol number");
    b.link(n, &plain);
    // `deny any any` (seed): the protocol left out means ip.
    let shorthand = acl_addresses(b, false);
    for &id in &shorthand {
        b.t.nodes[id].hidden = true;
    }
    b.link(action, &shorthand);
}

/// Source and destination nodes (with port operators when `ports`); returns the source entry nodes.
fn acl_addresses(b: &mut B, ports: bool) -> Vec<NodeId> {
    let dst_end = acl_endpoint(b, "dst", ports, None);
    acl_endpoint(b, "src", ports, Some(&dst_end))
}

/// One endpoint (`any` | `host A` | `A W`) and its optional port operator. With `then` the endpoint's last
/// nodes lead to `then`; without it they carry the rule action. Returns the entry nodes.
fn acl_endpoint(b: &mut B, side: &'static str, ports: bool, then: Option<&[NodeId]>) -> Vec<NodeId> {
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
    if ports {
        let op_holder = b.t.add(None, Kind::Keyword(""), "", "");
        let mut port_ends = Vec::new();
        for (w, h) in [
            ("eq", "Port equal to"),
            ("neq", "Port not equal to"),
            ("gt", "Port greater than"),
            ("lt", "Port lower than"),
        ] {
            let k = b.kwn(op_holder, w, op_name, h);
            port_ends.push(b.num(k, port_name, 0, 65535, "Port number"));
        }
        let k = b.kwn(op_holder, "range", op_name, "Port range");
        let lo = b.num(k, port_name, 0, 65535, "Lowest port");
        port_ends.push(b.num(lo, hi_name, 0, 65535, "Highest port"));
        let ops = b.children(op_holder);
        for &e in &ends {
            b.link(e, &ops);
        }
        ends.extend(port_ends);
    }
    for &e in &ends {
        match then {
            Some(next) => b.link(e, next),
            None => {
                b.act(e, a::acl_rule);
            }
        }
    }
    b.children(holder)
}
