//! Network-namespace lab for the data-plane tests and the bench: client — router — server.
//!
//! Three namespaces with unique names (`ih<pid>-<tag>-{c,r,s}`), two veth links created inside the
//! router namespace, nothing in the root namespace. The router forwards. Everything is deleted on Drop.
//!
//! ```text
//! client eth0 10.91.1.2/24 ── rc0 10.91.1.1 [router] rs0 10.91.2.1 ── eth0 10.91.2.2/24 server
//! ```
#![allow(dead_code, unreachable_pub)]

use std::fs::File;
use std::net::Ipv4Addr;
use std::process::Command;
use std::time::{Duration, Instant};

/// Client address.
pub const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 91, 1, 2);
/// Server address.
pub const SERVER: Ipv4Addr = Ipv4Addr::new(10, 91, 2, 2);
/// Client IPv6 address.
pub const CLIENT6: std::net::Ipv6Addr = std::net::Ipv6Addr::new(0xfd00, 0x91, 1, 0, 0, 0, 0, 2);
/// Server IPv6 address.
pub const SERVER6: std::net::Ipv6Addr = std::net::Ipv6Addr::new(0xfd00, 0x91, 2, 0, 0, 0, 0, 2);
/// Router interface towards the client.
pub const R_CLIENT_IF: &str = "rc0";
/// Router interface towards the server.
pub const R_SERVER_IF: &str = "rs0";

/// The three namespaces of one test.
#[derive(Debug)]
pub struct Lab {
    pub client: String,
    pub router: String,
    pub server: String,
}

/// Runs a command, panicking with its output on failure (test setup only).
pub fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0]).args(&args[1..]).output().expect("spawn");
    assert!(
        out.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a command and returns (success, stdout+stderr).
pub fn try_sh(args: &[&str]) -> (bool, String) {
    match Command::new(args[0]).args(&args[1..]).output() {
        Ok(out) => (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        ),
        Err(e) => (false, e.to_string()),
    }
}

impl Lab {
    /// Builds the lab; `tag` keeps concurrent tests apart.
    pub fn new(tag: &str) -> Self {
        let base = format!("ih{}-{tag}", std::process::id());
        let lab = Self {
            client: format!("{base}-c"),
            router: format!("{base}-r"),
            server: format!("{base}-s"),
        };
        for ns in [&lab.client, &lab.router, &lab.server] {
            let _ = try_sh(&["ip", "netns", "del", ns]);
            sh(&["ip", "netns", "add", ns]);
            sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        let (c, r, s) = (lab.client.as_str(), lab.router.as_str(), lab.server.as_str());
        sh(&[
            "ip",
            "-n",
            r,
            "link",
            "add",
            R_CLIENT_IF,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            c,
        ]);
        sh(&[
            "ip",
            "-n",
            r,
            "link",
            "add",
            R_SERVER_IF,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            s,
        ]);
        sh(&["ip", "-n", r, "addr", "add", "10.91.1.1/24", "dev", R_CLIENT_IF]);
        sh(&["ip", "-n", r, "addr", "add", "10.91.2.1/24", "dev", R_SERVER_IF]);
        sh(&["ip", "-n", r, "link", "set", R_CLIENT_IF, "up"]);
        sh(&["ip", "-n", r, "link", "set", R_SERVER_IF, "up"]);
        sh(&["ip", "-n", c, "addr", "add", "10.91.1.2/24", "dev", "eth0"]);
        sh(&["ip", "-n", s, "addr", "add", "10.91.2.2/24", "dev", "eth0"]);
        for ns in [c, s] {
            sh(&["ip", "-n", ns, "link", "set", "eth0", "up"]);
        }
        sh(&["ip", "-n", c, "route", "add", "default", "via", "10.91.1.1"]);
        sh(&["ip", "-n", s, "route", "add", "default", "via", "10.91.2.1"]);
        sh(&["ip", "netns", "exec", r, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
        // IPv6 too (nodad: usable at once).
        sh(&[
            "ip",
            "-n",
            r,
            "-6",
            "addr",
            "add",
            "fd00:91:1::1/64",
            "dev",
            R_CLIENT_IF,
            "nodad",
        ]);
        sh(&[
            "ip",
            "-n",
            r,
            "-6",
            "addr",
            "add",
            "fd00:91:2::1/64",
            "dev",
            R_SERVER_IF,
            "nodad",
        ]);
        sh(&[
            "ip",
            "-n",
            c,
            "-6",
            "addr",
            "add",
            "fd00:91:1::2/64",
            "dev",
            "eth0",
            "nodad",
        ]);
        sh(&[
            "ip",
            "-n",
            s,
            "-6",
            "addr",
            "add",
            "fd00:91:2::2/64",
            "dev",
            "eth0",
            "nodad",
        ]);
        sh(&[
            "ip",
            "-n",
            c,
            "-6",
            "route",
            "add",
            "default",
            "via",
            "fd00:91:1::1",
        ]);
        sh(&[
            "ip",
            "-n",
            s,
            "-6",
            "route",
            "add",
            "default",
            "via",
            "fd00:91:2::1",
        ]);
        sh(&[
            "ip",
            "netns",
            "exec",
            r,
            "sysctl",
            "-qw",
            "net.ipv6.conf.all.forwarding=1",
        ]);
        lab
    }

    /// Runs `f` on a new thread inside namespace `ns` and returns its result.
    pub fn in_ns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
        spawn_in_ns(ns, f).join().expect("namespace thread panicked")
    }

    /// `TOOL -t mangle -S` in the router namespace (`iptables` or `ip6tables`).
    pub fn mangle_rules(&self, tool: &str) -> String {
        try_sh(&[
            "ip",
            "netns",
            "exec",
            self.router.as_str(),
            tool,
            "-w",
            "-t",
            "mangle",
            "-S",
        ])
        .1
    }

    /// `iptables-save`-like dump of every rule in the router namespace (both backends).
    pub fn router_rules(&self) -> String {
        let mut all = String::new();
        for args in [
            vec!["iptables", "-w", "-t", "mangle", "-S"],
            vec!["ip6tables", "-w", "-t", "mangle", "-S"],
            vec!["nft", "list", "ruleset"],
        ] {
            let mut full = vec!["ip", "netns", "exec", self.router.as_str()];
            full.extend(args);
            all.push_str(&try_sh(&full).1);
        }
        all
    }
}

/// Spawns `f` on a thread inside namespace `ns`.
pub fn spawn_in_ns<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = File::open(&path).expect("open netns");
        nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        f()
    })
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in [&self.client, &self.router, &self.server] {
            let _ = try_sh(&["ip", "netns", "del", ns]);
        }
    }
}

/// Polls `f` until it returns Some or the deadline passes.
pub fn poll_until<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::yield_now();
        // Poll interval: not a timing assumption, only a way not to burn the CPU while waiting.
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The engine configuration of the lab router, equivalent to
/// ```text
/// ip inspect name P tcp
/// ip inspect name P udp
/// ip inspect udp idle-time UDP_IDLE
/// ip access-list extended DENY-IN
///  deny ip any any
/// interface rc0
/// interface rs0
///  ip inspect P out
///  ip access-group DENY-IN in
/// ```
pub fn inspect_out_config(udp_idle_s: u32) -> inspect::config::EngineConfig {
    use inspect::config::*;
    use inspect::record::L4Proto;
    EngineConfig {
        rules: vec![InspectRule {
            name: "P".into(),
            protocols: vec![
                RuleProtocol {
                    proto: L4Proto::TCP,
                    timeout_s: None,
                },
                RuleProtocol {
                    proto: L4Proto::UDP,
                    timeout_s: None,
                },
            ],
        }],
        interfaces: vec![
            InterfaceConfig {
                name: R_CLIENT_IF.into(),
                ..Default::default()
            },
            InterfaceConfig {
                name: R_SERVER_IF.into(),
                inspect_out: Some(InterfaceInspect {
                    rule: "P".into(),
                    redundancy_group: None,
                }),
                acl_in: Some("DENY-IN".into()),
                ..Default::default()
            },
        ],
        acls: vec![AclConfig {
            name: "DENY-IN".into(),
            entries: vec![AclEntry {
                seq: 10,
                action: AclAction::Deny,
                proto: AclProto::Ip,
                src: AddrMatch::Any,
                src_port: PortMatch::Any,
                dst: AddrMatch::Any,
                dst_port: PortMatch::Any,
                established: false,
                log: false,
            }],
        }],
        udp_idle_s,
        ..Default::default()
    }
}
