//! The seed's Figure 1 (DESIGN §8) in network namespaces: two hosts, two routers and one bridge namespace per
//! LAN, nothing connected to the root namespace, everything removed on drop.
//!
//! ```text
//!  h1 10.0.0.10 (gw 10.0.0.3) ── [lan-in bridge] ── r1 e0 10.0.0.1   | r2 e0 10.0.0.2     HSRP 1 VIP 10.0.0.3
//!                                                   r1 e1 211.0.0.1  | r2 e1 211.0.0.2    HSRP 2 VIP 211.0.0.3
//!  h2 211.0.0.10 (10.0.0.0/24 via 211.0.0.3) ── [lan-out bridge]
//! ```
//!
//! Namespaces are named `<prefix>h1`, `<prefix>r1`, `<prefix>r2`, `<prefix>h2`, `<prefix>lan-in`,
//! `<prefix>lan-out`. In each router the inside interface is `e0` (IOS `Ethernet0/0`) and the outside one `e1`
//! (IOS `Ethernet1/0`); each host has `eth0`. The bridge namespaces hold `br0` and the far ends of the veths
//! (`r1e0`, `r2e0`, `h1`; `r1e1`, `r2e1`, `h2`).
//!
//! Daemons run as `ip netns exec <ns> iosha daemon ...` children (`ip netns exec` execs the command, so the
//! child's pid is the daemon's pid and signals reach it directly).

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Linux name of the inside (LAN 10.0.0.0/24) interface in each router namespace.
pub const INSIDE_IF: &str = "e0";
/// Linux name of the outside (LAN 211.0.0.0/24) interface in each router namespace.
pub const OUTSIDE_IF: &str = "e1";
/// IOS name the seed configurations use for the inside interface.
pub const INSIDE_IOS: &str = "Ethernet0/0";
/// IOS name the seed configurations use for the outside interface.
pub const OUTSIDE_IOS: &str = "Ethernet1/0";
/// h1's address.
pub const H1_ADDR: &str = "10.0.0.10";
/// h2's address.
pub const H2_ADDR: &str = "211.0.0.10";
/// Inside virtual IP (HSRP group 1, "HAin").
pub const VIP_IN: &str = "10.0.0.3";
/// Outside virtual IP (HSRP group 2, "HAout").
pub const VIP_OUT: &str = "211.0.0.3";
/// The seed's HSRP start-up delay line (two minutes), shortened by [`lab_config`].
pub const SEED_DELAY_LINE: &str = "standby delay minimum 120 reload 120";
/// Default start-up delay (seconds) the lab uses instead of the seed's 120.
pub const LAB_DELAY_SECONDS: u32 = 1;

/// Errors of the lab topology.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// A command could not be run or failed.
    #[error("{command}: {message}")]
    Command {
        /// The command line.
        command: String,
        /// What went wrong (stderr or the spawn error).
        message: String,
    },
    /// The lab needs root (network namespaces).
    #[error("the lab needs root (network namespaces, veths, bridges)")]
    NotRoot,
    /// A deadline passed.
    #[error("timed out: {0}")]
    Timeout(String),
    /// Output that should have been JSON was not.
    #[error("{command}: not JSON: {message}")]
    Json {
        /// The command line.
        command: String,
        /// Parser message.
        message: String,
    },
}

/// One of the two routers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Router {
    /// r1 (10.0.0.1 / 211.0.0.1, config ha-R1).
    R1,
    /// r2 (10.0.0.2 / 211.0.0.2, config ha-R2).
    R2,
}

impl Router {
    /// Both routers.
    pub const BOTH: [Self; 2] = [Self::R1, Self::R2];

    /// `r1` / `r2`.
    pub fn short(self) -> &'static str {
        match self {
            Self::R1 => "r1",
            Self::R2 => "r2",
        }
    }

    /// The other router of the pair.
    pub fn peer(self) -> Self {
        match self {
            Self::R1 => Self::R2,
            Self::R2 => Self::R1,
        }
    }

    /// Inside address.
    pub fn inside_addr(self) -> &'static str {
        match self {
            Self::R1 => "10.0.0.1",
            Self::R2 => "10.0.0.2",
        }
    }

    /// Outside address.
    pub fn outside_addr(self) -> &'static str {
        match self {
            Self::R1 => "211.0.0.1",
            Self::R2 => "211.0.0.2",
        }
    }
}

impl fmt::Display for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short())
    }
}

/// A host of the lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// h1 on the inside LAN.
    H1,
    /// h2 on the outside LAN.
    H2,
}

impl Host {
    fn short(self) -> &'static str {
        match self {
            Self::H1 => "h1",
            Self::H2 => "h2",
        }
    }
}

/// Replaces the seed's `standby delay minimum 120 reload 120` lines with `standby delay minimum S reload S`
/// (S = `seconds`). Returns the new text and how many lines were replaced. Every other line is kept as it is.
pub fn lab_config(seed_text: &str, seconds: u32) -> (String, usize) {
    let mut replaced = 0;
    let mut out = String::with_capacity(seed_text.len());
    for line in seed_text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let ending = &line[body.len()..];
        if body.split_whitespace().collect::<Vec<_>>().join(" ") == SEED_DELAY_LINE {
            let indent_len = body.len() - body.trim_start().len();
            out.push_str(&body[..indent_len]);
            out.push_str(&format!("standby delay minimum {seconds} reload {seconds}"));
            out.push_str(ending);
            replaced += 1;
        } else {
            out.push_str(line);
        }
    }
    (out, replaced)
}

/// Runs a command, failing with its stderr when it exits non-zero.
pub fn run(program: &str, args: &[&str]) -> Result<Output, LabError> {
    let command = format!("{program} {}", args.join(" "));
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| LabError::Command {
            command: command.clone(),
            message: e.to_string(),
        })?;
    if !output.status.success() {
        return Err(LabError::Command {
            command,
            message: format!(
                "{} {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        });
    }
    Ok(output)
}

/// Runs `ip netns exec NS program args...`.
pub fn netns_exec(ns: &str, program: &str, args: &[&str]) -> Result<Output, LabError> {
    let mut full = vec!["netns", "exec", ns, program];
    full.extend_from_slice(args);
    run("ip", &full)
}

fn ip_in(ns: &str, args: &[&str]) -> Result<(), LabError> {
    let mut full = vec!["-n", ns];
    full.extend_from_slice(args);
    run("ip", &full).map(|_| ())
}

/// True when the process runs as root.
pub fn is_root() -> bool {
    // The effective uid is the second field of the `Uid:` line of /proc/self/status.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// Polls `probe` every 50 ms until it returns `Some` or `timeout` passes.
pub fn poll_until<T>(
    timeout: Duration,
    what: &str,
    mut probe: impl FnMut() -> Option<T>,
) -> Result<T, LabError> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = probe() {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            return Err(LabError::Timeout(what.to_string()));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running `iosha daemon` in a router namespace.
#[derive(Debug)]
struct DaemonProcess {
    child: Child,
}

/// The built topology. Dropping it kills the daemons and deletes every namespace it created.
#[derive(Debug)]
pub struct Topology {
    prefix: String,
    namespaces: Vec<String>,
    dir: PathBuf,
    iosha: PathBuf,
    daemons: [Option<DaemonProcess>; 2],
}

impl Topology {
    /// Builds the topology with namespaces named `<prefix>...`; `iosha` is the binary the daemons run from.
    /// Files (configs, control sockets, daemon logs) go in a fresh directory under the system temp dir.
    pub fn build(prefix: &str, iosha: &Path) -> Result<Self, LabError> {
        if !is_root() {
            return Err(LabError::NotRoot);
        }
        let dir = std::env::temp_dir().join(format!("iosha-lab-{prefix}{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| LabError::Command {
            command: format!("mkdir {}", dir.display()),
            message: e.to_string(),
        })?;
        let mut topo = Self {
            prefix: prefix.to_string(),
            namespaces: Vec::new(),
            dir,
            iosha: iosha.to_path_buf(),
            daemons: [None, None],
        };
        topo.create()?;
        Ok(topo)
    }

    /// Namespace name of a node (`h1`, `r1`, `r2`, `h2`, `lan-in`, `lan-out`).
    pub fn ns(&self, node: &str) -> String {
        format!("{}{node}", self.prefix)
    }

    /// Namespace of a router.
    pub fn router_ns(&self, router: Router) -> String {
        self.ns(router.short())
    }

    /// Namespace of a host.
    pub fn host_ns(&self, host: Host) -> String {
        self.ns(host.short())
    }

    /// Directory holding configs, sockets and logs of this lab.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The control socket path of a router's daemon.
    pub fn control_path(&self, router: Router) -> PathBuf {
        self.dir.join(format!("{}.sock", router.short()))
    }

    /// The config file path of a router's daemon.
    pub fn config_path(&self, router: Router) -> PathBuf {
        self.dir.join(format!("{}.cfg", router.short()))
    }

    /// The log file (stdout+stderr) of a router's daemon.
    pub fn log_path(&self, router: Router) -> PathBuf {
        self.dir.join(format!("{}.log", router.short()))
    }

    fn add_ns(&mut self, node: &str) -> Result<String, LabError> {
        let name = self.ns(node);
        // A leftover of a crashed earlier run with the same name: remove it first.
        let _ = run("ip", &["netns", "del", &name]);
        run("ip", &["netns", "add", &name])?;
        self.namespaces.push(name.clone());
        ip_in(&name, &["link", "set", "lo", "up"])?;
        Ok(name)
    }

    fn create(&mut self) -> Result<(), LabError> {
        let lan_in = self.add_ns("lan-in")?;
        let lan_out = self.add_ns("lan-out")?;
        let h1 = self.add_ns("h1")?;
        let h2 = self.add_ns("h2")?;
        let r1 = self.add_ns("r1")?;
        let r2 = self.add_ns("r2")?;
        for lan in [&lan_in, &lan_out] {
            ip_in(
                lan,
                &[
                    "link",
                    "add",
                    "br0",
                    "type",
                    "bridge",
                    "stp_state",
                    "0",
                    "forward_delay",
                    "0",
                ],
            )?;
            ip_in(lan, &["link", "set", "br0", "up"])?;
        }
        // (bridge namespace, bridge-side name, node namespace, node-side name, address/prefix)
        let links: [(&str, &str, &str, &str, &str); 6] = [
            (&lan_in, "h1", &h1, "eth0", "10.0.0.10/24"),
            (&lan_in, "r1e0", &r1, INSIDE_IF, "10.0.0.1/24"),
            (&lan_in, "r2e0", &r2, INSIDE_IF, "10.0.0.2/24"),
            (&lan_out, "h2", &h2, "eth0", "211.0.0.10/24"),
            (&lan_out, "r1e1", &r1, OUTSIDE_IF, "211.0.0.1/24"),
            (&lan_out, "r2e1", &r2, OUTSIDE_IF, "211.0.0.2/24"),
        ];
        for (lan, lan_end, node, node_end, addr) in links {
            ip_in(
                lan,
                &[
                    "link", "add", lan_end, "type", "veth", "peer", "name", node_end, "netns", node,
                ],
            )?;
            ip_in(lan, &["link", "set", lan_end, "master", "br0", "up"])?;
            ip_in(node, &["addr", "add", addr, "dev", node_end])?;
            ip_in(node, &["link", "set", node_end, "up"])?;
        }
        ip_in(&h1, &["route", "add", "default", "via", VIP_IN])?;
        ip_in(&h2, &["route", "add", "10.0.0.0/24", "via", VIP_OUT])?;
        for r in [&r1, &r2] {
            netns_exec(r, "sysctl", &["-q", "-w", "net.ipv4.ip_forward=1"])?;
        }
        Ok(())
    }

    /// Runs a command in a node's namespace (`h1`, `r1`, ...) and returns its output (error on non-zero exit).
    pub fn exec(&self, node: &str, program: &str, args: &[&str]) -> Result<Output, LabError> {
        netns_exec(&self.ns(node), program, args)
    }

    /// A `Command` that runs `program` in a node's namespace (for child processes the caller manages).
    pub fn command(&self, node: &str, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns(node), program]);
        cmd
    }

    /// Writes `config` as the router's config file and starts its daemon (killing a running one first).
    pub fn start_daemon(&mut self, router: Router, config: &str) -> Result<(), LabError> {
        self.kill_daemon(router);
        let cfg = self.config_path(router);
        std::fs::write(&cfg, config).map_err(|e| LabError::Command {
            command: format!("write {}", cfg.display()),
            message: e.to_string(),
        })?;
        self.restart_daemon(router)
    }

    /// Starts the router's daemon on the config file already written by [`Self::start_daemon`].
    pub fn restart_daemon(&mut self, router: Router) -> Result<(), LabError> {
        self.kill_daemon(router);
        let control = self.control_path(router);
        let _ = std::fs::remove_file(&control);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(router))
            .map_err(|e| LabError::Command {
                command: "open daemon log".into(),
                message: e.to_string(),
            })?;
        let log2 = log.try_clone().map_err(|e| LabError::Command {
            command: "open daemon log".into(),
            message: e.to_string(),
        })?;
        let inside = format!("{INSIDE_IOS}={INSIDE_IF}");
        let outside = format!("{OUTSIDE_IOS}={OUTSIDE_IF}");
        let iosha = self.iosha.display().to_string();
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.router_ns(router),
                &iosha,
                "daemon",
                "--config",
            ])
            .arg(self.config_path(router))
            .arg("--control")
            .arg(&control)
            .args(["--interface", &inside, "--interface", &outside])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| LabError::Command {
                command: format!("{iosha} daemon"),
                message: e.to_string(),
            })?;
        self.daemons[index(router)] = Some(DaemonProcess { child });
        Ok(())
    }

    /// Waits until the router's daemon answers on its control socket.
    pub fn wait_daemon_ready(&mut self, router: Router, timeout: Duration) -> Result<(), LabError> {
        let control = self.control_path(router);
        let iosha = self.iosha.clone();
        poll_until(timeout, &format!("{router} daemon ready"), || {
            let ok = Command::new(&iosha)
                .arg("exec")
                .arg("--control")
                .arg(&control)
                .arg("show version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            ok.then_some(())
        })
    }

    /// Pid of the router's daemon, when one was started and has not been reaped.
    pub fn daemon_pid(&self, router: Router) -> Option<u32> {
        self.daemons[index(router)].as_ref().map(|d| d.child.id())
    }

    /// True while the router's daemon process runs.
    pub fn daemon_running(&mut self, router: Router) -> bool {
        match self.daemons[index(router)].as_mut() {
            Some(d) => matches!(d.child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Sends a signal to the router's daemon.
    pub fn signal_daemon(&self, router: Router, signal: nix::sys::signal::Signal) -> Result<(), LabError> {
        let pid = self.daemon_pid(router).ok_or_else(|| LabError::Command {
            command: format!("signal {router}"),
            message: "no daemon".into(),
        })?;
        let pid = i32::try_from(pid).map_err(|e| LabError::Command {
            command: format!("signal {router}"),
            message: e.to_string(),
        })?;
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal).map_err(|e| LabError::Command {
            command: format!("kill {signal} {pid}"),
            message: e.to_string(),
        })
    }

    /// `kill -9` of the router's daemon (a crash: no cleanup runs), waited for.
    pub fn kill_daemon(&mut self, router: Router) {
        if let Some(mut d) = self.daemons[index(router)].take() {
            let _ = d.child.kill();
            let _ = d.child.wait();
        }
    }

    /// SIGTERM to the router's daemon and waits up to `timeout` for it to exit (then SIGKILL). Returns true
    /// when it exited on its own.
    pub fn stop_daemon(&mut self, router: Router, timeout: Duration) -> bool {
        let Some(mut d) = self.daemons[index(router)].take() else {
            return true;
        };
        if let Ok(pid) = i32::try_from(d.child.id()) {
            let _ =
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
        }
        let exited = poll_until(timeout, "daemon exit", || match d.child.try_wait() {
            Ok(Some(_)) | Err(_) => Some(()),
            Ok(None) => None,
        })
        .is_ok();
        if !exited {
            let _ = d.child.kill();
            let _ = d.child.wait();
        }
        exited
    }

    /// SIGSTOP (freeze) of the router's daemon.
    pub fn freeze_daemon(&self, router: Router) -> Result<(), LabError> {
        self.signal_daemon(router, nix::sys::signal::Signal::SIGSTOP)
    }

    /// SIGCONT (thaw) of the router's daemon.
    pub fn thaw_daemon(&self, router: Router) -> Result<(), LabError> {
        self.signal_daemon(router, nix::sys::signal::Signal::SIGCONT)
    }

    /// Sets one of a router's links down or up (both veth ends: the router sees the carrier go).
    pub fn set_link(&self, router: Router, outside: bool, up: bool) -> Result<(), LabError> {
        let state = if up { "up" } else { "down" };
        let (lan, lan_end, node_end) = if outside {
            ("lan-out", format!("{}e1", router.short()), OUTSIDE_IF)
        } else {
            ("lan-in", format!("{}e0", router.short()), INSIDE_IF)
        };
        ip_in(&self.ns(lan), &["link", "set", &lan_end, state])?;
        ip_in(&self.router_ns(router), &["link", "set", node_end, state])
    }

    /// "Power off": every link of the router down and its daemon killed with SIGKILL (nothing is cleaned up,
    /// as with a real power loss; the stale macvlan and VIP stay until the next start).
    pub fn power_off(&mut self, router: Router) -> Result<(), LabError> {
        self.set_link(router, false, false)?;
        self.set_link(router, true, false)?;
        self.kill_daemon(router);
        Ok(())
    }

    /// "Power on": links up again and the daemon restarted on its config file.
    pub fn power_on(&mut self, router: Router) -> Result<(), LabError> {
        self.set_link(router, false, true)?;
        self.set_link(router, true, true)?;
        self.restart_daemon(router)
    }

    /// Runs `iosha exec --json COMMAND` against the router's daemon and parses the document.
    pub fn exec_json(&self, router: Router, command: &str) -> Result<serde_json::Value, LabError> {
        let control = self.control_path(router);
        let output = Command::new(&self.iosha)
            .arg("exec")
            .arg("--control")
            .arg(&control)
            .arg("--json")
            .arg(command)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| LabError::Command {
                command: command.to_string(),
                message: e.to_string(),
            })?;
        if !output.status.success() {
            return Err(LabError::Command {
                command: format!("{router}# {command}"),
                message: format!(
                    "{} {}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
            });
        }
        serde_json::from_slice(&output.stdout).map_err(|e| LabError::Json {
            command: format!("{router}# {command}"),
            message: e.to_string(),
        })
    }

    /// Runs `iosha exec COMMAND...` (text) against the router's daemon.
    pub fn exec_text(&self, router: Router, commands: &[&str]) -> Result<String, LabError> {
        let output = Command::new(&self.iosha)
            .arg("exec")
            .arg("--control")
            .arg(self.control_path(router))
            .args(commands)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| LabError::Command {
                command: commands.join("; "),
                message: e.to_string(),
            })?;
        if !output.status.success() {
            return Err(LabError::Command {
                command: format!("{router}# {}", commands.join("; ")),
                message: format!(
                    "{} {}{}",
                    output.status,
                    String::from_utf8_lossy(&output.stdout).trim(),
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// The daemon log of a router so far (for failure messages).
    pub fn daemon_log(&self, router: Router) -> String {
        std::fs::read_to_string(self.log_path(router)).unwrap_or_default()
    }
}

fn index(router: Router) -> usize {
    match router {
        Router::R1 => 0,
        Router::R2 => 1,
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        for router in Router::BOTH {
            // SIGCONT first: a frozen daemon cannot die of SIGKILL until it is reaped either way, but make sure.
            let _ = self.thaw_daemon(router);
            self.kill_daemon(router);
        }
        for ns in self.namespaces.iter().rev() {
            let _ = run("ip", &["netns", "del", ns]);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_config_shortens_only_the_delay_lines() {
        let seed = "interface Ethernet0/0\n standby delay minimum 120 reload 120\nstandby 1 ip 10.0.0.3\n\
                    standby delay  minimum 120 reload 120\r\nstandby delay minimum 60 reload 120\n";
        let (out, n) = lab_config(seed, 2);
        assert_eq!(n, 2);
        assert_eq!(
            out,
            "interface Ethernet0/0\n standby delay minimum 2 reload 2\nstandby 1 ip 10.0.0.3\n\
             standby delay minimum 2 reload 2\r\nstandby delay minimum 60 reload 120\n"
        );
    }

    #[test]
    fn lab_config_on_the_seed_configs() {
        for text in [
            include_str!("../../tests/data/ha-R1.cfg"),
            include_str!("../../tests/data/ha-R2.cfg"),
        ] {
            let (out, n) = lab_config(text, LAB_DELAY_SECONDS);
            assert_eq!(n, 2, "both interfaces carry the delay line");
            assert!(!out.contains(SEED_DELAY_LINE));
            assert_eq!(out.lines().count(), text.lines().count());
        }
    }

    #[test]
    fn routers_know_their_addresses() {
        assert_eq!(Router::R1.peer(), Router::R2);
        assert_eq!(Router::R2.inside_addr(), "10.0.0.2");
        assert_eq!(Router::R1.outside_addr(), "211.0.0.1");
    }
}
