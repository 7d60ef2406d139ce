//! The command-tree engine: an arena of keyword and typed-argument nodes (cycles allowed, so optional clauses
//! in any order are a loop), the walk that matches a tokenized line against it (exact keyword, then unique
//! prefix, then typed argument), and the IOS error it produces when a line does not fit.

use std::net::Ipv4Addr;

use super::ifname::canonical_interface;

/// Index of a node in the arena.
pub(crate) type NodeId = usize;

/// Typed argument of a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ArgType {
    /// Decimal number within the range (inclusive).
    Range(u64, u64),
    /// One word.
    Word,
    /// The rest of the line, spaces included.
    Line,
    /// Dotted IPv4 address.
    Ipv4,
    /// MAC address in IOS dotted form (`0000.0c07.ac01`).
    Mac,
    /// An interface name (canonicalized).
    Interface,
    /// The number part of an interface typed with a space (`Ethernet 0/0`).
    InterfaceNumber,
}

impl ArgType {
    /// Parses a token; `Some(canonical value)` when it fits.
    pub(crate) fn accept(self, token: &str) -> Option<String> {
        match self {
            Self::Range(lo, hi) => {
                if token.is_empty() || !token.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let value: u64 = token.parse().ok()?;
                (lo..=hi).contains(&value).then(|| value.to_string())
            }
            Self::Word | Self::Line => Some(token.to_string()),
            Self::Ipv4 => {
                let ip: Ipv4Addr = token.parse().ok()?;
                Some(ip.to_string())
            }
            Self::Mac => parse_mac(token),
            Self::Interface => token
                .starts_with(|c: char| c.is_ascii_alphabetic())
                .then(|| canonical_interface(token)),
            Self::InterfaceNumber => (token.starts_with(|c: char| c.is_ascii_digit())
                && token
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '/' | '.' | ':')))
            .then(|| token.to_string()),
        }
    }

    /// The `?` label.
    pub(crate) fn label(self) -> String {
        match self {
            Self::Range(lo, hi) => format!("<{lo}-{hi}>"),
            Self::Word => "WORD".into(),
            Self::Line => "LINE".into(),
            Self::Ipv4 => "A.B.C.D".into(),
            Self::Mac => "H.H.H".into(),
            Self::Interface => "INTERFACE".into(),
            Self::InterfaceNumber => "NUMBER".into(),
        }
    }
}

/// `H.H.H` with 1–4 hex digits per group, returned lower-case and zero-padded.
pub(crate) fn parse_mac(token: &str) -> Option<String> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return None;
    }
    let mut out = Vec::with_capacity(3);
    for part in parts {
        if part.is_empty() || part.len() > 4 || !part.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        out.push(format!("{:0>4}", part.to_ascii_lowercase()));
    }
    Some(out.join("."))
}

/// What a node does when the line ends on it.
#[derive(Clone, Copy)]
pub(crate) enum Action {
    /// A configuration (or mode) command.
    Apply(super::build::ApplyFn),
    /// An exec command dispatched by key.
    Exec,
}

impl std::fmt::Debug for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Apply(_) => f.write_str("Apply"),
            Self::Exec => f.write_str("Exec"),
        }
    }
}

/// Keyword or argument.
#[derive(Clone, Debug)]
pub(crate) enum Kind {
    /// A keyword, matched by unique prefix.
    Keyword(&'static str),
    /// A typed argument.
    Arg(ArgType),
}

/// One node.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub(crate) kind: Kind,
    /// Binding name for actions (defaults to the keyword).
    pub(crate) name: &'static str,
    pub(crate) help: &'static str,
    pub(crate) children: Vec<NodeId>,
    pub(crate) action: Option<Action>,
    /// Action when the line ends here in a `no` form.
    pub(crate) no_action: Option<Action>,
    /// Unknown words below this node are IOS commands iosha does not implement (config files: warning).
    pub(crate) foreign_ok: bool,
    /// Not listed by `?` or TAB (accepted shorthands).
    pub(crate) hidden: bool,
    /// The word this keyword contributes to an exec key ("" = none).
    pub(crate) key_word: Option<&'static str>,
    /// Exec key replacing the computed one when the line ends here.
    pub(crate) key_override: Option<&'static str>,
    /// This keyword turns the rest of the line into a `no` form.
    pub(crate) negates: bool,
}

/// One matched token.
#[derive(Clone, Debug)]
pub(crate) struct Matched {
    pub(crate) node: NodeId,
    pub(crate) name: &'static str,
    pub(crate) value: String,
    pub(crate) column: usize,
    /// A keyword bound under its own word (only its presence matters, never its value).
    pub(crate) plain_keyword: bool,
}

/// A token of the line with its character column.
#[derive(Clone, Debug)]
pub(crate) struct Token<'a> {
    pub(crate) text: &'a str,
    pub(crate) column: usize,
    pub(crate) byte: usize,
}

/// Splits a line on whitespace, remembering character columns.
pub(crate) fn tokenize(line: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut start: Option<(usize, usize)> = None;
    for (column, (byte, ch)) in line.char_indices().enumerate() {
        if ch.is_whitespace() {
            if let Some((b, c)) = start.take() {
                tokens.push(Token {
                    text: &line[b..byte],
                    column: c,
                    byte: b,
                });
            }
        } else if start.is_none() {
            start = Some((byte, column));
        }
    }
    if let Some((b, c)) = start {
        tokens.push(Token {
            text: &line[b..],
            column: c,
            byte: b,
        });
    }
    tokens
}

/// Why a walk failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum WalkError {
    /// No child fits the token at `column`; `foreign` when only keywords were possible there and the node allows
    /// unknown IOS commands.
    Invalid {
        column: usize,
        foreign: bool,
        reason: Option<String>,
    },
    /// Several keywords start with the token.
    Ambiguous { column: usize },
    /// The line ended before a complete command.
    Incomplete,
}

/// A successful walk.
#[derive(Clone, Debug)]
pub(crate) struct Walk {
    pub(crate) matched: Vec<Matched>,
    pub(crate) negated: bool,
    pub(crate) action: Option<Action>,
    /// Children after the last token (for `?`).
    pub(crate) last_children: Vec<NodeId>,
    /// The last matched node, if any.
    pub(crate) last: Option<NodeId>,
    /// A `Line` argument swallowed the rest.
    pub(crate) took_line: bool,
}

/// One step's result.
pub(crate) enum Step {
    Found(NodeId, String),
    Ambiguous,
    None,
}

/// The arena.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tree {
    pub(crate) nodes: Vec<Node>,
}

impl Tree {
    pub(crate) fn add(
        &mut self,
        parent: Option<NodeId>,
        kind: Kind,
        name: &'static str,
        help: &'static str,
    ) -> NodeId {
        let id = self.nodes.len();
        self.nodes.push(Node {
            kind,
            name,
            help,
            children: Vec::new(),
            action: None,
            no_action: None,
            foreign_ok: false,
            hidden: false,
            key_word: None,
            key_override: None,
            negates: false,
        });
        if let Some(p) = parent {
            self.nodes[p].children.push(id);
        }
        id
    }

    /// Matches one token among `children`.
    pub(crate) fn step(&self, children: &[NodeId], token: &str) -> Step {
        let lower = token.to_ascii_lowercase();
        let mut prefix = Vec::new();
        for &c in children {
            if let Kind::Keyword(word) = self.nodes[c].kind {
                if word.eq_ignore_ascii_case(token) {
                    return Step::Found(c, word.to_string());
                }
                if word.to_ascii_lowercase().starts_with(&lower) {
                    prefix.push(c);
                }
            }
        }
        // A hidden keyword never makes a visible one ambiguous.
        if prefix.len() > 1 {
            let visible: Vec<NodeId> = prefix
                .iter()
                .copied()
                .filter(|&c| !self.nodes[c].hidden)
                .collect();
            if visible.len() == 1 {
                prefix = visible;
            }
        }
        match prefix.len() {
            1 => {
                if let Kind::Keyword(word) = self.nodes[prefix[0]].kind {
                    return Step::Found(prefix[0], word.to_string());
                }
            }
            0 => {}
            _ => return Step::Ambiguous,
        }
        for &c in children {
            if let Kind::Arg(ty) = self.nodes[c].kind
                && let Some(value) = ty.accept(token)
            {
                return Step::Found(c, value);
            }
        }
        Step::None
    }

    /// Walks `tokens` from `roots`. `partial_last` leaves the last token unmatched (for `?` and TAB).
    pub(crate) fn walk(
        &self,
        roots: &[NodeId],
        root_foreign: bool,
        line: &str,
        tokens: &[Token<'_>],
    ) -> Result<Walk, WalkError> {
        let mut children: Vec<NodeId> = roots.to_vec();
        let mut foreign = root_foreign;
        let mut walk = Walk {
            matched: Vec::new(),
            negated: false,
            action: None,
            last_children: children.clone(),
            last: None,
            took_line: false,
        };
        for token in tokens {
            match self.step(&children, token.text) {
                Step::Found(id, value) => {
                    let node = &self.nodes[id];
                    if node.negates {
                        walk.negated = true;
                    }
                    let took_line = matches!(node.kind, Kind::Arg(ArgType::Line));
                    let value = if took_line {
                        line[token.byte..].trim_end().to_string()
                    } else {
                        value
                    };
                    walk.matched.push(Matched {
                        node: id,
                        name: node.name,
                        value,
                        column: token.column,
                        plain_keyword: matches!(node.kind, Kind::Keyword(w) if w == node.name),
                    });
                    walk.last = Some(id);
                    foreign = node.foreign_ok;
                    children.clone_from(&node.children);
                    if took_line {
                        walk.took_line = true;
                        break;
                    }
                }
                Step::Ambiguous => return Err(WalkError::Ambiguous { column: token.column }),
                Step::None => {
                    // Only keywords could follow (numeric or address arguments cannot take a word).
                    let word = token.text.starts_with(|c: char| c.is_ascii_alphabetic());
                    let only_keywords = children.iter().all(|&c| match self.nodes[c].kind {
                        Kind::Keyword(_) => true,
                        Kind::Arg(
                            ArgType::Range(..) | ArgType::Ipv4 | ArgType::Mac | ArgType::InterfaceNumber,
                        ) => word,
                        Kind::Arg(_) => false,
                    });
                    let reason = self.expected(&children);
                    return Err(WalkError::Invalid {
                        column: token.column,
                        foreign: foreign && only_keywords,
                        reason: Some(reason),
                    });
                }
            }
        }
        walk.last_children = children;
        if let Some(last) = walk.last {
            let node = &self.nodes[last];
            walk.action = if walk.negated {
                node.no_action.or(node.action)
            } else {
                node.action
            };
        }
        Ok(walk)
    }

    /// A short description of what was expected among `children` (for file diagnostics).
    fn expected(&self, children: &[NodeId]) -> String {
        let mut labels: Vec<String> = children
            .iter()
            .filter(|&&c| !self.nodes[c].hidden)
            .map(|&c| match self.nodes[c].kind {
                Kind::Keyword(w) => w.to_string(),
                Kind::Arg(ty) => ty.label(),
            })
            .collect();
        labels.dedup();
        if labels.is_empty() {
            "end of line expected".to_string()
        } else {
            format!("expected {}", labels.join(" | "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (Tree, Vec<NodeId>) {
        let mut t = Tree::default();
        let root = t.add(None, Kind::Keyword(""), "", "");
        for word in ["session", "sessions", "statistics", "standby"] {
            t.add(Some(root), Kind::Keyword(word), word, "");
        }
        t.add(Some(root), Kind::Arg(ArgType::Range(1, 10)), "n", "");
        let children = t.nodes[root].children.clone();
        (t, children)
    }

    fn found(t: &Tree, children: &[NodeId], token: &str) -> Option<String> {
        match t.step(children, token) {
            Step::Found(_, value) => Some(value),
            _ => None,
        }
    }

    #[test]
    fn an_exact_keyword_wins_over_longer_ones() {
        let (t, c) = tree();
        assert_eq!(found(&t, &c, "session").as_deref(), Some("session"));
        assert_eq!(found(&t, &c, "SESSIONS").as_deref(), Some("sessions"));
        assert!(matches!(t.step(&c, "sess"), Step::Ambiguous));
        assert!(matches!(t.step(&c, "st"), Step::Ambiguous));
        assert_eq!(found(&t, &c, "stat").as_deref(), Some("statistics"));
        assert!(matches!(t.step(&c, "sta"), Step::Ambiguous));
        assert_eq!(found(&t, &c, "7").as_deref(), Some("7"));
        assert_eq!(found(&t, &c, "007").as_deref(), Some("7"));
        assert!(matches!(t.step(&c, "11"), Step::None));
        assert!(matches!(t.step(&c, "x"), Step::None));
    }

    #[test]
    fn argument_types() {
        assert_eq!(ArgType::Ipv4.accept("10.0.0.1").as_deref(), Some("10.0.0.1"));
        assert_eq!(ArgType::Ipv4.accept("10.0.0"), None);
        assert_eq!(
            ArgType::Mac.accept("0.C07.AC1").as_deref(),
            Some("0000.0c07.0ac1")
        );
        assert_eq!(ArgType::Mac.accept("0000.0c07"), None);
        assert_eq!(ArgType::Mac.accept("00000.0c07.ac01"), None);
        assert_eq!(ArgType::Range(0, 255).accept("256"), None);
        assert_eq!(ArgType::Range(0, 255).accept("-1"), None);
        assert_eq!(ArgType::Range(0, 255).accept("99999999999999999999999"), None);
        assert_eq!(ArgType::Interface.accept("e0/0").as_deref(), Some("Ethernet0/0"));
        assert_eq!(ArgType::Interface.accept("0/0"), None);
        assert_eq!(ArgType::InterfaceNumber.accept("0/0").as_deref(), Some("0/0"));
        assert_eq!(ArgType::Range(300, 60000).label(), "<300-60000>");
    }

    #[test]
    fn tokens_keep_character_columns() {
        let tokens = tokenize("  sh  é x");
        let cols: Vec<(usize, &str)> = tokens.iter().map(|t| (t.column, t.text)).collect();
        assert_eq!(cols, [(2, "sh"), (6, "é"), (8, "x")]);
    }

    #[test]
    fn the_interpreter_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<crate::lang::Interpreter>();
    }
}
