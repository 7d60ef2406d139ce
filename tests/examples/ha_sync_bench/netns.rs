//! The two network namespaces joined by a veth, removed again when the guard drops.

use std::process::Command;

use anyhow::{Context, bail};
use nix::sched::{CloneFlags, setns};

/// Namespaces `ihb<pid>-a` (the Active's, veth end `va`, 10.201.0.1/24) and `ihb<pid>-b` (the standby's,
/// `vb`, 10.201.0.2/24).
pub(crate) struct Netns {
    /// The Active's namespace.
    pub(crate) a: String,
    /// The standby's namespace.
    pub(crate) b: String,
}

/// Runs `ip ARGS`, failing with its error output.
fn ip(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("ip").args(args).output().context("running ip")?;
    if !out.status.success() {
        bail!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

impl Netns {
    /// Creates both namespaces and the veth between them, addressed and up.
    pub(crate) fn create() -> anyhow::Result<Self> {
        let pid = std::process::id();
        let a = format!("ihb{pid}-a");
        let b = format!("ihb{pid}-b");
        ip(&["netns", "add", &a])?;
        let guard = Self { a, b };
        ip(&["netns", "add", &guard.b])?;
        let (a, b) = (guard.a.as_str(), guard.b.as_str());
        ip(&[
            "-n", a, "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", b,
        ])?;
        ip(&["-n", a, "addr", "add", "10.201.0.1/24", "dev", "va"])?;
        ip(&["-n", b, "addr", "add", "10.201.0.2/24", "dev", "vb"])?;
        for (ns, dev) in [(a, "va"), (b, "vb")] {
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
        }
        Ok(guard)
    }

    /// Bytes the Active's veth end `va` in `ns` has sent (frames).
    pub(crate) fn active_tx_bytes(ns: &str) -> u64 {
        Self::tx_bytes(ns, "va")
    }

    /// Bytes transmitted by `dev` in `ns` (IP packets plus the Ethernet header).
    fn tx_bytes(ns: &str, dev: &str) -> u64 {
        let Ok(out) = Command::new("ip")
            .args(["-n", ns, "-s", "-j", "link", "show", dev])
            .output()
        else {
            return 0;
        };
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&out.stdout) else {
            return 0;
        };
        v[0]["stats64"]["tx"]["bytes"].as_u64().unwrap_or(0)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            if let Err(e) = ip(&["netns", "del", ns]) {
                eprintln!("cleanup: {e}");
            }
        }
    }
}

/// Moves the calling thread into namespace `ns`.
pub(crate) fn enter_netns(ns: &str) -> anyhow::Result<()> {
    let file = std::fs::File::open(format!("/run/netns/{ns}"))?;
    setns(&file, CloneFlags::CLONE_NEWNET)?;
    Ok(())
}
