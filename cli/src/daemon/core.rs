//! The daemon's state and its request handling, without sockets: sessions, the running configuration,
//! whole-candidate commits, built-in exec commands and dispatch to components.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use super::component::{Component, ExecContext, ExecOutput, InterfaceMap, absent_component_message};
use super::persist::write_atomically;
use crate::config::{self, Config, Problem};
use crate::control::{Op, Request, Response};
use crate::lang::{self, ExecCommand, Interpreter, Mode, Outcome};
use crate::logging::{DebugFlags, LogBuffer, ShowLogging};

/// Identifies one control connection.
pub type SessionId = u64;

/// Settings of a daemon fixed at start.
#[derive(Clone, Debug)]
pub struct DaemonSettings {
    /// The configuration file (`--config`), saved by `write memory`, reread on SIGHUP.
    pub config_path: PathBuf,
    /// The control socket (`--control`), shown by `show version`.
    pub control_path: PathBuf,
    /// `--interface IOS=LINUX` mappings.
    pub interfaces: InterfaceMap,
    /// Whether log lines also go to stderr (shown by `show logging`).
    pub console_log: bool,
}

/// One operator session (one control connection, shown as a vty).
#[derive(Debug)]
struct Session {
    mode: Mode,
    vty: u32,
    /// A change was committed since the session entered configuration mode.
    changed: bool,
}

/// The daemon without its sockets. Every request and signal goes through one `&mut DaemonCore` at a time.
pub struct DaemonCore {
    settings: DaemonSettings,
    interpreter: Arc<Interpreter>,
    /// What `show running-config` shows; may hold pending (incomplete) parts.
    running: Config,
    /// The last configuration with no problem at all; what the components run.
    effective: Config,
    components: Vec<Box<dyn Component>>,
    flags: DebugFlags,
    log: LogBuffer,
    started: Instant,
    sessions: HashMap<SessionId, Session>,
    next_session: SessionId,
}

impl std::fmt::Debug for DaemonCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DaemonCore")
            .field("settings", &self.settings)
            .field(
                "components",
                &self.components.iter().map(|c| c.name()).collect::<Vec<_>>(),
            )
            .field("sessions", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

/// The `show version` document.
#[derive(Clone, Debug, Serialize)]
pub struct ShowVersion {
    /// `iosha`.
    pub name: &'static str,
    /// The crate version.
    pub version: &'static str,
    /// The configured hostname.
    pub hostname: String,
    /// Seconds since the daemon started.
    pub uptime_seconds: u64,
    /// The configuration file.
    pub config_file: String,
    /// The control socket.
    pub control_socket: String,
    /// IOS name -> Linux name.
    pub interfaces: InterfaceMap,
    /// Names of the running components.
    pub components: Vec<&'static str>,
}

impl DaemonCore {
    /// A daemon running `initial` (already loaded and validated by the caller). The components are moved
    /// from an empty configuration to `initial`; an error of one of them is returned.
    pub fn new(
        settings: DaemonSettings,
        interpreter: Arc<Interpreter>,
        initial: Config,
        mut components: Vec<Box<dyn Component>>,
        flags: DebugFlags,
        log: LogBuffer,
    ) -> Result<Self, String> {
        apply_all(
            &mut components,
            &settings.interfaces,
            &Config::default(),
            &initial,
        )?;
        Ok(Self {
            settings,
            interpreter,
            effective: initial.clone(),
            running: initial,
            components,
            flags,
            log,
            started: Instant::now(),
            sessions: HashMap::new(),
            next_session: 1,
        })
    }

    /// The running configuration.
    pub fn running(&self) -> &Config {
        &self.running
    }

    /// Opens a session in exec mode, on the lowest free vty number.
    pub fn open_session(&mut self) -> SessionId {
        let used: BTreeSet<u32> = self.sessions.values().map(|s| s.vty).collect();
        let vty = (0..).find(|n| !used.contains(n)).unwrap_or(0);
        let id = self.next_session;
        self.next_session += 1;
        self.sessions.insert(
            id,
            Session {
                mode: Mode::Exec,
                vty,
                changed: false,
            },
        );
        id
    }

    /// Closes a session (a session left in configuration mode with changes logs them like `end`).
    pub fn close_session(&mut self, id: SessionId) {
        if let Some(session) = self.sessions.remove(&id)
            && session.changed
            && session.mode != Mode::Exec
        {
            log_configured(session.vty);
        }
    }

    /// The session's prompt.
    pub fn prompt(&self, id: SessionId) -> String {
        let mode = self.sessions.get(&id).map_or(Mode::Exec, |s| s.mode.clone());
        mode.prompt(self.running.prompt_name())
    }

    /// Handles one request of a session.
    pub fn handle(&mut self, id: SessionId, req: &Request) -> Response {
        let Some(mode) = self.sessions.get(&id).map(|s| s.mode.clone()) else {
            return Response::error("% No such session", "");
        };
        let prompt = mode.prompt(self.running.prompt_name());
        let prompt_len = prompt.chars().count();
        let mut response = match req.op {
            Op::Prompt => Response::text("", ""),
            Op::Help => match self.interpreter.help(&mode, &self.running, &req.line) {
                Ok(items) => {
                    let mut r = Response::text(render_help(&items), "");
                    r.json = serde_json::to_value(&items).ok();
                    r
                }
                Err(e) => Response::error(e.render(&req.line, prompt_len), ""),
            },
            Op::Complete => match self.interpreter.complete(&mode, &self.running, &req.line) {
                Some(line) => {
                    let mut r = Response::text(line.clone(), "");
                    r.json = Some(serde_json::Value::String(line));
                    r
                }
                None => Response::error("", ""),
            },
            Op::Exec => self.exec_line(id, &mode, &req.line, req.json, prompt_len),
        };
        response.prompt = self.prompt(id);
        response
    }

    fn exec_line(
        &mut self,
        id: SessionId,
        mode: &Mode,
        line: &str,
        json: bool,
        prompt_len: usize,
    ) -> Response {
        let outcome = match self.interpreter.execute(mode, &self.running, line) {
            Ok(outcome) => outcome,
            Err(e) => return Response::error(e.render(line, prompt_len), ""),
        };
        match outcome {
            Outcome::Nothing => Response::text("", ""),
            Outcome::ModeChange(new_mode) => {
                let text = self.change_mode(id, new_mode);
                Response::text(text, "")
            }
            Outcome::Config {
                candidate,
                mode: new_mode,
            } => match self.commit(candidate) {
                Ok((changed, notes)) => {
                    if let (true, Some(s)) = (changed, self.sessions.get_mut(&id)) {
                        s.changed = true;
                    }
                    self.change_mode(id, new_mode);
                    Response::text(notes, "")
                }
                Err(errors) => Response::error(errors, ""),
            },
            Outcome::Exec(cmd) => {
                let out = self.exec_command(id, &cmd, json);
                let mut text = out.text;
                if let (true, Some(filter)) = (out.ok, &cmd.filter) {
                    text = filter.apply(&text);
                }
                let mut r = if out.ok {
                    Response::text(text, "")
                } else {
                    Response::error(text, "")
                };
                if json && let Some(doc) = out.json {
                    r.output = serde_json::to_string_pretty(&doc).unwrap_or_default();
                    r.json = Some(doc);
                }
                if cmd.key == "exit" && mode == &Mode::Exec {
                    r.close = true;
                }
                r
            }
        }
    }

    /// Moves a session to `new_mode`; returns the banner to print.
    fn change_mode(&mut self, id: SessionId, new_mode: Mode) -> String {
        let Some(session) = self.sessions.get_mut(&id) else {
            return String::new();
        };
        let mut text = String::new();
        if session.mode == Mode::Exec && new_mode != Mode::Exec {
            session.changed = false;
            text.push_str("Enter configuration commands, one per line.  End with end or Ctrl-Z.");
        }
        if new_mode == Mode::Exec && session.mode != Mode::Exec && session.changed {
            session.changed = false;
            log_configured(session.vty);
        }
        session.mode = new_mode;
        text
    }

    /// Validates `candidate` whole and makes it the running configuration, or explains why not (running
    /// configuration untouched). Problems that more lines can fix ("pending") do not block the change; they
    /// are returned as notes, and the components keep the last complete configuration until they are fixed.
    /// Returns whether anything changed, and the notes.
    fn commit(&mut self, candidate: Config) -> Result<(bool, String), String> {
        if candidate == self.running {
            return Ok((false, String::new()));
        }
        let problems = config::validate(&candidate);
        let (pending, hard): (Vec<&Problem>, Vec<&Problem>) = problems.iter().partition(|p| p.pending);
        if !hard.is_empty() {
            let mut text = render_problems(&hard);
            text.push_str("% Change rejected; the running configuration is unchanged.");
            return Err(text);
        }
        if pending.is_empty() && candidate != self.effective {
            apply_all(
                &mut self.components,
                &self.settings.interfaces,
                &self.effective,
                &candidate,
            )
            .map_err(|e| format!("% {e}\n% Change rejected; the running configuration is unchanged."))?;
            self.effective = candidate.clone();
        }
        self.running = candidate;
        let mut notes = String::new();
        for p in pending {
            let _ = writeln!(notes, "% Not in effect until complete: {}", p.message);
        }
        Ok((true, notes.trim_end().to_owned()))
    }

    /// Rereads the configuration file (SIGHUP). On any error the running configuration is kept and the
    /// errors are returned (and logged).
    pub fn reload(&mut self) -> Result<(), Vec<String>> {
        let path = self.settings.config_path.clone();
        let file_name = path.display().to_string();
        let result = (|| -> Result<(), Vec<String>> {
            let text = std::fs::read_to_string(&path).map_err(|e| vec![format!("{file_name}: {e}")])?;
            let config = load_checked(&text, &file_name)?;
            if config != self.effective {
                apply_all(
                    &mut self.components,
                    &self.settings.interfaces,
                    &self.effective,
                    &config,
                )
                .map_err(|e| vec![e])?;
                self.effective = config.clone();
            }
            self.running = config;
            Ok(())
        })();
        match &result {
            Ok(()) => {
                tracing::info!(target: "syslog", "%SYS-5-CONFIG_I: Configured from {file_name} by reload signal");
            }
            Err(errors) => {
                tracing::error!(
                    target: "syslog",
                    "%SYS-3-CONFIG_RELOAD: reload of {file_name} refused ({} errors); running configuration kept",
                    errors.len()
                );
                for e in errors {
                    tracing::error!(target: "syslog", "%SYS-3-CONFIG_RELOAD: {e}");
                }
            }
        }
        result
    }

    /// Stops the components.
    pub fn shutdown(&mut self) {
        for c in &mut self.components {
            c.shutdown();
        }
    }

    fn exec_command(&mut self, id: SessionId, cmd: &ExecCommand, json: bool) -> ExecOutput {
        let key = cmd.key.as_str();
        match key {
            "show running-config" => ExecOutput::with_json(config::render(&self.running), &self.running),
            "show logging" => {
                let doc = ShowLogging::collect(&self.log, &self.flags, self.settings.console_log);
                ExecOutput::with_json(doc.render(), &doc)
            }
            "show version" => {
                let doc = self.show_version();
                ExecOutput::with_json(render_version(&doc), &doc)
            }
            "show debugging" => {
                let on = self.flags.enabled();
                let mut text = String::new();
                if on.is_empty() {
                    text.push_str("No debugging is on\n");
                }
                for c in &on {
                    let _ = writeln!(text, "  debug {} is on", c.replace('.', " "));
                }
                ExecOutput::with_json(text, &on)
            }
            "write memory" | "copy running-config startup-config" => self.write_memory(),
            "configure terminal" => ExecOutput::text(self.change_mode(id, Mode::Config)),
            "end" => {
                self.change_mode(id, Mode::Exec);
                ExecOutput::text("")
            }
            "exit" => {
                let parent = self.sessions.get(&id).and_then(|s| s.mode.parent());
                if let Some(parent) = parent {
                    self.change_mode(id, parent);
                }
                ExecOutput::text("")
            }
            "enable" => ExecOutput::text(""),
            "disable" => {
                ExecOutput::error("% iosha sessions are always privileged; disable is not supported")
            }
            "no debug all" | "undebug all" => {
                let removed = self.flags.disable_all();
                let _ = json;
                ExecOutput::text(if removed.is_empty() {
                    "All possible debugging has been turned off".to_owned()
                } else {
                    format!(
                        "All possible debugging has been turned off ({})",
                        removed.join(", ")
                    )
                })
            }
            _ => {
                if let Some(words) = key.strip_prefix("debug ") {
                    let category = words.replace(' ', ".");
                    self.flags.enable(&category);
                    return ExecOutput::text(format!("{words} debugging is on"));
                }
                if let Some(words) = key
                    .strip_prefix("no debug ")
                    .or_else(|| key.strip_prefix("undebug "))
                {
                    let category = words.replace(' ', ".");
                    self.flags.disable(&category);
                    return ExecOutput::text(format!("{words} debugging is off"));
                }
                self.component_exec(cmd, json)
            }
        }
    }

    fn component_exec(&mut self, cmd: &ExecCommand, json: bool) -> ExecOutput {
        let ctx = ExecContext {
            running: &self.running,
            interfaces: &self.settings.interfaces,
            json,
        };
        if let Some(component) = self.components.iter_mut().find(|c| c.handles(&cmd.key)) {
            return component.exec(&ctx, cmd);
        }
        match absent_component_message(&cmd.key) {
            Some(message) => ExecOutput::error(message),
            None => ExecOutput::error(format!("% \"{}\" is not available in this iosha daemon", cmd.key)),
        }
    }

    fn write_memory(&mut self) -> ExecOutput {
        let problems = config::validate(&self.running);
        if !problems.is_empty() {
            let refs: Vec<&Problem> = problems.iter().collect();
            let mut text = render_problems(&refs);
            text.push_str("% The running configuration is incomplete; it was not saved.");
            return ExecOutput::error(text);
        }
        let text = config::render(&self.running);
        match write_atomically(&self.settings.config_path, &text) {
            Ok(()) => {
                tracing::info!(
                    target: "syslog",
                    "%SYS-5-CONFIG_SAVED: Running configuration saved to {}",
                    self.settings.config_path.display()
                );
                ExecOutput::text("Building configuration...\n[OK]")
            }
            Err(e) => ExecOutput::error(format!(
                "Building configuration...\n% Cannot write {}: {e}",
                self.settings.config_path.display()
            )),
        }
    }

    fn show_version(&self) -> ShowVersion {
        ShowVersion {
            name: "iosha",
            version: env!("CARGO_PKG_VERSION"),
            hostname: self.running.prompt_name().to_owned(),
            uptime_seconds: self.started.elapsed().as_secs(),
            config_file: self.settings.config_path.display().to_string(),
            control_socket: self.settings.control_path.display().to_string(),
            interfaces: self.settings.interfaces.clone(),
            components: self.components.iter().map(|c| c.name()).collect(),
        }
    }
}

/// Loads and validates a configuration text; every diagnostic error and every problem is an error.
pub fn load_checked(text: &str, file_name: &str) -> Result<Config, Vec<String>> {
    load_with_warnings(text, file_name).0
}

/// Like [`load_checked`], also returning the rendered warnings (lines accepted but not acted on).
pub fn load_with_warnings(text: &str, file_name: &str) -> (Result<Config, Vec<String>>, Vec<String>) {
    let report = lang::load_config(text, file_name);
    let warnings = report.warnings.into_iter().map(|d| d.text).collect();
    if !report.errors.is_empty() {
        return (Err(report.errors.into_iter().map(|d| d.text).collect()), warnings);
    }
    let Some(config) = report.config else {
        return (
            Err(vec![format!(
                "{file_name}: the configuration could not be loaded"
            )]),
            warnings,
        );
    };
    let problems = config::validate(&config);
    if !problems.is_empty() {
        let errors = problems
            .into_iter()
            .map(|p| format!("{file_name}: % {}", p.message.trim_start_matches("% ")))
            .collect();
        return (Err(errors), warnings);
    }
    (Ok(config), warnings)
}

/// Moves every component from `old` to `new`; on a failure, moves the ones already moved back.
fn apply_all(
    components: &mut [Box<dyn Component>],
    interfaces: &InterfaceMap,
    old: &Config,
    new: &Config,
) -> Result<(), String> {
    for i in 0..components.len() {
        if let Err(e) = components[i].apply(interfaces, old, new) {
            let name = components[i].name();
            for done in components[..i].iter_mut().rev() {
                if let Err(back) = done.apply(interfaces, new, old) {
                    tracing::error!(target: "syslog", "%SYS-3-ROLLBACK: {} could not return to the previous configuration: {back}", done.name());
                }
            }
            return Err(format!("{name}: {e}"));
        }
    }
    Ok(())
}

fn log_configured(vty: u32) {
    tracing::info!(target: "syslog", "%SYS-5-CONFIG_I: Configured from console by vty{vty}");
}

fn render_problems(problems: &[&Problem]) -> String {
    let mut text = String::new();
    for p in problems {
        let _ = writeln!(text, "% {}", p.message.trim_start_matches("% "));
    }
    text
}

/// The `?` list as IOS prints it: the token column padded to the widest token, then the help text.
pub fn render_help(items: &[lang::HelpItem]) -> String {
    let width = items.iter().map(|i| i.token.chars().count()).max().unwrap_or(0);
    let mut text = String::new();
    for item in items {
        let line = format!("  {:<width$}  {}", item.token, item.help);
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

fn render_version(v: &ShowVersion) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "iosha: IOS-style high availability for Linux routers, Version {}",
        v.version
    );
    let _ = writeln!(
        text,
        "{} uptime is {}",
        v.hostname,
        uptime_words(v.uptime_seconds)
    );
    let _ = writeln!(text, "Configuration file is \"{}\"", v.config_file);
    let _ = writeln!(text, "Control socket is \"{}\"", v.control_socket);
    if v.interfaces.is_empty() {
        text.push_str("No interface mappings (configured names are Linux names)\n");
    } else {
        text.push_str("Interface mappings:\n");
        for (ios, linux) in v.interfaces.iter() {
            let _ = writeln!(text, "  {ios} -> {linux}");
        }
    }
    if v.components.is_empty() {
        text.push_str("Components running: none\n");
    } else {
        let _ = writeln!(text, "Components running: {}", v.components.join(", "));
    }
    text
}

/// `1 day, 2 hours, 3 minutes, 4 seconds` style.
fn uptime_words(secs: u64) -> String {
    let parts = [
        (secs / 86_400, "day"),
        ((secs / 3600) % 24, "hour"),
        ((secs / 60) % 60, "minute"),
        (secs % 60, "second"),
    ];
    let words: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n} {unit}{}", if *n == 1 { "" } else { "s" }))
        .collect();
    if words.is_empty() {
        "0 seconds".to_owned()
    } else {
        words.join(", ")
    }
}
