//! The interface between the daemon and the subsystems that later plug into it (HSRP, IPC, SSO, inspect).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::Config;
use crate::lang::{ExecCommand, canonical_interface};

/// IOS interface names mapped to Linux interfaces (`--interface Ethernet0/0=eth0`, repeatable).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct InterfaceMap(BTreeMap<String, String>);

impl InterfaceMap {
    /// An empty map (every configured name is used as the Linux name).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one `IOS=LINUX` mapping, e.g. `Ethernet0/0=eth0` (IOS abbreviations like `e0/0` are expanded).
    pub fn add_spec(&mut self, spec: &str) -> Result<(), String> {
        let Some((ios, linux)) = spec.split_once('=') else {
            return Err(format!(
                "interface mapping '{spec}' is not of the form IOS=LINUX (e.g. Ethernet0/0=eth0)"
            ));
        };
        let (ios, linux) = (ios.trim(), linux.trim());
        if ios.is_empty() || linux.is_empty() {
            return Err(format!("interface mapping '{spec}' has an empty side"));
        }
        let canonical = canonical_interface(ios);
        let ios = canonical.as_str();
        // Linux interface names: at most 15 bytes, no '/', no whitespace (IFNAMSIZ).
        if !is_linux_name(linux) {
            return Err(format!("'{linux}' is not a valid Linux interface name"));
        }
        if let Some(previous) = self.0.get(ios)
            && previous != linux
        {
            return Err(format!(
                "interface {ios} is mapped twice ({previous} and {linux})"
            ));
        }
        if let Some((other, _)) = self.0.iter().find(|(i, l)| *l == linux && *i != ios) {
            return Err(format!(
                "Linux interface {linux} is mapped from both {other} and {ios}"
            ));
        }
        self.0.insert(ios.to_owned(), linux.to_owned());
        Ok(())
    }

    /// Builds a map from `IOS=LINUX` specs.
    pub fn from_specs<S: AsRef<str>>(specs: &[S]) -> Result<Self, String> {
        let mut map = Self::new();
        for spec in specs {
            map.add_spec(spec.as_ref())?;
        }
        Ok(map)
    }

    /// The Linux interface for a configured interface name (the name itself when it is not mapped).
    pub fn linux_name<'a>(&'a self, configured: &'a str) -> &'a str {
        self.0.get(configured).map_or(configured, String::as_str)
    }

    /// The configured (IOS) name of a Linux interface, if one maps to it.
    pub fn ios_name(&self, linux: &str) -> Option<&str> {
        self.0.iter().find(|(_, l)| *l == linux).map(|(i, _)| i.as_str())
    }

    /// The mappings, sorted by IOS name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(i, l)| (i.as_str(), l.as_str()))
    }

    /// Interfaces of `cfg` that are neither mapped nor usable as Linux names (e.g. `Ethernet0/0` without
    /// `--interface Ethernet0/0=...`).
    pub fn unmapped<'c>(&self, cfg: &'c Config) -> Vec<&'c str> {
        cfg.interfaces
            .iter()
            .map(|i| i.name.as_str())
            .filter(|name| !self.0.contains_key(*name) && !is_linux_name(name))
            .collect()
    }

    /// True when nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Whether `name` can be a Linux interface name (1 to 15 bytes, no `/`, no whitespace, not `.`/`..`).
pub fn is_linux_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && !name.contains('/')
        && !name.chars().any(char::is_whitespace)
        && name != "."
        && name != ".."
}

/// What a component's command returns.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExecOutput {
    /// False when the command failed; `text` then holds the `% ...` error.
    pub ok: bool,
    /// The IOS text (always filled, also when JSON was asked: the text is shown when no JSON exists).
    pub text: String,
    /// The JSON document, when the request asked for JSON and the command has one.
    pub json: Option<serde_json::Value>,
}

impl ExecOutput {
    /// A successful text answer.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            ok: true,
            text: text.into(),
            json: None,
        }
    }

    /// A successful answer with a JSON document (serialized from `value`; a serialization failure is reported
    /// as an error, never a panic).
    pub fn with_json<T: Serialize>(text: impl Into<String>, value: &T) -> Self {
        match serde_json::to_value(value) {
            Ok(v) => Self {
                ok: true,
                text: text.into(),
                json: Some(v),
            },
            Err(e) => Self::error(format!("% Cannot encode the JSON document: {e}")),
        }
    }

    /// A failed answer.
    pub fn error(text: impl Into<String>) -> Self {
        Self {
            ok: false,
            text: text.into(),
            json: None,
        }
    }
}

/// What a component sees of the daemon when it runs a command.
#[derive(Clone, Copy, Debug)]
pub struct ExecContext<'a> {
    /// The running configuration (may hold incomplete parts still being typed; see [`Component::apply`]).
    pub running: &'a Config,
    /// The interface name mapping.
    pub interfaces: &'a InterfaceMap,
    /// Whether the operator asked for JSON (`--json`).
    pub json: bool,
}

/// A subsystem of the daemon (HSRP, IPC, SSO, inspect ...).
///
/// The daemon owns its components and calls them from one place at a time (never concurrently), so
/// implementations need no locking of their own for these calls. Calls must return promptly: a component
/// that does I/O keeps it in its own tasks/threads and answers `exec` from a snapshot of its state; `apply`
/// hands the new configuration to those tasks. (The daemon runs on a multi-threaded tokio runtime, so
/// `tokio::task::block_in_place` is available if a call truly has to wait.)
pub trait Component: Send {
    /// Short name, used in `show version` and in `% NAME ...` messages (e.g. `HSRP`).
    fn name(&self) -> &'static str;

    /// True when this component answers the exec command `key` (e.g. `show standby brief`).
    fn handles(&self, key: &str) -> bool;

    /// Runs one exec command whose key this component handles. The daemon applies the `| include ...`
    /// filter to the returned text itself.
    fn exec(&mut self, ctx: &ExecContext<'_>, cmd: &ExecCommand) -> ExecOutput;

    /// Moves the component from configuration `old` to `new`.
    ///
    /// Called once at start with `old` = `Config::default()`, then whenever a change (shell, `iosha exec`,
    /// SIGHUP reload) yields a configuration that validates with no problem at all (changes whose only
    /// problems are "pending" ones, like an IPC block still being typed, are kept in the running config but
    /// not applied until they are complete). Returning `Err` rejects the change: the daemon then moves the
    /// components already moved back to `old` and keeps the running configuration as it was.
    fn apply(&mut self, interfaces: &InterfaceMap, old: &Config, new: &Config) -> Result<(), String>;

    /// Called once when the daemon stops (SIGTERM/SIGINT): release what the component installed
    /// (addresses, macvlans, firewall rules ...).
    fn shutdown(&mut self) {}
}

/// The `% ... is not running` answer for a command key whose component is absent (never invented data).
pub fn absent_component_message(key: &str) -> Option<&'static str> {
    let starts = |prefix: &str| key == prefix || key.starts_with(&format!("{prefix} "));
    if starts("show standby") {
        Some("% HSRP is not running")
    } else if starts("show redundancy") || starts("redundancy") {
        Some("% Redundancy is not running")
    } else if starts("show sctp") || starts("show ipc") || starts("clear ipc") {
        Some("% IPC is not running")
    } else if starts("show ip inspect")
        || starts("clear ip inspect")
        || starts("show ip access-lists")
        || starts("clear ip access-list")
    {
        Some("% Inspect is not running")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_specs_parse_and_reject_nonsense() {
        let map = InterfaceMap::from_specs(&["e0/0=eth0", " Ethernet1/0 = r1-out "]).unwrap();
        assert_eq!(map.linux_name("Ethernet0/0"), "eth0");
        assert_eq!(map.linux_name("Ethernet1/0"), "r1-out");
        assert_eq!(map.linux_name("eth7"), "eth7");
        assert_eq!(map.ios_name("eth0"), Some("Ethernet0/0"));
        for bad in [
            "eth0",
            "=eth0",
            "Ethernet0/0=",
            "E0=a/b",
            "E0=averyveryverylongname",
        ] {
            assert!(InterfaceMap::from_specs(&[bad]).is_err(), "{bad}");
        }
        assert!(InterfaceMap::from_specs(&["E0=eth0", "E0=eth1"]).is_err());
        assert!(InterfaceMap::from_specs(&["E0=eth0", "E1=eth0"]).is_err());
        assert!(InterfaceMap::from_specs(&["E0=eth0", "E0=eth0"]).is_ok());
        assert!(InterfaceMap::from_specs(&["Ethernet0/0=eth0", "Et0/0=eth1"]).is_err());
        let mut cfg = Config::default();
        for name in ["Ethernet0/0", "Ethernet2/0", "lan-in"] {
            cfg.interface_mut(name);
        }
        assert_eq!(map.unmapped(&cfg), ["Ethernet2/0"]);
        assert_eq!(serde_json::to_value(&map).unwrap()["Ethernet0/0"], "eth0");
    }

    #[test]
    fn absent_components_are_named() {
        assert_eq!(
            absent_component_message("show standby brief"),
            Some("% HSRP is not running")
        );
        assert_eq!(
            absent_component_message("show standby"),
            Some("% HSRP is not running")
        );
        assert_eq!(
            absent_component_message("show redundancy states"),
            Some("% Redundancy is not running")
        );
        assert_eq!(
            absent_component_message("redundancy force-switchover"),
            Some("% Redundancy is not running")
        );
        assert_eq!(
            absent_component_message("show sctp association list"),
            Some("% IPC is not running")
        );
        assert_eq!(
            absent_component_message("clear ip inspect ha sessions-all"),
            Some("% Inspect is not running")
        );
        assert_eq!(
            absent_component_message("show ip access-lists"),
            Some("% Inspect is not running")
        );
        assert_eq!(absent_component_message("show standbyx"), None);
        assert_eq!(absent_component_message("show version"), None);
    }
}
