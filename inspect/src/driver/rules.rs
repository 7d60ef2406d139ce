//! The daemon's own packet-filter rules: they send forwarded packets of the inspected interfaces to
//! the NFQUEUE queues, and nothing else.
//!
//! * Native nftables (preferred when the kernel has the `queue` expression): one table `inet iosha`
//!   with one base chain on the forward hook at priority `filter + 10`. Accept in our chain does not
//!   end the operator's own chains, which live in their own tables.
//! * xtables fallback (`iptables`/`ip6tables`, nft-compat or legacy): a chain `IOSHA-FWD` in the
//!   `mangle` table, jumped to from the first rule of mangle `FORWARD`, loaded atomically with
//!   `iptables-restore --noflush`. Using `mangle` (priority -150) rather than `filter` keeps the
//!   operator's `filter FORWARD` rules in force: a queued packet's accept ends only the mangle table.
//!
//! Only the forward hook is used, so the router's own traffic (HSRP, IPC: INPUT/OUTPUT) is never queued.
//! Several queues use `--queue-balance A:B` / `queue num A-B`: the kernel's `nfqueue_hash` hashes the
//! address pair in a canonical order, so both directions of a flow reach the same queue.

use std::io::Write;
use std::process::{Command, Stdio};

use super::error::RuleError;

/// Name of the daemon's nftables table (family `inet`).
pub const NFT_TABLE: &str = "iosha";
/// Name of the daemon's base chain in [`NFT_TABLE`].
pub const NFT_CHAIN: &str = "iosha_forward";
/// Name of the daemon's xtables chain (table `mangle`).
pub const XT_CHAIN: &str = "IOSHA-FWD";
/// Comment on the jump rule, so a human reading `iptables -S` knows who put it there.
const XT_COMMENT: &str = "iosha inspection";

/// Which rule backend to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub enum BackendChoice {
    /// Native nftables when the kernel supports the `queue` statement, else xtables.
    #[default]
    Auto,
    /// Native nftables only.
    Nftables,
    /// `iptables`/`ip6tables` NFQUEUE target only.
    Iptables,
}

/// The backend actually in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Backend {
    /// `table inet iosha`.
    Nftables,
    /// `mangle IOSHA-FWD` through iptables (and ip6tables when `ipv6` is true).
    Iptables {
        /// IPv6 rules were installed through ip6tables as well.
        ipv6: bool,
    },
}

/// What the rules must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSpec {
    /// First queue number.
    pub queue_base: u16,
    /// Number of queues (at least 1).
    pub queues: u16,
    /// Let packets through (`bypass`) when no process listens on the queue.
    pub fail_open: bool,
    /// Linux names of the interfaces whose forwarded packets (in or out) are queued.
    pub interfaces: Vec<String>,
}

impl RuleSpec {
    fn last_queue(&self) -> u16 {
        self.queue_base.saturating_add(self.queues.max(1) - 1)
    }

    fn check(&self) -> Result<(), RuleError> {
        for name in &self.interfaces {
            let ok = !name.is_empty()
                && name.len() < 16
                && name
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\' && b != b'/');
            if !ok {
                return Err(RuleError::InvalidInterfaceName(name.clone()));
            }
        }
        if u32::from(self.queue_base) + u32::from(self.queues.max(1)) > 65536 {
            return Err(RuleError::QueueRange {
                base: self.queue_base,
                count: self.queues,
            });
        }
        Ok(())
    }

    /// The nftables `queue` statement.
    fn nft_queue(&self) -> String {
        let mut s = if self.queues > 1 {
            format!("queue num {}-{}", self.queue_base, self.last_queue())
        } else {
            format!("queue num {}", self.queue_base)
        };
        if self.fail_open {
            s.push_str(" bypass");
        }
        s
    }

    /// The xtables NFQUEUE target arguments.
    fn xt_target(&self) -> String {
        let mut s = if self.queues > 1 {
            format!(
                "-j NFQUEUE --queue-balance {}:{}",
                self.queue_base,
                self.last_queue()
            )
        } else {
            format!("-j NFQUEUE --queue-num {}", self.queue_base)
        };
        if self.fail_open {
            s.push_str(" --queue-bypass");
        }
        s
    }

    /// The nft script that (re)creates our table atomically.
    fn nft_script(&self, table: &str, delete_after: bool) -> String {
        let mut s = format!("add table inet {table}\ndelete table inet {table}\ntable inet {table} {{\n");
        s.push_str(&format!(
            "  chain {NFT_CHAIN} {{\n    type filter hook forward priority filter + 10; policy accept;\n"
        ));
        if !self.interfaces.is_empty() {
            let set = self
                .interfaces
                .iter()
                .map(|n| format!("\"{n}\""))
                .collect::<Vec<_>>()
                .join(", ");
            let q = self.nft_queue();
            s.push_str(&format!(
                "    iifname {{ {set} }} {q}\n    oifname {{ {set} }} {q}\n"
            ));
        }
        s.push_str("  }\n}\n");
        if delete_after {
            s.push_str(&format!("delete table inet {table}\n"));
        }
        s
    }

    /// The iptables-restore input that (re)creates our chain; `with_jump` adds the FORWARD jump.
    fn xt_restore(&self, with_jump: bool) -> String {
        let mut s = format!("*mangle\n:{XT_CHAIN} - [0:0]\n");
        let target = self.xt_target();
        for name in &self.interfaces {
            s.push_str(&format!("-A {XT_CHAIN} -i {name} {target}\n"));
            s.push_str(&format!("-A {XT_CHAIN} -o {name} {target}\n"));
        }
        if with_jump {
            s.push_str(&format!(
                "-I FORWARD 1 -m comment --comment \"{XT_COMMENT}\" -j {XT_CHAIN}\n"
            ));
        }
        s.push_str("COMMIT\n");
        s
    }
}

/// Runs `program args`, feeding `stdin`; the typed error carries the command line and stderr.
fn run(program: &str, args: &[&str], stdin: Option<&str>) -> Result<String, RuleError> {
    let cmdline = format!("{program} {}", args.join(" "));
    let mut cmd = Command::new(program);
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().map_err(|source| RuleError::Spawn {
        cmd: cmdline.clone(),
        source,
    })?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())
            .map_err(|source| RuleError::Spawn {
                cmd: cmdline.clone(),
                source,
            })?;
    }
    let out = child.wait_with_output().map_err(|source| RuleError::Spawn {
        cmd: cmdline.clone(),
        source,
    })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(RuleError::Failed {
            cmd: cmdline,
            status: out.status.code(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

/// True when the kernel accepts the nftables `queue` statement: the probe creates and deletes a
/// throwaway table in one transaction, so nothing stays behind whatever the outcome.
pub fn nft_queue_supported() -> bool {
    let probe = RuleSpec {
        queue_base: 0,
        queues: 1,
        fail_open: true,
        interfaces: vec!["lo".into()],
    };
    run("nft", &["-f", "-"], Some(&probe.nft_script("iosha_probe", true))).is_ok()
}

fn xt_tool_works(tool: &str) -> bool {
    run(tool, &["-w", "-t", "mangle", "-S", "FORWARD"], None).is_ok()
}

/// Removes our xtables jump(s) and chain with `tool` (`iptables` or `ip6tables`); absent is fine.
fn xt_remove(tool: &str) -> Result<bool, RuleError> {
    let Ok(listing) = run(tool, &["-w", "-t", "mangle", "-S", "FORWARD"], None) else {
        return Ok(false);
    };
    let mut removed = false;
    for line in listing.lines() {
        let words = split_rule(line);
        if words.first().map(String::as_str) == Some("-A")
            && words.windows(2).any(|w| w[0] == "-j" && w[1] == XT_CHAIN)
        {
            let mut args: Vec<&str> = vec!["-w", "-t", "mangle", "-D"];
            args.extend(words[1..].iter().map(String::as_str));
            run(tool, &args, None)?;
            removed = true;
        }
    }
    if run(tool, &["-w", "-t", "mangle", "-S", XT_CHAIN], None).is_ok() {
        run(tool, &["-w", "-t", "mangle", "-F", XT_CHAIN], None)?;
        run(tool, &["-w", "-t", "mangle", "-X", XT_CHAIN], None)?;
        removed = true;
    }
    Ok(removed)
}

/// Splits an `iptables -S` line into words, honouring double quotes (comments).
fn split_rule(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    words.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(cur);
    }
    words
}

fn nft_remove() -> Result<bool, RuleError> {
    match run("nft", &["list", "table", "inet", NFT_TABLE], None) {
        Ok(_) => {
            run("nft", &["delete", "table", "inet", NFT_TABLE], None)?;
            Ok(true)
        }
        Err(_) => Ok(false),
    }
}

/// Removes whatever an earlier run of the daemon left behind (both backends; missing tools and
/// missing rules are not errors). Returns true when something was removed.
pub fn remove_stale() -> Result<bool, RuleError> {
    let mut removed = false;
    if which("nft") {
        removed |= nft_remove()?;
    }
    for tool in ["iptables", "ip6tables"] {
        if which(tool) {
            removed |= xt_remove(tool)?;
        }
    }
    Ok(removed)
}

fn which(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The installed rules; [`InstalledRules::remove`] takes them away.
#[derive(Debug)]
pub struct InstalledRules {
    backend: Backend,
    spec: RuleSpec,
    active: bool,
}

impl InstalledRules {
    /// Removes stale rules of an earlier run, picks the backend and installs the rules for `spec`.
    pub fn install(spec: RuleSpec, choice: BackendChoice) -> Result<Self, RuleError> {
        spec.check()?;
        if remove_stale()? {
            tracing::warn!(target: "debug.ip.inspect", "removed stale data-plane rules of an earlier run");
        }
        let backend = match choice {
            BackendChoice::Nftables => Backend::Nftables,
            BackendChoice::Iptables => Backend::Iptables {
                ipv6: xt_tool_works("ip6tables"),
            },
            BackendChoice::Auto if which("nft") && nft_queue_supported() => Backend::Nftables,
            BackendChoice::Auto if which("iptables") => Backend::Iptables {
                ipv6: xt_tool_works("ip6tables"),
            },
            BackendChoice::Auto => return Err(RuleError::NoBackend),
        };
        let mut rules = Self {
            backend,
            spec,
            active: true,
        };
        rules.load(true)?;
        Ok(rules)
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The spec in force.
    pub fn spec(&self) -> &RuleSpec {
        &self.spec
    }

    /// Replaces the queued interface set (atomically in both backends).
    pub fn update(&mut self, interfaces: Vec<String>) -> Result<(), RuleError> {
        let spec = RuleSpec {
            interfaces,
            ..self.spec.clone()
        };
        spec.check()?;
        let old = std::mem::replace(&mut self.spec, spec);
        if let Err(e) = self.load(false) {
            self.spec = old;
            return Err(e);
        }
        Ok(())
    }

    fn load(&mut self, first: bool) -> Result<(), RuleError> {
        match self.backend {
            Backend::Nftables => {
                run("nft", &["-f", "-"], Some(&self.spec.nft_script(NFT_TABLE, false)))?;
            }
            Backend::Iptables { ipv6 } => {
                let script = self.spec.xt_restore(first);
                run("iptables-restore", &["-w", "--noflush"], Some(&script))?;
                if ipv6 && let Err(e) = run("ip6tables-restore", &["-w", "--noflush"], Some(&script)) {
                    if first {
                        let _ = xt_remove("iptables");
                    }
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Removes the rules (idempotent).
    pub fn remove(&mut self) -> Result<(), RuleError> {
        if !self.active {
            return Ok(());
        }
        match self.backend {
            Backend::Nftables => {
                nft_remove()?;
            }
            Backend::Iptables { ipv6 } => {
                xt_remove("iptables")?;
                if ipv6 {
                    xt_remove("ip6tables")?;
                }
            }
        }
        self.active = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(queues: u16, fail_open: bool) -> RuleSpec {
        RuleSpec {
            queue_base: 4,
            queues,
            fail_open,
            interfaces: vec!["eth1".into(), "veth-x".into()],
        }
    }

    #[test]
    fn xtables_rules_queue_in_and_out_of_each_interface() {
        let s = spec(1, false).xt_restore(true);
        assert!(s.contains("-A IOSHA-FWD -i eth1 -j NFQUEUE --queue-num 4\n"));
        assert!(s.contains("-A IOSHA-FWD -o veth-x -j NFQUEUE --queue-num 4\n"));
        assert!(s.contains("-I FORWARD 1 -m comment --comment \"iosha inspection\" -j IOSHA-FWD"));
        assert!(!s.contains("bypass"));
        let s = spec(3, true).xt_restore(false);
        assert!(s.contains("--queue-balance 4:6 --queue-bypass"));
        assert!(!s.contains("FORWARD"));
    }

    #[test]
    fn nft_script_replaces_the_table_atomically() {
        let s = spec(2, true).nft_script(NFT_TABLE, false);
        assert!(s.starts_with("add table inet iosha\ndelete table inet iosha\ntable inet iosha {"));
        assert!(s.contains("hook forward priority filter + 10"));
        assert!(s.contains("iifname { \"eth1\", \"veth-x\" } queue num 4-5 bypass"));
        assert!(s.contains("oifname { \"eth1\", \"veth-x\" } queue num 4-5 bypass"));
    }

    #[test]
    fn hostile_interface_names_are_refused() {
        for bad in ["", "a\"b", "a b", "x/y", "0123456789abcdef", "a\nb"] {
            let s = RuleSpec {
                interfaces: vec![bad.into()],
                ..spec(1, false)
            };
            assert!(
                matches!(s.check(), Err(RuleError::InvalidInterfaceName(_))),
                "{bad:?}"
            );
        }
        let s = RuleSpec {
            queue_base: 65535,
            queues: 2,
            ..spec(1, false)
        };
        assert!(matches!(s.check(), Err(RuleError::QueueRange { .. })));
    }

    #[test]
    fn rule_listing_splits_with_quotes() {
        let w = split_rule("-A FORWARD -m comment --comment \"iosha inspection\" -j IOSHA-FWD");
        assert_eq!(
            w,
            [
                "-A",
                "FORWARD",
                "-m",
                "comment",
                "--comment",
                "iosha inspection",
                "-j",
                "IOSHA-FWD"
            ]
        );
    }
}
