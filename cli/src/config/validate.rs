//! Whole-candidate validation.

use serde::Serialize;

use super::Config;

/// One validation problem.
#[derive(Serialize, Clone, PartialEq, Eq, Debug)]
pub struct Problem {
    /// What is wrong, in one sentence.
    pub message: String,
    /// Source lines involved (when the configuration came from a file).
    pub lines: Vec<usize>,
    /// The objects involved (`interface Ethernet0/0 standby 1 ip`, ...).
    pub objects: Vec<String>,
    /// True for a dangling reference or an unfinished block that more lines can complete (e.g. a scheme
    /// naming a group not configured yet); false for a contradiction.
    pub pending: bool,
}

/// Validates the whole candidate; empty = valid.
pub fn validate(cfg: &Config) -> Vec<Problem> {
    let _ = cfg;
    Vec::new()
}
