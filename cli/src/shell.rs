//! `iosha shell`: the interactive IOS shell of a running daemon.
//!
//! A rustyline editor over one control connection (one session): the prompt comes from the daemon
//! (`ha-R1#`, `ha-R1(config-if)#`), `?` lists the context help at once (no Enter needed) and gives the line
//! back for more typing, TAB completes through the daemon, history is kept in `$IOSHA_HISTORY` or
//! `~/.iosha_history`. `exit` in exec mode or Ctrl-D leaves; Ctrl-Z runs the typed line, then `end`; Ctrl-C
//! drops the typed line.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{
    Cmd, CompletionType, ConditionalEventHandler, Config, Context, Editor, Event, EventContext, EventHandler,
    Helper, KeyEvent, Modifiers, RepeatCount,
};

use crate::control::{Client, ClientError, Op, Response};

/// The control connection shared by the editor's completer and the shell loop.
type SharedClient = Arc<Mutex<Client>>;

/// A key that ended `readline` on purpose, with the text the line held.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Interruption {
    /// `?`: the text before and after the cursor.
    Help { before: String, after: String },
    /// Ctrl-Z: run the line, then `end`.
    End,
}

/// Where the key handlers leave their interruption for the loop.
type Stash = Arc<Mutex<Option<Interruption>>>;

struct QuestionMark(Stash);

impl ConditionalEventHandler for QuestionMark {
    fn handle(&self, _evt: &Event, _n: RepeatCount, _positive: bool, ctx: &EventContext<'_>) -> Option<Cmd> {
        let line = ctx.line();
        let pos = ctx.pos().min(line.len());
        let (before, after) = line.split_at(pos);
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(Interruption::Help {
            before: before.to_owned(),
            after: after.to_owned(),
        });
        Some(Cmd::AcceptLine)
    }
}

struct CtrlZ(Stash);

impl ConditionalEventHandler for CtrlZ {
    fn handle(&self, _evt: &Event, _n: RepeatCount, _positive: bool, _ctx: &EventContext<'_>) -> Option<Cmd> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(Interruption::End);
        Some(Cmd::AcceptLine)
    }
}

/// TAB completion through the daemon's `complete` operation.
struct ShellHelper {
    client: SharedClient,
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let pos = pos.min(line.len());
        let typed = &line[..pos];
        let answer =
            self.client
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .call(Op::Complete, typed, false);
        match answer {
            Ok(Response {
                ok: true,
                json: Some(serde_json::Value::String(completed)),
                ..
            }) if completed != typed => Ok((
                0,
                vec![Pair {
                    display: completed.clone(),
                    replacement: completed,
                }],
            )),
            _ => Ok((pos, Vec::new())),
        }
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}
impl Highlighter for ShellHelper {}
impl Validator for ShellHelper {}
impl Helper for ShellHelper {}

/// Errors of the shell.
#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    /// The daemon could not be reached or the connection broke.
    #[error(transparent)]
    Control(#[from] ClientError),
    /// The terminal failed.
    #[error("terminal: {0}")]
    Terminal(#[from] ReadlineError),
}

fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("IOSHA_HISTORY") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".iosha_history"))
}

/// Prints command output as the shell shows it (a trailing newline added when missing).
fn show(text: &str) {
    if text.is_empty() {
        return;
    }
    if text.ends_with('\n') {
        print!("{text}");
    } else {
        println!("{text}");
    }
}

/// Shows the `?` after the line just left, as IOS echoes it (`ha-R1#show ?`). The editor has moved to the next
/// row already, so this goes one row up, when the line did not wrap.
fn echo_question_mark(editor: &mut Editor<ShellHelper, DefaultHistory>, prompt: &str, line: &str) {
    use std::io::Write as _;
    let width = prompt.chars().count() + line.chars().count();
    if let Some((columns, _)) = editor.dimensions()
        && width + 1 < usize::from(columns)
    {
        let mut out = std::io::stdout().lock();
        let _ = write!(out, "\x1b[A\x1b[{}G?\r\n", width + 1);
        let _ = out.flush();
    }
}

/// Runs lines read from a pipe or file as if typed (`iosha shell < script`), printing an IOS-like transcript:
/// each line after its prompt, then its output. Stops at `exit` in exec mode or at the end of the input;
/// failing lines are shown and the script goes on, as a paste into an IOS console does.
pub fn run_script(mut client: Client, input: impl std::io::BufRead) -> Result<(), ShellError> {
    use std::io::Write as _;
    let mut prompt = client.call(Op::Prompt, "", false)?.prompt;
    let mut out = std::io::stdout().lock();
    for line in input.lines() {
        let line = line.map_err(ClientError::Io)?;
        let line = line.trim_end_matches('\r');
        let response = client.call(Op::Exec, line, false)?;
        let mut text = format!("{prompt}{line}\n{}", response.output);
        if !text.ends_with('\n') {
            text.push('\n');
        }
        if out.write_all(text.as_bytes()).is_err() {
            return Ok(());
        }
        prompt = response.prompt;
        if response.close {
            break;
        }
    }
    let _ = out.flush();
    Ok(())
}

/// Runs the shell on the daemon at `control` until `exit`, Ctrl-D or a broken connection.
pub fn run(control: &Path) -> Result<(), ShellError> {
    use std::io::IsTerminal as _;
    if !std::io::stdin().is_terminal() {
        return run_script(Client::connect(control)?, std::io::stdin().lock());
    }
    let client: SharedClient = Arc::new(Mutex::new(Client::connect(control)?));
    let call = |op: Op, line: &str| {
        client
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .call(op, line, false)
    };

    let config = Config::builder()
        .auto_add_history(false)
        .completion_type(CompletionType::List)
        .max_history_size(1000)?
        .build();
    let mut editor: Editor<ShellHelper, DefaultHistory> = Editor::with_config(config)?;
    editor.set_helper(Some(ShellHelper {
        client: client.clone(),
    }));
    let stash: Stash = Arc::new(Mutex::new(None));
    editor.bind_sequence(
        KeyEvent::new('?', Modifiers::NONE),
        EventHandler::Conditional(Box::new(QuestionMark(stash.clone()))),
    );
    editor.bind_sequence(
        KeyEvent::ctrl('Z'),
        EventHandler::Conditional(Box::new(CtrlZ(stash.clone()))),
    );
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }

    let mut prompt = call(Op::Prompt, "")?.prompt;
    let mut initial: Option<(String, String)> = None;
    let result = loop {
        let read = match initial.take() {
            Some((before, after)) => editor.readline_with_initial(&prompt, (&before, &after)),
            None => editor.readline(&prompt),
        };
        let line = match read {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break Ok(()),
            Err(e) => break Err(ShellError::Terminal(e)),
        };
        let interruption = stash.lock().unwrap_or_else(PoisonError::into_inner).take();
        match interruption {
            Some(Interruption::Help { before, after }) => {
                echo_question_mark(&mut editor, &prompt, &line);
                match call(Op::Help, &before) {
                    Ok(r) => {
                        show(&r.output);
                        prompt = r.prompt;
                    }
                    Err(e) => break Err(e.into()),
                }
                initial = Some((before, after));
                continue;
            }
            Some(Interruption::End) => {
                for command in [line.as_str(), "end"] {
                    if command.trim().is_empty() {
                        continue;
                    }
                    if command != "end" {
                        let _ = editor.add_history_entry(command);
                    }
                    match call(Op::Exec, command) {
                        Ok(r) => {
                            show(&r.output);
                            prompt = r.prompt;
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                continue;
            }
            None => {}
        }
        if !line.trim().is_empty() {
            let _ = editor.add_history_entry(line.as_str());
        }
        match call(Op::Exec, &line) {
            Ok(r) => {
                show(&r.output);
                prompt = r.prompt;
                if r.close {
                    break Ok(());
                }
            }
            Err(e) => break Err(e.into()),
        }
    };
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    result
}
