//! Reading a router's state during a lab run: a control-socket client with deadlines (a frozen daemon must
//! never hang the lab) and typed views of the `show ... --json` documents the lab relies on.
//!
//! The lab polls the survivor every few milliseconds while it measures detection time, so it keeps one
//! control connection per router open instead of spawning `iosha exec` per query; the documents are the
//! same ones `iosha exec --json` prints.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::control::{Op, Request, Response};

/// A control connection with read/write deadlines, reconnected on demand.
#[derive(Debug)]
pub struct ControlProbe {
    path: PathBuf,
    timeout: Duration,
    conn: Option<(BufReader<UnixStream>, UnixStream)>,
}

impl ControlProbe {
    /// A probe for the daemon listening on `path`; each request waits at most `timeout`.
    pub fn new(path: &Path, timeout: Duration) -> Self {
        Self {
            path: path.to_owned(),
            timeout,
            conn: None,
        }
    }

    /// Drops the connection (after a daemon restart, or before freezing the daemon).
    pub fn reset(&mut self) {
        self.conn = None;
    }

    fn connect(&mut self) -> Result<&mut (BufReader<UnixStream>, UnixStream), String> {
        if self.conn.is_none() {
            let stream =
                UnixStream::connect(&self.path).map_err(|e| format!("{}: {e}", self.path.display()))?;
            stream
                .set_read_timeout(Some(self.timeout))
                .map_err(|e| e.to_string())?;
            stream
                .set_write_timeout(Some(self.timeout))
                .map_err(|e| e.to_string())?;
            let writer = stream.try_clone().map_err(|e| e.to_string())?;
            self.conn = Some((BufReader::new(stream), writer));
        }
        self.conn.as_mut().ok_or_else(|| "no connection".to_owned())
    }

    /// Runs one exec command and returns its JSON document.
    pub fn json(&mut self, command: &str) -> Result<Value, String> {
        let result = self.request(command);
        if result.is_err() {
            self.conn = None;
        }
        result
    }

    fn request(&mut self, command: &str) -> Result<Value, String> {
        let (reader, writer) = self.connect()?;
        let mut line =
            serde_json::to_string(&Request::new(Op::Exec, command, true)).map_err(|e| e.to_string())?;
        line.push('\n');
        writer
            .write_all(line.as_bytes())
            .map_err(|e| format!("{command}: {e}"))?;
        let mut answer = String::new();
        match reader.read_line(&mut answer) {
            Ok(0) => return Err(format!("{command}: the daemon closed the connection")),
            Ok(_) => {}
            Err(e) => return Err(format!("{command}: {e}")),
        }
        let response: Response = serde_json::from_str(&answer).map_err(|e| format!("{command}: {e}"))?;
        if !response.ok {
            return Err(format!("{command}: {}", response.output.trim()));
        }
        response
            .json
            .ok_or_else(|| format!("{command}: no JSON document ({})", response.output.trim()))
    }

    /// `show standby --json` as group views.
    pub fn standby(&mut self) -> Result<Vec<GroupView>, String> {
        Ok(GroupView::parse(&self.json("show standby")?))
    }

    /// `show redundancy states --json`.
    pub fn redundancy(&mut self) -> Result<RedundancyView, String> {
        Ok(RedundancyView::parse(&self.json("show redundancy states")?))
    }

    /// `show ip inspect ha sessions --json`: sessions toward `server` (all sessions when the entries carry
    /// no addresses).
    pub fn ha_sessions(&mut self, server: &str) -> Result<usize, String> {
        Ok(count_sessions(&self.json("show ip inspect ha sessions")?, server))
    }
}

/// One HSRP group of `show standby --json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupView {
    /// Interface as configured.
    pub interface: String,
    /// Group number.
    pub group: u64,
    /// `Init`, `Listen`, `Speak`, `Standby`, `Active`, ...
    pub state: String,
    /// Hold time in use (ms).
    pub hold_ms: Option<u64>,
    /// Hello time in use (ms).
    pub hello_ms: Option<u64>,
}

impl GroupView {
    /// Reads the list (or an object holding a `groups` list).
    pub fn parse(doc: &Value) -> Vec<Self> {
        let list = doc
            .as_array()
            .or_else(|| doc.get("groups").and_then(Value::as_array));
        list.map(|l| {
            l.iter()
                .map(|g| Self {
                    interface: g
                        .get("interface")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    group: g.get("group").and_then(Value::as_u64).unwrap_or_default(),
                    state: g
                        .get("state")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    hold_ms: g.get("hold_ms").and_then(Value::as_u64),
                    hello_ms: g.get("hello_ms").and_then(Value::as_u64),
                })
                .collect()
        })
        .unwrap_or_default()
    }
}

/// True when there are groups and every one is in `state`.
pub fn all_groups(groups: &[GroupView], state: &str) -> bool {
    !groups.is_empty() && groups.iter().all(|g| g.state == state)
}

/// Short text of the groups' states: `1 Active, 2 Active`.
pub fn groups_text(groups: &[GroupView]) -> String {
    if groups.is_empty() {
        return "no groups".to_owned();
    }
    groups
        .iter()
        .map(|g| format!("{} {}", g.group, g.state))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The fields of `show redundancy states --json` the lab reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RedundancyView {
    /// `ACTIVE`, `STANDBY HOT`, ...
    pub my_state: String,
    /// The peer's state as this unit sees it.
    pub peer_state: String,
    /// `Up` / `Down`.
    pub communications: String,
}

impl RedundancyView {
    /// Reads the document.
    pub fn parse(doc: &Value) -> Self {
        let field = |k: &str| doc.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        Self {
            my_state: field("my_state"),
            peer_state: field("peer_state"),
            communications: field("communications"),
        }
    }

    /// RF ACTIVE.
    pub fn is_active(&self) -> bool {
        self.my_state == "ACTIVE"
    }

    /// RF STANDBY HOT.
    pub fn is_standby_hot(&self) -> bool {
        self.my_state == "STANDBY HOT"
    }
}

/// Counts the session entries of `show ip inspect [ha] sessions --json` whose initiator or responder is
/// `server` (a list, or an object holding a `sessions` list).
pub fn count_sessions(doc: &Value, server: &str) -> usize {
    let list = doc
        .as_array()
        .or_else(|| doc.get("sessions").and_then(Value::as_array));
    let Some(list) = list else { return 0 };
    let prefix = format!("{server}:");
    list.iter()
        .filter(|s| {
            let ends: Vec<&str> = ["initiator", "responder"]
                .iter()
                .filter_map(|k| s.get(*k).and_then(Value::as_str))
                .collect();
            ends.is_empty() || ends.iter().any(|e| e.starts_with(&prefix))
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_are_read() {
        let groups = GroupView::parse(&json!([
            {"interface": "Ethernet0/0", "group": 1, "state": "Active", "hold_ms": 10000, "hello_ms": 1000},
            {"interface": "Ethernet1/0", "group": 2, "state": "Standby"}
        ]));
        assert_eq!(groups.len(), 2);
        assert!(!all_groups(&groups, "Active"));
        assert_eq!(groups_text(&groups), "1 Active, 2 Standby");
        assert_eq!(groups[0].hold_ms, Some(10_000));
        let rf = RedundancyView::parse(
            &json!({"my_state": "STANDBY HOT", "peer_state": "ACTIVE", "communications": "Up"}),
        );
        assert!(rf.is_standby_hot() && !rf.is_active());
        let sessions = json!([
            {"initiator": "10.0.0.10:40000", "responder": "211.0.0.10:5001"},
            {"initiator": "10.0.0.10:40001", "responder": "192.0.2.1:53"}
        ]);
        assert_eq!(count_sessions(&sessions, "211.0.0.10"), 1);
        assert_eq!(count_sessions(&json!({"sessions": [{}, {}]}), "211.0.0.10"), 2);
        assert_eq!(count_sessions(&json!("x"), "211.0.0.10"), 0);
    }

    #[test]
    fn an_absent_daemon_is_an_error_not_a_hang() {
        let mut p = ControlProbe::new(Path::new("/nonexistent/iosha.sock"), Duration::from_millis(100));
        assert!(p.json("show version").is_err());
    }
}
