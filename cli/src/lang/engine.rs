//! Running a line: pipes, parent-mode fallback, `no` forms, actions, exec keys; `?` help and TAB completion.

use super::build::Apply;
use super::tree::{Action, Kind, NodeId, Token, Walk, WalkError, tokenize};
use super::{ExecCommand, HelpItem, Interpreter, LineError, LineErrorKind, Mode, Outcome, OutputFilter};
use crate::config::Config;

/// A successful line.
pub(crate) struct Ran {
    pub(crate) outcome: Outcome,
    pub(crate) warnings: Vec<String>,
}

/// A failed line.
#[derive(Debug)]
pub(crate) struct RunError {
    pub(crate) error: LineError,
    /// Only unknown keywords where iosha lacks IOS commands (a config file ignores such lines with a warning).
    pub(crate) foreign: bool,
    /// Why, when known (file diagnostics).
    pub(crate) reason: Option<String>,
}

fn invalid(column: usize) -> LineError {
    LineError {
        kind: LineErrorKind::Invalid { column, reason: None },
    }
}

const FILTERS: [(&str, &str); 4] = [
    ("begin", "Start with the first line that contains the text"),
    ("exclude", "Leave out lines that contain the text"),
    ("include", "Keep only lines that contain the text"),
    ("section", "Keep sections whose first line contains the text"),
];

/// The modes tried for a line: the mode itself, then its parents (configuration modes never fall back to exec).
fn chain(mode: &Mode) -> Vec<Mode> {
    let mut modes = vec![mode.clone()];
    let mut current = mode.clone();
    while let Some(parent) = current.parent() {
        if parent == Mode::Exec {
            break;
        }
        modes.push(parent.clone());
        current = parent;
    }
    modes
}

/// Splits `cmd | filter TEXT`.
fn split_pipe<'a>(
    line: &str,
    tokens: &'a [Token<'a>],
) -> Result<(&'a [Token<'a>], Option<OutputFilter>), RunError> {
    let Some(bar) = tokens.iter().position(|t| t.text == "|") else {
        return Ok((tokens, None));
    };
    let fail = |column: usize, error: LineError| RunError {
        error: if column == usize::MAX {
            error
        } else {
            invalid(column)
        },
        foreign: false,
        reason: None,
    };
    let Some(word) = tokens.get(bar + 1) else {
        return Err(fail(
            usize::MAX,
            LineError {
                kind: LineErrorKind::Incomplete,
            },
        ));
    };
    let lower = word.text.to_ascii_lowercase();
    let matches: Vec<&str> = FILTERS
        .iter()
        .map(|f| f.0)
        .filter(|f| f.starts_with(&lower))
        .collect();
    let kind = match matches.as_slice() {
        [one] => *one,
        [] => return Err(fail(word.column, invalid(0))),
        _ => {
            return Err(fail(
                usize::MAX,
                LineError {
                    kind: LineErrorKind::Ambiguous,
                },
            ));
        }
    };
    let Some(text) = tokens.get(bar + 2) else {
        return Err(fail(
            usize::MAX,
            LineError {
                kind: LineErrorKind::Incomplete,
            },
        ));
    };
    let pattern = line[text.byte..].trim_end().to_string();
    let filter = match kind {
        "begin" => OutputFilter::Begin(pattern),
        "exclude" => OutputFilter::Exclude(pattern),
        "include" => OutputFilter::Include(pattern),
        _ => OutputFilter::Section(pattern),
    };
    Ok((&tokens[..bar], Some(filter)))
}

impl Interpreter {
    fn root_children(&self, mode: &Mode) -> &[NodeId] {
        &self.tree.nodes[self.roots.of(mode)].children
    }

    /// Walks `tokens` in `mode` and its parents; the first mode that knows the command wins.
    fn walk_chain(&self, mode: &Mode, line: &str, tokens: &[Token<'_>]) -> Result<(Mode, Walk), RunError> {
        let mut errors: Vec<WalkError> = Vec::new();
        for m in chain(mode) {
            match self.tree.walk(self.root_children(&m), true, line, tokens) {
                Ok(walk) if walk.action.is_some() => return Ok((m, walk)),
                Ok(_) => errors.push(WalkError::Incomplete),
                Err(e) => errors.push(e),
            }
        }
        let mut error = pick_error(&errors);
        if error.foreign
            && let Some(other) = self.mode_of_command(mode, tokens)
        {
            // A supported command in the wrong place (e.g. `standby` after `exit`) is a mistake, not an
            // unknown IOS command.
            error.foreign = false;
            error.reason = Some(format!(
                "`{}` is a command of {other} mode",
                self.command_word(tokens)
            ));
        }
        Err(error)
    }

    /// The first word of a command, after an optional `no`.
    fn command_word<'t>(&self, tokens: &'t [Token<'_>]) -> &'t str {
        match tokens {
            [first, second, ..] if first.text.eq_ignore_ascii_case("no") => second.text,
            [first, ..] => first.text,
            [] => "",
        }
    }

    /// The configuration mode whose root has the command's first word as an exact keyword.
    /// Only modes outside `mode` and its parents count: a word known there failed for another reason.
    fn mode_of_command(&self, mode: &Mode, tokens: &[Token<'_>]) -> Option<&'static str> {
        let word = self.command_word(tokens);
        let is_keyword_of = |root: NodeId| {
            self.tree.nodes[root].children.iter().any(
                |&c| matches!(self.tree.nodes[c].kind, Kind::Keyword(w) if w.eq_ignore_ascii_case(word) && w != "no"),
            )
        };
        if chain(mode).iter().any(|m| is_keyword_of(self.roots.of(m))) {
            return None;
        }
        let r = &self.roots;
        let modes = [
            (r.config, "global configuration"),
            (r.interface, "interface"),
            (r.redundancy, "redundancy inter-device"),
            (r.ipc_zone, "ipc zone"),
            (r.ipc_assoc, "ipc association"),
            (r.ipc_proto, "ipc protocol sctp"),
            (r.ipc_local, "ipc local-port"),
            (r.ipc_remote, "ipc remote-port"),
            (r.acl, "extended access list"),
        ];
        modes
            .into_iter()
            .find_map(|(root, name)| is_keyword_of(root).then_some(name))
    }

    /// Runs one line; `origin` is its line number in a file.
    pub(crate) fn run(
        &self,
        mode: &Mode,
        cfg: &Config,
        line: &str,
        origin: Option<usize>,
    ) -> Result<Ran, RunError> {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('!') {
            return Ok(Ran {
                outcome: Outcome::Nothing,
                warnings: Vec::new(),
            });
        }
        let all_tokens = tokenize(line);
        // `| filter` belongs to exec commands; in a configuration command a `|` is ordinary text.
        if let Some(bar) = all_tokens.iter().position(|t| t.text == "|")
            && let Ok((_, walk)) = self.walk_chain(mode, line, &all_tokens[..bar])
            && matches!(walk.action, Some(Action::Exec))
        {
            let (_, filter) = split_pipe(line, &all_tokens)?;
            {
                let cmd = self.exec_command(&walk, filter);
                return Ok(Ran {
                    outcome: Outcome::Exec(cmd),
                    warnings: Vec::new(),
                });
            }
        }
        let (used_mode, walk) = self.walk_chain(mode, line, &all_tokens)?;
        match walk.action {
            Some(Action::Exec) => {
                let cmd = self.exec_command(&walk, None);
                Ok(Ran {
                    outcome: Outcome::Exec(cmd),
                    warnings: Vec::new(),
                })
            }
            Some(Action::Apply(f)) => {
                let mut candidate = cfg.clone();
                let mut apply = Apply {
                    cfg: &mut candidate,
                    mode: &used_mode,
                    negated: walk.negated,
                    matched: &walk.matched,
                    origin,
                    warnings: Vec::new(),
                };
                let next = f(&mut apply).map_err(|e| RunError {
                    error: LineError {
                        kind: LineErrorKind::Invalid {
                            column: e.column,
                            reason: Some(e.reason.clone()),
                        },
                    },
                    foreign: false,
                    reason: Some(e.reason),
                })?;
                let warnings = std::mem::take(&mut apply.warnings);
                let new_mode = next.mode.unwrap_or(used_mode);
                let outcome = if next.changed {
                    Outcome::Config {
                        candidate,
                        mode: new_mode,
                    }
                } else if &new_mode != mode {
                    Outcome::ModeChange(new_mode)
                } else {
                    Outcome::Nothing
                };
                Ok(Ran { outcome, warnings })
            }
            None => Err(RunError {
                error: LineError {
                    kind: LineErrorKind::Incomplete,
                },
                foreign: false,
                reason: None,
            }),
        }
    }

    fn exec_command(&self, walk: &Walk, filter: Option<OutputFilter>) -> ExecCommand {
        let mut words: Vec<&str> = Vec::new();
        let mut args = Vec::new();
        for m in &walk.matched {
            let node = &self.tree.nodes[m.node];
            match node.kind {
                Kind::Keyword(word) => match node.key_word {
                    Some("") => {}
                    Some(alias) => words.push(alias),
                    None => words.push(word),
                },
                Kind::Arg(_) => args.push(m.value.clone()),
            }
        }
        let key = match walk.last.and_then(|n| self.tree.nodes[n].key_override) {
            Some(key) => key.to_string(),
            None => words.join(" "),
        };
        ExecCommand { key, args, filter }
    }
}

/// IOS reports the error of the mode that got furthest: ambiguity first, then an incomplete command, then the
/// invalid token with the highest column.
fn pick_error(errors: &[WalkError]) -> RunError {
    if let Some(WalkError::Ambiguous { .. }) =
        errors.iter().find(|e| matches!(e, WalkError::Ambiguous { .. }))
    {
        return RunError {
            error: LineError {
                kind: LineErrorKind::Ambiguous,
            },
            foreign: false,
            reason: None,
        };
    }
    if errors.contains(&WalkError::Incomplete) {
        return RunError {
            error: LineError {
                kind: LineErrorKind::Incomplete,
            },
            foreign: false,
            reason: None,
        };
    }
    let mut best: Option<(usize, bool, Option<String>)> = None;
    for e in errors {
        if let WalkError::Invalid {
            column,
            foreign,
            reason,
        } = e
            && best.as_ref().is_none_or(|b| *column > b.0)
        {
            best = Some((*column, *foreign, reason.clone()));
        }
    }
    let (column, _, reason) = best.unwrap_or((0, false, None));
    let all_foreign = errors.iter().all(|e| match e {
        WalkError::Invalid {
            column: c, foreign, ..
        } => *c < column || *foreign,
        _ => false,
    });
    RunError {
        error: invalid(column),
        foreign: all_foreign,
        reason,
    }
}

/// The text before the cursor split into complete tokens and the partial last word (None after a space).
fn split_partial(line: &str) -> (Vec<Token<'_>>, Option<Token<'_>>) {
    let mut tokens = tokenize(line);
    let partial = if line.is_empty() || line.ends_with(char::is_whitespace) {
        None
    } else {
        tokens.pop()
    };
    (tokens, partial)
}

pub(crate) fn help(
    interp: &Interpreter,
    mode: &Mode,
    _cfg: &Config,
    line: &str,
) -> Result<Vec<HelpItem>, LineError> {
    let (tokens, partial) = split_partial(line);
    let prefix = partial.as_ref().map(|p| p.text.to_ascii_lowercase());
    if let Some(bar) = tokens.iter().position(|t| t.text == "|") {
        return Ok(match tokens.len() - bar {
            1 => FILTERS
                .iter()
                .filter(|f| prefix.as_ref().is_none_or(|p| f.0.starts_with(p.as_str())))
                .map(|f| HelpItem {
                    token: f.0.into(),
                    help: f.1.into(),
                })
                .collect(),
            _ => vec![HelpItem {
                token: "LINE".into(),
                help: "Text to look for".into(),
            }],
        });
    }
    let (_, walk) = if tokens.is_empty() {
        (mode.clone(), root_walk(interp, mode))
    } else {
        interp.walk_chain_lenient(mode, line, &tokens)?
    };
    if walk.took_line {
        return Ok(vec![HelpItem {
            token: "<cr>".into(),
            help: String::new(),
        }]);
    }
    let mut args = Vec::new();
    let mut keywords = Vec::new();
    for &c in &walk.last_children {
        let node = &interp.tree.nodes[c];
        if node.hidden {
            continue;
        }
        match node.kind {
            Kind::Keyword(word) => {
                if prefix
                    .as_ref()
                    .is_none_or(|p| word.to_ascii_lowercase().starts_with(p.as_str()))
                {
                    keywords.push(HelpItem {
                        token: word.into(),
                        help: node.help.into(),
                    });
                }
            }
            Kind::Arg(ty) => {
                if partial.as_ref().is_none_or(|p| ty.accept(p.text).is_some()) {
                    args.push(HelpItem {
                        token: ty.label(),
                        help: node.help.into(),
                    });
                }
            }
        }
    }
    keywords.sort_by(|a, b| a.token.cmp(&b.token));
    keywords.dedup_by(|a, b| a.token == b.token);
    args.dedup_by(|a, b| a.token == b.token);
    let mut items = args;
    items.extend(keywords);
    if partial.is_none() && !tokens.is_empty() {
        if walk.action.is_some() {
            items.push(HelpItem {
                token: "<cr>".into(),
                help: String::new(),
            });
        }
        if matches!(walk.action, Some(Action::Exec)) {
            items.push(HelpItem {
                token: "|".into(),
                help: "Output modifiers".into(),
            });
        }
    }
    if items.is_empty() {
        let column = partial
            .as_ref()
            .map_or_else(|| line.chars().count(), |p| p.column);
        return Err(invalid(column));
    }
    Ok(items)
}

fn root_walk(interp: &Interpreter, mode: &Mode) -> Walk {
    Walk {
        matched: Vec::new(),
        negated: false,
        action: None,
        last_children: interp.root_children(mode).to_vec(),
        last: None,
        took_line: false,
    }
}

impl Interpreter {
    /// Like `walk_chain` but a walk that ends without an action is fine (help and completion).
    fn walk_chain_lenient(
        &self,
        mode: &Mode,
        line: &str,
        tokens: &[Token<'_>],
    ) -> Result<(Mode, Walk), LineError> {
        let mut errors = Vec::new();
        for m in chain(mode) {
            match self.tree.walk(self.root_children(&m), true, line, tokens) {
                Ok(walk) => return Ok((m, walk)),
                Err(e) => errors.push(e),
            }
        }
        Err(pick_error(&errors).error)
    }
}

pub(crate) fn complete(interp: &Interpreter, mode: &Mode, _cfg: &Config, line: &str) -> Option<String> {
    let (tokens, partial) = split_partial(line);
    let partial = partial?;
    let lower = partial.text.to_ascii_lowercase();
    let candidates: Vec<String> = if tokens.last().is_some_and(|t| t.text == "|") {
        FILTERS
            .iter()
            .map(|f| f.0.to_string())
            .filter(|f| f.starts_with(&lower))
            .collect()
    } else if tokens.is_empty() {
        // The first word: the current mode's commands, else those of the enclosing modes (as IOS retries them).
        chain(mode)
            .iter()
            .map(|m| keyword_candidates(interp, &root_walk(interp, m).last_children, partial.text))
            .find(|words| !words.is_empty())
            .unwrap_or_default()
    } else {
        let walk = interp.walk_chain_lenient(mode, line, &tokens).ok()?.1;
        keyword_candidates(interp, &walk.last_children, partial.text)
    };
    match candidates.as_slice() {
        [one] => Some(format!("{}{} ", &line[..partial.byte], one)),
        _ => None,
    }
}

/// Visible keywords among `children` starting with `partial`; an exact match alone when there is one.
fn keyword_candidates(interp: &Interpreter, children: &[NodeId], partial: &str) -> Vec<String> {
    let lower = partial.to_ascii_lowercase();
    let mut words: Vec<String> = children
        .iter()
        .filter_map(|&c| match interp.tree.nodes[c].kind {
            Kind::Keyword(w)
                if !interp.tree.nodes[c].hidden && w.to_ascii_lowercase().starts_with(&lower) =>
            {
                Some(w.to_string())
            }
            _ => None,
        })
        .collect();
    words.sort();
    words.dedup();
    match words.iter().find(|w| w.eq_ignore_ascii_case(partial)) {
        Some(exact) => vec![exact.clone()],
        None => words,
    }
}

pub(crate) fn exec_keys(interp: &Interpreter) -> Vec<String> {
    fn visit(
        interp: &Interpreter,
        node: NodeId,
        words: &mut Vec<&'static str>,
        depth: usize,
        out: &mut Vec<String>,
    ) {
        let n = &interp.tree.nodes[node];
        if depth > 12 {
            return;
        }
        let pushed = match (n.kind.clone(), n.key_word) {
            (Kind::Keyword(_), Some("")) | (Kind::Arg(_), _) => false,
            (Kind::Keyword(_), Some(alias)) => {
                words.push(alias);
                true
            }
            (Kind::Keyword(w), None) => {
                words.push(w);
                true
            }
        };
        if matches!(n.action, Some(Action::Exec)) {
            out.push(n.key_override.map_or_else(|| words.join(" "), str::to_string));
        }
        for &c in &n.children {
            visit(interp, c, words, depth + 1, out);
        }
        if pushed {
            words.pop();
        }
    }
    let mut out = Vec::new();
    for &c in interp.root_children(&Mode::Exec) {
        visit(interp, c, &mut Vec::new(), 0, &mut out);
    }
    out.sort();
    out.dedup();
    out
}
