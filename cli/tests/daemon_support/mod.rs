//! Shared harness of the daemon end-to-end tests: a scratch directory, a running `iosha daemon` on the seed's
//! ha-R1 configuration, `iosha exec` runs, signals and deadline polling.
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

/// A running `iosha daemon` (stopped with SIGTERM, then SIGKILL, on drop).
pub struct Daemon {
    pub child: Option<Child>,
    pub dir: TestDir,
    pub config: PathBuf,
    pub socket: PathBuf,
    stderr: Arc<Mutex<String>>,
}

impl Daemon {
    /// Starts a daemon on `config_text` and waits until its socket answers.
    pub fn start(tag: &str, config_text: &str) -> Self {
        Self::start_with(tag, config_text, &[])
    }

    /// Like [`Daemon::start`] with extra daemon arguments.
    pub fn start_with(tag: &str, config_text: &str, extra: &[&str]) -> Self {
        let dir = TestDir::new(tag);
        let config = dir.path.join("r1.cfg");
        std::fs::write(&config, config_text).unwrap();
        // A socket in a directory that does not exist yet: the daemon creates it.
        let socket = dir.path.join("run").join("iosha.sock");
        let mut child = Command::new(IOSHA)
            .arg("daemon")
            .arg("--config")
            .arg(&config)
            .arg("--control")
            .arg(&socket)
            // These tests exercise the control plane in the test's own namespace: no HA components.
            .arg("--no-components")
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
