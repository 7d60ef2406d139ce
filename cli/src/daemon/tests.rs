//! Unit tests of the daemon core with the real command tree and fake components.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::component::{Component, ExecContext, ExecOutput, InterfaceMap};
use super::core::{DaemonCore, DaemonSettings, SessionId, load_checked};
use crate::config::Config;
use crate::control::{Op, Request, Response};
use crate::lang::{ExecCommand, Interpreter};
use crate::logging::{DebugFlags, LogBuffer};

const SEED: &str = include_str!("../../tests/daemon_support/ha-r1.cfg");

/// What the fake components saw, in order.
type Journal = Arc<Mutex<Vec<String>>>;

/// A component answering `show standby ...` and refusing configurations where group 1 has `priority`
/// equal to `refuse_priority`.
struct FakeHsrp {
    name: &'static str,
    journal: Journal,
    refuse_priority: Option<u64>,
    shut_down: Arc<Mutex<bool>>,
}

fn group1_priority(cfg: &Config) -> Option<u64> {
    let v = serde_json::to_value(cfg).unwrap();
    let iface = v["interfaces"]
        .as_array()?
        .iter()
        .find(|i| i["name"] == "Ethernet0/0")?
        .clone();
    iface["standby"]["groups"]
        .as_array()?
        .iter()
        .find(|g| g["group"] == 1)?["priority"]
        .as_u64()
}

impl Component for FakeHsrp {
    fn name(&self) -> &'static str {
        self.name
    }

    fn handles(&self, key: &str) -> bool {
        key.starts_with("show standby")
    }

    fn exec(&mut self, ctx: &ExecContext<'_>, cmd: &ExecCommand) -> ExecOutput {
        self.journal
            .lock()
            .unwrap()
            .push(format!("{} exec {} {:?}", self.name, cmd.key, cmd.args));
        let text = format!(
            "Ethernet0/0 - Group 1\n  State is Active\n  Priority {}\nEthernet1/0 - Group 2\n  State is Standby\n",
            group1_priority(ctx.running).unwrap_or(0)
        );
        ExecOutput::with_json(text, &serde_json::json!({"groups": 2, "json_asked": ctx.json}))
    }

    fn apply(&mut self, interfaces: &InterfaceMap, old: &Config, new: &Config) -> Result<(), String> {
        self.journal.lock().unwrap().push(format!(
            "{} apply {:?}->{:?} eth0={}",
            self.name,
            group1_priority(old),
            group1_priority(new),
            interfaces.ios_name("eth0").unwrap_or("-")
        ));
        match (self.refuse_priority, group1_priority(new)) {
            (Some(bad), Some(p)) if bad == p => Err(format!("priority {p} refused")),
            _ => Ok(()),
        }
    }

    fn shutdown(&mut self) {
        *self.shut_down.lock().unwrap() = true;
    }
}

struct Fixture {
    core: DaemonCore,
    journal: Journal,
    shut_down: Arc<Mutex<bool>>,
    dir: PathBuf,
    _scratch: Scratch,
}

/// Removes the fixture's directory on drop.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fixture(tag: &str, with_components: bool) -> Fixture {
    let dir = std::env::temp_dir().join(format!("iosha-core-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config_path = dir.join("r1.cfg");
    std::fs::write(&config_path, SEED).unwrap();
    let journal: Journal = Arc::default();
    let shut_down = Arc::new(Mutex::new(false));
    let mut components: Vec<Box<dyn Component>> = Vec::new();
    if with_components {
        components.push(Box::new(FakeHsrp {
            name: "A",
            journal: journal.clone(),
            refuse_priority: None,
            shut_down: shut_down.clone(),
        }));
        components.push(Box::new(FakeHsrp {
            name: "B",
            journal: journal.clone(),
            refuse_priority: Some(13),
            shut_down: shut_down.clone(),
        }));
    }
    let settings = DaemonSettings {
        config_path,
        control_path: dir.join("s.sock"),
        interfaces: InterfaceMap::from_specs(&["Ethernet0/0=eth0"]).unwrap(),
        console_log: false,
    };
    let initial = load_checked(SEED, "r1.cfg").unwrap();
    let core = DaemonCore::new(
        settings,
        Arc::new(Interpreter::new()),
        initial,
        components,
        DebugFlags::new(),
        LogBuffer::new(4096),
    )
    .unwrap();
    Fixture {
        core,
        journal,
        shut_down,
        _scratch: Scratch(dir.clone()),
        dir,
    }
}

fn exec(core: &mut DaemonCore, id: SessionId, line: &str) -> Response {
    core.handle(id, &Request::new(Op::Exec, line, false))
}

fn exec_all(core: &mut DaemonCore, id: SessionId, lines: &[&str]) -> Response {
    let mut last = Response::text("", "");
    for line in lines {
        last = exec(core, id, line);
        assert!(last.ok, "{line}: {}", last.output);
    }
    last
}

#[test]
fn components_start_with_the_initial_config_and_see_changes() {
    let mut f = fixture("start", true);
    assert_eq!(
        *f.journal.lock().unwrap(),
        [
            "A apply None->Some(60) eth0=Ethernet0/0",
            "B apply None->Some(60) eth0=Ethernet0/0"
        ]
    );
    let id = f.core.open_session();
    exec_all(
        &mut f.core,
        id,
        &[
            "configure terminal",
            "interface Ethernet0/0",
            "standby 1 priority 70",
        ],
    );
    assert_eq!(group1_priority(f.core.running()), Some(70));
    let journal = f.journal.lock().unwrap().clone();
    assert_eq!(
        journal[2..],
        [
            "A apply Some(60)->Some(70) eth0=Ethernet0/0",
            "B apply Some(60)->Some(70) eth0=Ethernet0/0"
        ]
    );
}

#[test]
fn a_component_refusing_a_change_rolls_back_the_others_and_keeps_running() {
    let mut f = fixture("refuse", true);
    let id = f.core.open_session();
    exec_all(&mut f.core, id, &["conf t", "interface Ethernet0/0"]);
    f.journal.lock().unwrap().clear();
    let r = exec(&mut f.core, id, "standby 1 priority 13");
    assert!(!r.ok);
    assert!(r.output.contains("B: priority 13 refused"), "{}", r.output);
    assert!(r.output.contains("% Change rejected"), "{}", r.output);
    assert_eq!(group1_priority(f.core.running()), Some(60));
    assert_eq!(
        *f.journal.lock().unwrap(),
        [
            "A apply Some(60)->Some(13) eth0=Ethernet0/0",
            "B apply Some(60)->Some(13) eth0=Ethernet0/0",
            "A apply Some(13)->Some(60) eth0=Ethernet0/0",
        ]
    );
    // The session stays in its mode and further changes work.
    assert_eq!(r.prompt, "ha-R1(config-if)#");
    exec_all(&mut f.core, id, &["standby 1 priority 14"]);
    assert_eq!(group1_priority(f.core.running()), Some(14));
}

#[test]
fn exec_keys_go_to_the_component_with_filters_and_json() {
    let mut f = fixture("dispatch", true);
    let id = f.core.open_session();
    let r = exec(&mut f.core, id, "show standby brief");
    assert!(r.ok, "{}", r.output);
    assert!(r.output.contains("Group 2"));
    let r = exec(&mut f.core, id, "show standby | include Group");
    assert_eq!(r.output, "Ethernet0/0 - Group 1\nEthernet1/0 - Group 2\n");
    let r = f.core.handle(id, &Request::new(Op::Exec, "show standby", true));
    assert_eq!(r.json, Some(serde_json::json!({"groups": 2, "json_asked": true})));
    assert!(
        f.journal
            .lock()
            .unwrap()
            .iter()
            .any(|l| l == "A exec show standby brief []")
    );
    // Components are stopped with the daemon.
    f.core.shutdown();
    assert!(*f.shut_down.lock().unwrap());
}

#[test]
fn absent_components_answer_plainly_and_versions_list_components() {
    let mut f = fixture("absent", false);
    let id = f.core.open_session();
    let r = exec(&mut f.core, id, "show standby");
    assert!(!r.ok);
    assert_eq!(r.output, "% HSRP is not running");
    let r = exec(&mut f.core, id, "show redundancy");
    assert_eq!(r.output, "% Redundancy is not running");
    let r = f.core.handle(id, &Request::new(Op::Exec, "show version", true));
    let v = r.json.unwrap();
    assert_eq!(v["components"], serde_json::json!([]));
    assert_eq!(v["interfaces"]["Ethernet0/0"], "eth0");
    let mut g = fixture("present", true);
    let id = g.core.open_session();
    let text = exec(&mut g.core, id, "show version").output;
    assert!(text.contains("Components running: A, B"), "{text}");
}

#[test]
fn sessions_keep_their_own_modes_and_vty_numbers() {
    let mut f = fixture("sessions", false);
    let a = f.core.open_session();
    let b = f.core.open_session();
    exec_all(&mut f.core, a, &["conf t", "interface Ethernet1/0"]);
    assert_eq!(f.core.prompt(a), "ha-R1(config-if)#");
    assert_eq!(f.core.prompt(b), "ha-R1#");
    // A config line typed in exec mode is not a config change.
    let r = exec(&mut f.core, b, "standby 1 priority 10");
    assert!(!r.ok);
    // `exit` in exec closes; `exit` in a sub-mode goes up one level.
    let r = exec(&mut f.core, a, "exit");
    assert!(r.ok && !r.close);
    assert_eq!(r.prompt, "ha-R1(config)#");
    let r = exec(&mut f.core, b, "exit");
    assert!(r.close);
    f.core.close_session(b);
    let c = f.core.open_session();
    // vty numbers are reused: the lowest free one.
    exec_all(&mut f.core, c, &["conf t", "hostname vty-test", "end"]);
    assert_eq!(f.core.prompt(c), "vty-test#");
    assert_eq!(f.core.prompt(a), "vty-test(config)#");
}

#[test]
fn help_and_complete_ops() {
    let mut f = fixture("help", false);
    let id = f.core.open_session();
    let r = f.core.handle(id, &Request::new(Op::Help, "show ", true));
    assert!(r.ok);
    let items = r.json.unwrap();
    assert!(
        items
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["token"] == "running-config")
    );
    let line = r.output.lines().find(|l| l.contains("running-config")).unwrap();
    assert!(line.starts_with("  running-config  "), "{line:?}");
    // Token column aligned: every help text starts at the same column, after the widest token.
    let items = items.as_array().unwrap();
    let widest = items
        .iter()
        .map(|i| i["token"].as_str().unwrap().len())
        .max()
        .unwrap();
    for (item, line) in items.iter().zip(r.output.lines()) {
        assert_eq!(line[2..].split(' ').next(), item["token"].as_str(), "{line:?}");
        assert_eq!(
            &line[2 + widest + 2..],
            item["help"].as_str().unwrap(),
            "{line:?}"
        );
    }
    let r = f.core.handle(id, &Request::new(Op::Complete, "sh", false));
    assert!(r.ok);
    assert!(r.output.starts_with("show"), "{}", r.output);
    let r = f.core.handle(id, &Request::new(Op::Complete, "zzz", false));
    assert!(!r.ok);
    assert_eq!(r.json, None);
    let r = f.core.handle(id, &Request::new(Op::Help, "show zzz", false));
    assert!(!r.ok);
    assert!(r.output.contains('%'), "{}", r.output);
}

#[test]
fn show_running_config_json_is_the_config_model_and_write_memory_saves_it() {
    let mut f = fixture("json", false);
    let id = f.core.open_session();
    let r = f
        .core
        .handle(id, &Request::new(Op::Exec, "show running-config", true));
    assert_eq!(r.json.unwrap(), serde_json::to_value(f.core.running()).unwrap());
    exec_all(
        &mut f.core,
        id,
        &["conf t", "interface Ethernet0/0", "standby 1 priority 99", "end"],
    );
    let r = exec(&mut f.core, id, "write memory");
    assert!(r.ok, "{}", r.output);
    let saved = std::fs::read_to_string(f.dir.join("r1.cfg")).unwrap();
    assert_eq!(load_checked(&saved, "saved").unwrap(), *f.core.running());
    let r = exec(&mut f.core, id, "copy running-config startup-config");
    assert!(r.ok, "{}", r.output);
}

#[test]
fn reload_keeps_the_running_config_on_errors() {
    let mut f = fixture("reload", true);
    let path = f.dir.join("r1.cfg");
    std::fs::write(
        &path,
        SEED.replace("standby 1 priority 60", "standby 1 priority 61"),
    )
    .unwrap();
    f.core.reload().unwrap();
    assert_eq!(group1_priority(f.core.running()), Some(61));
    // Refused by a component.
    std::fs::write(
        &path,
        SEED.replace("standby 1 priority 60", "standby 1 priority 13"),
    )
    .unwrap();
    assert!(f.core.reload().is_err());
    assert_eq!(group1_priority(f.core.running()), Some(61));
    // Invalid text.
    std::fs::write(&path, "interface Ethernet0/0\n standby 1 timers 0 10\n").unwrap();
    let errors = f.core.reload().unwrap_err();
    assert!(errors.iter().any(|e| e.contains("Invalid input")), "{errors:?}");
    // Missing file.
    std::fs::remove_file(&path).unwrap();
    assert!(f.core.reload().is_err());
    assert_eq!(group1_priority(f.core.running()), Some(61));
}

#[test]
fn debug_commands_switch_categories() {
    let mut f = fixture("debug", false);
    let id = f.core.open_session();
    exec_all(
        &mut f.core,
        id,
        &["debug standby packets terse", "debug ip inspect ha"],
    );
    let doc = f
        .core
        .handle(id, &Request::new(Op::Exec, "show logging", true))
        .json
        .unwrap();
    assert_eq!(
        doc["debug"],
        serde_json::json!(["ip.inspect.ha", "standby.packets.terse"])
    );
    exec_all(&mut f.core, id, &["no debug ip inspect"]);
    let doc = f
        .core
        .handle(id, &Request::new(Op::Exec, "show logging", true))
        .json
        .unwrap();
    assert_eq!(doc["debug"], serde_json::json!(["standby.packets.terse"]));
    exec_all(&mut f.core, id, &["undebug all"]);
    let doc = f
        .core
        .handle(id, &Request::new(Op::Exec, "show logging", true))
        .json
        .unwrap();
    assert_eq!(doc["debug"], serde_json::json!([]));
}

#[test]
fn run_until_serves_sessions_and_stops_on_request() {
    let f = fixture("server", false);
    let socket = f.dir.join("s.sock");
    let Fixture { core, _scratch, .. } = f;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let path = socket.clone();
        let server = tokio::spawn(async move {
            super::run_until(core, &path, async {
                let _ = stopped.await;
            })
            .await
        });
        let path = socket.clone();
        let answers = tokio::task::spawn_blocking(move || {
            let start = std::time::Instant::now();
            let mut client = loop {
                match crate::control::Client::connect(&path) {
                    Ok(c) => break c,
                    Err(e) => {
                        assert!(start.elapsed() < std::time::Duration::from_secs(10), "{e}");
                        std::thread::sleep(std::time::Duration::from_millis(10));
                    }
                }
            };
            let mut other = crate::control::Client::connect(&path).unwrap();
            let a = client.call(Op::Exec, "configure terminal", false).unwrap();
            let b = other.call(Op::Prompt, "", false).unwrap();
            let c = other.call(Op::Exec, "show version", true).unwrap();
            (a, b, c)
        })
        .await
        .unwrap();
        assert_eq!(answers.0.prompt, "ha-R1(config)#");
        assert_eq!(answers.1.prompt, "ha-R1#", "sessions are separate");
        assert_eq!(
            answers.2.json.unwrap()["control_socket"],
            socket.display().to_string()
        );
        assert!(socket.exists());
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
    });
    assert!(!socket.exists(), "the socket is removed on the way out");
}
