//! End to end: `iosha shell` driven through a pseudo-terminal (a detached tmux session), checking what the
//! operator sees on the screen: `?` help without Enter, TAB completion, mode prompts, caret placement of a
//! rejected line, a rejected whole-config change, `write memory`, history and `exit`. The daemon runs with its
//! real components in a namespace of its own (see `daemon_support`); the shell reaches it from outside.
#![allow(clippy::unwrap_used)]

mod daemon_support;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use daemon_support::{Daemon, HA_R1, IOSHA, wait_for};

/// A private tmux server running one `iosha shell` (killed on drop).
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    fn start(daemon: &Daemon) -> Self {
        let socket = daemon.dir.path.join("tmux.sock");
        let shell = format!(
            "IOSHA_HISTORY={} {} shell --control {}",
            daemon.dir.path.join("history").display(),
            IOSHA,
            daemon.socket.display()
        );
        let tmux = Self { socket };
        let status = tmux
            .cmd()
            .args(["new-session", "-d", "-s", "t", "-x", "160", "-y", "60", &shell])
            .env("TERM", "xterm")
            .status()
            .unwrap();
        assert!(status.success(), "tmux new-session failed");
        // Keep the pane (and its text) after the shell exits so the test can see the exit.
        let _ = tmux
            .cmd()
            .args(["set-option", "-t", "t", "remain-on-exit", "on"])
            .status();
        tmux
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S").arg(&self.socket).stdin(Stdio::null());
        c
    }

    /// Types literal text (no Enter).
    fn type_text(&self, text: &str) {
        assert!(
            self.cmd()
                .args(["send-keys", "-t", "t", "-l", text])
                .status()
                .unwrap()
                .success()
        );
    }

    /// Presses named keys (`Enter`, `Tab`, `C-u`, `C-d`).
    fn keys(&self, keys: &[&str]) {
        assert!(
            self.cmd()
                .args(["send-keys", "-t", "t"])
                .args(keys)
                .status()
                .unwrap()
                .success()
        );
    }

    /// Types a line and presses Enter.
    fn line(&self, text: &str) {
        self.type_text(text);
        self.keys(&["Enter"]);
    }

    /// The whole pane with its scrollback, trailing blanks trimmed.
    fn screen(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-J", "-t", "t", "-S", "-"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .map(str::trim_end)
            .collect::<Vec<_>>()
            .join("\n")
            .trim_end()
            .to_owned()
    }

    /// The last non-empty line of the pane.
    fn last_line(&self) -> String {
        self.screen().lines().last().unwrap_or("").to_owned()
    }

    /// Waits until the screen satisfies `pred`.
    fn wait(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait_for(what, || {
                last = self.screen();
                pred(&last).then(|| last.clone())
            })
        }));
        match found {
            Ok(screen) => screen,
            Err(_) => panic!("timed out waiting for {what}; screen:\n{}", self.screen()),
        }
    }

    /// Waits until the last line is exactly `text` (the cursor line, e.g. a fresh prompt).
    fn wait_last_line(&self, text: &str) {
        self.wait(&format!("last line {text:?}"), |s| {
            s.lines().last().map(str::trim_end) == Some(text)
        });
    }

    fn pane_dead(&self) -> bool {
        let out = self
            .cmd()
            .args(["display-message", "-p", "-t", "t", "#{pane_dead}"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").stderr(Stdio::null()).status();
    }
}

#[test]
fn shell_through_a_pseudo_terminal() {
    let daemon = Daemon::start("shell", HA_R1);
    let tmux = Tmux::start(&daemon);
    tmux.wait_last_line("ha-R1#");

    // `?` lists the help at once and gives the typed text back.
    tmux.type_text("show ?");
    let screen = tmux.wait("help for show", |s| {
        s.contains("running-config") && s.ends_with("ha-R1#show")
    });
    assert!(
        screen.contains("ha-R1#show ?\n"),
        "the ? is echoed as IOS does:\n{screen}"
    );
    let help_line = screen
        .lines()
        .find(|l| l.trim_start().starts_with("running-config"))
        .unwrap();
    assert!(help_line.starts_with("  running-config"), "{help_line:?}");
    assert!(
        help_line.trim_end().len() > "  running-config".len(),
        "help text missing: {help_line:?}"
    );
    // The line is still editable: finish it.
    tmux.type_text("version");
    tmux.keys(&["Enter"]);
    tmux.wait("show version output", |s| s.contains("ha-R1 uptime is"));
    tmux.wait_last_line("ha-R1#");

    // An abbreviated show served by a real component (HSRP runs in the daemon's namespace).
    tmux.line("sh stan br");
    tmux.wait("show standby brief output", |s| {
        s.lines()
            .any(|l| l.starts_with("Et0/0") && l.contains("10.0.0.3"))
            && s.lines()
                .any(|l| l.starts_with("Et1/0") && l.contains("211.0.0.3"))
    });
    tmux.wait_last_line("ha-R1#");

    // TAB completes a unique prefix.
    tmux.type_text("sh");
    tmux.keys(&["Tab"]);
    tmux.wait("TAB completion of sh", |s| {
        s.lines().last().is_some_and(|l| l.starts_with("ha-R1#show"))
    });
    tmux.keys(&["C-u"]);
    tmux.wait_last_line("ha-R1#");

    // Modes change the prompt.
    tmux.line("configure terminal");
    tmux.wait_last_line("ha-R1(config)#");
    tmux.line("interface Ethernet0/0");
    tmux.wait_last_line("ha-R1(config-if)#");

    // A line the tree refuses: caret under the bad token, counting the prompt.
    tmux.line("standby 1 timers 0 10");
    let screen = tmux.wait("the invalid-input error", |s| {
        s.contains("% Invalid input detected at '^' marker.")
    });
    let lines: Vec<&str> = screen.lines().collect();
    let at = lines
        .iter()
        .rposition(|l| *l == "ha-R1(config-if)#standby 1 timers 0 10")
        .unwrap();
    assert_eq!(
        lines[at + 1].find('^'),
        Some("ha-R1(config-if)#standby 1 timers ".len()),
        "{screen}"
    );
    tmux.wait_last_line("ha-R1(config-if)#");

    // A valid line that breaks a whole-config rule (VIP outside the subnet) is rejected.
    tmux.line("standby 1 ip 192.168.9.9");
    tmux.wait("the rejected change", |s| s.contains("% Change rejected"));
    tmux.wait_last_line("ha-R1(config-if)#");

    // An accepted change, Ctrl-Z back to exec, write memory.
    tmux.line("standby 1 priority 95");
    tmux.wait_last_line("ha-R1(config-if)#");
    tmux.keys(&["C-z"]);
    tmux.wait_last_line("ha-R1#");
    tmux.line("write memory");
    tmux.wait("write memory", |s| s.contains("[OK]"));
    tmux.wait_last_line("ha-R1#");
    let saved = std::fs::read_to_string(&daemon.config).unwrap();
    assert!(saved.contains("standby 1 priority 95"), "{saved}");
    assert!(!saved.contains("192.168.9.9"), "{saved}");

    // History: Up recalls the last command.
    tmux.keys(&["Up"]);
    tmux.wait_last_line("ha-R1#write memory");
    tmux.keys(&["C-u"]);
    tmux.wait_last_line("ha-R1#");

    // `exit` in exec mode leaves the shell.
    tmux.line("exit");
    wait_for("the shell to exit", || tmux.pane_dead().then_some(()));
    let history = std::fs::read_to_string(daemon.dir.path.join("history")).unwrap();
    assert!(history.contains("write memory"), "{history}");
}

#[test]
fn ctrl_d_leaves_the_shell() {
    let daemon = Daemon::start("shell-eof", HA_R1);
    let tmux = Tmux::start(&daemon);
    tmux.wait_last_line("ha-R1#");
    tmux.keys(&["C-d"]);
    wait_for("the shell to exit on Ctrl-D", || tmux.pane_dead().then_some(()));
    let _ = tmux.last_line();
}

#[test]
fn a_script_on_stdin_runs_like_a_paste_with_a_transcript() {
    use std::io::Write as _;
    let daemon = Daemon::start("shell-script", HA_R1);
    let mut child = Command::new(IOSHA)
        .args(["shell", "--control"])
        .arg(&daemon.socket)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"conf t\ninterface Ethernet0/0\nstandby 1 timers 0 10\nstandby 1 priority 77\nend\nexit\nshow version\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let transcript = String::from_utf8(out.stdout).unwrap();
    let expected_start = "ha-R1#conf t\nEnter configuration commands, one per line.  End with end or Ctrl-Z.\n\
                          ha-R1(config)#interface Ethernet0/0\n\
                          ha-R1(config-if)#standby 1 timers 0 10\n";
    assert!(transcript.starts_with(expected_start), "{transcript}");
    let caret_line = transcript.lines().nth(4).unwrap();
    assert_eq!(
        caret_line.find('^'),
        Some("ha-R1(config-if)#standby 1 timers ".len()),
        "{transcript}"
    );
    // The failing line did not stop the script; `exit` did (show version never ran).
    assert!(
        transcript.contains("ha-R1(config-if)#standby 1 priority 77\n"),
        "{transcript}"
    );
    assert!(transcript.ends_with("ha-R1#exit\n"), "{transcript}");
    assert!(
        daemon
            .exec_ok(&["show running-config"])
            .contains("standby 1 priority 77")
    );
}
