//! Integration-test support for iosha: the two-router lab in network namespaces (built on
//! `cli::lab::topology`) and small traffic tools run inside the lab's host namespaces.

use std::path::PathBuf;

pub use cli::lab::topology::{self, Host, LabError, Router, Topology};

/// The `iosha` binary the lab runs: `$IOSHA_BIN` when set, else the copy this package builds
/// (`iosha-lab-node`, compiled from the cli's `main.rs`, next to the `deps/` directory of the test binary).
pub fn iosha_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("IOSHA_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(PathBuf::from).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("iosha-lab-node")
}

/// A namespace prefix unique to this process and test (`ih<pid>-<tag>-`, kept short).
pub fn unique_prefix(tag: &str) -> String {
    format!("ih{}-{tag}-", std::process::id())
}

/// True when the lab can run here (root); tests print why they skip otherwise.
pub fn lab_available() -> bool {
    if topology::is_root() {
        true
    } else {
        eprintln!("skipping: the namespace lab needs root");
        false
    }
}
