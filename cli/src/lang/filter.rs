//! Output pipes: `| include|exclude|begin|section TEXT`.

use serde::{Deserialize, Serialize};

/// An output filter of an exec command.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case", tag = "kind", content = "pattern")]
pub enum OutputFilter {
    /// Lines containing the pattern.
    Include(String),
    /// Lines not containing the pattern.
    Exclude(String),
    /// Everything from the first line containing the pattern.
    Begin(String),
    /// Sections (a non-indented line and its indented lines) whose header contains the pattern.
    Section(String),
}

impl OutputFilter {
    /// Applies the filter to command output.
    pub fn apply(&self, text: &str) -> String {
        let mut out = String::new();
        let mut push = |line: &str| {
            out.push_str(line);
            out.push('\n');
        };
        match self {
            Self::Include(p) => text
                .lines()
                .filter(|l| l.contains(p.as_str()))
                .for_each(&mut push),
            Self::Exclude(p) => text
                .lines()
                .filter(|l| !l.contains(p.as_str()))
                .for_each(&mut push),
            Self::Begin(p) => text
                .lines()
                .skip_while(|l| !l.contains(p.as_str()))
                .for_each(&mut push),
            Self::Section(p) => {
                let mut in_section = false;
                for line in text.lines() {
                    let indented = line.starts_with(' ') || line.starts_with('\t');
                    if !indented {
                        in_section = line.contains(p.as_str());
                    }
                    if in_section {
                        push(line);
                    }
                }
            }
        }
        out
    }
}
