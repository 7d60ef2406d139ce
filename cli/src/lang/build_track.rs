//! The tracking-object part of the command tree: global `track <1-1000> interface IF line-protocol`, the
//! `config-track` mode (`delay up S down S`), `standby [N] track {OBJECT [decrement D | shutdown] | IF
//! [decrement D]}`, `show track [N] [brief]` and `debug track`.
//!
//! Object numbers and interface names share the position after `standby N track`: a token that starts with
//! a digit can only be an object number (an interface argument must start with a letter), one that starts
//! with a letter only an interface, so the two forms never compete.

use super::actions_track as t;
use super::build::B;
use super::tree::{ArgType, NodeId};

/// `track N ...` in global configuration mode.
pub(super) fn build_track_global(b: &mut B, root: NodeId) {
    let tr = b.kw(root, "track", "Define a tracking object");
    let n = b.num(tr, "track_number", 1, 1000, "Tracking object number");
    b.act(n, t::track_object);
    b.no_act(n, t::track_object);
    let ifc = b.kw(n, "interface", "Follow an interface");
    let i = b.arg(ifc, "track_iface", ArgType::Interface, "Interface to follow");
    let num = b.arg(
        i,
        "ifnum",
        ArgType::InterfaceNumber,
        "Interface number when typed apart from the type",
    );
    for p in [i, num] {
        let lp = b.kw(p, "line-protocol", "Up while the interface's line protocol is up");
        b.act(lp, t::track_object);
    }
}

/// The `config-track` mode.
pub(super) fn build_track_mode(b: &mut B, root: NodeId) {
    let d = b.kw(root, "delay", "Hold back reporting a state change");
    b.no_act(d, t::track_delay);
    let words: Vec<NodeId> = [
        ("up", "Delay before reporting up"),
        ("down", "Delay before reporting down"),
    ]
    .into_iter()
    .map(|(w, h)| b.kw(d, w, h))
    .collect();
    for (&k, name) in words.iter().zip(["delay_up", "delay_down"]) {
        let v = b.num(k, name, 0, 180, "Seconds");
        b.act(v, t::track_delay);
        let other: Vec<NodeId> = words.iter().copied().filter(|&o| o != k).collect();
        b.link(v, &other);
    }
}

/// `track ...` under `standby [N]`.
pub(super) fn build_standby_track(b: &mut B, p: NodeId) {
    let tr = b.kw(p, "track", "Follow a tracking object or an interface");
    b.no_act(tr, t::standby_track);
    let o = b.num(tr, "track_object", 1, 1000, "Tracking object number");
    b.act(o, t::standby_track);
    let d = b.kw(o, "decrement", "Priority decrement while the object is down");
    let v = b.num(d, "decrement", 1, 255, "Decrement (default 10)");
    b.act(v, t::standby_track);
    let s = b.kw(o, "shutdown", "Leave the group in Init while the object is down");
    b.act(s, t::standby_track);
    let (i, n) = b.interface(
        tr,
        "track_if",
        "Interface (older form of tracking)",
        t::standby_track,
    );
    for parent in [i, n] {
        let d = b.kw(
            parent,
            "decrement",
            "Priority decrement while the interface is down",
        );
        let v = b.num(d, "decrement", 1, 255, "Decrement (default 10)");
        b.act(v, t::standby_track);
    }
}

/// `show track [N] [brief]`.
pub(super) fn build_show_track(b: &mut B, show: NodeId) {
    let tr = b.kw(show, "track", "Tracking objects");
    b.exec(tr);
    let br = b.kw(tr, "brief", "One line per object");
    b.exec(br);
    let n = b.num(tr, "object", 1, 1000, "Object number");
    b.exec(n);
    let br = b.kw(n, "brief", "One line");
    b.exec(br);
}

/// `debug track`.
pub(super) fn build_debug_track(b: &mut B, debug: NodeId) {
    let tr = b.kw(debug, "track", "Tracking object state changes");
    b.exec(tr);
}
