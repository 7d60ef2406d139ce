//! `iosha check`: single files and pairs (good, bad and mismatched).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use cli::check::{Finding, Severity, check_files, check_pair};
use cli::config::Config;
use cli::lang::load_config;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn text(name: &str) -> String {
    std::fs::read_to_string(data(name)).unwrap()
}

fn cfg(text: &str) -> Config {
    let report = load_config(text, "t.cfg");
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    report.config.unwrap()
}

fn errors(findings: &[Finding]) -> Vec<&str> {
    findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.message.as_str())
        .collect()
}

fn warnings(findings: &[Finding]) -> Vec<&str> {
    findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .map(|f| f.message.as_str())
        .collect()
}

/// A temporary file (unique per process and name), removed on drop.
struct Temp(PathBuf);

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl std::ops::Deref for Temp {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

fn temp(name: &str, contents: &str) -> Temp {
    let path = std::env::temp_dir().join(format!("iosha-check-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).unwrap();
    Temp(path)
}

#[test]
fn the_seed_pair_is_a_working_pair() {
    let findings = check_pair(&cfg(&text("ha-R1.cfg")), &cfg(&text("ha-R2.cfg")));
    assert!(errors(&findings).is_empty(), "{findings:#?}");
    // ha-R1 sets `timers 1 10`, ha-R2 leaves them to be learned: worth a warning, not an error.
    assert_eq!(warnings(&findings).len(), 2, "{findings:#?}");
    assert!(warnings(&findings)[0].ends_with("group 1: timers are configured on ha-R1 only; the other router uses learned or default timers (3 s / 10 s)"));
    let (out, ok) = check_files(&[&data("ha-R1.cfg"), &data("ha-R2.cfg")]);
    assert!(ok, "{out}");
    assert!(out.contains("ha-R1.cfg: valid (11 warnings)"), "{out}");
    assert!(out.contains("Warning: "), "{out}");
    assert!(
        out.contains("Pair check ha-R1 / ha-R2:\n") && out.contains("\npair: OK (2 warnings)"),
        "{out}"
    );
    let (out, ok) = check_files(&[&data("ha-R1.cfg")]);
    assert!(ok && !out.contains("Pair check"), "{out}");
}

#[test]
fn every_mismatch_is_named() {
    let r1 = text("ha-R1.cfg");
    let r2 = text("ha-R2.cfg")
        .replace("standby 1 ip 10.0.0.3", "standby 1 ip 10.0.0.4")
        .replace("standby 2 name HAout", "standby 2 name HAout2")
        .replace("remote-port 5000", "remote-port 5001")
        .replace("remote-ip 10.0.0.1", "remote-ip 10.0.0.9")
        .replace(
            "ip inspect redundancy update seconds 60",
            "ip inspect redundancy update seconds 30",
        )
        .replace("ip inspect name ha-protocols udp\n", "")
        .replace("standby 1 priority 60", "standby 1 priority 50")
        .replace(
            "standby 2 ip 211.0.0.3\n",
            "standby 2 ip 211.0.0.3\nstandby 3 ip 211.0.0.7\n",
        )
        .replace("permit ip host 211.0.0.1 host 211.0.0.2\n", "");
    let findings = check_pair(&cfg(&r1), &cfg(&r2));
    let errors = errors(&findings);
    let expect = [
        "LAN 10.0.0.0/24 (ha-R1 Ethernet0/0 / ha-R2 Ethernet0/0) group 1: virtual IP 10.0.0.3 on ha-R1 but 10.0.0.4 on ha-R2",
        "LAN 211.0.0.0/24 (ha-R1 Ethernet1/0 / ha-R2 Ethernet1/0) group 2: group name HAout on ha-R1 but HAout2 on ha-R2",
        "LAN 211.0.0.0/24 (ha-R1 Ethernet1/0 / ha-R2 Ethernet1/0): standby group 3 is configured on ha-R2 only (virtual IP 211.0.0.7)",
        "ipc: local-port 5000 on ha-R1 but remote-port 5001 on ha-R2",
        "ipc: local-ip 10.0.0.1 on ha-R1 but remote-ip 10.0.0.9 on ha-R2 (they must be the same addresses)",
        "ip inspect redundancy update seconds is 60 on ha-R1 but 30 on ha-R2",
        "inspect rule ha-protocols: protocols differ (L4 protocol mismatch)",
        "access list fw-ha-acl differs between the routers; only on ha-R1: permit ip host 211.0.0.1 host 211.0.0.2",
    ];
    for e in expect {
        assert!(errors.contains(&e), "missing {e:?} in {errors:#?}");
    }
    assert_eq!(errors.len(), expect.len(), "{errors:#?}");
    let warnings = warnings(&findings);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("group 1: priority 60 on ha-R1 but 50 on ha-R2")),
        "{warnings:#?}"
    );
}

#[test]
fn scheme_and_addressing_rule() {
    let r1 = text("ha-R1.cfg");
    // ha-R2 gets the lower address on the outside LAN only: with equal priorities, a split is possible.
    let r2 = text("ha-R2.cfg")
        .replace(
            "ip address 211.0.0.2 255.255.255.0",
            "ip address 211.0.0.0 255.255.255.0",
        )
        .replace("scheme standby HAin", "scheme standby HAout")
        .replace("stateful HAin", "stateful HAout");
    let findings = check_pair(&cfg(&r1), &cfg(&r2));
    let errors = errors(&findings);
    assert!(
        errors.iter().any(|e| e.starts_with("split active/standby risk: ha-R1 has the lower address on 10.0.0.0/24 but ha-R2 has the lower address on 211.0.0.0/24")),
        "{errors:#?}"
    );
    assert!(
        errors.contains(&"redundancy scheme standby is HAin on ha-R1 but HAout on ha-R2"),
        "{errors:#?}"
    );
    assert!(errors.iter().any(|e| e.contains("ip inspect out is rule ha-protocols redundancy group HAin on ha-R1 but rule ha-protocols redundancy group HAout on ha-R2")), "{errors:#?}");
}

#[test]
fn bad_files_fail_the_check() {
    let bad = temp(
        "bad.cfg",
        &text("ha-R1.cfg")
            .replace("scheme standby HAin", "scheme standby Nope")
            .replace("standby 1 timers 1 10", "standby 1 timers 10 1"),
    );
    let (out, ok) = check_files(&[&bad]);
    assert!(!ok);
    assert!(out.contains("INVALID (1 errors"), "{out}");
    let (out, ok) = check_files(&[&bad, &data("ha-R2.cfg")]);
    assert!(!ok);
    assert!(out.contains("pair: not checked"), "{out}");
    let scheme = temp(
        "scheme.cfg",
        &text("ha-R1.cfg").replace("scheme standby HAin", "scheme standby Nope"),
    );
    let (out, ok) = check_files(&[&scheme]);
    assert!(!ok);
    assert!(
        out.contains("scheme standby Nope: no standby group is named Nope"),
        "{out}"
    );
    let (out, ok) = check_files(&[Path::new("/nonexistent/iosha.cfg")]);
    assert!(!ok && out.contains("cannot read"), "{out}");
    let (_, ok) = check_files(&[]);
    assert!(!ok);
}

#[test]
fn mismatched_pair_fails_check_files() {
    let r2 = temp(
        "r2.cfg",
        &text("ha-R2.cfg").replace("local-port 5000", "local-port 6000"),
    );
    let (out, ok) = check_files(&[&data("ha-R1.cfg"), &r2]);
    assert!(!ok);
    assert!(
        out.contains("  Error: ipc: local-port 6000 on ha-R2 but remote-port 5000 on ha-R1"),
        "{out}"
    );
    assert!(out.contains("pair: MISMATCH (1 errors, 2 warnings)"), "{out}");
}

#[test]
fn acl_entries_differing_only_in_log_are_a_warning() {
    let r1 = text("ha-R1.cfg");
    let r2 = text("ha-R2.cfg").replace(
        "permit ip host 211.0.0.1 host 211.0.0.2\n",
        "permit ip host 211.0.0.1 host 211.0.0.2 log\n",
    );
    assert_ne!(r2, text("ha-R2.cfg"), "the seed line to change was not found");
    let findings = check_pair(&cfg(&r1), &cfg(&r2));
    assert!(errors(&findings).is_empty(), "{:#?}", errors(&findings));
    assert!(
        warnings(&findings)
            .iter()
            .any(|w| w.contains("access list fw-ha-acl: the routers log different entries")),
        "{:#?}",
        warnings(&findings)
    );
}
