//! The two router configurations the lab runs: the seed's example configurations (embedded), with the
//! few adjustments a lab run asks for, each one stated so the operator sees exactly what differs from the seed.

use std::fmt;

/// The seed's configuration of the first router (ha-R1), exactly as the specification prints it.
pub const SEED_R1: &str = include_str!("../../tests/data/ha-R1.cfg");
/// The seed's configuration of the second router (ha-R2), exactly as the specification prints it.
pub const SEED_R2: &str = include_str!("../../tests/data/ha-R2.cfg");

use super::topology::{LAB_DELAY_SECONDS, SEED_DELAY_LINE, lab_config};

/// What the lab writes instead of [`SEED_DELAY_LINE`] unless `--seed-config` is given.
pub const LAB_DELAY_LINE: &str = "standby delay minimum 1 reload 1";

/// HSRP timer sets the lab can run with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimerSet {
    /// The seed's timers: hello 1 s, hold 10 s on ha-R1 (ha-R2 learns them from the Active).
    #[default]
    Seed,
    /// Millisecond timers (hello 50 ms, hold 150 ms) on both routers and tighter IPC knobs.
    Fast,
}

impl TimerSet {
    /// Name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Seed => "seed",
            Self::Fast => "fast",
        }
    }

    /// Hello and hold time in milliseconds that the pair ends up using.
    pub fn hello_hold_ms(self) -> (u64, u64) {
        match self {
            Self::Seed => (1000, 10_000),
            Self::Fast => (FAST_HELLO_MS, FAST_HOLD_MS),
        }
    }
}

impl fmt::Display for TimerSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Fast HSRP hello time (ms).
pub const FAST_HELLO_MS: u64 = 50;
/// Fast HSRP hold time (ms).
pub const FAST_HOLD_MS: u64 = 150;

/// How the lab derives its configurations from the seed's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConfigOptions {
    /// Run every seed line as written (including the 120 s start-up delay).
    pub seed_config: bool,
    /// Timer set.
    pub timers: TimerSet,
}

/// The two configurations of a lab run and the list of changes made to the seed's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabConfigs {
    /// Configuration text of ha-R1.
    pub r1: String,
    /// Configuration text of ha-R2.
    pub r2: String,
    /// One sentence per change made to the seed's configurations (empty when they run unmodified).
    pub changes: Vec<String>,
}

/// Builds the configurations for a run.
pub fn lab_configs(options: ConfigOptions) -> LabConfigs {
    let mut changes = Vec::new();
    let mut r1 = SEED_R1.to_owned();
    let mut r2 = SEED_R2.to_owned();
    if !options.seed_config {
        let (a, n1) = lab_config(&r1, LAB_DELAY_SECONDS);
        let (b, n2) = lab_config(&r2, LAB_DELAY_SECONDS);
        (r1, r2) = (a, b);
        let count = n1 + n2;
        if count > 0 {
            changes.push(format!(
                "`{SEED_DELAY_LINE}` shortened to `{LAB_DELAY_LINE}` ({count} lines; --seed-config keeps the \
                 seed's 2-minute start-up delay)"
            ));
        }
    }
    if options.timers == TimerSet::Fast {
        r1 = fast_timers(&r1);
        r2 = fast_timers(&r2);
        changes.push(format!(
            "HSRP timers `msec {FAST_HELLO_MS} msec {FAST_HOLD_MS}` on both routers for groups 1 and 2 \
             (seed: `timers 1 10` on ha-R1 only)"
        ));
        changes.push(
            "IPC: `path-retransmit 2`, `assoc-retransmit 2`, `keepalive 100` added to the local SCTP block"
                .to_owned(),
        );
    }
    LabConfigs { r1, r2, changes }
}

/// Rewrites (or adds) the timers of every standby group to the fast set and tightens the IPC knobs.
fn fast_timers(text: &str) -> String {
    let mut out = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            // An existing timers line is replaced.
            ["standby", _, "timers", ..] => continue,
            ["standby", group, "ip", _] => {
                out.push(line.to_owned());
                out.push(format!(
                    "standby {group} timers msec {FAST_HELLO_MS} msec {FAST_HOLD_MS}"
                ));
            }
            ["local-ip", ..] => {
                out.push(line.to_owned());
                out.push("path-retransmit 2".to_owned());
                out.push("assoc-retransmit 2".to_owned());
                out.push("keepalive 100".to_owned());
            }
            _ => out.push(line.to_owned()),
        }
    }
    let mut joined = out.join("\n");
    joined.push('\n');
    joined
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::load_config;

    #[test]
    fn delay_line_matches_the_topology_seconds() {
        assert_eq!(
            LAB_DELAY_LINE,
            format!("standby delay minimum {LAB_DELAY_SECONDS} reload {LAB_DELAY_SECONDS}")
        );
    }

    fn loads(text: &str, name: &str) {
        let report = load_config(text, name);
        assert!(report.errors.is_empty(), "{name}: {:?}", report.errors);
        assert!(report.config.is_some(), "{name} did not load");
    }

    #[test]
    fn seed_config_runs_unmodified() {
        let c = lab_configs(ConfigOptions {
            seed_config: true,
            timers: TimerSet::Seed,
        });
        assert_eq!(c.r1, SEED_R1);
        assert_eq!(c.r2, SEED_R2);
        assert!(c.changes.is_empty());
    }

    #[test]
    fn default_shortens_only_the_delay_line() {
        let c = lab_configs(ConfigOptions::default());
        assert!(!c.r1.contains(SEED_DELAY_LINE));
        assert_eq!(c.r1.matches(LAB_DELAY_LINE).count(), 2);
        assert_eq!(c.r1.replace(LAB_DELAY_LINE, SEED_DELAY_LINE), SEED_R1);
        assert_eq!(c.r2.replace(LAB_DELAY_LINE, SEED_DELAY_LINE), SEED_R2);
        assert_eq!(c.changes.len(), 1);
        loads(&c.r1, "r1");
        loads(&c.r2, "r2");
    }

    #[test]
    fn fast_timers_load_and_apply_to_both_routers() {
        let c = lab_configs(ConfigOptions {
            seed_config: false,
            timers: TimerSet::Fast,
        });
        for (text, name) in [(&c.r1, "r1"), (&c.r2, "r2")] {
            assert_eq!(
                text.matches("timers msec 50 msec 150").count(),
                2,
                "{name}:\n{text}"
            );
            assert!(!text.contains("timers 1 10"));
            assert!(text.contains("path-retransmit 2"));
            loads(text, name);
        }
        assert_eq!(c.changes.len(), 3);
    }
}
