//! The declarative command tree of iosha: every mode's commands with help strings and ranges, bound to the
//! actions in `actions.rs` (configuration) or dispatched by key (exec).

use super::Mode;
use super::actions as a;
use super::tree::{Action, ArgType, Kind, Matched, NodeId, Tree};
use crate::config::Config;

/// What a configuration action returns.
#[derive(Clone, Debug, Default)]
pub(crate) struct Next {
    /// The mode after the command (None = the mode it ran in).
    pub(crate) mode: Option<Mode>,
    /// Whether the configuration changed.
    pub(crate) changed: bool,
}

/// A value that does not fit, found by an action (caret at `column`).
#[derive(Clone, Debug)]
pub(crate) struct ApplyError {
    pub(crate) column: usize,
    pub(crate) reason: String,
}

/// The context of a configuration action.
pub(crate) struct Apply<'a> {
    pub(crate) cfg: &'a mut Config,
    pub(crate) mode: &'a Mode,
    pub(crate) negated: bool,
    pub(crate) matched: &'a [Matched],
    pub(crate) origin: Option<usize>,
    pub(crate) warnings: Vec<String>,
}

/// A configuration action.
pub(crate) type ApplyFn = fn(&mut Apply<'_>) -> Result<Next, ApplyError>;

/// Root node of every mode.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Roots {
    pub(crate) exec: NodeId,
    pub(crate) config: NodeId,
    pub(crate) interface: NodeId,
    pub(crate) redundancy: NodeId,
    pub(crate) ipc_zone: NodeId,
    pub(crate) ipc_assoc: NodeId,
    pub(crate) ipc_proto: NodeId,
    pub(crate) ipc_local: NodeId,
    pub(crate) ipc_remote: NodeId,
    pub(crate) acl: NodeId,
    pub(crate) track: NodeId,
}

impl Roots {
    pub(crate) fn of(&self, mode: &Mode) -> NodeId {
        match mode {
            Mode::Exec => self.exec,
            Mode::Config => self.config,
            Mode::Interface(_) => self.interface,
            Mode::RedundancyInterDevice => self.redundancy,
            Mode::IpcZone => self.ipc_zone,
            Mode::IpcAssociation(_) => self.ipc_assoc,
            Mode::IpcProtocolSctp => self.ipc_proto,
            Mode::IpcLocalSctp => self.ipc_local,
            Mode::IpcRemoteSctp => self.ipc_remote,
            Mode::ExtendedAcl(_) => self.acl,
            Mode::Track(_) => self.track,
        }
    }
}

/// The tree under construction, with shorthand builders.
pub(super) struct B {
    pub(super) t: Tree,
}

impl B {
    pub(super) fn root(&mut self) -> NodeId {
        let id = self.t.add(None, Kind::Keyword(""), "", "");
        self.t.nodes[id].foreign_ok = true;
        id
    }
    pub(super) fn kw(&mut self, p: NodeId, word: &'static str, help: &'static str) -> NodeId {
        self.t.add(Some(p), Kind::Keyword(word), word, help)
    }
    pub(super) fn kwn(
        &mut self,
        p: NodeId,
        word: &'static str,
        name: &'static str,
        help: &'static str,
    ) -> NodeId {
        self.t.add(Some(p), Kind::Keyword(word), name, help)
    }
    pub(super) fn arg(&mut self, p: NodeId, name: &'static str, ty: ArgType, help: &'static str) -> NodeId {
        self.t.add(Some(p), Kind::Arg(ty), name, help)
    }
    pub(super) fn num(
        &mut self,
        p: NodeId,
        name: &'static str,
        lo: u64,
        hi: u64,
        help: &'static str,
    ) -> NodeId {
        self.arg(p, name, ArgType::Range(lo, hi), help)
    }
    pub(super) fn act(&mut self, n: NodeId, f: ApplyFn) -> NodeId {
        self.t.nodes[n].action = Some(Action::Apply(f));
        n
    }
    pub(super) fn no_act(&mut self, n: NodeId, f: ApplyFn) -> NodeId {
        self.t.nodes[n].no_action = Some(Action::Apply(f));
        n
    }
    pub(super) fn exec(&mut self, n: NodeId) -> NodeId {
        self.t.nodes[n].action = Some(Action::Exec);
        n
    }
    pub(super) fn foreign(&mut self, n: NodeId) -> NodeId {
        self.t.nodes[n].foreign_ok = true;
        n
    }
    pub(super) fn link(&mut self, from: NodeId, to: &[NodeId]) {
        self.t.nodes[from].children.extend_from_slice(to);
    }
    pub(super) fn children(&self, n: NodeId) -> Vec<NodeId> {
        self.t.nodes[n].children.clone()
    }
    /// An interface argument (with the optional separate number, `Ethernet 0/0`) under `p`; returns both.
    pub(super) fn interface(
        &mut self,
        p: NodeId,
        name: &'static str,
        help: &'static str,
        f: ApplyFn,
    ) -> (NodeId, NodeId) {
        let i = self.arg(p, name, ArgType::Interface, help);
        self.act(i, f);
        let n = self.arg(
            i,
            "ifnum",
            ArgType::InterfaceNumber,
            "Interface number when typed apart from the type",
        );
        self.act(n, f);
        (i, n)
    }
    /// `no` (negating the mode's own commands), `exit`, `end` and `do` for a configuration mode.
    pub(super) fn finish_config_mode(&mut self, root: NodeId, exec_root: NodeId) {
        let commands = self.children(root);
        let no = self.kw(root, "no", "Negate a command or set its defaults");
        self.t.nodes[no].negates = true;
        self.foreign(no);
        self.link(no, &commands);
        let exit = self.kw(root, "exit", "Exit from the current mode");
        self.act(exit, a::exit);
        let end = self.kw(root, "end", "Exit from configure mode");
        self.act(end, a::end);
        let d = self.kw(root, "do", "Run an exec command");
        self.t.nodes[d].key_word = Some("");
        let exec_commands = self.children(exec_root);
        self.link(d, &exec_commands);
    }
}

/// Builds the whole tree.
pub(crate) fn build() -> (Tree, Roots) {
    let mut b = B { t: Tree::default() };
    let exec = b.root();
    build_exec(&mut b, exec);
    let config = b.root();
    let interface = b.root();
    let redundancy = b.root();
    let ipc_zone = b.root();
    let ipc_assoc = b.root();
    let ipc_proto = b.root();
    let ipc_local = b.root();
    let ipc_remote = b.root();
    let acl = b.root();
    let track = b.root();
    build_global(&mut b, config);
    build_interface(&mut b, interface);
    build_redundancy(&mut b, redundancy);
    build_ipc(&mut b, ipc_zone, ipc_assoc, ipc_proto, ipc_local, ipc_remote);
    super::build_acl::build_acl(&mut b, acl);
    super::build_track::build_track_global(&mut b, config);
    super::build_track::build_track_mode(&mut b, track);
    for root in [
        config, interface, redundancy, ipc_zone, ipc_assoc, ipc_proto, ipc_local, ipc_remote, acl, track,
    ] {
        b.finish_config_mode(root, exec);
    }
    let roots = Roots {
        exec,
        config,
        interface,
        redundancy,
        ipc_zone,
        ipc_assoc,
        ipc_proto,
        ipc_local,
        ipc_remote,
        acl,
        track,
    };
    (b.t, roots)
}

fn build_exec(b: &mut B, root: NodeId) {
    let show = b.kw(root, "show", "Show running system information");
    let x = b.kw(show, "running-config", "Current operating configuration");
    b.exec(x);
    let x = b.kw(show, "logging", "Contents of the logging buffer");
    b.exec(x);
    let x = b.kw(show, "version", "Software version and uptime");
    b.exec(x);
    let x = b.kw(show, "debugging", "Debug categories switched on");
    b.exec(x);
    let standby = b.kw(show, "standby", "HSRP group information");
    b.exec(standby);
    let x = b.kw(standby, "brief", "One line per group");
    b.exec(x);
    let x = b.kw(standby, "all", "All groups, including those without a virtual IP");
    b.exec(x);
    let i = b.arg(
        standby,
        "interface",
        ArgType::Interface,
        "Groups of this interface",
    );
    b.exec(i);
    let x = b.num(i, "group", 0, 4095, "Group number");
    b.exec(x);
    super::build_track::build_show_track(b, show);
    let red = b.kw(show, "redundancy", "Redundancy facility state");
    b.exec(red);
    for (w, h) in [
        ("states", "RF states of this router and its peer"),
        ("inter-device", "Inter-device scheme and peer communication"),
        ("history", "RF state change history"),
        ("clients", "Registered redundancy clients"),
    ] {
        let x = b.kw(red, w, h);
        b.exec(x);
    }
    let sctp = b.kw(show, "sctp", "SCTP (IPC transport) information");
    let assoc = b.kw(sctp, "association", "SCTP association information");
    let x = b.kw(assoc, "list", "List of associations");
    b.exec(x);
    let x = b.kw(assoc, "parameters", "Association parameters");
    b.exec(x);
    let x = b.kw(sctp, "statistics", "SCTP counters");
    b.exec(x);
    let ip = b.kw(show, "ip", "IP information");
    let inspect = b.kw(ip, "inspect", "Stateful inspection information");
    let sessions = b.kw(inspect, "sessions", "Inspection sessions");
    b.exec(sessions);
    let x = b.kw(sessions, "detail", "With counters and timers per session");
    b.exec(x);
    let x = b.kw(inspect, "all", "Inspection configuration and sessions");
    b.exec(x);
    let ha = b.kw(inspect, "ha", "Stateful failover of inspection sessions");
    let sessions = b.kw(ha, "sessions", "Sessions with their HA state");
    b.exec(sessions);
    let detail = b.kw(sessions, "detail", "With counters and timers per session");
    b.exec(detail);
    let stats = b.kw(ha, "statistics", "HA synchronization counters");
    b.exec(stats);
    // `[vrf NAME]` (seed): the name becomes an argument, the key stays the same.
    for parent in [sessions, detail, stats] {
        let vrf = b.kw(parent, "vrf", "Only one VRF");
        b.t.nodes[vrf].key_word = Some("");
        let name = b.arg(vrf, "vrf", ArgType::Word, "VRF name");
        b.exec(name);
    }
    let acl = b.kw(ip, "access-lists", "Access lists with match counters");
    b.exec(acl);
    let x = b.arg(acl, "name", ArgType::Word, "Access list name");
    b.exec(x);

    let clear = b.kw(root, "clear", "Reset functions");
    let ip = b.kw(clear, "ip", "IP");
    let inspect = b.kw(ip, "inspect", "Stateful inspection");
    let x = b.kw(inspect, "sessions", "Remove all inspection sessions");
    b.exec(x);
    let ha = b.kw(inspect, "ha", "Stateful failover of inspection sessions");
    let x = b.kw(
        ha,
        "sessions-all",
        "Clear HA sessions (on the standby: request a bulk sync)",
    );
    b.exec(x);
    // The seed also writes it as `clear ip inspect ha sessions all`.
    let alias = b.kw(ha, "sessions", "Clear HA sessions");
    b.t.nodes[alias].hidden = true;
    let x = b.kw(
        alias,
        "all",
        "Clear HA sessions (on the standby: request a bulk sync)",
    );
    b.exec(x);
    b.t.nodes[x].key_override = Some("clear ip inspect ha sessions-all");
    let x = b.kw(ha, "statistics", "Clear HA counters");
    b.exec(x);
    let acl = b.kw(ip, "access-list", "Access lists");
    let x = b.kw(acl, "counters", "Clear match counters");
    b.exec(x);

    let debug = b.kw(root, "debug", "Debugging functions");
    build_debug(b, debug);
    let no = b.kw(root, "no", "Disable debugging functions");
    let nodebug = b.kw(no, "debug", "Disable debugging functions");
    let debug_children = b.children(debug);
    b.link(nodebug, &debug_children);
    let undebug = b.kw(root, "undebug", "Disable debugging functions");
    b.t.nodes[undebug].key_word = Some("no debug");
    b.link(undebug, &debug_children);

    let red = b.kw(root, "redundancy", "Redundancy operations");
    let x = b.kw(red, "force-switchover", "Hand the active role to the peer");
    b.exec(x);
    let conf = b.kw(root, "configure", "Enter configuration mode");
    let x = b.kw(conf, "terminal", "Configure from the terminal");
    b.act(x, a::configure_terminal);
    let write = b.kw(root, "write", "Save the running configuration");
    b.exec(write);
    b.t.nodes[write].key_override = Some("write memory");
    let x = b.kw(write, "memory", "Save to the configuration file");
    b.exec(x);
    let copy = b.kw(root, "copy", "Copy a configuration");
    let run = b.kw(copy, "running-config", "From the running configuration");
    let x = b.kw(run, "startup-config", "To the configuration file");
    b.exec(x);
    let term = b.kw(root, "terminal", "Terminal settings");
    let len = b.kw(term, "length", "Lines per page");
    let x = b.num(len, "lines", 0, 512, "0 = no paging");
    b.exec(x);
    for (w, h) in [
        ("end", "Leave configuration mode"),
        ("exit", "Close the session"),
        ("disable", "Leave privileged mode"),
        ("enable", "Enter privileged mode"),
    ] {
        let x = b.kw(root, w, h);
        b.exec(x);
    }
}

fn build_debug(b: &mut B, debug: NodeId) {
    super::build_track::build_debug_track(b, debug);
    let all = b.kw(debug, "all", "All debugging");
    b.exec(all);
    let standby = b.kw(debug, "standby", "HSRP");
    b.exec(standby);
    for (w, h) in [("events", "HSRP state events"), ("errors", "HSRP errors")] {
        let x = b.kw(standby, w, h);
        b.exec(x);
    }
    let packets = b.kw(standby, "packets", "HSRP packets");
    b.exec(packets);
    let x = b.kw(packets, "terse", "One line per packet, without hellos");
    b.exec(x);
    for (w, h) in [
        ("redundancy", "Redundancy facility"),
        ("ipc", "IPC messages"),
        ("sctp", "SCTP association"),
    ] {
        let x = b.kw(debug, w, h);
        b.exec(x);
    }
    let ip = b.kw(debug, "ip", "IP");
    let inspect = b.kw(ip, "inspect", "Stateful inspection");
    b.exec(inspect);
    let ha = b.kw(inspect, "ha", "Stateful failover of inspection sessions");
    b.exec(ha);
    let x = b.kw(ha, "manager", "Messages between the HA manager and the transport");
    b.exec(x);
    let x = b.kw(ha, "update", "Session updates");
    b.exec(x);
}

fn build_global(b: &mut B, root: NodeId) {
    let host = b.kw(root, "hostname", "Set the system's name");
    b.no_act(host, a::hostname);
    let x = b.arg(host, "hostname", ArgType::Word, "This system's name");
    b.act(x, a::hostname);

    let iface = b.kw(root, "interface", "Select an interface to configure");
    b.interface(
        iface,
        "interface",
        "Interface name (Ethernet0/0, e0/0, eth0, ...)",
        a::interface,
    );

    let red = b.kw(root, "redundancy", "Redundancy configuration");
    b.act(red, a::redundancy_plain);
    let x = b.kw(
        red,
        "inter-device",
        "Inter-device redundancy (SSO between two routers)",
    );
    b.act(x, a::redundancy_inter_device);

    let ipc = b.kw(root, "ipc", "Inter-process communication with the peer");
    let zone = b.kw(ipc, "zone", "IPC zone");
    let x = b.kw(zone, "default", "The default zone");
    b.act(x, a::ipc_zone);

    let ip = b.kw(root, "ip", "Global IP configuration");
    b.foreign(ip);
    let inspect = b.kw(ip, "inspect", "Stateful inspection");
    b.foreign(inspect);
    let name = b.kw(inspect, "name", "Define an inspection rule");
    let rule = b.arg(name, "rule", ArgType::Word, "Rule name");
    b.no_act(rule, a::inspect_name);
    for (w, h) in [("tcp", "Inspect TCP sessions"), ("udp", "Inspect UDP sessions")] {
        let p = b.kwn(rule, w, "proto", h);
        b.act(p, a::inspect_name);
        let t = b.kw(p, "timeout", "Idle timeout of this protocol's sessions");
        let v = b.num(t, "timeout", 5, 43200, "Seconds");
        b.act(v, a::inspect_name);
    }
    let tcp = b.kw(inspect, "tcp", "TCP inspection timers");
    for (w, h) in [
        ("idle-time", "Idle time of established TCP sessions"),
        ("synwait-time", "Time allowed to complete the TCP handshake"),
        ("finwait-time", "Time kept after the TCP close exchange"),
    ] {
        let k = b.kwn(tcp, w, "timer", h);
        b.no_act(k, a::inspect_timer);
        let v = b.num(k, "seconds", 1, 2_147_483, "Seconds");
        b.act(v, a::inspect_timer);
    }
    let udp = b.kw(inspect, "udp", "UDP inspection timers");
    let k = b.kwn(udp, "idle-time", "timer", "Idle time of UDP sessions");
    b.no_act(k, a::inspect_timer);
    let v = b.num(k, "seconds", 1, 2_147_483, "Seconds");
    b.act(v, a::inspect_timer);
    let mi = b.kw(inspect, "max-incomplete", "Thresholds of half-open sessions");
    for (w, h) in [
        ("high", "Start ending the oldest half-open sessions at this count"),
        ("low", "Stop ending them below this count"),
    ] {
        let k = b.kwn(mi, w, "level", h);
        b.no_act(k, a::inspect_max_incomplete);
        let v = b.num(k, "count", 1, 2_147_483_647, "Number of half-open sessions");
        b.act(v, a::inspect_max_incomplete);
    }
    let x = b.kw(inspect, "audit-trail", "Log the start and end of every session");
    b.act(x, a::inspect_audit_trail);
    let red = b.kw(inspect, "redundancy", "Stateful failover of inspection sessions");
    let up = b.kw(red, "update", "Periodic session updates to the standby");
    let secs = b.kw(up, "seconds", "Update interval");
    b.no_act(secs, a::inspect_update);
    let v = b.num(
        secs,
        "seconds",
        10,
        60,
        "Seconds between updates of a session (default 10)",
    );
    b.act(v, a::inspect_update);
    let dp = b.kw(
        inspect,
        "dataplane",
        "Packet path of the inspection engine (iosha)",
    );
    let q = b.kw(dp, "queue", "NFQUEUE number");
    b.no_act(q, a::inspect_dataplane_queue);
    let qn = b.num(q, "queue", 0, 65535, "Queue number (default 0)");
    b.act(qn, a::inspect_dataplane_queue);
    let w = b.kw(qn, "workers", "Worker threads");
    let wn = b.num(w, "workers", 1, 8, "Number of worker threads (default 1)");
    b.act(wn, a::inspect_dataplane_queue);
    let x = b.kw(
        dp,
        "fail-open",
        "Forward packets when the engine cannot judge them (default: drop)",
    );
    b.act(x, a::inspect_fail_open);

    let acl = b.kw(ip, "access-list", "Named access list");
    let ext = b.kw(acl, "extended", "Extended access list");
    let n = b.arg(ext, "acl", ArgType::Word, "Access list name");
    b.act(n, a::access_list);
}

fn build_interface(b: &mut B, root: NodeId) {
    let ip = b.kw(root, "ip", "Interface IP configuration");
    b.foreign(ip);
    let addr = b.kw(ip, "address", "Set the IP address");
    b.no_act(addr, a::ip_address);
    let x = b.arg(addr, "address", ArgType::Ipv4, "IP address");
    let m = b.arg(x, "mask", ArgType::Ipv4, "Subnet mask");
    b.act(m, a::ip_address);
    let ag = b.kw(ip, "access-group", "Filter packets with an access list");
    let n = b.arg(ag, "acl", ArgType::Word, "Access list name");
    for (w, h) in [("in", "Inbound packets"), ("out", "Outbound packets")] {
        let d = b.kwn(n, w, "direction", h);
        b.act(d, a::access_group);
    }
    let insp = b.kw(ip, "inspect", "Apply an inspection rule");
    let n = b.arg(insp, "rule", ArgType::Word, "Inspection rule name");
    for (w, h) in [
        ("in", "Inspect inbound traffic"),
        ("out", "Inspect outbound traffic"),
    ] {
        let d = b.kwn(n, w, "direction", h);
        b.act(d, a::inspect_binding);
        let r = b.kw(d, "redundancy", "Stateful failover of these sessions");
        let s = b.kw(r, "stateful", "Synchronize sessions to the standby");
        let g = b.arg(s, "group", ArgType::Word, "HSRP group name");
        b.act(g, a::inspect_binding);
    }
    let x = b.kw(root, "shutdown", "Shut the interface down");
    b.act(x, a::shutdown);

    let standby = b.kw(root, "standby", "HSRP configuration");
    let group = b.num(standby, "group", 0, 4095, "Group number (0-255 with version 1)");
    build_group_commands(b, standby);
    let group_commands: Vec<NodeId> = b.children(standby).into_iter().filter(|&c| c != group).collect();
    b.link(group, &group_commands);
    let v = b.kw(standby, "version", "HSRP version");
    b.no_act(v, a::standby_version);
    let n = b.num(v, "version", 1, 2, "1 (RFC 2281) or 2");
    b.act(n, a::standby_version);
    let d = b.kw(standby, "delay", "Delay before the groups start");
    b.no_act(d, a::standby_delay);
    let loop_nodes: Vec<NodeId> = [
        ("minimum", "After the interface comes up"),
        ("reload", "After the daemon starts"),
    ]
    .into_iter()
    .map(|(w, h)| b.kw(d, w, h))
    .collect();
    for &k in &loop_nodes {
        let name = if b.t.nodes[k].name == "minimum" {
            "delay_minimum"
        } else {
            "delay_reload"
        };
        let v = b.num(k, name, 0, 10000, "Seconds");
        b.act(v, a::standby_delay);
        b.link(v, &loop_nodes);
    }
}

fn build_group_commands(b: &mut B, p: NodeId) {
    let ip = b.kw(p, "ip", "Virtual IP address of the group");
    b.act(ip, a::standby_ip);
    let v = b.arg(ip, "vip", ArgType::Ipv4, "Virtual IP address");
    b.act(v, a::standby_ip);
    let s = b.kw(v, "secondary", "An additional virtual IP address");
    b.act(s, a::standby_ip);

    let pr = b.kw(p, "priority", "Priority of this router in the group");
    b.no_act(pr, a::standby_priority);
    let v = b.num(pr, "priority", 0, 255, "Priority (default 100)");
    b.act(v, a::standby_priority);

    let pe = b.kw(p, "preempt", "Take over from a lower-priority active router");
    b.act(pe, a::standby_preempt);
    let delay = b.kw(pe, "delay", "Wait before preempting");
    let opts: Vec<NodeId> = [
        (
            "minimum",
            "preempt_minimum",
            "Minimum delay after becoming able to preempt",
        ),
        ("reload", "preempt_reload", "Delay after the daemon starts"),
        (
            "sync",
            "preempt_sync",
            "Longest wait for redundancy clients to synchronize",
        ),
    ]
    .into_iter()
    .map(|(w, n, h)| {
        let k = b.kw(delay, w, h);
        b.num(k, n, 0, 3600, "Seconds")
    })
    .collect();
    let keywords = b.children(delay);
    for &v in &opts {
        b.act(v, a::standby_preempt);
        b.link(v, &keywords);
    }
    // The seed writes `preempt [delay minimum S] [reload S] [sync S]`: reload/sync also directly after preempt.
    b.link(pe, &keywords[1..]);

    super::build_track::build_standby_track(b, p);

    let t = b.kw(p, "timers", "Hello and hold times");
    b.no_act(t, a::standby_timers);
    let hm = b.kwn(t, "msec", "hello_msec", "Hello time in milliseconds");
    let h_ms = b.num(hm, "hello", 15, 999, "Hello time in milliseconds");
    let h_s = b.num(t, "hello", 1, 254, "Hello time in seconds");
    for h in [h_ms, h_s] {
        let m = b.kwn(h, "msec", "hold_msec", "Hold time in milliseconds");
        let v = b.num(m, "hold", 50, 3000, "Hold time in milliseconds");
        b.act(v, a::standby_timers);
        let v = b.num(h, "hold", 2, 255, "Hold time in seconds");
        b.act(v, a::standby_timers);
    }

    let au = b.kw(p, "authentication", "Authentication of HSRP messages");
    b.no_act(au, a::standby_auth);
    let text = b.kw(au, "text", "Plain-text string");
    let v = b.arg(
        text,
        "auth_text",
        ArgType::Word,
        "Authentication string (up to 8 characters)",
    );
    b.act(v, a::standby_auth);
    let md5 = b.kw(au, "md5", "MD5 keyed digest");
    let ks = b.kw(md5, "key-string", "The key");
    let v = b.arg(ks, "md5_key", ArgType::Word, "Key string (up to 64 characters)");
    b.act(v, a::standby_auth);
    let v = b.arg(
        au,
        "auth_text",
        ArgType::Word,
        "Plain-text string (up to 8 characters)",
    );
    b.act(v, a::standby_auth);

    let n = b.kw(p, "name", "Name of the group (for redundancy and inspect)");
    b.no_act(n, a::standby_name);
    let v = b.arg(n, "name", ArgType::Word, "Group name");
    b.act(v, a::standby_name);

    let m = b.kw(p, "mac-address", "Virtual MAC address");
    b.no_act(m, a::standby_mac);
    let v = b.arg(
        m,
        "mac",
        ArgType::Mac,
        "MAC address (dotted, e.g. 0000.0c07.ac01)",
    );
    b.act(v, a::standby_mac);

    let x = b.kw(p, "use-bia", "Use the interface's own MAC address as virtual MAC");
    b.act(x, a::standby_use_bia);
}

fn build_redundancy(b: &mut B, root: NodeId) {
    let s = b.kw(root, "scheme", "Redundancy scheme");
    b.no_act(s, a::scheme);
    let st = b.kw(s, "standby", "Follow an HSRP group");
    b.no_act(st, a::scheme);
    let v = b.arg(st, "name", ArgType::Word, "HSRP group name (standby N name)");
    b.act(v, a::scheme);
    let sec = b.kw(root, "security", "Authentication of IPC messages (iosha)");
    let k = b.kw(sec, "key", "Shared key");
    b.no_act(k, a::security_key);
    let v = b.arg(k, "key", ArgType::Word, "Key string");
    b.act(v, a::security_key);
}

fn build_ipc(b: &mut B, zone: NodeId, assoc: NodeId, proto: NodeId, local: NodeId, remote: NodeId) {
    let x = b.kw(zone, "association", "Association with the peer");
    let n = b.num(x, "association", 1, 1, "Association id");
    b.act(n, a::association);

    let x = b.kw(assoc, "shutdown", "Stop the association");
    b.act(x, a::association_shutdown);
    let p = b.kw(assoc, "protocol", "Transport protocol");
    let x = b.kw(p, "sctp", "SCTP");
    b.act(x, a::protocol_sctp);

    let x = b.kw(proto, "local-port", "Local SCTP port");
    b.no_act(x, a::local_port);
    let v = b.num(x, "port", 1, 65535, "Port number");
    b.act(v, a::local_port);
    let x = b.kw(proto, "remote-port", "Remote SCTP port");
    b.no_act(x, a::remote_port);
    let v = b.num(x, "port", 1, 65535, "Port number");
    b.act(v, a::remote_port);

    let x = b.kw(local, "local-ip", "Local addresses of the association");
    b.no_act(x, a::local_ip);
    let v = b.arg(x, "ip1", ArgType::Ipv4, "First local address");
    b.act(v, a::local_ip);
    let v2 = b.arg(v, "ip2", ArgType::Ipv4, "Second local address");
    b.act(v2, a::local_ip);
    let rt = b.kw(local, "retransmit-timeout", "Retransmission timeout bounds");
    b.no_act(rt, a::retransmit_timeout);
    let min = b.num(rt, "min", 300, 60000, "Minimum in milliseconds (default 300)");
    let min_ms = b.kwn(min, "msec", "min_msec", "Milliseconds");
    let max_nodes: Vec<NodeId> = [min, min_ms]
        .into_iter()
        .map(|p| b.num(p, "max", 300, 60000, "Maximum in milliseconds (default 600)"))
        .collect();
    for v in max_nodes {
        b.act(v, a::retransmit_timeout);
        let m = b.kwn(v, "msec", "max_msec", "Milliseconds");
        b.act(m, a::retransmit_timeout);
    }
    for (w, h) in [
        (
            "path-retransmit",
            "Retransmissions before a path is declared failed",
        ),
        (
            "assoc-retransmit",
            "Retransmissions before the association is declared failed",
        ),
    ] {
        let x = b.kwn(local, w, "which", h);
        b.no_act(x, a::retransmit_count);
        let v = b.num(x, "count", 2, 10, "Count (default 4)");
        b.act(v, a::retransmit_count);
    }
    let tr = b.kw(local, "transport", "How SCTP is carried (iosha)");
    b.no_act(tr, a::transport);
    for (w, h) in [
        ("auto", "Kernel SCTP if available, else userspace (default)"),
        ("kernel", "Kernel SCTP sockets"),
        ("raw", "Userspace SCTP over raw IP protocol 132"),
        ("udp", "Userspace SCTP over UDP port 9899"),
    ] {
        let x = b.kwn(tr, w, "transport", h);
        b.act(x, a::transport);
    }
    let ka = b.kw(local, "keepalive", "Heartbeat interval (iosha)");
    b.no_act(ka, a::keepalive);
    let v = b.num(ka, "keepalive", 100, 60000, "Milliseconds");
    b.act(v, a::keepalive);

    let x = b.kw(remote, "remote-ip", "Addresses of the peer");
    b.no_act(x, a::remote_ip);
    let v = b.arg(x, "ip1", ArgType::Ipv4, "First peer address");
    b.act(v, a::remote_ip);
    let v2 = b.arg(v, "ip2", ArgType::Ipv4, "Second peer address");
    b.act(v2, a::remote_ip);
}
