//! Shared harness of the daemon end-to-end tests: a scratch directory, a private network namespace, a running
//! `iosha daemon` on the seed's ha-R1 configuration inside it, `iosha exec` runs, signals and deadline
//! polling.
//!
//! Every daemon runs with its real components (HSRP, IPC, Inspect, Redundancy) inside its own fresh network
//! namespace (`idt<pid>-<n>`) holding interfaces that match the configuration: `e0` 10.0.0.1/24
//! (`Ethernet0/0`) and `e1` 211.0.0.1/24 (`Ethernet1/0`), each one end of a veth pair whose peer (`e0p`,
//! `e1p`, no address) stays in the same namespace (this kernel has no `dummy` interfaces). Nothing touches the root namespace's network; the
//! control socket is a filesystem path, so `iosha exec`/`iosha shell` reach it from the test's namespace.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The seed's ha-R1 configuration (both fenced parts of "Router 1)"), unmodified.
pub const HA_R1: &str = include_str!("ha-r1.cfg");

/// The `iosha` binary under test.
pub const IOSHA: &str = env!("CARGO_BIN_EXE_iosha");

/// How long any awaited condition may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A private network namespace with `lo`, `e0` (10.0.0.1/24) and `e1` (211.0.0.1/24) up, each paired by a
/// veth with an address-less peer (`e0p`, `e1p`) in the same namespace; deleted on drop
/// (together with anything a killed daemon left inside: NFQUEUE rules, macvlans, addresses).
#[derive(Debug)]
pub struct Netns {
    pub name: String,
}

/// The `--interface` mappings of the seed's ha-R1 configuration onto a [`Netns`].
pub const INTERFACE_MAP: [&str; 4] = ["--interface", "Ethernet0/0=e0", "--interface", "Ethernet1/0=e1"];

/// Runs `ip ARGS...` and fails the test when it fails.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ip {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Creates a fresh, empty namespace named `PREFIX<pid>-<n>` (removing a leftover of an earlier run with a
/// recycled pid first) and returns its name; the caller deletes it with [`delete_netns`].
pub fn add_netns(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "{prefix}{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    delete_netns(&name);
    ip(&["netns", "add", &name]);
    name
}

/// Deletes namespace `name` (quietly: it may be gone already).
pub fn delete_netns(name: &str) {
    let _ = Command::new("ip")
        .args(["netns", "del", name])
        .stderr(Stdio::null())
        .status();
}

impl Netns {
    /// Creates a fresh namespace with the two interfaces of the seed's router 1.
    pub fn new() -> Self {
        let name = add_netns("idt");
        // From here on, Drop removes the namespace even when a step below fails.
        let ns = Self { name };
        let n = ns.name.as_str();
        ip(&["-n", n, "link", "set", "lo", "up"]);
        for (dev, addr) in [("e0", "10.0.0.1/24"), ("e1", "211.0.0.1/24")] {
            let peer = format!("{dev}p");
            ip(&["-n", n, "link", "add", dev, "type", "veth", "peer", "name", &peer]);
            ip(&["-n", n, "addr", "add", addr, "dev", dev]);
            ip(&["-n", n, "link", "set", dev, "up"]);
            ip(&["-n", n, "link", "set", &peer, "up"]);
        }
        ns
    }

    /// `ip netns exec NS program`: the program itself runs in the namespace (ip execs it, same pid).
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// Runs `ip -n NS args...` and returns its stdout.
    pub fn ip_output(&self, args: &[&str]) -> String {
        let out = Command::new("ip")
            .args(["-n", &self.name])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        delete_netns(&self.name);
    }
}

/// True when `ip netns list` still shows `name`.
pub fn netns_exists(name: &str) -> bool {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.split_whitespace().next() == Some(name))
}

/// A scratch directory removed on drop.
#[derive(Debug)]
pub struct TestDir {
    pub path: PathBuf,
}

impl TestDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "iosha-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self { path }
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Polls `check` until it returns `Some`, failing the test with `what` after [`DEADLINE`].
pub fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A running `iosha daemon` in its own [`Netns`] (stopped with SIGTERM, then SIGKILL, on drop; the
/// namespace is deleted after it).
pub struct Daemon {
    pub child: Option<Child>,
    pub netns: Netns,
    pub dir: TestDir,
    pub config: PathBuf,
    pub socket: PathBuf,
    stderr: Arc<Mutex<String>>,
}

impl Daemon {
    /// Starts a daemon on `config_text` (with [`INTERFACE_MAP`]) in a fresh namespace and waits until its
    /// socket answers.
    pub fn start(tag: &str, config_text: &str) -> Self {
        Self::start_with(tag, config_text, &INTERFACE_MAP)
    }

    /// Like [`Daemon::start`] with these daemon arguments instead of [`INTERFACE_MAP`] (give the
    /// `--interface` mappings yourself: the components need `e0` and `e1`).
    pub fn start_with(tag: &str, config_text: &str, extra: &[&str]) -> Self {
        let netns = Netns::new();
        let dir = TestDir::new(tag);
        let config = dir.path.join("r1.cfg");
        std::fs::write(&config, config_text).unwrap();
        // A socket in a directory that does not exist yet: the daemon creates it.
        let socket = dir.path.join("run").join("iosha.sock");
        let mut child = netns
            .command(IOSHA)
            .arg("daemon")
            .arg("--config")
            .arg(&config)
            .arg("--control")
            .arg(&socket)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let mut daemon = Self {
            child: Some(child),
            netns,
            dir,
            config,
            socket,
            stderr,
        };
        wait_for("the control socket", || {
            if let Some(status) = daemon.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("daemon exited early ({status}):\n{}", daemon.stderr());
            }
            UnixStream::connect(&daemon.socket).ok().map(|_| ())
        });
        daemon
    }

    /// Everything the daemon wrote on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until stderr contains `text` (counting occurrences beyond `already`).
    pub fn wait_stderr(&self, text: &str, occurrences: usize) {
        wait_for(
            &format!("{occurrences} x {text:?} on the daemon's stderr"),
            || (self.stderr().matches(text).count() >= occurrences).then_some(()),
        );
    }

    /// Runs `iosha exec` with these arguments (after `--control SOCK`).
    pub fn exec(&self, args: &[&str]) -> Output {
        Command::new(IOSHA)
            .arg("exec")
            .arg("--control")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs `iosha exec`, asserting success; returns stdout.
    pub fn exec_ok(&self, args: &[&str]) -> String {
        let out = self.exec(args);
        assert!(
            out.status.success(),
            "iosha exec {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `show running-config --json`.
    pub fn running_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.exec_ok(&["--json", "show running-config"])).unwrap()
    }

    pub fn pid(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.child.as_ref().unwrap().id()).unwrap())
    }

    pub fn signal(&self, sig: Signal) {
        kill(self.pid(), sig).unwrap();
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        self.signal(Signal::SIGTERM);
        let child = self.child.as_mut().unwrap();
        let status = wait_for("the daemon to exit", || child.try_wait().unwrap());
        self.child = None;
        status
    }

    pub fn config_path(&self) -> &Path {
        &self.config
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(5) {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs a command that must finish by itself, killing it (and failing) after [`DEADLINE`].
pub fn output_within_deadline(cmd: &mut Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{cmd:?} did not finish in time\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
