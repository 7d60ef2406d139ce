//! Output pipes: `| include|exclude|begin|section PATTERN`.
//!
//! PATTERN is a small regular expression, as on IOS: literal characters, `.` (any character), `[abc]`,
//! `[^a-z]` (classes and ranges), `*` `+` `?` after an atom, `^` / `$` anchors, `\` to quote the next
//! character, and `|` between alternatives (`include Active|Standby`). A line matches when the pattern
//! matches somewhere in it. Anything else (parentheses, braces) is an ordinary character.

use serde::{Deserialize, Serialize};

/// An output filter of an exec command.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case", tag = "kind", content = "pattern")]
pub enum OutputFilter {
    /// Lines matching the pattern.
    Include(String),
    /// Lines not matching the pattern.
    Exclude(String),
    /// Everything from the first line matching the pattern.
    Begin(String),
    /// Sections (a non-indented line and its indented lines) whose first line matches the pattern.
    Section(String),
}

impl OutputFilter {
    /// Applies the filter to command output.
    pub fn apply(&self, text: &str) -> String {
        let (Self::Include(p) | Self::Exclude(p) | Self::Begin(p) | Self::Section(p)) = self;
        let pattern = Pattern::new(p);
        let mut out = String::new();
        let mut push = |line: &str| {
            out.push_str(line);
            out.push('\n');
        };
        match self {
            Self::Include(_) => text.lines().filter(|l| pattern.is_match(l)).for_each(&mut push),
            Self::Exclude(_) => text.lines().filter(|l| !pattern.is_match(l)).for_each(&mut push),
            Self::Begin(_) => text
                .lines()
                .skip_while(|l| !pattern.is_match(l))
                .for_each(&mut push),
            Self::Section(_) => {
                let mut in_section = false;
                for line in text.lines() {
                    let indented = line.starts_with(' ') || line.starts_with('\t');
                    if !indented {
                        in_section = pattern.is_match(line);
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

/// One character test.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Atom {
    Char(char),
    Any,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Atom {
    fn matches(&self, c: char) -> bool {
        match self {
            Self::Char(x) => *x == c,
            Self::Any => true,
            Self::Class { negated, ranges } => {
                ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&c)) != *negated
            }
        }
    }
}

/// How often an atom repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Repeat {
    One,
    ZeroOrOne,
    ZeroOrMore,
    OneOrMore,
}

/// One alternative: optional anchors around a sequence of atoms.
#[derive(Clone, Debug, Default)]
struct Branch {
    start: bool,
    end: bool,
    items: Vec<(Atom, Repeat)>,
}

/// A compiled pattern.
#[derive(Clone, Debug)]
pub struct Pattern {
    branches: Vec<Branch>,
}

impl Pattern {
    /// Compiles `pattern`; never fails (unsupported syntax is literal).
    pub fn new(pattern: &str) -> Self {
        let mut branches = vec![Branch::default()];
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            let Some(branch) = branches.last_mut() else { break };
            let atom = match c {
                '|' => {
                    branches.push(Branch::default());
                    continue;
                }
                '^' if branch.items.is_empty() && !branch.start => {
                    branch.start = true;
                    continue;
                }
                '$' if chars.peek().is_none_or(|&n| n == '|') => {
                    branch.end = true;
                    continue;
                }
                '.' => Atom::Any,
                '\\' => Atom::Char(chars.next().unwrap_or('\\')),
                '[' => {
                    let mut probe = chars.clone();
                    match parse_class(&mut probe) {
                        Some(class) => {
                            chars = probe;
                            class
                        }
                        None => Atom::Char('['),
                    }
                }
                '*' | '+' | '?' if !branch.items.is_empty() => {
                    if let Some(last) = branch.items.last_mut()
                        && last.1 == Repeat::One
                    {
                        last.1 = match c {
                            '*' => Repeat::ZeroOrMore,
                            '+' => Repeat::OneOrMore,
                            _ => Repeat::ZeroOrOne,
                        };
                        continue;
                    }
                    Atom::Char(c)
                }
                other => Atom::Char(other),
            };
            branch.items.push((atom, Repeat::One));
        }
        Self { branches }
    }

    /// Whether the pattern matches somewhere in `line`.
    pub fn is_match(&self, line: &str) -> bool {
        let chars: Vec<char> = line.chars().collect();
        self.branches.iter().any(|b| b.is_match(&chars))
    }
}

impl Branch {
    /// NFA simulation over the atoms (state i = "atoms before i matched"): linear in line × pattern length.
    fn is_match(&self, chars: &[char]) -> bool {
        // `x+` is `x` followed by `x*`.
        let mut items: Vec<(&Atom, Repeat)> = Vec::with_capacity(self.items.len() + 2);
        for (atom, repeat) in &self.items {
            if *repeat == Repeat::OneOrMore {
                items.push((atom, Repeat::One));
                items.push((atom, Repeat::ZeroOrMore));
            } else {
                items.push((atom, *repeat));
            }
        }
        let accept = items.len();
        let closure = |states: &mut Vec<bool>| {
            for i in 0..accept {
                if states[i] && matches!(items[i].1, Repeat::ZeroOrOne | Repeat::ZeroOrMore) {
                    states[i + 1] = true;
                }
            }
        };
        let mut states = vec![false; accept + 1];
        states[0] = true;
        closure(&mut states);
        for &c in chars {
            if states[accept] && !self.end {
                return true;
            }
            let mut next = vec![false; accept + 1];
            for i in 0..accept {
                if states[i] && items[i].0.matches(c) {
                    match items[i].1 {
                        Repeat::ZeroOrMore => next[i] = true,
                        _ => next[i + 1] = true,
                    }
                }
            }
            // An unanchored pattern may also start at the next character.
            if !self.start {
                next[0] = true;
            }
            closure(&mut next);
            states = next;
            if !states.iter().any(|&s| s) {
                return false;
            }
        }
        states[accept]
    }
}

/// A bracket class after `[`; None when it never closes (the `[` is then literal).
fn parse_class(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<Atom> {
    let negated = chars.next_if_eq(&'^').is_some();
    let mut ranges = Vec::new();
    let mut first = true;
    while let Some(c) = chars.next() {
        if c == ']' && !first {
            return Some(Atom::Class { negated, ranges });
        }
        first = false;
        let lo = if c == '\\' {
            chars.next().unwrap_or('\\')
        } else {
            c
        };
        if chars.peek() == Some(&'-') {
            let mut ahead = chars.clone();
            ahead.next();
            if let Some(&hi) = ahead.peek()
                && hi != ']'
            {
                chars.next();
                chars.next();
                ranges.push((lo, hi));
                continue;
            }
        }
        ranges.push((lo, lo));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, line: &str) -> bool {
        Pattern::new(p).is_match(line)
    }

    #[test]
    fn literals_and_anchors() {
        assert!(m("standby 1", " standby 1 ip 10.0.0.3"));
        assert!(!m("standby 2", " standby 1 ip"));
        assert!(m("^interface", "interface Ethernet0/0"));
        assert!(!m("^interface", " interface"));
        assert!(m("0/0$", "interface Ethernet0/0"));
        assert!(!m("0/0$", "Ethernet0/0 up"));
        assert!(m("", "anything"));
        assert!(m("a(b)", "xa(b)y"));
    }

    #[test]
    fn alternation_classes_and_repeats() {
        assert!(m("Active|Standby", "  State is Standby"));
        assert!(!m("Active|Standby", "  State is Listen"));
        assert!(m("Et[01]/0", "Et1/0  2 60"));
        assert!(!m("Et[^01]/0", "Et1/0"));
        assert!(m("10\\.0\\.0\\.[0-9]+$", "Virtual IP address is 10.0.0.3"));
        assert!(!m("10\\.0\\.0\\.[0-9]+$", "10x0.0.3"));
        assert!(m("Pri.*60", "Priority 60 (configured 60)"));
        assert!(!m("pri.*60", "Priority 60"), "case-sensitive, as on IOS");
        assert!(m("^ +standby [0-9]+ ip", "  standby 12 ip 10.0.0.3"));
        assert!(!m("^ +standby [0-9]+ ip$", "  standby 12 ip 10.0.0.3"));
        assert!(m("colou?r", "color") && m("colou?r", "colour"));
        assert!(m("a*", ""));
        assert!(m("[", "[x"));
        assert!(m("*x", "*x"));
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        let line = "a".repeat(200);
        assert!(!m("a*a*a*a*a*a*b", &line));
    }
}
