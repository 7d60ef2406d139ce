//! Offline checks of one configuration file or of a pair of router configurations (`iosha check`).

use std::path::Path;

use serde::Serialize;

use crate::config::Config;

/// How serious a finding is.
#[derive(Serialize, Clone, Copy, PartialEq, Eq, Debug)]
pub enum Severity {
    /// The pair will not work as an HA pair.
    Error,
    /// Works, but against the seed's recommendations.
    Warning,
}

/// One pair-check finding.
#[derive(Serialize, Clone, PartialEq, Eq, Debug)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// What does not match.
    pub message: String,
}

/// Names every mismatch between two router configurations meant to form an HA pair.
pub fn check_pair(a: &Config, b: &Config) -> Vec<Finding> {
    let _ = (a, b);
    Vec::new()
}

/// The full `iosha check FILE [PEER_FILE]` output and whether everything is valid (exit 0).
pub fn check_files(paths: &[&Path]) -> (String, bool) {
    let _ = paths;
    (String::new(), true)
}
